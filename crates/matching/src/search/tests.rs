use super::*;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn oliver() -> Findable {
    Findable {
        given_name: "William".into(),
        middle_names: Some("Oluwaseun".into()),
        family_name: "Smith-Adeyemi".into(),
        former_family_names: vec!["Okafor".into()],
        date_of_birth: Some(date("2015-03-14")),
        gender: "male".into(),
        current_postcode: Some("MK40 1AB".into()),
        earlier_postcodes: vec!["LU1 3XY".into()],
        ..Findable::default()
    }
}

fn query(given: &str, family: &str, born: &str) -> Query {
    Query {
        given_name: (!given.is_empty()).then(|| given.into()),
        family_name: (!family.is_empty()).then(|| family.into()),
        birth: (!born.is_empty()).then(|| BirthQuery::Date(date(born))),
        ..Query::default()
    }
}

const YEARS: std::ops::RangeInclusive<i32> = 2000..=2026;

/// The score when the query's keys reach the child, None when the index would not find it.
fn found(query: &Query, child: &Findable) -> Option<f64> {
    let indexed: BTreeSet<i64> = child.index_keys().into_iter().collect();
    query
        .probe_keys(YEARS)
        .iter()
        .any(|k| indexed.contains(k))
        .then(|| query.score(child))
}

fn assert_found(query: Query, at_least: f64) {
    let score = found(&query, &oliver());
    assert!(
        score.is_some_and(|s| s >= at_least),
        "{query:?} scored {score:?}, wanted at least {at_least}"
    );
}

#[test]
fn the_exact_details_find_the_child_with_a_score_of_one() {
    assert_eq!(
        found(&query("William", "Smith-Adeyemi", "2015-03-14"), &oliver()),
        Some(1.0)
    );
}

#[test]
fn sound_alike_spellings_find_the_child() {
    assert_found(query("Wiliam", "Smyth-Adeyemi", "2015-03-14"), 0.9);
    assert_found(query("William", "Smyth", "2015-03-14"), 0.85);
}

#[test]
fn nicknames_and_short_forms_find_the_child() {
    assert_found(query("Bill", "Smith-Adeyemi", "2015-03-14"), 0.9);
    assert_found(query("Liam", "Smith-Adeyemi", "2015-03-14"), 0.9);
}

#[test]
fn either_part_of_a_double_barrelled_name_finds_the_child() {
    assert_found(query("William", "Smith", "2015-03-14"), 0.9);
    assert_found(query("William", "Adeyemi", "2015-03-14"), 0.9);
    assert_found(query("William", "Adeyemi Smith", "2015-03-14"), 0.9);
}

#[test]
fn given_and_family_names_swapped_find_the_child() {
    assert_found(query("Smith-Adeyemi", "William", "2015-03-14"), 0.9);
}

#[test]
fn a_former_family_name_finds_the_child() {
    assert_found(query("William", "Okafor", "2015-03-14"), 0.9);
}

#[test]
fn a_middle_name_used_as_the_given_name_finds_the_child() {
    assert_found(query("Oluwaseun", "Smith-Adeyemi", "2015-03-14"), 0.9);
}

#[test]
fn day_and_month_transposed_find_the_child() {
    let mut child = oliver();
    child.date_of_birth = Some(date("2015-04-03"));
    let mut q = query("William", "Smith-Adeyemi", "2015-03-04");
    assert!(found(&q, &child).is_some_and(|s| s >= 0.95));
    // With only one name the exact-date keys still reach it.
    q.given_name = None;
    q.postcode = PostcodeParts::parse("MK40");
    assert!(found(&q, &child).is_some_and(|s| s >= 0.9));
}

#[test]
fn one_digit_wrong_in_the_date_of_birth_finds_the_child() {
    for typo in ["2015-03-15", "2015-08-14", "2016-03-14", "2005-03-14"] {
        assert_found(query("William", "Smith-Adeyemi", typo), 0.9);
    }
}

#[test]
fn an_age_range_instead_of_a_date_finds_the_child() {
    let mut q = query("William", "Smith", "");
    q.birth = Some(BirthQuery::Between(date("2014-11-24"), date("2016-11-23")));
    assert_found(q.clone(), 1.0 * 0.95);
    q.birth = Some(BirthQuery::Between(date("2016-01-01"), date("2018-11-23")));
    assert!(
        found(&q, &oliver()).is_none_or(|s| s < 0.7),
        "outside the range"
    );
}

