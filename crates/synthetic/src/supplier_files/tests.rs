use super::*;
use crate::data::LOCAL_AUTHORITIES;
use chrono::{TimeZone, Utc};
use contactpoint_supply::{read_children, Format};
use std::collections::HashSet;

fn spec(children: u64, seed: u64) -> NationSpec {
    NationSpec {
        children,
        seed,
        as_of: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
        local_authorities: Vec::new(),
    }
}

fn write(spec: &NationSpec) -> (tempfile::TempDir, SupplierFilesSummary) {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_supplier_files(spec, dir.path(), |_| {}).unwrap();
    (dir, summary)
}

fn children(spec: &NationSpec) -> HashMap<String, ChildRecord> {
    let (_, catalogue, index) = build_catalogue(spec);
    ChildGenerator::new(spec, &catalogue, &index, &FILE_IDS)
        .map(|c| (c.contactpoint_id.as_digits(), c))
        .collect()
}

/// (source, source_record_id) -> (person, expected)
fn truth(dir: &Path) -> HashMap<(String, String), (String, String)> {
    let mut reader = csv::Reader::from_path(dir.join(TRUTH_FILE)).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["source", "source_record_id", "person", "expected"]
    );
    let mut out = HashMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        let key = (row[0].to_owned(), row[1].to_owned());
        assert!(
            out.insert(key.clone(), (row[2].to_owned(), row[3].to_owned()))
                .is_none(),
            "{key:?} twice in the truth file"
        );
    }
    out
}

/// Every row of a supplier's file as column -> value.
fn rows(dir: &Path, supplier: Supplier) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join(supplier.file_name())).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn the_same_seed_writes_the_same_files_and_another_seed_does_not() {
    let (a, summary_a) = write(&spec(300, 5));
    let (b, summary_b) = write(&spec(300, 5));
    let (c, _) = write(&spec(300, 6));
    assert_eq!(summary_a.children, 300);
    assert_eq!(summary_a.records, summary_b.records);
    for name in Supplier::ALL
        .iter()
        .map(|s| s.file_name())
        .chain([TRUTH_FILE.to_owned()])
    {
        let read = |dir: &tempfile::TempDir| std::fs::read(dir.path().join(&name)).unwrap();
        assert_eq!(read(&a), read(&b), "{name}");
        assert_ne!(read(&a), read(&c), "{name}");
    }
}

#[test]
fn every_row_is_read_back_and_only_the_deliberately_bad_rows_are_rejected() {
    let nation = spec(3_000, 8);
    let (dir, summary) = write(&nation);
    let truth = truth(dir.path());
    assert_eq!(truth.len() as u64, summary.total_records());
    let mut rejected = 0;
    for supplier in Supplier::ALL {
        let file = File::open(dir.path().join(supplier.file_name())).unwrap();
        let mut read = 0;
        for row in read_children(file, Format::Csv, nation.today()).unwrap() {
            read += 1;
            match row {
                Ok(child) => {
                    let key = (supplier.source().to_owned(), child.source_record_id.clone());
                    assert_eq!(truth[&key].1, "accepted", "{key:?}");
                }
                Err(rejection) => {
                    let id = rejection.source_record_id.clone().unwrap();
                    let key = (supplier.source().to_owned(), id);
                    assert_eq!(truth[&key].1, "rejected", "{rejection:?}");
                    rejected += 1;
                }
            }
        }
        assert_eq!(read, summary.records[&supplier], "{supplier:?}");
    }
    assert_eq!(rejected, summary.deliberately_bad);
    assert_eq!(
        truth.values().filter(|(_, e)| e == "rejected").count() as u64,
        rejected
    );
    assert!(rejected > 0, "some rows are written to be rejected");
}

