//! Estimating the model from the data by expectation maximisation (EM), unsupervised.
//!
//! A set of pairs is a mixture of matches and non-matches. Starting from `m` (the
//! configured values) and `u` (counted over random pairs, almost all of them non-matches),
//! EM alternates: the E step gives each pair the probability that it is a match under the
//! current parameters; the M step re-estimates `m`, the proportion of matches and, if asked,
//! `u` from those probabilities. Fields are taken as independent given the class, and a
//! missing value is skipped. Pairs with the same comparison vector are counted once with
//! their number, so an iteration costs the number of distinct vectors, not of pairs.
//!
//! [`expectation_maximisation`] is the procedure itself; [`fit`] applies it to a set of
//! records the way that proved stable on generated data (docs/MATCHING.md): `u` from random
//! pairs, fixed, and `m` from two runs over pairs chosen by different fields.
//!
//! Pairs are fitted in their strata (see [`super::model`]): `m` is shared, while each
//! stratum has its own `u` and share of matches. The fitted model describes candidate
//! pairs: its priors are the estimated shares of matches among them, and its `u` the
//! frequencies among the non-matching candidates.

use super::compare::{compare, Comparison, Field, Stratum, FIELD_COUNT};
use super::model::{FieldParameters, Model};
use super::normalise::NormalisedPerson;
use std::collections::HashMap;

/// No estimated probability goes below this.
const FLOOR: f64 = 1e-6;
/// No `m` fitted by [`fit`] goes below this.
const MIN_M: f64 = 1e-3;

/// How EM runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmSettings {
    /// Stop after this many iterations even if not converged.
    pub max_iterations: usize,
    /// Converged when no parameter moves by more than this in an iteration.
    pub tolerance: f64,
    /// Re-estimate `u` too (the classic procedure); when false, `u` stays as started.
    pub estimate_u: bool,
    /// The share of candidate pairs taken to be matches at the start.
    pub initial_prior: f64,
    /// The fields used, in [`Field::ALL`] order. A field the pairs were chosen by (all of
    /// them agree on it) says nothing about which are matches: leave it out, and its
    /// parameters stay as started.
    pub use_fields: [bool; FIELD_COUNT],
}

impl Default for EmSettings {
    fn default() -> Self {
        Self {
            max_iterations: 200,
            tolerance: 1e-5,
            estimate_u: true,
            initial_prior: 0.3,
            use_fields: [true; FIELD_COUNT],
        }
    }
}

/// A fitted model and how the fit went.
#[derive(Debug, Clone, PartialEq)]
pub struct EmFit {
    pub model: Model,
    pub iterations: usize,
    pub converged: bool,
    /// Log-likelihood of the comparison vectors under the fitted mixture (natural log).
    pub log_likelihood: f64,
    /// How many pairs were fitted.
    pub pairs: usize,
}

/// A small deterministic generator (SplitMix64), so that sampling needs only a seed.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Level frequencies of each field over `samples` random pairs of distinct records (drawn
/// with the seed), smoothed so that no level is zero: the usual estimate of `u`, since two
/// records drawn at random are almost never the same child.
pub fn u_from_random_pairs(
    records: &[NormalisedPerson],
    samples: usize,
    seed: u64,
) -> [Vec<f64>; FIELD_COUNT] {
    let mut counts: [Vec<f64>; FIELD_COUNT] = Field::ALL.map(|f| vec![0.0; f.level_count()]);
    if records.len() >= 2 {
        let mut rng = SplitMix64(seed);
        for _ in 0..samples {
            let i = rng.below(records.len());
            let mut j = rng.below(records.len() - 1);
            if j >= i {
                j += 1;
            }
            let comparison = compare(&records[i], &records[j]);
            for field in Field::ALL {
                if let Some(k) = comparison.level(field) {
                    counts[field.index()][k] += 1.0;
                }
            }
        }
    }
    counts.map(|c| normalised(&c, 0.5))
}

/// Counts to probabilities, with `pseudo` added to each count and a floor.
fn normalised(counts: &[f64], pseudo: f64) -> Vec<f64> {
    let total: f64 = counts.iter().map(|c| c + pseudo).sum();
    let mut p: Vec<f64> = counts
        .iter()
        .map(|c| ((c + pseudo) / total).max(FLOOR))
        .collect();
    let sum: f64 = p.iter().sum();
    for x in &mut p {
        *x /= sum;
    }
    p
}

