use super::*;
use chrono::TimeZone;
use contactpoint_domain::{AddressState, ChildRecord, ConsentGiver, Gender, SensitiveBasis};
use contactpoint_storage::CatalogueIds;

const IDS: CatalogueIds = CatalogueIds {
    first_organisation: 1,
    first_service: 1,
    first_practitioner: 1,
};

fn spec(children: u64, seed: u64, authorities: &[&str]) -> NationSpec {
    NationSpec {
        children,
        seed,
        as_of: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
        local_authorities: authorities.iter().map(|s| s.to_string()).collect(),
    }
}

fn generate(spec: &NationSpec) -> Vec<ChildRecord> {
    let (_, catalogue, index) = build_catalogue(spec);
    ChildGenerator::new(spec, &catalogue, &index, &IDS).collect()
}

fn share(records: &[ChildRecord], test: impl Fn(&ChildRecord) -> bool) -> f64 {
    records.iter().filter(|r| test(r)).count() as f64 / records.len() as f64
}

#[test]
fn the_same_seed_gives_the_same_nation_and_another_seed_does_not() {
    let a = generate(&spec(3_000, 42, &[]));
    let b = generate(&spec(3_000, 42, &[]));
    let c = generate(&spec(3_000, 43, &[]));
    assert_eq!(a.len(), 3_000);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let (_, catalogue_a, _) = build_catalogue(&spec(3_000, 42, &[]));
    let (_, catalogue_b, _) = build_catalogue(&spec(3_000, 42, &[]));
    assert_eq!(catalogue_a, catalogue_b);
}

#[test]
fn children_are_shared_out_among_150_authorities_by_population() {
    let nation = spec(1_000_000, 1, &[]);
    let shares = nation.authorities();
    assert_eq!(shares.len(), 150);
    assert_eq!(shares.iter().map(|(_, n)| n).sum::<u64>(), 1_000_000);
    let largest = shares.iter().max_by_key(|(_, n)| *n).unwrap();
    let smallest = shares.iter().min_by_key(|(_, n)| *n).unwrap();
    assert!(
        largest.1 > 10 * smallest.1,
        "{} vs {}",
        largest.0.name,
        smallest.0.name
    );
}

#[test]
fn one_authority_can_be_generated_on_its_own() {
    let records = generate(&spec(2_000, 7, &["E06000055"]));
    assert_eq!(records.len(), 2_000);
    assert!(records
        .iter()
        .all(|r| r.local_authority.as_str() == "E06000055"));
    assert_eq!(find_local_authority("bedford").unwrap().code, "E06000055");
}

#[test]
fn every_generated_record_keeps_every_rule_of_the_record() {
    let nation = spec(20_000, 3, &[]);
    for record in generate(&nation) {
        record
            .check(nation.today())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(record
            .involvements
            .iter()
            .any(|i| i.service.category == contactpoint_domain::ServiceCategory::GpPractice));
    }
}

#[test]
fn the_nation_has_the_proportions_of_england() {
    let records = generate(&spec(40_000, 11, &[]));
    let shielded = share(&records, |r| r.shielded);
    assert!((0.002..0.009).contains(&shielded), "shielded {shielded}");
    let sensitive = share(&records, ChildRecord::has_sensitive_service);
    assert!((0.012..0.03).contains(&sensitive), "sensitive {sensitive}");
    let additional = share(&records, |r| {
        r.involvements
            .iter()
            .any(|i| !i.service.category.is_universal() && !i.service.category.is_sensitive())
    });
    assert!(
        (0.15..0.25).contains(&additional),
        "additional {additional}"
    );
    let caf = share(&records, |r| {
        r.involvements.iter().any(|i| i.caf_completed_on.is_some())
    });
    assert!((0.02..0.08).contains(&caf), "CAF {caf}");
    assert!(records
        .iter()
        .any(|r| r.involvements.iter().any(|i| i.lead_professional)));
    let in_school = share(&records, |r| {
        r.involvements
            .iter()
            .any(|i| i.service.category.is_school())
    });
    assert!((0.6..0.88).contains(&in_school), "in school {in_school}");
    for state in ["current", "last_known", "no_known_address", "left_england"] {
        assert!(records.iter().any(|r| r.address.code() == state), "{state}");
    }
    assert!(records.iter().any(|r| r.date_of_death.is_some()));
    assert!(records.iter().any(|r| !r.former_names.is_empty()));
    assert!(records.iter().any(|r| !r.address_history.is_empty()));
    assert!(matches!(
        records
            .iter()
            .find(|r| r.address.code() == "current")
            .unwrap()
            .address,
        AddressState::Current { .. }
    ));
}

