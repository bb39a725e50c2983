//! The projection as a table of viewers and record states.

use super::*;
use crate::child::{ChildProvenance, FormerName};
use crate::{Address, ConsentGiver, SensitiveBasis, ServiceCategory, ServiceRef, SourceCode};
use chrono::{TimeZone, Utc};

const HOME: &str = "E06000055";
const ELSEWHERE: &str = "E09000002";
const CAMHS: i64 = 30;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(day: u32) -> Provenance {
    Provenance::new(
        SourceCode::parse("local_systems").unwrap(),
        Utc.with_ymd_and_hms(2026, 10, day, 9, 0, 0).unwrap(),
    )
}

fn involvement(
    id: i64,
    category: ServiceCategory,
    ended_on: Option<NaiveDate>,
    supplied_day: u32,
) -> Involvement {
    Involvement {
        service: ServiceRef {
            id,
            name: format!("Service {id}"),
            organisation_name: "Org".into(),
            category,
            address: None,
            telephone: None,
            email: None,
        },
        practitioner: None,
        started_on: date(2015, 1, 1),
        ended_on,
        lead_professional: false,
        caf_completed_on: None,
        sensitive_basis: category.is_sensitive().then(|| SensitiveBasis::Consent {
            given_by: ConsentGiver::ParentCarer,
            given_on: date(2015, 1, 1),
        }),
        provenance: at(supplied_day),
    }
}

fn record(shielded: bool) -> ChildRecord {
    let home = Address::parse("14 Castle Road", None, "Bedford", "MK40 3PD").unwrap();
    ChildRecord {
        contactpoint_id: ContactPointId::parse("4821 0937 5511")
            .unwrap_or_else(|_| ContactPointId::random(&mut rand::rng())),
        given_name: GivenName::parse("Amelia").unwrap(),
        middle_names: None,
        family_name: FamilyName::parse("Smith").unwrap(),
        former_names: vec![FormerName {
            given_name: None,
            family_name: FamilyName::parse("Adeyemi").unwrap(),
            provenance: at(1),
        }],
        gender: Gender::Female,
        date_of_birth: date(2014, 6, 30),
        date_of_death: None,
        address: AddressState::Current {
            address: home.clone(),
        },
        address_since: date(2020, 1, 1),
        address_history: vec![],
        local_authority: LocalAuthorityCode::parse(HOME).unwrap(),
        shielded,
        parents_carers: vec![ParentCarer {
            given_name: GivenName::parse("Funmi").unwrap(),
            family_name: FamilyName::parse("Adeyemi").unwrap(),
            relationship: Relationship::Mother,
            address: Some(home),
            telephone: None,
            provenance: at(2),
        }],
        involvements: vec![
            involvement(10, ServiceCategory::PrimarySchool, None, 3),
            involvement(20, ServiceCategory::SocialCare, Some(date(2021, 11, 22)), 4),
            involvement(
                21,
                ServiceCategory::YouthService,
                Some(date(2021, 11, 24)),
                5,
            ),
            involvement(CAMHS, ServiceCategory::MentalHealth, None, 20),
        ],
        provenance: ChildProvenance {
            name: at(1),
            gender: at(1),
            date_of_birth: at(1),
            address: at(6),
            date_of_death: None,
        },
    }
}

fn viewer(role: Role, la: &str, services: &[i64], shield_override: bool) -> Viewer {
    Viewer {
        role,
        local_authority: LocalAuthorityCode::parse(la).unwrap(),
        service_ids: services.to_vec(),
        shield_override,
    }
}

fn today() -> NaiveDate {
    date(2026, 11, 23)
}

fn ids(p: &ProjectedRecord) -> Vec<i64> {
    p.involvements.iter().map(|i| i.service.id).collect()
}

#[test]
fn a_practitioner_sees_everything_but_the_sensitive_service_and_old_involvements() {
    let p = project(
        &record(false),
        &viewer(Role::Practitioner, HOME, &[10], false),
        today(),
        "team",
    );
    assert_eq!(p.projection, ProjectionKind::Full);
    assert_eq!(
        ids(&p),
        [10, 21],
        "social care ended more than five years ago; CAMHS is masked"
    );
    assert!(p.sensitive_services_involved);
    assert!(p.address.is_some() && p.parents_carers[0].contact.is_some());
    assert_eq!(p.former_family_names.len(), 1);
    assert_eq!(p.shielded_contact, None);
    // The masked service's later supply date does not leak through "last updated".
    assert_eq!(p.last_updated.unwrap().supplied_at, at(6).supplied_at);
}

