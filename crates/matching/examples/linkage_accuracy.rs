//! Accuracy of linkage on a generated nation: a directory of children and a supplier's file
//! about them with realistic variation (nicknames, spellings, typos, swapped and mistyped
//! dates, surname changes, house moves, missing fields, titles, twins, namesakes, duplicates),
//! linked at the default thresholds with the default model, with the prior of the sample's
//! size, and with a model fitted by EM.
//!
//! ```text
//! cargo run --release -p contactpoint-matching --example linkage_accuracy -- [children] [seed] [--show] [--parameters]
//! ```
//!
//! `--show` prints every wrong link and the first 40 missed ones; `--parameters` prints the
//! models' parameters beside the truth.

use contactpoint_matching::data::{NICKNAMES, SPELLING_VARIANTS};
use contactpoint_matching::linkage::em::{expectation_maximisation, fit, u_from_random_pairs};
use contactpoint_matching::linkage::{
    blocking_keys, compare, find_duplicates, link, normalise, BlockIndex, Comparison, EmSettings,
    Field, Gender, Model, NameFrequencies, NormalisedPerson, Outcome, Stratum, SuppliedPerson,
    Thresholds, DEFAULT_MAX_BLOCK,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

#[path = "../src/linkage/sample.rs"]
#[allow(dead_code)]
mod sample;

use sample::{measure, Accuracy, Rates, Sample};

fn report(label: &str, acc: &Accuracy) {
    println!(
        "{label:<46} precision {:>8.4}%  recall {:>7.3}%  links {:>7}  exceptions {:>6} ({:>5.2}%)  new {:>6}  wrongly new {:>4}",
        acc.precision() * 100.0,
        acc.recall() * 100.0,
        acc.links,
        acc.exceptions,
        acc.exceptions as f64 / acc.records as f64 * 100.0,
        acc.new,
        acc.wrongly_new,
    );
}

fn print_model(label: &str, model: &Model) {
    println!(
        "\n{label} (prior {:.3e}, household prior {:.3})",
        model.prior, model.household_prior
    );
    for field in Field::ALL {
        let p = model.field(field);
        let levels: Vec<String> = field
            .level_names()
            .iter()
            .enumerate()
            .map(|(k, name)| {
                format!(
                    "{name} m={:.3} u={:.5} ({:+.1}) uh={:.3} ({:+.1})",
                    p.m[k],
                    p.u[k],
                    p.weight(Some(k)),
                    p.u_household[k],
                    p.weight_in(Stratum::Household, Some(k))
                )
            })
            .collect();
        println!("  {:<14} {}", field.name(), levels.join(" | "));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let children = numbers.first().copied().unwrap_or(100_000) as usize;
    let seed = numbers.get(1).copied().unwrap_or(2009);
    let show = args.iter().any(|a| a == "--show");
    let parameters = args.iter().any(|a| a == "--parameters");
    let sample = Sample::generate(seed, children, &Rates::default());
    let known = sample
        .supplied
        .iter()
        .filter(|s| s.child < sample.directory.len())
        .count();
    println!(
        "directory {} children; supplied {} records, {known} of children in the directory (seed {seed})",
        sample.directory.len(),
        sample.supplied.len(),
    );
    let thresholds = Thresholds::DEFAULT;
    let default = Model::configured();
    let sample_prior = Model::configured().for_population(sample.directory.len() as u64);
    println!(
        "thresholds: link at {} and above, below {} new (authoritative) or exception\n",
        thresholds.upper, thresholds.lower
    );

    let started = Instant::now();
    let acc = measure(&sample, &default, &thresholds, true);
    let elapsed = started.elapsed().as_secs_f64();
    report("default (configured, national prior)", &acc);
    println!(
        "  blocking reached {:.3}% of known children; {:.0} records a second on one core (normalise, block, compare, decide)",
        acc.blocking_recall() * 100.0,
        acc.records as f64 / elapsed,
    );
    report(
        "  the same, source not authoritative",
        &measure(&sample, &default, &thresholds, false),
    );
    report(
        "configured, prior 1/directory size",
        &measure(&sample, &sample_prior, &thresholds, true),
    );
    let directory: Vec<NormalisedPerson> = sample.directory.iter().map(normalise).collect();
    let frequencies = Arc::new(NameFrequencies::from_records(&directory));
    let with_frequencies = Model::configured().with_frequencies(frequencies.clone());
    report(
        "configured + name frequencies, national prior",
        &measure(&sample, &with_frequencies, &thresholds, true),
    );
    report(
        "configured + name frequencies, prior 1/directory",
        &measure(
            &sample,
            &with_frequencies
                .clone()
                .for_population(sample.directory.len() as u64),
            &thresholds,
            true,
        ),
    );

    let supplied: Vec<NormalisedPerson> = sample
        .supplied
        .iter()
        .map(|s| normalise(&s.person))
        .collect();
    let index = BlockIndex::build(&directory);

    // The EM fit used by the library: u from random pairs, m from two runs.
    let mut union = directory.clone();
    union.extend(supplied.iter().cloned());
    let fitted = fit(&union, 500_000, seed, &EmSettings::default());
    println!(
        "\nEM fit over the file and directory together: {} pairs with the same date of birth ({} iterations), {} with the same names ({} iterations)",
        fitted.same_date.pairs,
        fitted.same_date.iterations,
        fitted.same_names.pairs,
        fitted.same_names.iterations,
    );
    report(
        "EM-fitted m, random-pair u, national prior",
        &measure(&sample, &fitted.model, &thresholds, true),
    );
    let fitted_sample_prior = fitted
        .model
        .clone()
        .for_population(sample.directory.len() as u64);
    report(
        "EM-fitted m, random-pair u, prior 1/directory",
        &measure(&sample, &fitted_sample_prior, &thresholds, true),
    );

    // Classic EM over the candidate pairs from blocking (m, u and the share of matches all
    // estimated), for comparison.
    let mut comparisons: Vec<Comparison> = Vec::new();
    let mut true_matches = 0usize;
    for (record, s) in supplied.iter().zip(&sample.supplied) {
        for i in index.candidates(&blocking_keys(record), DEFAULT_MAX_BLOCK) {
            true_matches += usize::from(i == s.child);
            comparisons.push(compare(record, &directory[i]));
        }
    }
    let mut start = Model::configured();
    for (field, u) in start
        .fields
        .iter_mut()
        .zip(u_from_random_pairs(&directory, 200_000, seed))
    {
        field.u = u;
    }
    let classic = expectation_maximisation(&comparisons, &start, &EmSettings::default());
    println!(
        "classic EM over {} candidate pairs: share of matches estimated {:.3}, truly {:.3}",
        comparisons.len(),
        classic.model.prior,
        true_matches as f64 / comparisons.len() as f64
    );
    report(
        "classic EM (m, u, shares from candidates)",
        &measure(&sample, &classic.model, &thresholds, true),
    );

    // Other thresholds, default model: candidates scored once, the rule applied to each pair
    // of thresholds.
    let scored: Vec<(usize, Vec<(usize, f64)>)> = supplied
        .iter()
        .zip(&sample.supplied)
        .map(|(record, s)| {
            let (_, candidates) = link(record, &directory, &index, &default, &thresholds, true);
            (
                s.child,
                candidates
                    .iter()
                    .map(|c| (c.index, c.score.probability))
                    .collect(),
            )
        })
        .collect();
    println!(
        "
other thresholds (default model, authoritative source)"
    );
    for (lower, upper) in [
        (0.01, 0.99),
        (0.01, 0.995),
        (0.01, 0.999),
        (0.01, 0.9999),
        (0.001, 0.999),
        (0.05, 0.999),
        (0.1, 0.999),
        (0.2, 0.999),
    ] {
        let t = Thresholds::new(lower, upper).expect("ordered");
        let mut acc = Accuracy::default();
        for (child, candidates) in &scored {
            let known = *child < directory.len();
            acc.records += 1;
            acc.known += usize::from(known);
            let probabilities: Vec<f64> = candidates.iter().map(|c| c.1).collect();
            match contactpoint_matching::linkage::decide_among(&probabilities, &t, true) {
                Outcome::Link(i) => {
                    acc.links += 1;
                    acc.correct_links += usize::from(candidates[i].0 == *child);
                }
                Outcome::Exception(_) => acc.exceptions += 1,
                Outcome::New => {
                    acc.new += 1;
                    acc.wrongly_new += usize::from(known);
                }
            }
        }
        report(&format!("  lower {lower}, upper {upper}"), &acc);
    }

    // Recall by kind of variation, default model.
    let mut by_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut shown = 0;
    for (record, s) in supplied.iter().zip(&sample.supplied) {
        let known = s.child < directory.len();
        let (outcome, candidates) = link(record, &directory, &index, &default, &thresholds, true);
        let linked_right = matches!(outcome, Outcome::Link(i) if i == s.child);
        let wrong = matches!(outcome, Outcome::Link(i) if i != s.child);
        if known {
            let kinds: Vec<String> = if s.variations.is_empty() {
                vec!["(none)".into()]
            } else {
                s.variations.iter().map(|v| format!("{v:?}")).collect()
            };
            for kind in kinds {
                let e = by_kind.entry(kind).or_default();
                e.0 += usize::from(linked_right);
                e.1 += 1;
            }
        }
        if show && (wrong || (shown < 40 && known && !linked_right)) {
            shown += usize::from(!wrong);
            println!(
                "\n{} {outcome:?} {:?}",
                if wrong { "WRONG LINK" } else { "MISSED" },
                s.variations
            );
            println!("  supplied {:?}", s.person);
            if known {
                println!("  truth    {:?}", sample.directory[s.child]);
                let score = default.score(record, &directory[s.child]);
                println!(
                    "  {:?} weight {:.1} probability {:.4}",
                    score.comparison, score.weight, score.probability
                );
            }
            if let Some(best) = candidates.first().filter(|_| wrong) {
                println!("  linked   {:?}", sample.directory[best.index]);
                println!(
                    "  {:?} probability {:.4}",
                    best.score.comparison, best.score.probability
                );
            }
        }
    }
    println!("\nrecall by kind of variation (default model; a record can have several)");
    for (kind, (ok, n)) in by_kind {
        println!(
            "  {kind:<28} {:>7.2}%  of {n}",
            ok as f64 / n as f64 * 100.0
        );
    }

    // Duplicates within the supplied file.
    let clusters = find_duplicates(&supplied, &default, thresholds.upper);
    let (mut right, mut pairs) = (0usize, 0usize);
    for cluster in &clusters {
        for pair in &cluster.pairs {
            pairs += 1;
            let same = sample.supplied[pair.a].child == sample.supplied[pair.b].child;
            right += usize::from(same);
            if show && !same {
                println!("\nWRONG DUPLICATE probability {:.5}", pair.probability);
                println!("  {:?}", sample.supplied[pair.a].person);
                println!("  {:?}", sample.supplied[pair.b].person);
                println!("  {:?}", compare(&supplied[pair.a], &supplied[pair.b]));
            }
        }
    }
    let mut per_child: BTreeMap<usize, usize> = BTreeMap::new();
    for s in &sample.supplied {
        *per_child.entry(s.child).or_default() += 1;
    }
    let true_pairs: usize = per_child.values().map(|n| n * (n - 1) / 2).sum();
    println!(
        "\nduplicates within the file (default model, at the upper threshold): {} clusters, {pairs} pairs, {right} right, of {true_pairs} true pairs: precision {:.3}%, recall {:.2}%",
        clusters.len(),
        right as f64 / pairs.max(1) as f64 * 100.0,
        right as f64 / true_pairs.max(1) as f64 * 100.0
    );

    if parameters {
        print_model("configured model", &default);
        print_model("EM-fitted model", &fitted.model);
        println!("\ntrue m: levels over every supplied record of a known child");
        for field in Field::ALL {
            let mut counts = vec![0.0; field.level_count()];
            for (record, s) in supplied.iter().zip(&sample.supplied) {
                if s.child < directory.len() {
                    if let Some(k) = compare(record, &directory[s.child]).level(field) {
                        counts[k] += 1.0;
                    }
                }
            }
            let total: f64 = counts.iter().sum();
            let levels: Vec<String> = field
                .level_names()
                .iter()
                .zip(&counts)
                .map(|(name, c)| format!("{name} m={:.3}", c / total))
                .collect();
            println!("  {:<14} {}", field.name(), levels.join(" | "));
        }
    }
    let _ = (Gender::Female, SuppliedPerson::default());
}
