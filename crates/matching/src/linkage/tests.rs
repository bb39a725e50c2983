//! Linkage end to end: each kind of variation links, twins and namesakes do not, the
//! threshold rule, EM recovering known parameters, symmetry, duplicates, and accuracy on a
//! generated sample.

use super::em::{expectation_maximisation, fit, u_from_random_pairs};
use super::sample::{measure, Rates, Sample};
use super::*;
use chrono::NaiveDate;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[allow(clippy::too_many_arguments)]
fn person(
    given: &str,
    middle: &str,
    family: &str,
    born: &str,
    gender: &str,
    line: &str,
    town: &str,
    postcode: &str,
) -> SuppliedPerson {
    let text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    SuppliedPerson {
        given_name: given.into(),
        middle_names: text(middle),
        family_name: family.into(),
        former_family_name: None,
        date_of_birth: (!born.is_empty()).then(|| date(born)),
        gender: Gender::parse(gender),
        address_line1: text(line),
        town: text(town),
        postcode: text(postcode),
    }
}

/// The child the variations are made from.
fn katherine() -> SuppliedPerson {
    person(
        "Katherine",
        "Rose",
        "Smith",
        "2015-03-07",
        "F",
        "12 High Street",
        "Bedford",
        "MK40 1AB",
    )
}

/// Her brother, at the same address.
fn thomas() -> SuppliedPerson {
    person(
        "Thomas",
        "James",
        "Smith",
        "2012-09-21",
        "M",
        "12 High Street",
        "Bedford",
        "MK40 1AB",
    )
}

/// A directory: Katherine (0), Thomas (1), then generated children.
fn directory_with(extra: &[SuppliedPerson]) -> Vec<NormalisedPerson> {
    let mut people = vec![katherine(), thomas()];
    people.extend_from_slice(extra);
    people.extend(Sample::generate(7, 1_500, &Rates::default()).directory);
    people.iter().map(normalise).collect()
}

/// What becomes of a record against the directory, with the default model (national
/// prior) and thresholds.
fn outcome(
    record: &SuppliedPerson,
    directory: &[NormalisedPerson],
    authoritative: bool,
) -> Outcome {
    let index = BlockIndex::build(directory);
    link(
        &normalise(record),
        directory,
        &index,
        &Model::configured(),
        &Thresholds::DEFAULT,
        authoritative,
    )
    .0
}

fn probability(a: &SuppliedPerson, b: &SuppliedPerson) -> f64 {
    Model::configured()
        .score(&normalise(a), &normalise(b))
        .probability
}

fn assert_links_to_katherine(varied: SuppliedPerson) {
    let directory = directory_with(&[]);
    let p = probability(&varied, &katherine());
    assert_eq!(
        outcome(&varied, &directory, false),
        Outcome::Link(0),
        "{varied:?} scored {p} against Katherine: {:?}",
        compare(&normalise(&varied), &directory[0])
    );
}

#[test]
fn the_same_record_links() {
    assert_links_to_katherine(katherine());
    assert_links_to_katherine(SuppliedPerson {
        given_name: "MISS KATHERINE".into(),
        family_name: "smith".into(),
        postcode: Some("mk401ab".into()),
        address_line1: Some("12, High St.".into()),
        ..katherine()
    });
}

#[test]
fn a_nickname_links() {
    assert_links_to_katherine(SuppliedPerson {
        given_name: "Kate".into(),
        ..katherine()
    });
    assert_links_to_katherine(SuppliedPerson {
        given_name: "Katie".into(),
        middle_names: None,
        ..katherine()
    });
}

#[test]
fn a_sound_alike_or_other_spelling_links() {
    assert_links_to_katherine(SuppliedPerson {
        given_name: "Kathryn".into(),
        ..katherine()
    });
    assert_links_to_katherine(SuppliedPerson {
        family_name: "Smyth".into(),
        ..katherine()
    });
}

#[test]
fn a_typo_links() {
    assert_links_to_katherine(SuppliedPerson {
        given_name: "Katherien".into(),
        ..katherine()
    });
    assert_links_to_katherine(SuppliedPerson {
        family_name: "Smiht".into(),
        ..katherine()
    });
}

