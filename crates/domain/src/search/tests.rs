use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn form(fields: &[(&str, &str)]) -> SearchForm {
    let mut f = SearchForm::default();
    for (name, value) in fields {
        let v = Some((*value).to_owned());
        match *name {
            "family_name" => f.family_name = v,
            "given_name" => f.given_name = v,
            "date_of_birth" => f.date_of_birth = v,
            "age_from" => f.age_from = v,
            "age_to" => f.age_to = v,
            "gender" => f.gender = v,
            "postcode" => f.postcode = v,
            "contactpoint_id" => f.contactpoint_id = v,
            other => panic!("no field {other}"),
        }
    }
    f
}

fn refusal(fields: &[(&str, &str)]) -> SearchRefusal {
    SearchCriteria::parse(&form(fields), today()).unwrap_err()
}

#[test]
fn a_family_name_alone_is_too_vague_and_the_refusal_says_what_to_add() {
    let SearchRefusal::TooVague { add } = refusal(&[("family_name", "Smith")]) else {
        panic!("not refused as too vague")
    };
    assert!(
        add.contains("two of") && add.contains("a given name") && add.contains("a postcode"),
        "{add}"
    );
}

#[test]
fn two_criteria_or_no_name_are_too_vague_and_gender_does_not_count() {
    for fields in [
        &[("family_name", "Smith"), ("given_name", "Ann")][..],
        &[
            ("family_name", "Smith"),
            ("gender", "F"),
            ("date_of_birth", "2015-01-02"),
        ],
        &[("date_of_birth", "2015-01-02"), ("postcode", "MK40 1AB")],
        &[],
    ] {
        assert!(
            matches!(refusal(fields), SearchRefusal::TooVague { .. }),
            "{fields:?}"
        );
    }
}

#[test]
fn three_criteria_with_a_name_or_a_contactpoint_id_are_proportionate() {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let id = ContactPointId::random(&mut rng).as_digits();
    for fields in [
        &[
            ("family_name", "Smith"),
            ("given_name", "Ann"),
            ("date_of_birth", "2015-01-02"),
        ][..],
        &[
            ("family_name", "Smith"),
            ("date_of_birth", "2015-01-02"),
            ("postcode", "MK40"),
        ],
        &[
            ("given_name", "Ann"),
            ("age_from", "3"),
            ("age_to", "5"),
            ("postcode", "MK40 1"),
        ],
        &[("contactpoint_id", id.as_str())],
    ] {
        let parsed = SearchCriteria::parse(&form(fields), today());
        assert!(parsed.is_ok(), "{fields:?}: {parsed:?}");
    }
}

#[test]
fn a_field_that_cannot_be_read_is_named_with_what_would_be_accepted() {
    for (fields, field) in [
        (
            &[
                ("family_name", "Smith"),
                ("given_name", "Ann"),
                ("date_of_birth", "02/01/2015"),
            ][..],
            "date_of_birth",
        ),
        (
            &[
                ("family_name", "Smith"),
                ("given_name", "Ann"),
                ("date_of_birth", "2099-01-01"),
            ],
            "date_of_birth",
        ),
        (
            &[
                ("family_name", "Smith"),
                ("given_name", "Ann"),
                ("postcode", "not a postcode"),
            ],
            "postcode",
        ),
        (
            &[
                ("family_name", "Smith"),
                ("given_name", "Ann"),
                ("age_from", "3"),
            ],
            "age_to",
        ),
        (
            &[
                ("family_name", "Smith"),
                ("given_name", "Ann"),
                ("age_from", "1"),
                ("age_to", "9"),
            ],
            "age_to",
        ),
        (
            &[
                ("family_name", "Smith"),
                ("given_name", "Ann"),
                ("age_from", "x"),
                ("age_to", "9"),
            ],
            "age_from",
        ),
        (
            &[
                ("family_name", "Smith"),
                ("given_name", "Ann"),
                ("date_of_birth", "2015-01-02"),
                ("gender", "x"),
            ],
            "gender",
        ),
        (&[("contactpoint_id", "12")], "contactpoint_id"),
    ] {
        match refusal(fields) {
            SearchRefusal::Field(e) => {
                assert_eq!(e.field, field, "{fields:?}");
                assert!(!e.expected.is_empty());
            }
            other => panic!("{fields:?}: {other:?}"),
        }
    }
}

