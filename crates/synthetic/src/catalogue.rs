//! The services of the synthetic nation: for each local authority its schools by phase and
//! district, GP practices, the authority's own children's services, an NHS trust, youth
//! offending, Connexions, police, voluntary and sensitive services, each with named
//! practitioners. Sized to the number of children the authority gets.

use crate::data::{LocalAuthoritySeed, ORIGINS, STREET_NAMES, STREET_SUFFIXES};
use crate::pick::{landline, one_of, postcode, slug, Weighted};
use crate::NationSpec;
use contactpoint_domain::{
    Address, EmailAddress, FamilyName, GivenName, LocalAuthorityCode, OrganisationKind,
    ServiceCategory, Telephone,
};
use contactpoint_storage::{
    Catalogue, LocalAuthority, NewOrganisation, NewPractitioner, NewService,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

/// A service of the catalogue and the practitioners who work in it, by catalogue position.
#[derive(Debug, Clone)]
pub struct ServicePick {
    pub service: usize,
    pub practitioners: Range<usize>,
}

/// One authority's services, arranged for choosing the ones near a child.
#[derive(Debug, Clone, Default)]
pub struct AuthorityServices {
    /// Schools and GP practices by postcode district.
    pub universal: HashMap<(ServiceCategory, u8), Vec<ServicePick>>,
    /// Every other service by category.
    pub additional: HashMap<ServiceCategory, Vec<ServicePick>>,
}

impl AuthorityServices {
    /// A school or GP practice in the child's district, or the nearest district that has one.
    pub fn nearest(&self, category: ServiceCategory, district: u8) -> Option<&[ServicePick]> {
        (0..=u8::MAX).find_map(|distance| {
            [
                district.checked_sub(distance),
                district.checked_add(distance),
            ]
            .into_iter()
            .flatten()
            .find_map(|d| self.universal.get(&(category, d)).map(Vec::as_slice))
        })
    }
}

/// Services per local authority code.
#[derive(Debug, Clone, Default)]
pub struct CatalogueIndex {
    pub by_authority: BTreeMap<&'static str, AuthorityServices>,
}

struct Builder<'a> {
    rng: ChaCha8Rng,
    /// National references are drawn from a stream of their own, so that giving them left
    /// every other part of the catalogue as it was.
    references: ChaCha8Rng,
    used_references: HashSet<String>,
    catalogue: Catalogue,
    index: CatalogueIndex,
    services: usize,
    practitioners: usize,
    given: Weighted<&'a str>,
    family: Weighted<&'a str>,
    suffixes: Weighted<&'a str>,
}

