//! Builders for valid records, and the fixed moment tests live at.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use contactpoint_domain::child::{ChildProvenance, PastAddress};
use contactpoint_domain::{
    Address, AddressState, ChildRecord, ConsentGiver, ContactPointId, EmailAddress, FamilyName,
    FormerName, Gender, GivenName, Involvement, LocalAuthorityCode, MiddleNames, OrganisationKind,
    ParentCarer, Provenance, Relationship, SensitiveBasis, ServiceCategory, SourceCode, Telephone,
};
use contactpoint_storage::{
    Catalogue, CatalogueIds, LocalAuthority, NewOrganisation, NewPractitioner, NewService,
};
use rand::SeedableRng;

/// The moment every test is set at unless it says otherwise.
pub fn test_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 30, 0).unwrap()
}

pub fn test_today() -> NaiveDate {
    test_now().date_naive()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn address(line1: &str, postcode: &str) -> Address {
    Address::parse(line1, None, "Bedford", postcode).unwrap()
}

pub fn sample_local_authority() -> LocalAuthority {
    LocalAuthority {
        code: LocalAuthorityCode::parse("E06000055").unwrap(),
        name: "Bedford".into(),
        team_email: EmailAddress::parse("contactpoint@bedford.example.gov.uk").unwrap(),
        team_telephone: Telephone::parse("01234 000000").unwrap(),
    }
}

/// One school, one GP practice and an NHS trust running a mental health service, each with
/// one named practitioner: services 0, 1 and 2; practitioners 0, 1 and 2.
/// The national references of the sample catalogue's school and GP practice.
pub const SAMPLE_SCHOOL_URN: &str = "109521";
pub const SAMPLE_GP_PRACTICE_CODE: &str = "E81001";

pub fn sample_catalogue() -> Catalogue {
    let la = sample_local_authority().code;
    let practitioner = |given: &str, family: &str| NewPractitioner {
        given_name: GivenName::parse(given).unwrap(),
        family_name: FamilyName::parse(family).unwrap(),
        telephone: Some(Telephone::parse("01234 111222").unwrap()),
        email: Some(
            EmailAddress::parse(&format!("{}@service.example.org.uk", given.to_lowercase()))
                .unwrap(),
        ),
    };
    let organisation =
        |kind, name: &str, category, service: &str, who: NewPractitioner| NewOrganisation {
            kind,
            name: name.into(),
            local_authority: la.clone(),
            address: Some(address("1 Service Road", "MK40 2AA")),
            telephone: Some(Telephone::parse("01234 222333").unwrap()),
            email: None,
            services: vec![NewService {
                name: service.into(),
                category,
                reference: match category {
                    ServiceCategory::PrimarySchool => Some(SAMPLE_SCHOOL_URN.into()),
                    ServiceCategory::GpPractice => Some(SAMPLE_GP_PRACTICE_CODE.into()),
                    _ => None,
                },
                address: Some(address("1 Service Road", "MK40 2AA")),
                telephone: Some(Telephone::parse("01234 333444").unwrap()),
                email: Some(EmailAddress::parse("office@service.example.org.uk").unwrap()),
                practitioners: vec![who],
            }],
        };
    Catalogue {
        organisations: vec![
            organisation(
                OrganisationKind::School,
                "Castle Lower School",
                ServiceCategory::PrimarySchool,
                "Castle Lower School",
                practitioner("Helen", "Ward"),
            ),
            organisation(
                OrganisationKind::GpPractice,
                "Riverside Surgery",
                ServiceCategory::GpPractice,
                "Riverside Surgery",
                practitioner("Imran", "Shah"),
            ),
            organisation(
                OrganisationKind::NhsTrust,
                "East of England NHS Trust",
                ServiceCategory::MentalHealth,
                "Child and Adolescent Mental Health Service",
                practitioner("Grace", "Okafor"),
            ),
        ],
    }
}

/// A complete, valid record that uses every part of the model: a middle name, a former
/// name, an address history, two parents, both universal services and a sensitive service
/// recorded with the child's own consent. `seed` varies the ContactPoint ID.
pub fn sample_child(catalogue: &Catalogue, ids: &CatalogueIds, seed: u64) -> ChildRecord {
    let at = |source: &str| Provenance::new(SourceCode::parse(source).unwrap(), test_now());
    let services: Vec<_> = catalogue
        .services()
        .enumerate()
        .map(|(i, s)| ids.service_ref(s, i))
        .collect();
    let practitioners: Vec<_> = catalogue
        .services()
        .flat_map(|(_, s)| s.practitioners.iter())
        .enumerate()
        .map(|(i, p)| ids.practitioner_ref(p, i))
        .collect();
    let involvement = |i: usize, started_on, basis| Involvement {
        service: services[i].clone(),
        practitioner: Some(practitioners[i].clone()),
        started_on,
        ended_on: None,
        lead_professional: false,
        caf_completed_on: None,
        sensitive_basis: basis,
        provenance: at(SourceCode::LOCAL_SYSTEMS),
    };
    let mut school = involvement(0, date(2018, 9, 5), None);
    school.lead_professional = true;
    school.caf_completed_on = Some(date(2025, 1, 20));
    school.provenance = at(SourceCode::SCHOOLS_CENSUS);
    let mut gp = involvement(1, date(2014, 7, 1), None);
    gp.provenance = at(SourceCode::NHS_DEMOGRAPHICS);
    let camhs = involvement(
        2,
        date(2026, 7, 6),
        Some(SensitiveBasis::Consent {
            given_by: ConsentGiver::Child,
            given_on: date(2026, 7, 2),
        }),
    );
    let home = Address::parse("14 Castle Road", Some("Flat 2"), "Bedford", "MK40 3PD").unwrap();
    ChildRecord {
        contactpoint_id: ContactPointId::random(&mut rand::rngs::StdRng::seed_from_u64(seed)),
        given_name: GivenName::parse("Amelia").unwrap(),
        middle_names: Some(MiddleNames::parse("Rose Olúwadámilọ́lá").unwrap()),
        family_name: FamilyName::parse("Smith-Adeyemi").unwrap(),
        former_names: vec![FormerName {
            given_name: None,
            family_name: FamilyName::parse("Adeyemi").unwrap(),
            provenance: at(SourceCode::BIRTH_REGISTRATION),
        }],
        gender: Gender::Female,
        date_of_birth: date(2014, 6, 30),
        date_of_death: None,
        address: AddressState::Current {
            address: home.clone(),
        },
        address_since: date(2022, 4, 1),
        address_history: vec![PastAddress {
            address: address("3 Mill Lane", "MK41 7HT"),
            from: date(2014, 7, 2),
            until: date(2022, 3, 31),
        }],
        local_authority: sample_local_authority().code,
        shielded: false,
        parents_carers: vec![
            ParentCarer {
                given_name: GivenName::parse("Funmilayo").unwrap(),
                family_name: FamilyName::parse("Adeyemi").unwrap(),
                relationship: Relationship::Mother,
                address: Some(home),
                telephone: Some(Telephone::parse("07700 900123").unwrap()),
                provenance: at(SourceCode::CHILD_BENEFIT),
            },
            ParentCarer {
                given_name: GivenName::parse("Daniel").unwrap(),
                family_name: FamilyName::parse("Smith").unwrap(),
                relationship: Relationship::Father,
                address: None,
                telephone: None,
                provenance: at(SourceCode::CHILD_BENEFIT),
            },
        ],
        involvements: vec![school, gp, camhs],
        provenance: ChildProvenance {
            name: at(SourceCode::BIRTH_REGISTRATION),
            gender: at(SourceCode::BIRTH_REGISTRATION),
            date_of_birth: at(SourceCode::BIRTH_REGISTRATION),
            address: at(SourceCode::CHILD_BENEFIT),
            date_of_death: None,
        },
    }
}