/// Runs EM over the comparison vectors of candidate pairs, from the `m`, `u` and settings
/// given. Each stratum ([`Stratum`]) has its own `u` and share of matches; `m` is shared.
/// The result's priors are the estimated shares of matches among the pairs of each stratum.
pub fn expectation_maximisation(
    comparisons: &[Comparison],
    start: &Model,
    settings: &EmSettings,
) -> EmFit {
    let mut counted: HashMap<[Option<usize>; FIELD_COUNT], f64> = HashMap::new();
    for c in comparisons {
        *counted.entry(c.levels()).or_default() += 1.0;
    }
    // Each distinct vector with its count and stratum: the levels as compared (for `m`,
    // which is the chance of a level among all matches), and the levels that carry
    // evidence (for the E step and `u`): without the fields defining the stratum, or left
    // out by the settings.
    type Levels = [Option<usize>; FIELD_COUNT];
    let patterns: Vec<(Levels, Levels, f64, Stratum)> = counted
        .into_iter()
        .map(|(levels, n)| {
            let stratum = Comparison::from_levels(levels).stratum();
            let mut evidence = levels;
            for field in stratum.defining_fields() {
                evidence[field.index()] = None;
            }
            for field in Field::ALL {
                if !settings.use_fields[field.index()] {
                    evidence[field.index()] = None;
                }
            }
            (levels, evidence, n, stratum)
        })
        .collect();
    let mut m: Vec<Vec<f64>> = start.fields.iter().map(|f| f.m.clone()).collect();
    let mut u: [Vec<Vec<f64>>; 2] =
        Stratum::ALL.map(|s| start.fields.iter().map(|f| f.u_in(s).to_vec()).collect());
    let mut lambda = [
        settings.initial_prior.clamp(FLOOR, 1.0 - FLOOR),
        start.household_prior.clamp(FLOOR, 1.0 - FLOOR),
    ];
    let mut iterations = 0;
    let mut converged = false;
    let mut log_likelihood = 0.0;
    while iterations < settings.max_iterations && !patterns.is_empty() {
        iterations += 1;
        // E step, with the sums for the M step.
        let zeros: Vec<Vec<f64>> = m.iter().map(|l| vec![0.0; l.len()]).collect();
        let mut m_counts = zeros.clone();
        let mut u_counts = [zeros.clone(), zeros];
        let mut matches = [0.0; 2];
        let mut totals = [0.0; 2];
        log_likelihood = 0.0;
        for (levels, evidence, n, stratum) in &patterns {
            let s = stratum.index();
            let (mut pm, mut pu) = (lambda[s], 1.0 - lambda[s]);
            for (f, level) in evidence.iter().enumerate() {
                if let Some(k) = *level {
                    pm *= m[f][k];
                    pu *= u[s][f][k];
                }
            }
            let g = pm / (pm + pu);
            log_likelihood += n * (pm + pu).ln();
            matches[s] += n * g;
            totals[s] += n;
            for (f, level) in levels.iter().enumerate() {
                if let Some(k) = *level {
                    m_counts[f][k] += n * g;
                }
            }
            for (f, level) in evidence.iter().enumerate() {
                if let Some(k) = *level {
                    u_counts[s][f][k] += n * (1.0 - g);
                }
            }
        }
        // M step.
        let mut change: f64 = 0.0;
        let mut update = |old: &mut Vec<f64>, counts: &[f64]| {
            if counts.iter().sum::<f64>() <= 0.0 {
                return;
            }
            let new = normalised(counts, 0.0);
            for (o, n) in old.iter().zip(&new) {
                change = change.max((o - n).abs());
            }
            *old = new;
        };
        for f in (0..FIELD_COUNT).filter(|&f| settings.use_fields[f]) {
            update(&mut m[f], &m_counts[f]);
            if settings.estimate_u {
                for s in 0..2 {
                    update(&mut u[s][f], &u_counts[s][f]);
                }
            }
        }
        for s in 0..2 {
            if totals[s] > 0.0 {
                let new = (matches[s] / totals[s]).clamp(FLOOR, 1.0 - FLOOR);
                change = change.max((new - lambda[s]).abs());
                lambda[s] = new;
            }
        }
        if change < settings.tolerance {
            converged = true;
            break;
        }
    }
    let fields = std::array::from_fn(|f| FieldParameters {
        m: m[f].clone(),
        u: u[0][f].clone(),
        u_household: u[1][f].clone(),
    });
    EmFit {
        model: Model {
            fields,
            prior: lambda[0],
            household_prior: lambda[1],
            frequencies: start.frequencies.clone(),
        },
        iterations,
        converged,
        log_likelihood,
        pairs: comparisons.len(),
    }
}