impl Builder<'_> {
    /// A school's unique reference number (six digits) or a GP practice's code (a letter and
    /// five digits), never one already given.
    fn reference(&mut self, category: ServiceCategory) -> Option<String> {
        const PRACTICE_LETTERS: &[u8] = b"ABCDEFGHJKLMNPWY";
        loop {
            let reference = if category.is_school() {
                format!("{}", self.references.random_range(100_000..1_000_000))
            } else if category == ServiceCategory::GpPractice {
                let letter = char::from(*one_of(&mut self.references, PRACTICE_LETTERS));
                format!("{letter}{:05}", self.references.random_range(0..100_000))
            } else {
                return None;
            };
            if self.used_references.insert(reference.clone()) {
                return Some(reference);
            }
        }
    }

    fn address(&mut self, la: &LocalAuthoritySeed, district: u8) -> Address {
        let line1 = format!(
            "{} {} {}",
            self.rng.random_range(1..300),
            one_of(&mut self.rng, STREET_NAMES),
            self.suffixes.pick(&mut self.rng)
        );
        let town = la.towns[0];
        let postcode = postcode(&mut self.rng, la.postcode_area, district);
        Address::parse(&line1, None, town, &postcode).expect("generated addresses are valid")
    }

    fn practitioner(&mut self, domain: &str) -> NewPractitioner {
        let given = self.given.pick(&mut self.rng);
        let family = self.family.pick(&mut self.rng);
        let local = format!("{}.{}", slug(given), slug(family)).replace('-', ".");
        NewPractitioner {
            given_name: GivenName::parse(given).expect("seed names are valid"),
            family_name: FamilyName::parse(family).expect("seed names are valid"),
            telephone: Some(Telephone::parse(&landline(&mut self.rng)).expect("valid number")),
            email: EmailAddress::parse(&format!("{local}@{domain}")).ok(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn organisation(
        &mut self,
        la: &'static LocalAuthoritySeed,
        kind: OrganisationKind,
        name: String,
        district: u8,
        services: &[(ServiceCategory, String, usize)],
    ) {
        let domain = format!("{}.example.org", slug(&name));
        let address = self.address(la, district);
        let mut new_services = Vec::with_capacity(services.len());
        for (category, service_name, practitioner_count) in services {
            let practitioners: Vec<_> = (0..*practitioner_count)
                .map(|_| self.practitioner(&domain))
                .collect();
            let pick = ServicePick {
                service: self.services,
                practitioners: self.practitioners..self.practitioners + practitioners.len(),
            };
            self.services += 1;
            self.practitioners += practitioners.len();
            let entry = self.index.by_authority.entry(la.code).or_default();
            if category.is_universal() {
                entry
                    .universal
                    .entry((*category, district))
                    .or_default()
                    .push(pick);
            } else {
                entry.additional.entry(*category).or_default().push(pick);
            }
            let reference = self.reference(*category);
            new_services.push(NewService {
                name: service_name.clone(),
                category: *category,
                reference,
                address: Some(address.clone()),
                telephone: Some(Telephone::parse(&landline(&mut self.rng)).expect("valid number")),
                email: EmailAddress::parse(&format!("enquiries@{domain}")).ok(),
                practitioners,
            });
        }
        self.catalogue.organisations.push(NewOrganisation {
            kind,
            name,
            local_authority: LocalAuthorityCode::parse(la.code).expect("seed codes are valid"),
            address: Some(address),
            telephone: Some(Telephone::parse(&landline(&mut self.rng)).expect("valid number")),
            email: EmailAddress::parse(&format!("office@{domain}")).ok(),
            services: new_services,
        });
    }

    fn district(&mut self, la: &LocalAuthoritySeed) -> u8 {
        self.rng
            .random_range(la.district_range.0..=la.district_range.1)
    }

    fn authority(&mut self, la: &'static LocalAuthoritySeed, children: u64) {
        use OrganisationKind as K;
        use ServiceCategory as C;
        let per = |children_per_service: u64, minimum: u64| {
            (children / children_per_service).max(minimum) as usize
        };
        let staff = per(1_500, 2);
        let name = la.name;
        // Schools: England has about one primary per 650 children of all ages, one secondary
        // per 3,200 and a sixth-form college per 9,000.
        for (count, kind, category, label) in [
            (per(650, 2), K::School, C::PrimarySchool, "Primary School"),
            (per(3_200, 1), K::School, C::SecondarySchool, "Academy"),
            (
                per(9_000, 1),
                K::College,
                C::SixthFormCollege,
                "Sixth Form College",
            ),
        ] {
            for _ in 0..count {
                let district = self.district(la);
                let school = format!("{} {label}", one_of(&mut self.rng, STREET_NAMES));
                self.organisation(la, kind, school.clone(), district, &[(category, school, 2)]);
            }
        }
        for _ in 0..per(1_700, 2) {
            let district = self.district(la);
            let surgery = format!(
                "{} {}",
                one_of(&mut self.rng, STREET_NAMES),
                one_of(
                    &mut self.rng,
                    &[
                        "Surgery",
                        "Medical Centre",
                        "Health Centre",
                        "Medical Practice"
                    ]
                )
            );
            self.organisation(
                la,
                K::GpPractice,
                surgery.clone(),
                district,
                &[(C::GpPractice, surgery, 3)],
            );
        }
        let district = self.district(la);
        self.organisation(
            la,
            K::LocalAuthorityChildrensServices,
            format!("{name} Children's Services"),
            district,
            &[
                (
                    C::SocialCare,
                    format!("{name} Children's Social Care"),
                    staff,
                ),
                (
                    C::SpecialEducationalNeeds,
                    format!("{name} SEND Service"),
                    staff,
                ),
                (
                    C::EducationWelfare,
                    format!("{name} Education Welfare Service"),
                    staff,
                ),
                (C::EarlyYears, format!("{name} Children's Centres"), staff),
                (C::YouthService, format!("{name} Youth Service"), staff),
            ],
        );
        self.organisation(
            la,
            K::NhsTrust,
            format!("{name} Community Health NHS Trust"),
            district,
            &[
                (C::HealthVisiting, format!("{name} Health Visiting"), staff),
                (C::SchoolNursing, format!("{name} School Nursing"), staff),
                (
                    C::MentalHealth,
                    format!("{name} Child and Adolescent Mental Health Service"),
                    staff,
                ),
                (
                    C::SexualHealth,
                    format!("{name} Young People's Sexual Health Clinic"),
                    staff,
                ),
            ],
        );
        self.organisation(
            la,
            K::YouthOffendingTeam,
            format!("{name} Youth Offending Team"),
            district,
            &[(
                C::YouthOffending,
                format!("{name} Youth Offending Service"),
                staff,
            )],
        );
        self.organisation(
            la,
            K::Connexions,
            format!("Connexions {name}"),
            district,
            &[(
                C::Connexions,
                format!("Connexions {name} Personal Advisers"),
                staff,
            )],
        );
        self.organisation(
            la,
            K::Police,
            format!("{name} Police Public Protection Unit"),
            district,
            &[(
                C::PoliceChildProtection,
                format!("{name} Child Abuse Investigation Team"),
                staff,
            )],
        );
        self.organisation(
            la,
            K::Voluntary,
            format!("{name} Young People's Drug and Alcohol Service"),
            district,
            &[(
                C::SubstanceMisuse,
                format!("{name} Young People's Substance Misuse Service"),
                staff,
            )],
        );
        for charity in ["Family Support", "Young Carers"] {
            let district = self.district(la);
            self.organisation(
                la,
                K::Voluntary,
                format!("{name} {charity}"),
                district,
                &[(C::Voluntary, format!("{name} {charity} Project"), staff)],
            );
        }
    }
}

/// The local authorities, the catalogue of services and its index, for `spec`.
/// Deterministic: the same spec always gives the same catalogue.
pub fn build_catalogue(spec: &NationSpec) -> (Vec<LocalAuthority>, Catalogue, CatalogueIndex) {
    let adults = ORIGINS.iter().flat_map(|o| {
        let scale = o.per_mille;
        o.female
            .iter()
            .chain(o.male.iter())
            .map(move |(n, w)| (*n, w * scale))
    });
    let mut builder = Builder {
        rng: ChaCha8Rng::seed_from_u64(spec.seed ^ 0xC47A_1060_5EED),
        references: ChaCha8Rng::seed_from_u64(spec.seed ^ 0x0052_EFE2_E7CE),
        used_references: HashSet::new(),
        catalogue: Catalogue::default(),
        index: CatalogueIndex::default(),
        services: 0,
        practitioners: 0,
        given: Weighted::new(adults),
        family: Weighted::new(
            ORIGINS
                .iter()
                .flat_map(|o| o.family.iter().map(move |(n, w)| (*n, w * o.per_mille))),
        ),
        suffixes: Weighted::new(STREET_SUFFIXES.iter().copied()),
    };
    let mut authorities = Vec::new();
    for (la, children) in spec.authorities() {
        builder.authority(la, children);
        let domain = format!("{}.example.org", slug(la.name));
        authorities.push(LocalAuthority {
            code: LocalAuthorityCode::parse(la.code).expect("seed codes are valid"),
            name: la.name.to_owned(),
            team_email: EmailAddress::parse(&format!("contactpoint@{domain}"))
                .expect("valid e-mail"),
            team_telephone: Telephone::parse(&landline(&mut builder.rng)).expect("valid number"),
        });
    }
    (authorities, builder.catalogue, builder.index)
}