#[test]
fn the_sensitive_service_itself_sees_its_own_involvement() {
    let p = project(
        &record(false),
        &viewer(Role::Practitioner, HOME, &[CAMHS], false),
        today(),
        "team",
    );
    assert!(ids(&p).contains(&CAMHS));
    assert!(!p.sensitive_services_involved);
    assert_eq!(p.last_updated.unwrap().supplied_at, at(20).supplied_at);
}

#[test]
fn every_other_viewer_sees_only_that_sensitive_services_are_involved() {
    for role in [
        Role::Mediator,
        Role::LocalTeam,
        Role::NationalAdministrator,
        Role::Auditor,
    ] {
        let p = project(
            &record(false),
            &viewer(role, HOME, &[], false),
            today(),
            "team",
        );
        assert!(!ids(&p).contains(&CAMHS), "{role:?}");
        assert!(p.sensitive_services_involved, "{role:?}");
    }
}

#[test]
fn a_shielded_child_shows_only_names_gender_birth_date_id_and_parents_names() {
    for v in [
        viewer(Role::Practitioner, HOME, &[10, CAMHS], false),
        viewer(Role::LocalTeam, ELSEWHERE, &[], false),
        viewer(Role::NationalAdministrator, HOME, &[], false),
        viewer(Role::Mediator, HOME, &[], true),
    ] {
        let p = project(
            &record(true),
            &v,
            today(),
            "contactpoint@bedford.example.org",
        );
        assert_eq!(p.projection, ProjectionKind::Shielded, "{v:?}");
        assert!(
            p.address.is_none() && p.involvements.is_empty() && p.former_family_names.is_empty()
        );
        assert!(p.parents_carers.iter().all(|pc| pc.contact.is_none()));
        assert_eq!(p.parents_carers[0].family_name.as_str(), "Adeyemi");
        assert!(p
            .shielded_contact
            .as_deref()
            .unwrap()
            .contains("contactpoint@bedford.example.org"));
        assert_eq!(
            p.last_updated.unwrap().supplied_at,
            at(1).supplied_at,
            "no date from a hidden value"
        );
    }
}

#[test]
fn the_responsible_team_and_a_practitioners_override_open_a_shielded_record() {
    let team = project(
        &record(true),
        &viewer(Role::LocalTeam, HOME, &[], false),
        today(),
        "team",
    );
    assert_eq!(team.projection, ProjectionKind::ShieldedForResponsibleTeam);
    assert!(team.address.is_some() && !team.involvements.is_empty());
    assert!(
        team.sensitive_services_involved,
        "still masked for the team"
    );
    let police = project(
        &record(true),
        &viewer(Role::Practitioner, ELSEWHERE, &[], true),
        today(),
        "team",
    );
    assert_eq!(police.projection, ProjectionKind::ShieldOverride);
    assert!(police.address.is_some());
    assert!(police.shielded, "it still says the child is shielded");
}

#[test]
fn a_reason_comes_from_the_list_or_says_why_in_words() {
    assert_eq!(
        ViewReason::parse("safeguarding_concern", None)
            .unwrap()
            .code(),
        "safeguarding_concern"
    );
    assert_eq!(
        ViewReason::parse("other", Some("  Arranging a   multi-agency meeting ")).unwrap(),
        ViewReason::Other("Arranging a multi-agency meeting".into())
    );
    assert_eq!(
        ViewReason::parse("other", Some("curious"))
            .unwrap_err()
            .field,
        "reason_text"
    );
    assert_eq!(
        ViewReason::parse("other", None).unwrap_err().field,
        "reason_text"
    );
    let err = ViewReason::parse("because", None).unwrap_err();
    assert_eq!(err.field, "reason");
    assert!(err.expected.contains("coordinating_support") && err.expected.contains("other"));
    for code in ViewReason::CODES {
        assert!(
            ViewReason::parse(code, Some("a reason given in words")).is_ok(),
            "{code}"
        );
    }
}