#[test]
fn one_letter_wrong_in_a_short_name_is_a_typo_but_not_in_a_name_of_three_letters() {
    let given = |a: &str, b: &str| {
        let with = |name: &str| {
            normalise(&SuppliedPerson {
                given_name: name.into(),
                ..katherine()
            })
        };
        compare(&with(a), &with(b)).given_name
    };
    // Jaro-Winkler alone finds Ruby and Ruxy different (0.87).
    assert_eq!(given("Ruby", "Ruxy"), NameLevel::Similar);
    assert_eq!(given("Umar", "Ubar"), NameLevel::Similar);
    assert_eq!(given("Lexi", "Lpxi"), NameLevel::Similar);
    // In three letters, one letter makes another name.
    assert_eq!(given("Max", "May"), NameLevel::Different);
    assert_eq!(given("Ruby", "Rory"), NameLevel::Different);
}

#[test]
fn a_first_name_is_like_the_other_middle_name_only_as_written_not_through_two_short_forms() {
    let given = |a: (&str, &str), b: (&str, &str)| {
        let with = |(given, middle): (&str, &str)| {
            normalise(&SuppliedPerson {
                given_name: given.into(),
                middle_names: (!middle.is_empty()).then(|| middle.to_owned()),
                ..katherine()
            })
        };
        compare(&with(a), &with(b)).given_name
    };
    // Known by her middle name.
    assert_eq!(
        given(("Muhammad", ""), ("Arham", "Muhammad")),
        NameLevel::Similar
    );
    // Libby and Elsie are both short forms of Elizabeth: Mia Elsie is not like her twin Libby.
    assert_eq!(given(("Libby", ""), ("Mia", "Elsie")), NameLevel::Different);
}

#[test]
fn a_date_of_birth_with_day_and_month_swapped_links() {
    assert_links_to_katherine(SuppliedPerson {
        date_of_birth: Some(date("2015-07-03")),
        ..katherine()
    });
}

#[test]
fn a_date_of_birth_one_digit_out_links() {
    for wrong in ["2015-03-09", "2016-03-07", "2015-08-07"] {
        assert_links_to_katherine(SuppliedPerson {
            date_of_birth: Some(date(wrong)),
            ..katherine()
        });
    }
}

#[test]
fn a_change_of_surname_links_through_the_former_name() {
    assert_links_to_katherine(SuppliedPerson {
        family_name: "Okafor".into(),
        former_family_name: Some("Smith".into()),
        ..katherine()
    });
    // After a move too.
    assert_links_to_katherine(SuppliedPerson {
        family_name: "Okafor".into(),
        former_family_name: Some("Smith".into()),
        address_line1: Some("5 Mill Lane".into()),
        postcode: Some("MK41 7XY".into()),
        ..katherine()
    });
}

#[test]
fn a_house_move_with_the_same_names_and_date_of_birth_links() {
    // Within the town, another district.
    assert_links_to_katherine(SuppliedPerson {
        address_line1: Some("5 Mill Lane".into()),
        postcode: Some("MK41 7XY".into()),
        ..katherine()
    });
    // Within the district.
    assert_links_to_katherine(SuppliedPerson {
        middle_names: None,
        address_line1: Some("40 Castle Road".into()),
        postcode: Some("MK40 3QP".into()),
        ..katherine()
    });
}

#[test]
fn missing_fields_still_link() {
    // No address at all.
    assert_links_to_katherine(SuppliedPerson {
        address_line1: None,
        town: None,
        postcode: None,
        ..katherine()
    });
    // No date of birth or gender.
    assert_links_to_katherine(SuppliedPerson {
        date_of_birth: None,
        gender: None,
        ..katherine()
    });
    // No middle name, gender or postcode.
    assert_links_to_katherine(SuppliedPerson {
        middle_names: None,
        gender: None,
        postcode: None,
        ..katherine()
    });
}

/// Katherine's twin sister: same family name, date of birth and address.
fn emily() -> SuppliedPerson {
    person(
        "Emily",
        "Grace",
        "Smith",
        "2015-03-07",
        "F",
        "12 High Street",
        "Bedford",
        "MK40 1AB",
    )
}

