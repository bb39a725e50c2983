//! The Fellegi-Sunter model: for each field and level, the probability `m` of seeing that
//! level when the two records are the same child and `u` when they are different children.
//! A level's weight is `log2(m / u)` (its Bayes factor in bits); a pair's match weight is
//! the prior log-odds plus the sum of its fields' weights (a missing field adds nothing),
//! and gives the probability of a match.
//!
//! Fields are taken as independent given the class, which fails for one population that
//! matters: children of one household share a family name and an address, and twins a date
//! of birth too, so agreement on all three says "this household", not "this child". Pairs
//! are therefore split into two strata ([`Stratum`]). In the general stratum `u` is the
//! chance for any two children and the prior is one over the size of the directory. In the
//! household stratum (family names alike and the same address) the family name, postcode
//! and address line carry no weight, the prior is the chance that a same-surname child at
//! the address is the one, and the other fields are weighed with `u_household`, their
//! frequencies among siblings (twins share a date of birth; siblings hardly ever share a
//! given name).

use super::compare::{
    AddressLevel, Comparison, FamilyLevel, Field, NameLevel, PostcodeLevel, Stratum, FIELD_COUNT,
};
use super::frequencies::{adjusted_u, NameFrequencies};
use super::normalise::NormalisedPerson;
use std::sync::Arc;

/// No probability is allowed nearer 0 or 1 than this, so that every weight is finite.
const FLOOR: f64 = 1e-9;

/// For one field, per level (strongest agreement first, as in [`Field::level_names`]):
/// `m`, `u` for any two different children, and `u_household` for two different children
/// of one household. Each sums to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldParameters {
    pub m: Vec<f64>,
    pub u: Vec<f64>,
    pub u_household: Vec<f64>,
}

impl FieldParameters {
    /// The `u` of a stratum.
    pub fn u_in(&self, stratum: Stratum) -> &[f64] {
        match stratum {
            Stratum::General => &self.u,
            Stratum::Household => &self.u_household,
        }
    }

    /// The weight of a level in bits in the general stratum; 0 for a missing value.
    pub fn weight(&self, level: Option<usize>) -> f64 {
        self.weight_in(Stratum::General, level)
    }

    /// The weight of a level in bits in a stratum; 0 for a missing value.
    pub fn weight_in(&self, stratum: Stratum, level: Option<usize>) -> f64 {
        let u = self.u_in(stratum);
        match level {
            Some(k) if k < self.m.len() && k < u.len() => {
                (self.m[k].max(FLOOR) / u[k].max(FLOOR)).log2()
            }
            _ => 0.0,
        }
    }
}

/// A Fellegi-Sunter model: the parameters of every field and the prior of each stratum.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub fields: [FieldParameters; FIELD_COUNT],
    /// The probability, before looking at any field, that a pair in the general stratum is
    /// one child.
    pub prior: f64,
    /// The probability that a pair in the household stratum is one child.
    pub household_prior: f64,
    /// How common each name is in the directory, when known: exact agreement on a given or
    /// family name in the general stratum is then weighed by that name's frequency.
    pub frequencies: Option<Arc<NameFrequencies>>,
}

/// The result of comparing two records under a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub comparison: Comparison,
    /// The weight each field contributed, in bits, in [`Field::ALL`] order.
    pub partial_weights: [f64; FIELD_COUNT],
    /// The match weight in bits: the prior log-odds of the pair's stratum plus the fields'
    /// weights.
    pub weight: f64,
    /// The probability that the two records are one child: `1 / (1 + 2^-weight)`.
    pub probability: f64,
}

/// The directory's size at national scale, for the default prior.
pub const NATIONAL_POPULATION: u64 = 11_000_000;

/// The probability of a match for a match weight in bits (prior included).
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// The match weight in bits for a probability of a match.
pub fn weight_of_probability(probability: f64) -> f64 {
    let p = probability.clamp(FLOOR, 1.0 - FLOOR);
    (p / (1.0 - p)).log2()
}

fn params(m: &[f64], u: &[f64], u_household: &[f64]) -> FieldParameters {
    FieldParameters {
        m: m.to_vec(),
        u: u.to_vec(),
        u_household: u_household.to_vec(),
    }
}