#[test]
fn an_age_range_becomes_the_dates_of_birth_it_allows() {
    let c = SearchCriteria::parse(
        &form(&[
            ("family_name", "Smith"),
            ("given_name", "Ann"),
            ("age_from", "3"),
            ("age_to", "4"),
        ]),
        today(),
    )
    .unwrap();
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    // Aged 3 or 4 today: born after 23 Nov 2021 and on or before 23 Nov 2023.
    assert_eq!(
        c.birth,
        Some(Birth::Between(d(2021, 11, 24), d(2023, 11, 23)))
    );
}

#[test]
fn postcodes_are_read_whole_or_in_part() {
    for (input, read) in [
        ("mk40 1ab", "MK40 1AB"),
        ("MK401AB", "MK40 1AB"),
        ("MK40 1", "MK40 1"),
        ("mk40", "MK40"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("M1", "M1"),
    ] {
        assert_eq!(PostcodeFragment::parse(input).unwrap().as_str(), read);
    }
    for bad in ["", "MK", "12345", "MK40 A", "MK40 1A", "MKK40"] {
        assert!(PostcodeFragment::parse(bad).is_err(), "{bad}");
    }
}

fn candidate(id_seed: u64, score: f64, shielded: bool) -> Candidate {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(id_seed);
    Candidate {
        contactpoint_id: ContactPointId::random(&mut rng),
        given_name: "Ann".into(),
        family_name: "Smith".into(),
        date_of_birth: NaiveDate::from_ymd_opt(2015, 1, 2).unwrap(),
        gender: Gender::Female,
        town: Some("Bedford".into()),
        shielded,
        archived: false,
        score,
    }
}

fn criteria(fields: &[(&str, &str)]) -> SearchCriteria {
    SearchCriteria::parse(&form(fields), today()).unwrap()
}

const BY_NAME_AND_DATE: &[(&str, &str)] = &[
    ("family_name", "Smith"),
    ("given_name", "Ann"),
    ("date_of_birth", "2015-01-02"),
];
const BY_POSTCODE: &[(&str, &str)] = &[
    ("family_name", "Smith"),
    ("given_name", "Ann"),
    ("postcode", "MK40 1AB"),
];

fn found(outcome: SearchOutcome) -> Vec<SearchResult> {
    match outcome {
        SearchOutcome::Found(results) => results,
        SearchOutcome::TooMany { add } => panic!("too many: {add}"),
    }
}

#[test]
fn results_are_ranked_by_score_then_id_and_weak_ones_are_left_out() {
    let results = found(rank(
        &criteria(BY_NAME_AND_DATE),
        vec![
            candidate(1, 0.8, false),
            candidate(2, 0.95, false),
            candidate(3, 0.5, false),
            candidate(4, 0.8, false),
        ],
    ));
    let scores: Vec<f64> = results.iter().map(|r| r.score).collect();
    // The two fitting 0.15 less than the first are far less likely to be the child.
    assert_eq!(scores, [0.95, 0.0, 0.0]);
    assert!(results[1].contactpoint_id < results[2].contactpoint_id);
}

#[test]
fn a_child_alone_at_the_top_keeps_its_fit_as_its_score() {
    let results = found(rank(
        &criteria(BY_NAME_AND_DATE),
        vec![candidate(1, 1.0, false), candidate(2, 0.85, false)],
    ));
    assert_eq!(results[0].score, 1.0);
}

#[test]
fn two_children_fitting_exactly_as_well_each_score_half_their_fit_so_neither_looks_certain() {
    let results = found(rank(
        &criteria(BY_NAME_AND_DATE),
        vec![candidate(1, 0.96, false), candidate(2, 0.96, false)],
    ));
    let scores: Vec<f64> = results.iter().map(|r| r.score).collect();
    assert_eq!(scores, [0.48, 0.48]);
}

#[test]
fn a_near_rival_lowers_the_first_score_below_confident_and_the_order_still_follows_the_fit() {
    let results = found(rank(
        &criteria(BY_NAME_AND_DATE),
        vec![
            candidate(1, 0.93, false),
            candidate(2, 0.95, false),
            candidate(3, 0.75, false),
        ],
    ));
    let scores: Vec<f64> = results.iter().map(|r| r.score).collect();
    assert!(scores[0] < 0.9, "{scores:?}");
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert_eq!(
        results[0].contactpoint_id,
        found(rank(
            &criteria(BY_NAME_AND_DATE),
            vec![candidate(2, 0.95, false)],
        ))[0]
            .contactpoint_id
    );
}

#[test]
fn a_shielded_child_left_out_of_an_address_search_changes_no_other_childs_score() {
    let without = found(rank(
        &criteria(BY_POSTCODE),
        vec![candidate(1, 0.95, false)],
    ));
    let with = found(rank(
        &criteria(BY_POSTCODE),
        vec![candidate(1, 0.95, false), candidate(2, 0.95, true)],
    ));
    assert_eq!(with, without);
    assert_eq!(with[0].score, 0.95);
}

#[test]
fn more_good_matches_than_the_cap_is_too_many_and_says_what_to_add() {
    let many: Vec<_> = (0..11).map(|i| candidate(i, 0.9, false)).collect();
    match rank(&criteria(BY_NAME_AND_DATE), many) {
        SearchOutcome::TooMany { add } => assert!(add.contains("postcode"), "{add}"),
        SearchOutcome::Found(r) => panic!("{} results", r.len()),
    }
    let ten_good_and_weak: Vec<_> = (0..10)
        .map(|i| candidate(i, 0.9, false))
        .chain((10..15).map(|i| candidate(i, 0.75, false)))
        .collect();
    assert_eq!(
        found(rank(&criteria(BY_NAME_AND_DATE), ten_good_and_weak)).len(),
        RESULT_CAP
    );
}

#[test]
fn one_child_fitting_better_than_many_good_matches_comes_first_rather_than_too_many() {
    let many: Vec<_> = std::iter::once(candidate(0, 1.0, false))
        .chain((1..30).map(|i| candidate(i, 0.98, false)))
        .collect();
    let best = candidate(0, 1.0, false).contactpoint_id.as_digits();
    let results = found(rank(&criteria(BY_NAME_AND_DATE), many));
    assert_eq!(results.len(), RESULT_CAP);
    assert_eq!(results[0].contactpoint_id, best);
    // Twenty-nine children nearly as good leave it far from certain.
    assert!(results[0].score < 0.9, "{}", results[0].score);
    assert!(results[0].score > results[1].score);
    // Eleven that cannot be told apart at the top are still too many.
    let tied: Vec<_> = (0..11)
        .map(|i| candidate(i, 0.981, false))
        .chain(std::iter::once(candidate(11, 0.979, false)))
        .collect();
    assert!(matches!(
        rank(&criteria(BY_NAME_AND_DATE), tied),
        SearchOutcome::TooMany { .. }
    ));
}

#[test]
fn a_shielded_child_is_found_by_its_visible_fields_but_never_by_postcode_and_its_town_is_hidden() {
    let by_name = found(rank(
        &criteria(BY_NAME_AND_DATE),
        vec![candidate(1, 1.0, true)],
    ));
    assert_eq!(by_name.len(), 1);
    assert!(by_name[0].shielded && by_name[0].town.is_none());
    assert!(found(rank(&criteria(BY_POSTCODE), vec![candidate(1, 1.0, true)])).is_empty());
}

#[test]
fn shielded_children_change_nothing_a_postcode_search_shows_not_even_too_many() {
    let open: Vec<_> = (0..10).map(|i| candidate(i, 0.9, false)).collect();
    let with_shielded: Vec<_> = open
        .iter()
        .cloned()
        .chain((10..20).map(|i| candidate(i, 0.99, true)))
        .collect();
    assert_eq!(
        rank(&criteria(BY_POSTCODE), open),
        rank(&criteria(BY_POSTCODE), with_shielded)
    );
}

#[test]
fn archived_records_are_never_found() {
    let mut archived = candidate(1, 1.0, false);
    archived.archived = true;
    assert!(found(rank(&criteria(BY_NAME_AND_DATE), vec![archived])).is_empty());
}

proptest::proptest! {
    #[test]
    fn a_postcode_once_read_reads_back_the_same(input in "[A-Za-z0-9 ]{0,10}") {
        if let Ok(read) = PostcodeFragment::parse(&input) {
            proptest::prop_assert_eq!(PostcodeFragment::parse(read.as_str()).unwrap(), read);
        }
    }
}

#[test]
fn children_the_search_cannot_tell_apart_are_counted_at_the_top() {
    let tied = found(rank(
        &criteria(BY_NAME_AND_DATE),
        vec![
            candidate(1, 0.96, false),
            candidate(2, 0.96, false),
            candidate(3, 0.7, false),
        ],
    ));
    assert_eq!(alike_at_top(&tied), 2);
    let alone = found(rank(
        &criteria(BY_NAME_AND_DATE),
        vec![candidate(1, 1.0, false), candidate(2, 0.85, false)],
    ));
    assert_eq!(alike_at_top(&alone), 1);
    assert_eq!(alike_at_top(&[]), 0);
}