#[test]
fn twins_do_not_link_to_each_other() {
    // The twin not yet in the directory: never linked to her sister.
    let directory = directory_with(&[]);
    for twin in [
        emily(),
        SuppliedPerson {
            middle_names: None,
            ..emily()
        },
        SuppliedPerson {
            middle_names: None,
            gender: None,
            ..emily()
        },
    ] {
        let p = probability(&twin, &katherine());
        assert!(p < Thresholds::DEFAULT.upper, "{twin:?}: {p}");
        assert_ne!(
            outcome(&twin, &directory, true),
            Outcome::Link(0),
            "{twin:?}"
        );
    }
    // A twin brother with a different middle name is a new child.
    let brother = SuppliedPerson {
        given_name: "Oliver".into(),
        middle_names: Some("John".into()),
        gender: Some(Gender::Male),
        ..emily()
    };
    assert_eq!(outcome(&brother, &directory, true), Outcome::New);
    // With both in the directory, each links to herself.
    let both = directory_with(&[emily()]);
    assert_eq!(outcome(&emily(), &both, true), Outcome::Link(2));
    assert_eq!(outcome(&katherine(), &both, true), Outcome::Link(0));
    let kate = SuppliedPerson {
        given_name: "Kate".into(),
        middle_names: None,
        ..katherine()
    };
    assert_eq!(outcome(&kate, &both, true), Outcome::Link(0));
}

#[test]
fn a_namesake_born_the_same_day_in_another_town_is_not_linked() {
    let directory = directory_with(&[]);
    let namesakes = [
        person(
            "Katherine",
            "",
            "Smith",
            "2015-03-07",
            "F",
            "3 Park Road",
            "Leeds",
            "LS6 2QT",
        ),
        person(
            "Katherine",
            "Mary",
            "Smith",
            "2015-03-07",
            "F",
            "3 Park Road",
            "Leeds",
            "LS6 2QT",
        ),
        person(
            "Kate",
            "",
            "Smith",
            "2015-03-07",
            "",
            "77 Church Lane",
            "Exeter",
            "EX4 4AA",
        ),
    ];
    for namesake in namesakes {
        let p = probability(&namesake, &katherine());
        assert!(p < Thresholds::DEFAULT.upper, "{namesake:?}: {p}");
        for authoritative in [true, false] {
            let result = outcome(&namesake, &directory, authoritative);
            assert!(
                matches!(result, Outcome::Exception(_) | Outcome::New),
                "{namesake:?} {result:?}"
            );
        }
    }
}

#[test]
fn a_sibling_is_a_new_child_not_a_link() {
    let directory = directory_with(&[]);
    let sister = person(
        "Grace",
        "",
        "Smith",
        "2019-11-02",
        "F",
        "12 High Street",
        "Bedford",
        "MK40 1AB",
    );
    assert_eq!(outcome(&sister, &directory, true), Outcome::New);
    assert_eq!(
        outcome(&sister, &directory, false),
        Outcome::Exception(vec![])
    );
}

#[test]
fn the_threshold_rule_in_all_three_regions() {
    let t = Thresholds::new(0.1, 0.9).unwrap();
    for (p, authoritative, expected) in [
        (0.95, true, Decision::Link),
        (0.95, false, Decision::Link),
        (0.9, true, Decision::Link),
        (0.5, true, Decision::Exception),
        (0.5, false, Decision::Exception),
        (0.1, true, Decision::Exception),
        (0.05, true, Decision::New),
        (0.05, false, Decision::Exception),
        (0.0, true, Decision::New),
    ] {
        assert_eq!(
            decide(p, &t, authoritative),
            expected,
            "{p} {authoritative}"
        );
    }
    assert!(Thresholds::new(0.9, 0.1).is_none());
    assert!(Thresholds::new(-0.1, 0.5).is_none());
}