impl Model {
    /// The configured model, with the prior for comparing one record with the children of
    /// the national directory (one chance in [`NATIONAL_POPULATION`]). docs/MATCHING.md
    /// says where every figure comes from.
    pub fn configured() -> Self {
        Self {
            fields: [
                // Given name: exact, variant or phonetic, similar, different.
                params(
                    &[0.90, 0.06, 0.025, 0.015],
                    &[0.006, 0.004, 0.01, 0.98],
                    &[0.003, 0.005, 0.005, 0.987],
                ),
                // Middle names.
                params(
                    &[0.85, 0.04, 0.03, 0.08],
                    &[0.01, 0.005, 0.01, 0.975],
                    &[0.05, 0.01, 0.02, 0.92],
                ),
                // Family name: exact, variant or phonetic, former, similar, different.
                params(
                    &[0.88, 0.04, 0.03, 0.02, 0.03],
                    &[0.003, 0.003, 0.0002, 0.005, 0.9888],
                    &[0.95, 0.05, 0.0, 0.0, 0.0],
                ),
                // Date of birth: exact, swapped, one digit, same year, different.
                params(
                    &[0.93, 0.015, 0.035, 0.01, 0.01],
                    &[0.000_15, 0.000_05, 0.003, 0.055, 0.941_8],
                    &[0.03, 0.0005, 0.01, 0.03, 0.9295],
                ),
                // Gender: agree, disagree.
                params(&[0.99, 0.01], &[0.5, 0.5], &[0.5, 0.5]),
                // Postcode: full, sector, district, area or town, different.
                params(
                    &[0.80, 0.03, 0.05, 0.05, 0.07],
                    &[0.000_001, 0.000_1, 0.000_25, 0.008, 0.991_649],
                    &[0.8, 0.2, 0.0, 0.0, 0.0],
                ),
                // Address line: exact, similar, different.
                params(&[0.75, 0.10, 0.15], &[0.05, 0.02, 0.93], &[0.9, 0.02, 0.08]),
            ],
            prior: 1.0 / NATIONAL_POPULATION as f64,
            household_prior: 0.8,
            frequencies: None,
        }
    }

    /// The same model with the general prior for comparing a record with a directory of
    /// `children` (one of them at most is the one): `1 / children`. The household prior
    /// does not depend on the size of the directory.
    pub fn for_population(mut self, children: u64) -> Self {
        self.prior = 1.0 / children.max(2) as f64;
        self
    }

    /// The same model weighing exact agreement on a name by how common the name is.
    pub fn with_frequencies(mut self, frequencies: Arc<NameFrequencies>) -> Self {
        self.frequencies = Some(frequencies);
        self
    }

    pub fn field(&self, field: Field) -> &FieldParameters {
        &self.fields[field.index()]
    }

    /// The prior log-odds of a match in a stratum, in bits.
    pub fn prior_weight(&self, stratum: Stratum) -> f64 {
        weight_of_probability(match stratum {
            Stratum::General => self.prior,
            Stratum::Household => self.household_prior,
        })
    }

    /// The weight in bits of each field of a comparison, in [`Field::ALL`] order, in the
    /// comparison's stratum (the fields defining the stratum weigh nothing).
    pub fn partial_weights(&self, comparison: &Comparison) -> [f64; FIELD_COUNT] {
        let stratum = comparison.stratum();
        let moved = matches!(
            comparison.postcode,
            PostcodeLevel::District | PostcodeLevel::Area | PostcodeLevel::Different
        );
        Field::ALL.map(|f| {
            if stratum.defining_fields().contains(&f) {
                0.0
            } else if f == Field::AddressLine
                && moved
                && comparison.address_line == AddressLevel::Different
            {
                // Two postcodes outside one sector are two addresses: that the first lines
                // differ too says nothing more (the postcode's weight has counted the move).
                0.0
            } else {
                self.field(f).weight_in(stratum, comparison.level(f))
            }
        })
    }

    /// The match weight of a comparison in bits: its stratum's prior log-odds plus the
    /// fields' weights.
    pub fn match_weight(&self, comparison: &Comparison) -> f64 {
        self.prior_weight(comparison.stratum())
            + self.partial_weights(comparison).iter().sum::<f64>()
    }

    /// Compares two records and scores the pair, with the name frequencies if the model has
    /// them.
    pub fn score(&self, a: &NormalisedPerson, b: &NormalisedPerson) -> Score {
        let comparison = super::compare::compare(a, b);
        let mut partial = self.partial_weights(&comparison);
        if let (Some(frequencies), Stratum::General) = (&self.frequencies, comparison.stratum()) {
            if comparison.given_name == NameLevel::Exact {
                if let Some(first) = a.given.first() {
                    partial[Field::GivenName.index()] = self
                        .frequency_weight(Field::GivenName, frequencies.given_share(&first.text));
                }
            }
            if comparison.family_name == FamilyLevel::Exact {
                partial[Field::FamilyName.index()] = self.frequency_weight(
                    Field::FamilyName,
                    frequencies.family_share(&a.family.compact),
                );
            }
        }
        self.score_partial(comparison, partial)
    }

    /// The weight of exact agreement on a name with this share of the directory.
    fn frequency_weight(&self, field: Field, share: f64) -> f64 {
        let p = self.field(field);
        (p.m[0].max(FLOOR) / adjusted_u(share, p.u[0]).max(FLOOR)).log2()
    }

    /// Scores a comparison (without name frequencies, which need the names).
    pub fn score_comparison(&self, comparison: Comparison) -> Score {
        let partial = self.partial_weights(&comparison);
        self.score_partial(comparison, partial)
    }

    fn score_partial(&self, comparison: Comparison, partial: [f64; FIELD_COUNT]) -> Score {
        let weight = self.prior_weight(comparison.stratum()) + partial.iter().sum::<f64>();
        Score {
            comparison,
            partial_weights: partial,
            weight,
            probability: probability(weight),
        }
    }
}

impl Default for Model {
    fn default() -> Self {
        Self::configured()
    }
}
