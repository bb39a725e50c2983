//! Children, drawn household by household: siblings and twins share parents and a home.

use crate::catalogue::{CatalogueIndex, ServicePick};
use crate::data::{
    LocalAuthoritySeed, NameTail, OriginNames, ORIGINS, STREET_NAMES, STREET_SUFFIXES,
};
use crate::pick::{mobile, one_of, postcode, Weighted};
use crate::NationSpec;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};
use contactpoint_domain::child::{ChildProvenance, PastAddress};
use contactpoint_domain::involvement::age_on;
use contactpoint_domain::{
    Address, AddressState, ChildRecord, ConsentGiver, ContactPointId, FamilyName, FormerName,
    Gender, GivenName, Involvement, LocalAuthorityCode, MiddleNames, ParentCarer, PractitionerRef,
    Provenance, Relationship, ReturnIntention, SensitiveBasis, ServiceCategory, ServiceRef,
    SourceCode, Telephone,
};
use contactpoint_storage::{Catalogue, CatalogueIds};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

const DAYS_IN_18_YEARS: u64 = 6_574;

struct OriginSampler {
    female: NameSampler,
    male: NameSampler,
    family: NameSampler,
}

/// One list of names and, when it has one, the tail beyond it.
struct NameSampler {
    listed: Weighted<&'static str>,
    /// the share of people whose name is beyond the list, and those names
    tail: Option<(f64, Weighted<&'static str>)>,
}

impl NameSampler {
    fn new(listed: &'static [(&'static str, u32)], tail: Option<NameTail>) -> Self {
        Self {
            listed: Weighted::new(listed.iter().copied()),
            tail: tail.map(|tail| {
                (
                    f64::from(tail.per_mille) / 1000.0,
                    Weighted::new((tail.names)().iter().copied()),
                )
            }),
        }
    }

    fn pick<R: Rng>(&self, rng: &mut R) -> &'static str {
        match &self.tail {
            Some((share, tail)) if rng.random_bool(*share) => tail.pick(rng),
            _ => self.listed.pick(rng),
        }
    }
}

impl OriginSampler {
    fn new(origin: &'static OriginNames) -> Self {
        Self {
            female: NameSampler::new(origin.female, origin.female_tail),
            male: NameSampler::new(origin.male, origin.male_tail),
            family: NameSampler::new(origin.family, origin.family_tail),
        }
    }

    fn given<R: Rng>(&self, rng: &mut R, gender: Gender) -> &'static str {
        match gender {
            Gender::Female => self.female.pick(rng),
            Gender::Male => self.male.pick(rng),
            Gender::NotSpecified => {
                if rng.random_bool(0.5) {
                    self.female.pick(rng)
                } else {
                    self.male.pick(rng)
                }
            }
        }
    }
}

/// Draws the children of a nation in a fixed order, authority by authority.
pub struct ChildGenerator<'a> {
    spec: &'a NationSpec,
    rng: ChaCha8Rng,
    index: &'a CatalogueIndex,
    quotas: Vec<(&'static LocalAuthoritySeed, u64)>,
    current: usize,
    services: Vec<ServiceRef>,
    practitioners: Vec<PractitionerRef>,
    origins: Weighted<usize>,
    samplers: Vec<OriginSampler>,
    suffixes: Weighted<&'static str>,
    queue: VecDeque<ChildRecord>,
}

impl std::fmt::Debug for ChildGenerator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildGenerator")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

/// The services an additional involvement can come from, with how likely each is at an age.
fn additional_categories(age: u32) -> Vec<(ServiceCategory, u32)> {
    use ServiceCategory as C;
    let mut c = vec![
        (C::SocialCare, 20),
        (C::Voluntary, 10),
        (C::PoliceChildProtection, 2),
    ];
    if age < 5 {
        c.extend([(C::HealthVisiting, 60), (C::EarlyYears, 25)]);
    } else {
        c.extend([
            (C::SchoolNursing, 15),
            (C::SpecialEducationalNeeds, 25),
            (C::EducationWelfare, 10),
        ]);
    }
    if age >= 10 {
        c.extend([(C::YouthOffending, 6), (C::YouthService, 15)]);
    }
    if age >= 13 {
        c.push((C::Connexions, 15));
    }
    c
}