#[test]
fn the_truth_file_names_the_true_child_of_every_row_and_no_other() {
    let nation = spec(800, 9);
    let (dir, _) = write(&nation);
    let truth = truth(dir.path());
    let children = children(&nation);
    let mut in_files = HashSet::new();
    for supplier in Supplier::ALL {
        assert_eq!(
            csv::Reader::from_path(dir.path().join(supplier.file_name()))
                .unwrap()
                .headers()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            supplier.columns()
        );
        for row in rows(dir.path(), supplier) {
            let key = (
                supplier.source().to_owned(),
                row["source_record_id"].clone(),
            );
            let (person, expected) = truth
                .get(&key)
                .unwrap_or_else(|| panic!("{key:?} is not in the truth file"));
            let child = &children[person];
            if expected == "accepted" && !row["date_of_birth"].is_empty() {
                // A varied date of birth is still within a digit or a swap of the truth.
                let dob = NaiveDate::parse_from_str(&row["date_of_birth"], "%Y-%m-%d").unwrap();
                assert!(
                    (dob - child.date_of_birth).num_days().abs() <= 366 * 10,
                    "{key:?}"
                );
            }
            assert!(in_files.insert(key));
        }
    }
    assert_eq!(in_files.len(), truth.len());
    // Every child is in at least one file; nearly all in three or more.
    let mut per_child: HashMap<&str, u32> = HashMap::new();
    for (person, _) in truth.values() {
        *per_child.entry(person.as_str()).or_default() += 1;
    }
    assert!(per_child.len() as f64 >= 0.99 * children.len() as f64);
}

#[test]
fn identifiers_follow_each_suppliers_scheme() {
    let (dir, _) = write(&spec(500, 10));
    for supplier in Supplier::ALL {
        for row in rows(dir.path(), supplier) {
            let id = row["source_record_id"].as_str();
            let ok = match supplier {
                Supplier::BirthRegistration => {
                    id.len() == 15 && id.starts_with("GRO-") && id[4..8].parse::<u32>().is_ok()
                }
                Supplier::SchoolsCensus => {
                    id.len() == 13
                        && id.as_bytes()[0].is_ascii_uppercase()
                        && id[1..].bytes().all(|b| b.is_ascii_digit())
                }
                Supplier::ChildBenefit => {
                    id.len() == 13
                        && id.starts_with("CHB")
                        && id[3..11].bytes().all(|b| b.is_ascii_digit())
                }
                Supplier::NhsDemographics => {
                    let digits: Vec<u32> = id.bytes().map(|b| u32::from(b - b'0')).collect();
                    let sum: u32 = (0..9).map(|i| digits[i] * (10 - i as u32)).sum();
                    id.len() == 10 && (11 - sum % 11) % 11 == digits[9]
                }
            };
            assert!(ok, "{supplier:?}: {id}");
        }
    }
}

#[test]
fn each_supplier_covers_the_children_it_should_with_its_own_columns() {
    let nation = spec(3_000, 11);
    let (dir, summary) = write(&nation);
    let children = children(&nation);
    let truth = truth(dir.path());
    let n = children.len() as f64;
    let share = |s: Supplier| summary.records[&s] as f64 / n;
    assert!((0.88..0.97).contains(&share(Supplier::BirthRegistration)));
    assert!((0.85..0.95).contains(&share(Supplier::ChildBenefit)));
    assert!((0.97..1.02).contains(&share(Supplier::NhsDemographics)));
    let school_age = children
        .values()
        .filter(|c| (4..=16).contains(&age_on(c.date_of_birth, nation.today())))
        .count() as f64;
    assert!(summary.records[&Supplier::SchoolsCensus] as f64 > 0.9 * school_age);
    let per_child = summary.total_records() as f64 / n;
    assert!(
        (3.2..3.8).contains(&per_child),
        "{per_child} records a child"
    );

    for row in rows(dir.path(), Supplier::SchoolsCensus) {
        let key = (
            Supplier::SchoolsCensus.source().to_owned(),
            row["source_record_id"].clone(),
        );
        let child = &children[&truth[&key].0];
        let age = age_on(child.date_of_birth, nation.today());
        assert!((4..=16).contains(&age));
        assert_eq!(row["school_urn"].len(), 6);
    }
    let nhs = rows(dir.path(), Supplier::NhsDemographics);
    assert!(nhs.iter().all(|r| r["gp_practice_code"].len() == 6));
    let benefit = rows(dir.path(), Supplier::ChildBenefit);
    assert!(benefit.iter().all(|r| !r["parent1_given_name"].is_empty()));
    assert!(benefit
        .iter()
        .all(|r| r["family_name"] == r["family_name"].to_uppercase()));
    let births = rows(dir.path(), Supplier::BirthRegistration);
    assert!(
        births
            .iter()
            .filter(|r| r["parent1_relationship"] == "mother")
            .count() as f64
            > 0.8 * births.len() as f64
    );
}