#[test]
fn among_candidates_one_above_the_upper_links_and_two_are_an_exception() {
    let t = Thresholds::DEFAULT;
    assert_eq!(decide_among(&[0.2, 0.9995], &t, true), Outcome::Link(1));
    assert_eq!(
        decide_among(&[0.9995, 0.9999, 0.0001], &t, true),
        Outcome::Exception(vec![1, 0])
    );
    assert_eq!(
        decide_among(&[0.5, 0.001], &t, true),
        Outcome::Exception(vec![0])
    );
    assert_eq!(decide_among(&[0.001], &t, true), Outcome::New);
    assert_eq!(decide_among(&[], &t, true), Outcome::New);
    assert_eq!(decide_among(&[], &t, false), Outcome::Exception(vec![]));
}

#[test]
fn duplicates_within_a_source_are_clustered() {
    let records: Vec<NormalisedPerson> = [
        katherine(),
        thomas(),
        emily(),
        SuppliedPerson {
            given_name: "Kate".into(),
            ..katherine()
        },
        SuppliedPerson {
            date_of_birth: Some(date("2015-07-03")),
            postcode: None,
            ..katherine()
        },
        person(
            "Tom",
            "",
            "Smith",
            "2012-09-21",
            "M",
            "12 High St",
            "Bedford",
            "MK40 1AB",
        ),
        person(
            "Amara",
            "",
            "Okafor",
            "2016-01-30",
            "F",
            "1 Elm Close",
            "Luton",
            "LU1 3XY",
        ),
    ]
    .iter()
    .map(normalise)
    .collect();
    let clusters = find_duplicates(&records, &Model::configured(), Thresholds::DEFAULT.upper);
    let members: Vec<Vec<usize>> = clusters.iter().map(|c| c.members.clone()).collect();
    assert_eq!(members, vec![vec![0, 3, 4], vec![1, 5]]);
    for cluster in &clusters {
        assert!(cluster.pairs.iter().all(|p| p.probability >= 0.999));
    }
}

#[test]
fn blocking_keys_survive_the_usual_errors() {
    let base = normalise(&katherine());
    let keys = |p: &SuppliedPerson| blocking_keys(&normalise(p));
    let shares = |p: &SuppliedPerson| {
        let k = keys(p);
        blocking_keys(&base).iter().any(|x| k.contains(x))
    };
    // Every date a person could mean (swap, one digit) shares a key.
    for variant in crate::date_variants(katherine().date_of_birth.unwrap()) {
        let varied = SuppliedPerson {
            date_of_birth: Some(variant),
            ..katherine()
        };
        assert!(shares(&varied), "{variant}");
    }
    for varied in [
        SuppliedPerson {
            given_name: "Kate".into(),
            family_name: "Okafor".into(),
            ..katherine()
        },
        SuppliedPerson {
            given_name: "Xanthe".into(),
            postcode: Some("LS1 1AA".into()),
            ..katherine()
        },
        SuppliedPerson {
            date_of_birth: None,
            postcode: None,
            ..katherine()
        },
        SuppliedPerson {
            given_name: "Rose".into(),
            middle_names: None,
            family_name: "Jones".into(),
            ..katherine()
        },
    ] {
        assert!(shares(&varied), "{varied:?}");
    }
    // A different child shares none.
    assert!(!shares(&person(
        "Amara",
        "",
        "Okafor",
        "2016-01-30",
        "F",
        "1 Elm Close",
        "Luton",
        "LU1 3XY"
    )));
}

#[test]
fn missing_values_weigh_nothing() {
    let model = Model::configured();
    let all_missing = Comparison::from_levels([None; FIELD_COUNT]);
    assert_eq!(model.partial_weights(&all_missing), [0.0; FIELD_COUNT]);
    assert_eq!(
        model.match_weight(&all_missing),
        model.prior_weight(Stratum::General)
    );
    let empty = normalise(&SuppliedPerson::default());
    assert_eq!(compare(&empty, &normalise(&katherine())), all_missing);
}