impl<'a> ChildGenerator<'a> {
    pub fn new(
        spec: &'a NationSpec,
        catalogue: &Catalogue,
        index: &'a CatalogueIndex,
        ids: &CatalogueIds,
    ) -> Self {
        let services: Vec<ServiceRef> = catalogue
            .services()
            .enumerate()
            .map(|(i, s)| ids.service_ref(s, i))
            .collect();
        let practitioners = catalogue
            .services()
            .flat_map(|(_, s)| s.practitioners.iter())
            .enumerate()
            .map(|(i, p)| ids.practitioner_ref(p, i))
            .collect();
        Self {
            spec,
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
            index,
            quotas: spec.authorities(),
            current: 0,
            services,
            practitioners,
            origins: Weighted::new(ORIGINS.iter().enumerate().map(|(i, o)| (i, o.per_mille))),
            samplers: ORIGINS.iter().map(OriginSampler::new).collect(),
            suffixes: Weighted::new(STREET_SUFFIXES.iter().copied()),
            queue: VecDeque::new(),
        }
    }

    /// Up to `n` more children; fewer (or none) once the nation is complete.
    pub fn next_batch(&mut self, n: usize) -> Vec<ChildRecord> {
        self.by_ref().take(n).collect()
    }

    fn today(&self) -> NaiveDate {
        self.spec.today()
    }