#[test]
fn sensitive_services_carry_every_kind_of_basis_and_children_consent_only_from_twelve() {
    let nation = spec(40_000, 5, &[]);
    let records = generate(&nation);
    let bases: Vec<_> = records
        .iter()
        .flat_map(|r| {
            r.involvements
                .iter()
                .filter_map(move |i| i.sensitive_basis.as_ref().map(|b| (r, b)))
        })
        .collect();
    assert!(bases
        .iter()
        .any(|(_, b)| matches!(b, SensitiveBasis::ChildProtection { .. })));
    assert!(bases.iter().any(|(_, b)| matches!(
        b,
        SensitiveBasis::Consent {
            given_by: ConsentGiver::ParentCarer,
            ..
        }
    )));
    for (record, basis) in &bases {
        if let SensitiveBasis::Consent {
            given_by: ConsentGiver::Child,
            given_on,
        } = basis
        {
            assert!(
                contactpoint_domain::involvement::age_on(record.date_of_birth, *given_on) >= 12
            );
        }
    }
}

#[test]
fn households_give_siblings_twins_and_double_barrelled_names() {
    let records = generate(&spec(20_000, 9, &[]));
    let twins = records.windows(2).filter(|w| {
        w[0].date_of_birth == w[1].date_of_birth
            && w[0].family_name == w[1].family_name
            && w[0].parents_carers == w[1].parents_carers
    });
    assert!(twins.count() > 20);
    let siblings = records.windows(2).filter(|w| {
        w[0].parents_carers == w[1].parents_carers && w[0].date_of_birth != w[1].date_of_birth
    });
    assert!(siblings.count() > 2_000);
    assert!(records.iter().any(|r| r.family_name.as_str().contains('-')));
    assert!(records.iter().any(|r| r.family_name.as_str().contains(' ')));
    let origins_seen: std::collections::HashSet<_> =
        records.iter().map(|r| r.family_name.as_str()).collect();
    for surname in ["Smith", "Khan", "Patel"] {
        assert!(origins_seen.contains(surname), "{surname}");
    }
}

/// The chance that two of `names`, drawn at random, are the same.
fn chance_two_share<'a>(names: impl Iterator<Item = &'a str>) -> f64 {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for name in names {
        *counts.entry(name).or_default() += 1;
    }
    let total = counts.values().sum::<usize>() as f64;
    counts.values().map(|&n| (n as f64 / total).powi(2)).sum()
}

/// Two children share a family name about as often as two people in England do (about one time
/// in 1,250; the 408 listed British and Irish names drawn alone made it one in 200), Smith is
/// about as common as in England (1.2 %), and two girls share a first name about as often as
/// two girls born in England in one year (about one time in 300; the lists alone made it one in
/// 200).
#[test]
fn names_are_about_as_varied_as_englands() {
    let records = generate(&spec(40_000, 5, &[]));
    let family = chance_two_share(records.iter().map(|r| r.family_name.as_str()));
    assert!(
        (0.0006..0.002).contains(&family),
        "two children share a family name with chance {family}"
    );
    let smith = share(&records, |r| r.family_name.as_str() == "Smith");
    assert!((0.006..0.02).contains(&smith), "Smith {smith}");
    let family_names: std::collections::HashSet<&str> =
        records.iter().map(|r| r.family_name.as_str()).collect();
    assert!(
        family_names.len() > 5_000,
        "{} family names",
        family_names.len()
    );
    for gender in [Gender::Female, Gender::Male] {
        let given = chance_two_share(
            records
                .iter()
                .filter(|r| r.gender == gender)
                .map(|r| r.given_name.as_str()),
        );
        assert!(
            (0.0015..0.004).contains(&given),
            "two children of {gender:?} share a first name with chance {given}"
        );
    }
}

#[test]
fn nickname_and_spelling_variants_cover_the_common_given_names() {
    let records = generate(&spec(5_000, 13, &[]));
    let with_variant = share(&records, |r| {
        let name = r.given_name.as_str();
        data::NICKNAMES
            .iter()
            .any(|(formal, short)| *formal == name || short.contains(&name))
            || data::SPELLING_VARIANTS
                .iter()
                .any(|group| group.contains(&name))
    });
    assert!(
        with_variant > 0.3,
        "only {with_variant} of children have a known variant"
    );
}