#[test]
fn configured_parameters_are_probabilities_in_order() {
    let model = Model::configured();
    for field in Field::ALL {
        let p = model.field(field);
        for values in [&p.m, &p.u, &p.u_household] {
            assert_eq!(values.len(), field.level_count(), "{field:?}");
            assert!((values.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{field:?}");
        }
        // The strongest agreement is evidence for, plain disagreement against.
        assert!(p.weight(Some(0)) > 0.0, "{field:?}");
        assert!(p.weight(Some(field.level_count() - 1)) < 0.0, "{field:?}");
    }
}

/// Comparison vectors drawn from a known two-class model, with some values missing.
fn draw_vectors(truth: &Model, pairs: usize, share: f64, seed: u64) -> Vec<Comparison> {
    let mut rng = StdRng::seed_from_u64(seed);
    let draw = |rng: &mut StdRng, p: &[f64]| {
        let x: f64 = rng.random();
        let mut total = 0.0;
        for (k, q) in p.iter().enumerate() {
            total += q;
            if x < total {
                return k;
            }
        }
        p.len() - 1
    };
    (0..pairs)
        .map(|_| {
            let is_match = rng.random_bool(share);
            let levels = std::array::from_fn(|f| {
                let params = &truth.fields[f];
                (!rng.random_bool(0.1))
                    .then(|| draw(&mut rng, if is_match { &params.m } else { &params.u }))
            });
            Comparison::from_levels(levels)
        })
        .collect()
}

#[test]
fn em_recovers_m_and_u_from_vectors_of_a_known_model() {
    let mut truth = Model::configured();
    // u as in candidate pairs (not random pairs): agreement is common among them.
    truth.fields[Field::GivenName.index()].u = vec![0.3, 0.1, 0.1, 0.5];
    truth.fields[Field::FamilyName.index()].u = vec![0.4, 0.1, 0.02, 0.08, 0.4];
    truth.fields[Field::DateOfBirth.index()].u = vec![0.2, 0.05, 0.1, 0.25, 0.4];
    truth.fields[Field::Postcode.index()].u = vec![0.05, 0.05, 0.1, 0.3, 0.5];
    // One stratum only, so that every field carries evidence.
    let general: Vec<Comparison> = draw_vectors(&truth, 60_000, 0.3, 11)
        .into_iter()
        .filter(|c| c.stratum() == Stratum::General)
        .collect();
    let mut start = Model::configured();
    for field in &mut start.fields {
        let n = field.m.len() as f64;
        field.u = vec![1.0 / n; field.m.len()];
    }
    let fitted = expectation_maximisation(&general, &start, &EmSettings::default());
    assert!(fitted.converged, "{} iterations", fitted.iterations);
    // The fields that choose the stratum are biased by the filter; the others are not.
    for field in [
        Field::GivenName,
        Field::MiddleNames,
        Field::DateOfBirth,
        Field::Gender,
    ] {
        let (t, f) = (truth.field(field), fitted.model.field(field));
        for k in 0..field.level_count() {
            assert!(
                (t.m[k] - f.m[k]).abs() < 0.03,
                "{field:?} m[{k}]: {} vs {}",
                t.m[k],
                f.m[k]
            );
            assert!(
                (t.u[k] - f.u[k]).abs() < 0.03,
                "{field:?} u[{k}]: {} vs {}",
                t.u[k],
                f.u[k]
            );
        }
    }
}

#[test]
fn em_fits_m_close_to_the_truth_on_generated_records() {
    let sample = Sample::generate(3, 3_000, &Rates::default());
    let directory: Vec<NormalisedPerson> = sample.directory.iter().map(normalise).collect();
    let supplied: Vec<NormalisedPerson> = sample
        .supplied
        .iter()
        .map(|s| normalise(&s.person))
        .collect();
    let mut union = directory.clone();
    union.extend(supplied.iter().cloned());
    let fitted = fit(&union, 100_000, 3, &EmSettings::default());
    assert!(fitted.same_date.converged && fitted.same_names.converged);
    // The truth: levels over every supplied record of a known child.
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
        let m = &fitted.model.field(field).m;
        for k in 0..field.level_count() {
            let truth = counts[k] / total;
            assert!(
                (truth - m[k]).abs() < 0.04,
                "{field:?} {}: fitted {:.3}, truth {truth:.3}",
                field.level_names()[k],
                m[k]
            );
        }
    }
    // u from random pairs is close to the frequencies among random pairs.
    let u = u_from_random_pairs(&directory, 50_000, 5);
    assert!(u[Field::DateOfBirth.index()][0] < 0.002);
    assert!((u[Field::Gender.index()][0] - 0.5).abs() < 0.03);
}

#[test]
fn accuracy_on_a_generated_sample() {
    let sample = Sample::generate(2009, 3_000, &Rates::default());
    let varied = sample
        .supplied
        .iter()
        .filter(|s| !s.variations.is_empty())
        .count();
    assert!(
        varied * 4 > sample.supplied.len(),
        "a quarter or more of records vary"
    );
    let national = measure(&sample, &Model::configured(), &Thresholds::DEFAULT, true);
    assert!(national.precision() >= 0.999, "{national:?}");
    assert!(national.recall() >= 0.93, "{national:?}");
    assert!(national.blocking_recall() >= 0.995, "{national:?}");
    let local = Model::configured().for_population(sample.directory.len() as u64);
    let local = measure(&sample, &local, &Thresholds::DEFAULT, true);
    // With the prior of a directory of 3,000, names and date of birth alone are enough,
    // so namesakes elsewhere link: the national prior is the default for that reason.
    assert!(local.precision() >= 0.99, "{local:?}");
    assert!(local.recall() >= 0.98, "{local:?}");
}

fn arbitrary_person() -> impl Strategy<Value = SuppliedPerson> {
    let names = prop::sample::select(vec![
        "Katherine",
        "Kate",
        "Kathryn",
        "Smith",
        "Smyth",
        "Smith-Jones",
        "Jones",
        "O'Brien",
        "Zoë",
        "Bill",
        "William",
        "Mohammed",
        "Muhammad",
        "",
        "Miss Amara",
    ]);
    let dates = prop::option::of((2008i32..2026, 1u32..13, 1u32..29))
        .prop_map(|d| d.and_then(|(y, m, day)| NaiveDate::from_ymd_opt(y, m, day)));
    let postcodes = prop::option::of(prop::sample::select(vec![
        "MK40 1AB", "MK40 1AZ", "MK40 2CD", "MK41 7XY", "LU1 3XY", "MK40",
    ]));
    let lines = prop::option::of(prop::sample::select(vec![
        "12 High Street",
        "12 High St",
        "14 High Street",
        "1 Elm Close",
    ]));
    (
        (
            names.clone(),
            prop::option::of(names.clone()),
            names.clone(),
        ),
        prop::option::of(names),
        dates,
        prop::option::of(prop::sample::select(vec!['F', 'M', 'U'])),
        (
            lines,
            prop::option::of(prop::sample::select(vec!["Bedford", "Luton"])),
            postcodes,
        ),
    )
        .prop_map(
            |((given, middle, family), former, born, gender, (line, town, postcode))| {
                SuppliedPerson {
                    given_name: given.into(),
                    middle_names: middle.map(Into::into),
                    family_name: family.into(),
                    former_family_name: former.map(Into::into),
                    date_of_birth: born,
                    gender: gender.and_then(|g| Gender::parse(&g.to_string())),
                    address_line1: line.map(Into::into),
                    town: town.map(Into::into),
                    postcode: postcode.map(Into::into),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_pair_weight_is_symmetric(a in arbitrary_person(), b in arbitrary_person()) {
        let (x, y) = (normalise(&a), normalise(&b));
        let model = Model::configured();
        prop_assert_eq!(compare(&x, &y), compare(&y, &x));
        let (xy, yx) = (model.score(&x, &y), model.score(&y, &x));
        prop_assert!((xy.weight - yx.weight).abs() < 1e-9);
        prop_assert!((0.0..=1.0).contains(&xy.probability));
    }

    #[test]
    fn a_record_is_its_own_best_match(a in arbitrary_person()) {
        let x = normalise(&a);
        let model = Model::configured();
        let own = model.score(&x, &x);
        // No field counts against a record compared with itself.
        for (weight, field) in model.partial_weights(&own.comparison).iter().zip(Field::ALL) {
            prop_assert!(*weight >= 0.0, "{:?} {:?}", field, own.comparison);
        }
        if x.date_of_birth.is_some() && !x.given.is_empty() && !x.family.is_empty() {
            prop_assert!(!blocking_keys(&x).is_empty());
        }
    }

    #[test]
    fn decisions_follow_the_rule(p in 0.0f64..=1.0, lower in 0.0f64..=1.0, upper in 0.0f64..=1.0, authoritative: bool) {
        prop_assume!(lower <= upper);
        let t = Thresholds::new(lower, upper).unwrap();
        let d = decide(p, &t, authoritative);
        let expected = if p >= upper {
            Decision::Link
        } else if p < lower && authoritative {
            Decision::New
        } else {
            Decision::Exception
        };
        prop_assert_eq!(d, expected);
    }
}

#[test]
fn a_rare_name_counts_for_more_than_a_common_one_with_frequencies() {
    let mut directory: Vec<NormalisedPerson> = (0..2_000)
        .map(|i| {
            normalise(&person(
                "Oliver",
                "",
                "Smith",
                &format!("2010-01-{:02}", i % 28 + 1),
                "M",
                "",
                "",
                "",
            ))
        })
        .collect();
    directory.push(normalise(&person(
        "Oliver",
        "",
        "Hartridge",
        "2010-01-01",
        "M",
        "",
        "",
        "",
    )));
    let frequencies = std::sync::Arc::new(NameFrequencies::from_records(&directory));
    assert_eq!(frequencies.people(), 2_001);
    assert!((frequencies.family_share("SMITH") - 2_000.0 / 2_001.0).abs() < 1e-9);
    let model = Model::configured().with_frequencies(frequencies);
    let moved = |family: &str| {
        person(
            "Oliver",
            "",
            family,
            "2010-01-01",
            "M",
            "1 Elm Close",
            "Luton",
            "LU1 3XY",
        )
    };
    let elsewhere = |family: &str| {
        normalise(&person(
            "Oliver",
            "",
            family,
            "2010-01-01",
            "M",
            "3 Park Road",
            "Leeds",
            "LS6 2QT",
        ))
    };
    let score = |family: &str| model.score(&normalise(&moved(family)), &elsewhere(family));
    let (common, rare) = (score("Smith"), score("Hartridge"));
    let plain = Model::configured().score(&normalise(&moved("Smith")), &elsewhere("Smith"));
    let family = Field::FamilyName.index();
    assert!(rare.weight > common.weight);
    assert!(rare.partial_weights[family] > plain.partial_weights[family]);
    assert!(common.partial_weights[family] < plain.partial_weights[family]);
    // Held within the range either way.
    let bound = frequencies::RANGE.log2() + 1e-9;
    assert!(rare.partial_weights[family] - plain.partial_weights[family] <= bound);
    assert!(plain.partial_weights[family] - common.partial_weights[family] <= bound);
    // The weight is the prior plus the fields.
    for s in [common, rare, plain] {
        let sum: f64 = s.partial_weights.iter().sum();
        assert!((s.weight - model.prior_weight(s.comparison.stratum()) - sum).abs() < 1e-9);
    }
}

#[test]
fn once_the_postcodes_say_the_family_moved_a_different_first_address_line_weighs_nothing_more() {
    let model = Model::configured();
    let known = normalise(&katherine());
    let mut moved = katherine();
    moved.address_line1 = Some("40 Park Avenue".into());
    moved.postcode = Some("MK41 7HT".into());
    let score = model.score(&normalise(&moved), &known);
    assert_eq!(score.comparison.postcode, compare::PostcodeLevel::Area);
    assert_eq!(
        score.comparison.address_line,
        compare::AddressLevel::Different
    );
    assert_eq!(score.partial_weights[Field::AddressLine.index()], 0.0);

    // At the same postcode, a different first line is still evidence of two homes (under
    // another family name, so that the pair is not weighed as one household).
    let mut next_door = katherine();
    next_door.family_name = "Jones".into();
    next_door.address_line1 = Some("14 High Street".into());
    let score = model.score(&normalise(&next_door), &known);
    assert_eq!(score.comparison.postcode, compare::PostcodeLevel::Full);
    assert!(score.partial_weights[Field::AddressLine.index()] < 0.0);
}