/// A model fitted to a set of records, with the two EM runs behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// `u` from random pairs, `m` from EM, the rest (household `u`, priors) as configured.
    pub model: Model,
    /// EM over pairs with the same date of birth: fits `m` of every field but the date.
    pub same_date: EmFit,
    /// EM over pairs with the same given and family names: fits `m` of the date of birth,
    /// middle names, gender, postcode and address line.
    pub same_names: EmFit,
}

/// Pairs of records that share `key`, within groups of at most `max_group`, at most
/// `max_pairs` of them (a deterministic sample with the seed when there are more).
fn pairs_sharing<K: std::hash::Hash + Eq>(
    records: &[NormalisedPerson],
    key: impl Fn(&NormalisedPerson) -> Option<K>,
    max_group: usize,
    max_pairs: usize,
    seed: u64,
) -> Vec<Comparison> {
    let mut groups: HashMap<K, Vec<usize>> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        if let Some(k) = key(record) {
            groups.entry(k).or_default().push(i);
        }
    }
    let mut groups: Vec<Vec<usize>> = groups
        .into_values()
        .filter(|g| g.len() >= 2 && g.len() <= max_group)
        .collect();
    groups.sort();
    let total: usize = groups.iter().map(|g| g.len() * (g.len() - 1) / 2).sum();
    let keep = max_pairs as f64 / total.max(1) as f64;
    let mut rng = SplitMix64(seed);
    let mut out = Vec::new();
    for group in &groups {
        for (n, &i) in group.iter().enumerate() {
            for &j in &group[n + 1..] {
                if keep >= 1.0 || (rng.next() as f64 / u64::MAX as f64) < keep {
                    out.push(compare(&records[i], &records[j]));
                }
            }
        }
    }
    out
}

/// Fits `m` to a set of records without labels, keeping `u` for random pairs: the records
/// of a source, or of a source and the directory together.
///
/// `u` is counted over `random_pairs` random pairs (drawn with `seed`), and stays fixed.
/// `m` comes from two EM runs, each over pairs chosen by fields that then carry no
/// evidence and are left out of that run: pairs with the same date of birth train the
/// names, gender and address; pairs with the same given and family names train the date
/// of birth. The priors and household `u` stay as configured: the shares of matches among
/// the pairs of each run say nothing about the directory's size.
pub fn fit(
    records: &[NormalisedPerson],
    random_pairs: usize,
    seed: u64,
    settings: &EmSettings,
) -> Fit {
    const MAX_GROUP: usize = 2_000;
    const MAX_PAIRS: usize = 2_000_000;
    let mut start = Model::configured();
    for (field, u) in start
        .fields
        .iter_mut()
        .zip(u_from_random_pairs(records, random_pairs, seed))
    {
        field.u = u;
    }
    let fixed_u = EmSettings {
        estimate_u: false,
        ..*settings
    };
    let without = |left_out: &[Field]| {
        let mut use_fields = fixed_u.use_fields;
        for field in left_out {
            use_fields[field.index()] = false;
        }
        EmSettings {
            use_fields,
            ..fixed_u
        }
    };
    let same_date_pairs =
        pairs_sharing(records, |r| r.date_of_birth, MAX_GROUP, MAX_PAIRS, seed ^ 1);
    let same_date =
        expectation_maximisation(&same_date_pairs, &start, &without(&[Field::DateOfBirth]));
    let same_names_pairs = pairs_sharing(
        records,
        |r| {
            (!r.given.is_empty() && !r.family.is_empty())
                .then(|| (r.given.compact.clone(), r.family.compact.clone()))
        },
        MAX_GROUP,
        MAX_PAIRS,
        seed ^ 2,
    );
    let same_names = expectation_maximisation(
        &same_names_pairs,
        &start,
        &without(&[Field::GivenName, Field::FamilyName]),
    );
    let mut model = start;
    // No level is impossible for a true match, whatever one sample showed.
    let floored =
        |m: Vec<f64>| normalised(&m.iter().map(|p| p.max(MIN_M)).collect::<Vec<_>>(), 0.0);
    for field in Field::ALL {
        let f = field.index();
        let from_date = &same_date.model.fields[f].m;
        let from_names = &same_names.model.fields[f].m;
        model.fields[f].m = floored(match field {
            Field::DateOfBirth => from_names.clone(),
            Field::GivenName | Field::FamilyName => from_date.clone(),
            _ => from_date
                .iter()
                .zip(from_names)
                .map(|(a, b)| (a + b) / 2.0)
                .collect(),
        });
    }
    Fit {
        model,
        same_date,
        same_names,
    }
}