    /// A supply moment some days after `date`, never after the nation's moment.
    fn supplied(&self, source: &str, date: NaiveDate, days_later: u64) -> Provenance {
        let at = date
            .checked_add_days(Days::new(days_later))
            .map(|d| {
                DateTime::<Utc>::from_naive_utc_and_offset(
                    d.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()),
                    Utc,
                )
            })
            .unwrap_or(self.spec.as_of)
            .min(self.spec.as_of);
        Provenance::new(SourceCode::parse(source).expect("known source"), at)
    }

    fn address(&mut self, la: &LocalAuthoritySeed, district: u8) -> Address {
        let line1 = format!(
            "{} {} {}",
            self.rng.random_range(1..250),
            one_of(&mut self.rng, STREET_NAMES),
            self.suffixes.pick(&mut self.rng)
        );
        let line2 = self
            .rng
            .random_bool(0.08)
            .then(|| format!("Flat {}", self.rng.random_range(1..40)));
        let town = if la.towns.len() > 1 && self.rng.random_bool(0.5) {
            *one_of(&mut self.rng, &la.towns[1..])
        } else {
            la.towns[0]
        };
        let postcode = postcode(&mut self.rng, la.postcode_area, district);
        Address::parse(&line1, line2.as_deref(), town, &postcode)
            .expect("generated addresses are valid")
    }

    fn pick(&mut self, picks: &[ServicePick]) -> (ServiceRef, Option<PractitionerRef>) {
        let p = one_of(&mut self.rng, picks).clone();
        let practitioner = (!p.practitioners.is_empty())
            .then(|| self.practitioners[self.rng.random_range(p.practitioners)].clone());
        (self.services[p.service].clone(), practitioner)
    }

    fn involvement(
        &self,
        service: ServiceRef,
        practitioner: Option<PractitionerRef>,
        started_on: NaiveDate,
        source: &str,
    ) -> Involvement {
        Involvement {
            provenance: self.supplied(source, started_on, 14),
            service,
            practitioner,
            started_on,
            ended_on: None,
            lead_professional: false,
            caf_completed_on: None,
            sensitive_basis: None,
        }
    }

    fn random_date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0) as u64;
        from + Days::new(self.rng.random_range(0..=span))
    }

    /// Universal services for a child of this age living in this district.
    fn universal(
        &mut self,
        la: &LocalAuthoritySeed,
        district: u8,
        dob: NaiveDate,
    ) -> Vec<Involvement> {
        let today = self.today();
        let age = age_on(dob, today);
        let mut out = Vec::new();
        let services = &self.index.by_authority[la.code];
        if let Some(gps) = services
            .nearest(ServiceCategory::GpPractice, district)
            .map(<[_]>::to_vec)
        {
            let (service, practitioner) = self.pick(&gps);
            let registered = (dob + Days::new(self.rng.random_range(7..60))).min(today);
            out.push(self.involvement(
                service,
                practitioner,
                registered,
                SourceCode::NHS_DEMOGRAPHICS,
            ));
        }
        let school = match age {
            4..=10 => Some((ServiceCategory::PrimarySchool, 4)),
            11..=15 => Some((ServiceCategory::SecondarySchool, 11)),
            16..=17 if self.rng.random_bool(0.7) => Some((ServiceCategory::SixthFormCollege, 16)),
            _ => None,
        };
        if let Some((category, start_age)) = school {
            if let Some(schools) = services.nearest(category, district).map(<[_]>::to_vec) {
                let (service, practitioner) = self.pick(&schools);
                let september = NaiveDate::from_ymd_opt(dob.year() + start_age, 9, 1)
                    .unwrap_or(today)
                    .min(today);
                let mut school =
                    self.involvement(service, practitioner, september, SourceCode::SCHOOLS_CENSUS);
                school.practitioner = None;
                out.push(school);
            }
        }
        out
    }

    fn additional(&mut self, la: &LocalAuthoritySeed, dob: NaiveDate) -> Vec<Involvement> {
        let today = self.today();
        let age = age_on(dob, today);
        let categories = Weighted::new(additional_categories(age));
        let mut out: Vec<Involvement> = Vec::new();
        for _ in 0..self.rng.random_range(1..=2) {
            let category = categories.pick(&mut self.rng);
            let Some(picks) = self.index.by_authority[la.code]
                .additional
                .get(&category)
                .cloned()
            else {
                continue;
            };
            if out.iter().any(|i| i.service.category == category) {
                continue;
            }
            let (service, practitioner) = self.pick(&picks);
            let started_on = self.random_date_between(dob, today);
            let mut involvement =
                self.involvement(service, practitioner, started_on, SourceCode::LOCAL_SYSTEMS);
            if self.rng.random_bool(0.3) {
                involvement.ended_on = Some(self.random_date_between(started_on, today));
            }
            out.push(involvement);
        }
        if !out.is_empty() && self.rng.random_bool(0.25) {
            let open: Vec<usize> = (0..out.len())
                .filter(|&i| out[i].ended_on.is_none())
                .collect();
            if let Some(&i) = open.first() {
                let from = out[i].started_on;
                out[i].caf_completed_on = Some(self.random_date_between(from, today));
                out[i].lead_professional = self.rng.random_bool(0.8);
            }
        }
        out
    }

    fn sensitive(&mut self, la: &LocalAuthoritySeed, dob: NaiveDate) -> Option<Involvement> {
        use ServiceCategory as C;
        let today = self.today();
        let age = age_on(dob, today);
        let category = match age {
            0..=4 => return None,
            5..=11 => C::MentalHealth,
            _ => *one_of(
                &mut self.rng,
                &[
                    C::MentalHealth,
                    C::MentalHealth,
                    C::SexualHealth,
                    C::SubstanceMisuse,
                ],
            ),
        };
        let picks = self.index.by_authority[la.code]
            .additional
            .get(&category)?
            .clone();
        let (service, practitioner) = self.pick(&picks);
        let twelfth = dob
            .checked_add_months(chrono::Months::new(144))
            .unwrap_or(today);
        let child_can_consent = twelfth <= today;
        let roll: f64 = self.rng.random();
        let (started_on, basis) = if child_can_consent && roll < 0.75 {
            let on = self.random_date_between(twelfth.max(today - Days::new(700)), today);
            (
                on,
                SensitiveBasis::Consent {
                    given_by: ConsentGiver::Child,
                    given_on: on,
                },
            )
        } else if roll < 0.9 {
            let on = self.random_date_between(dob.max(today - Days::new(700)), today);
            (
                on,
                SensitiveBasis::Consent {
                    given_by: ConsentGiver::ParentCarer,
                    given_on: on,
                },
            )
        } else {
            let on = self.random_date_between(dob.max(today - Days::new(700)), today);
            let reference = format!("CP-{}-{:05}", on.year(), self.rng.random_range(0..100_000));
            (
                on,
                SensitiveBasis::child_protection(&reference).expect("valid reference"),
            )
        };
        let mut involvement =
            self.involvement(service, practitioner, started_on, SourceCode::LOCAL_SYSTEMS);
        involvement.sensitive_basis = Some(basis);
        Some(involvement)
    }

    fn household(&mut self, la: &'static LocalAuthoritySeed, wanted: u64) {
        let today = self.today();
        let origin = self.origins.pick(&mut self.rng);
        let family = self.samplers[origin].family.pick(&mut self.rng);
        let district = self
            .rng
            .random_range(la.district_range.0..=la.district_range.1);
        let home = self.address(la, district);
        let shielded = self.rng.random_bool(0.005);

        // Dates of birth: the youngest first, older siblings one to five years apart, twins now and then.
        let size = *one_of(&mut self.rng, &[1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 5])
            .min(&(wanted.max(1) as usize));
        let mut dobs = vec![today - Days::new(self.rng.random_range(0..DAYS_IN_18_YEARS))];
        while dobs.len() < size {
            let last = *dobs.last().unwrap_or(&today);
            let next = if self.rng.random_bool(0.03) {
                last
            } else {
                last - Days::new(self.rng.random_range(365..1_800))
            };
            if (today - next).num_days() as u64 >= DAYS_IN_18_YEARS {
                break;
            }
            dobs.push(next);
        }
        let oldest = *dobs.last().unwrap_or(&today);

        // Parents and carers.
        let roll: f64 = self.rng.random();
        let mother_family = if self.rng.random_bool(0.3) {
            self.samplers[origin].family.pick(&mut self.rng)
        } else {
            family
        };
        let parent = |g: &mut Self,
                      given_gender: Gender,
                      family: &str,
                      relationship: Relationship,
                      lives_here: bool| ParentCarer {
            given_name: GivenName::parse(g.samplers[origin].given(&mut g.rng, given_gender))
                .expect("seed names are valid"),
            family_name: FamilyName::parse(family).expect("seed names are valid"),
            relationship,
            address: lives_here.then(|| home.clone()),
            telephone: g
                .rng
                .random_bool(0.85)
                .then(|| Telephone::parse(&mobile(&mut g.rng)).expect("valid number")),
            provenance: g.supplied(SourceCode::CHILD_BENEFIT, oldest, 60),
        };
        let parents: Vec<ParentCarer> = if roll < 0.72 {
            vec![
                parent(
                    self,
                    Gender::Female,
                    mother_family,
                    Relationship::Mother,
                    true,
                ),
                parent(self, Gender::Male, family, Relationship::Father, true),
            ]
        } else if roll < 0.92 {
            let father_elsewhere = parent(self, Gender::Male, family, Relationship::Father, false);
            vec![
                parent(
                    self,
                    Gender::Female,
                    mother_family,
                    Relationship::Mother,
                    true,
                ),
                father_elsewhere,
            ]
        } else if roll < 0.96 {
            vec![parent(
                self,
                Gender::Male,
                family,
                Relationship::Father,
                true,
            )]
        } else if roll < 0.98 {
            vec![parent(
                self,
                Gender::Female,
                family,
                Relationship::Grandparent,
                true,
            )]
        } else {
            let carer_family = self.samplers[self.origins.pick(&mut self.rng)]
                .family
                .pick(&mut self.rng);
            vec![parent(
                self,
                Gender::Female,
                carer_family,
                Relationship::FosterCarer,
                true,
            )]
        };

        // Where they live, and since when.
        let address_since = self.random_date_between(oldest, today);
        let moved = address_since > oldest && self.rng.random_bool(0.25);
        let previous = moved.then(|| {
            let district = self
                .rng
                .random_range(la.district_range.0..=la.district_range.1);
            self.address(la, district)
        });
        let state_roll: f64 = self.rng.random();
        let address_state = if state_roll < 0.97 {
            AddressState::Current {
                address: home.clone(),
            }
        } else if state_roll < 0.982 {
            AddressState::LastKnown {
                address: home.clone(),
            }
        } else if state_roll < 0.987 {
            AddressState::NoKnownAddress
        } else {
            AddressState::LeftEngland {
                intends_to_return: *one_of(&mut self.rng, &ReturnIntention::ALL),
            }
        };
        let double_barrelled = mother_family != family && self.rng.random_bool(0.25);
        let code = LocalAuthorityCode::parse(la.code).expect("seed codes are valid");

        for dob in dobs {
            let gender = match self.rng.random_range(0..1000) {
                0 => Gender::NotSpecified,
                1..=488 => Gender::Female,
                _ => Gender::Male,
            };
            let given = self.samplers[origin].given(&mut self.rng, gender);
            let middle = self
                .rng
                .random_bool(0.6)
                .then(|| self.samplers[origin].given(&mut self.rng, gender))
                .filter(|m| *m != given);
            let family_name = if double_barrelled {
                let joiner = if self.rng.random_bool(0.85) { "-" } else { " " };
                format!("{family}{joiner}{mother_family}")
            } else {
                family.to_owned()
            };
            let former_names = if self.rng.random_bool(0.02) && mother_family != family {
                vec![FormerName {
                    given_name: None,
                    family_name: FamilyName::parse(mother_family).expect("seed names are valid"),
                    provenance: self.supplied(SourceCode::BIRTH_REGISTRATION, dob, 42),
                }]
            } else {
                Vec::new()
            };
            let mut involvements = self.universal(la, district, dob);
            if self.rng.random_bool(0.2) {
                involvements.extend(self.additional(la, dob));
            }
            if self.rng.random_bool(0.022) {
                involvements.extend(self.sensitive(la, dob));
            }
            let date_of_death = self
                .rng
                .random_bool(0.0002)
                .then(|| self.random_date_between(dob.max(today - Days::new(365)), today));
            let since = address_since.max(dob);
            let address_history = match &previous {
                Some(previous) if since > dob => vec![PastAddress {
                    address: previous.clone(),
                    from: dob,
                    until: since - Days::new(1),
                }],
                _ => Vec::new(),
            };
            let record = ChildRecord {
                contactpoint_id: ContactPointId::random(&mut self.rng),
                given_name: GivenName::parse(given).expect("seed names are valid"),
                middle_names: middle.map(|m| MiddleNames::parse(m).expect("seed names are valid")),
                family_name: FamilyName::parse(&family_name).expect("seed names are valid"),
                former_names,
                gender,
                date_of_birth: dob,
                date_of_death,
                address: address_state.clone(),
                address_since: since,
                address_history,
                local_authority: code.clone(),
                shielded,
                parents_carers: parents.clone(),
                involvements,
                provenance: ChildProvenance {
                    name: self.supplied(SourceCode::BIRTH_REGISTRATION, dob, 42),
                    gender: self.supplied(SourceCode::BIRTH_REGISTRATION, dob, 42),
                    date_of_birth: self.supplied(SourceCode::BIRTH_REGISTRATION, dob, 42),
                    address: self.supplied(SourceCode::CHILD_BENEFIT, since, 30),
                    date_of_death: date_of_death
                        .map(|d| self.supplied(SourceCode::BIRTH_REGISTRATION, d, 5)),
                },
            };
            self.queue.push_back(record);
        }
    }
}

impl Iterator for ChildGenerator<'_> {
    type Item = ChildRecord;

    fn next(&mut self) -> Option<ChildRecord> {
        loop {
            let (la, remaining) = *self.quotas.get(self.current)?;
            if remaining == 0 {
                self.current += 1;
                self.queue.clear();
                continue;
            }
            if let Some(child) = self.queue.pop_front() {
                self.quotas[self.current].1 -= 1;
                return Some(child);
            }
            self.household(la, remaining);
        }
    }
}