#[test]
fn partial_and_old_postcodes_find_the_child() {
    let with_postcode = |postcode: &str| Query {
        given_name: Some("William".into()),
        family_name: Some("Smith-Adeyemi".into()),
        postcode: PostcodeParts::parse(postcode),
        ..Query::default()
    };
    assert_found(with_postcode("MK40 1AB"), 1.0);
    assert_found(with_postcode("MK40"), 1.0);
    assert_found(with_postcode("MK40 1"), 1.0);
    assert_found(with_postcode("LU1 3XY"), 0.95);
    assert!(
        found(&with_postcode("MK40 1AB"), &oliver()).unwrap()
            > found(&with_postcode("MK40 9ZZ"), &oliver()).unwrap(),
        "the whole postcode counts for more than its district"
    );
}

#[test]
fn a_different_child_scores_low_or_is_not_reached() {
    let mut other = oliver();
    other.given_name = "Chidi".into();
    other.middle_names = None;
    other.family_name = "Okonkwo".into();
    other.former_family_names.clear();
    other.date_of_birth = Some(date("2012-09-01"));
    let score = found(&query("William", "Smith-Adeyemi", "2015-03-14"), &other);
    assert!(score.is_none_or(|s| s < 0.5), "{score:?}");
}

#[test]
fn gender_agreeing_raises_the_score_and_disagreeing_lowers_it() {
    let mut q = query("William", "Smith", "2015-03-14");
    let without = q.score(&oliver());
    q.gender = Some("male".into());
    let agreeing = q.score(&oliver());
    q.gender = Some("female".into());
    let disagreeing = q.score(&oliver());
    assert!(agreeing > without && without > disagreeing);
}

#[test]
fn index_keys_are_few_and_unrepeated() {
    let keys = oliver().index_keys();
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len());
    assert!(keys.len() < 120, "{} keys", keys.len());
}

#[test]
fn a_typo_that_changes_a_names_sound_still_finds_the_child_when_the_date_is_right() {
    // "Isabekl" and "Wlliam" do not sound like Isabel and William to Double Metaphone.
    let with_postcode = Query {
        given_name: Some("Wlliam".into()),
        birth: Some(BirthQuery::Date(date("2015-03-14"))),
        postcode: PostcodeParts::parse("MK40 1AB"),
        ..Query::default()
    };
    assert_found(with_postcode, 0.8);
    assert_found(query("Wiliamm", "Smiht-Adeyemi", "2015-03-14"), 0.85);
}

#[test]
fn one_slip_is_a_letter_wrong_missing_extra_or_swapped_with_its_neighbour() {
    for (a, b) in [
        ("EVANS", "EVAS"),
        ("EVANS", "EVANSS"),
        ("EVANS", "EVENS"),
        ("EVANS", "EAVNS"),
        ("WRIGHT", "WRIGTH"),
    ] {
        assert!(one_slip_apart(a, b), "{a} {b}");
        assert!(one_slip_apart(b, a), "{b} {a}");
    }
    for (a, b) in [
        ("EVANS", "EVANS"),
        ("EVANS", "EVA"),
        ("EVANS", "AVENS"),
        ("WRIGHT", "WIRGTH"),
    ] {
        assert!(!one_slip_apart(a, b), "{a} {b}");
    }
}

#[test]
fn words_one_slip_apart_share_a_spelling_fragment() {
    let shares = |a: &str, b: &str| {
        let fa: BTreeSet<i64> = spelling_fragments(a).into_iter().collect();
        spelling_fragments(b).iter().any(|f| fa.contains(f))
    };
    for (a, b) in [
        ("Williams", "Williakms"),
        ("Williams", "Wiliams"),
        ("Sienna", "Sienan"),
        ("Wright", "Wrught"),
    ] {
        assert!(shares(a, b), "{a} {b}");
    }
    assert!(!shares("Williams", "Jones"));
}

#[test]
fn a_typo_in_a_name_with_a_date_slip_finds_the_child_through_the_names_the_directory_holds() {
    // "Smiht" sounds like nothing the child is indexed under, and the date is a digit out,
    // so no exact-date key reaches the child: the spelling the directory holds does.
    let typo = query("William", "Snith", "2015-03-15");
    assert_eq!(found(&typo, &oliver()), None);
    let known: Vec<String> = oliver().name_words().into_iter().collect();
    let corrected = typo.clone().with_spellings(&known);
    assert_eq!(corrected.family_spellings, ["SMITH"]);
    assert!(
        corrected.given_spellings.is_empty(),
        "William is held as it is"
    );
    assert!(found(&corrected, &oliver()).is_some_and(|s| s >= 0.85));
    // An age range with a typo in the given name.
    let mut ranged = query("Willaim", "Smith", "");
    ranged.birth = Some(BirthQuery::Between(date("2014-11-24"), date("2016-11-23")));
    assert!(found(&ranged.clone().with_spellings(&known), &oliver()).is_some_and(|s| s >= 0.85));
}