#[tokio::test]
async fn a_generated_nation_loads_and_its_statistics_add_up() {
    let db = contactpoint_test_support::TestDatabase::new(contactpoint_storage::Backend::Sqlite)
        .await
        .unwrap();
    let nation = spec(12_000, 21, &["E06000055", "E09000002"]);
    let mut last = 0;
    let summary = load_nation(&db.store, &nation, |n| last = n).await.unwrap();
    assert_eq!(
        (summary.children, last, summary.authorities),
        (12_000, 12_000, 2)
    );
    let stats = db.store.stats().await.unwrap();
    assert_eq!(stats.iter().map(|s| s.children).sum::<i64>(), 12_000);
    assert_eq!(
        stats.iter().map(|s| s.services).sum::<i64>(),
        summary.services as i64
    );
    let expected: Vec<_> = nation
        .authorities()
        .iter()
        .map(|(la, n)| (la.code.to_string(), *n as i64))
        .collect();
    for (code, n) in expected {
        assert_eq!(stats.iter().find(|s| s.code == code).unwrap().children, n);
    }
    // The first child of the nation reads back exactly as it was drawn, ids and all.
    let (_, catalogue, index) = build_catalogue(&nation);
    let ids = CatalogueIds {
        first_organisation: 1,
        first_service: 1,
        first_practitioner: 1,
    };
    let first = ChildGenerator::new(&nation, &catalogue, &index, &ids)
        .next()
        .unwrap();
    let permit =
        contactpoint_domain::Permit::system_bypass(contactpoint_domain::SystemTask::TestFixture);
    assert_eq!(
        db.store
            .child_record(&permit, &first.contactpoint_id)
            .await
            .unwrap(),
        first
    );
    db.drop_database().await;
}

#[test]
fn schools_and_gp_practices_have_unique_national_references_drawn_from_the_seed() {
    let nation = spec(50_000, 4, &[]);
    let (_, catalogue, _) = build_catalogue(&nation);
    let mut seen = std::collections::HashSet::new();
    for (_, service) in catalogue.services() {
        let category = service.category;
        match service.reference.as_deref() {
            Some(urn) if category.is_school() => {
                assert!(
                    urn.len() == 6 && urn.bytes().all(|b| b.is_ascii_digit()),
                    "{urn}"
                );
                assert!(seen.insert(urn.to_owned()), "{urn} twice");
            }
            Some(code) if category == contactpoint_domain::ServiceCategory::GpPractice => {
                let b = code.as_bytes();
                assert!(b.len() == 6 && b[0].is_ascii_uppercase(), "{code}");
                assert!(b[1..].iter().all(u8::is_ascii_digit), "{code}");
                assert!(seen.insert(code.to_owned()), "{code} twice");
            }
            None => assert!(!category.is_universal(), "{category:?} has no reference"),
            Some(other) => panic!("{category:?} has a reference {other}"),
        }
    }
    let (_, again, _) = build_catalogue(&nation);
    assert_eq!(catalogue, again);
}

#[test]
fn every_district_of_every_authority_is_placed_with_it() {
    let districts = postcode_districts(&spec(1_000, 1, &["E06000055"]));
    let names: Vec<&str> = districts.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(names, ["MK40", "MK41", "MK42", "MK43", "MK44", "MK45"]);
    assert!(districts.iter().all(|(_, la)| la.as_str() == "E06000055"));
    let all = postcode_districts(&spec(1_000, 1, &[]));
    let unique: std::collections::HashSet<_> = all.iter().map(|(d, _)| d).collect();
    assert_eq!(unique.len(), all.len());
    assert!(all.len() > 150);
}

#[tokio::test]
async fn reference_data_alone_loads_authorities_services_and_districts_but_no_children() {
    for backend in [
        contactpoint_storage::Backend::Sqlite,
        contactpoint_storage::Backend::Postgres,
    ] {
        let Some(db) = contactpoint_test_support::TestDatabase::new(backend).await else {
            eprintln!("skipped on {}: no test database configured", backend.name());
            continue;
        };
        let nation = spec(5_000, 22, &["E06000055", "E09000002"]);
        let summary = load_reference_data(&db.store, &nation).await.unwrap();
        assert_eq!((summary.authorities, summary.children), (2, 0));
        let stats = db.store.stats().await.unwrap();
        assert_eq!(stats.iter().map(|s| s.children).sum::<i64>(), 0);
        assert_eq!(
            stats.iter().map(|s| s.services).sum::<i64>(),
            summary.services as i64
        );
        for (district, la) in postcode_districts(&nation) {
            assert_eq!(
                db.store
                    .local_authority_of_district(&district)
                    .await
                    .unwrap(),
                Some(la)
            );
        }
        db.drop_database().await;
    }
}