#[test]
fn variation_happens_at_the_documented_rates() {
    let nation = spec(3_000, 12);
    let (dir, summary) = write(&nation);
    // What the writer counted: each variation near its rate.
    for ((supplier, variation), tally) in &summary.variations {
        let rate = supplier.rates().of(variation);
        let n = tally.eligible as f64;
        let tolerance = 4.0 * (rate * (1.0 - rate) / n).sqrt() + 2.0 / n;
        assert!(
            (tally.share() - rate).abs() <= tolerance,
            "{supplier:?} {variation}: {} of {} against {rate}",
            tally.applied,
            tally.eligible
        );
    }
    for variation in [
        "nickname",
        "middle_names_left_out",
        "former_family_name_given",
        "older_address",
        "given_name_typo",
        "postcode_missing",
    ] {
        let applied: u64 = Supplier::ALL
            .iter()
            .filter_map(|s| summary.variations.get(&(*s, variation)))
            .map(|t| t.applied)
            .sum();
        assert!(applied > 0, "{variation} never happened");
    }

    // What the files show, against the true children.
    let children = children(&nation);
    let truth = truth(dir.path());
    for supplier in Supplier::ALL {
        let rates = supplier.rates();
        let rows = rows(dir.path(), supplier);
        let n = rows.len() as f64;
        let mut given_differs = 0.0;
        let mut dob_differs = 0.0;
        let mut gender_missing = 0.0;
        for row in &rows {
            let key = (
                supplier.source().to_owned(),
                row["source_record_id"].clone(),
            );
            let child = &children[&truth[&key].0];
            if !row["given_name"].eq_ignore_ascii_case(child.given_name.as_str()) {
                given_differs += 1.0;
            }
            let dob = child.date_of_birth.format("%Y-%m-%d").to_string();
            if !row["date_of_birth"].is_empty() && row["date_of_birth"] != dob {
                dob_differs += 1.0;
            }
            if row["gender"].is_empty() {
                gender_missing += 1.0;
            }
        }
        let at_most = |rate: f64| rate + 4.0 * (rate / n).sqrt() + 2.0 / n;
        let name_rate = rates.nickname + rates.spelling_variant + rates.given_name_typo;
        assert!(
            given_differs / n <= at_most(name_rate),
            "{supplier:?} given names"
        );
        let date_rate = rates.day_month_swapped + rates.date_digit_wrong + rates.deliberately_bad;
        assert!(dob_differs / n <= at_most(date_rate), "{supplier:?} dates");
        assert!(
            gender_missing / n <= at_most(rates.gender_missing),
            "{supplier:?} gender"
        );
        if supplier == Supplier::SchoolsCensus {
            assert!(
                given_differs / n >= 0.02,
                "the schools census uses short forms"
            );
        }
    }
}

#[test]
fn the_population_has_twins() {
    let (_, summary) = write(&spec(3_000, 13));
    assert!(summary.twins > 0);
    assert!(
        LOCAL_AUTHORITIES.len() + 801 < 1000,
        "authority numbers have three digits"
    );
}
