//! Rows as the database returns them, and their conversion back into the domain's types.
//! A stored value that no longer parses is reported as corrupt, never silently dropped.

use crate::StorageError;
use chrono::{DateTime, NaiveDate, Utc};
use contactpoint_domain::child::{ChildProvenance, PastAddress};
use contactpoint_domain::{
    Address, AddressState, ChildRecord, ConsentGiver, ContactPointId, EmailAddress, FamilyName,
    FieldError, FormerName, Gender, GivenName, Involvement, LocalAuthorityCode, MiddleNames,
    ParentCarer, PractitionerRef, Provenance, Relationship, ReturnIntention, SensitiveBasis,
    ServiceCategory, ServiceRef, SourceCode, Telephone,
};

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ChildRow {
    pub id: i64,
    pub contactpoint_id: String,
    pub given_name: String,
    pub middle_names: Option<String>,
    pub family_name: String,
    pub gender: String,
    pub date_of_birth: NaiveDate,
    pub date_of_death: Option<NaiveDate>,
    pub local_authority: String,
    pub shielded: bool,
    pub address_state: String,
    pub return_intention: Option<String>,
    pub address_since: NaiveDate,
    pub name_source: String,
    pub name_supplied_at: DateTime<Utc>,
    pub gender_source: String,
    pub gender_supplied_at: DateTime<Utc>,
    pub date_of_birth_source: String,
    pub date_of_birth_supplied_at: DateTime<Utc>,
    pub address_source: String,
    pub address_supplied_at: DateTime<Utc>,
    pub date_of_death_source: Option<String>,
    pub date_of_death_supplied_at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct FormerNameRow {
    pub given_name: Option<String>,
    pub family_name: String,
    pub source: String,
    pub supplied_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AddressRow {
    pub line1: String,
    pub line2: Option<String>,
    pub town: String,
    pub postcode: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ParentRow {
    pub given_name: String,
    pub family_name: String,
    pub relationship: String,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
    pub telephone: Option<String>,
    pub source: String,
    pub supplied_at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct InvolvementRow {
    pub service_id: i64,
    pub service_name: String,
    pub organisation_name: String,
    pub category: String,
    pub service_line1: Option<String>,
    pub service_line2: Option<String>,
    pub service_town: Option<String>,
    pub service_postcode: Option<String>,
    pub service_telephone: Option<String>,
    pub service_email: Option<String>,
    pub practitioner_id: Option<i64>,
    pub practitioner_given_name: Option<String>,
    pub practitioner_family_name: Option<String>,
    pub practitioner_telephone: Option<String>,
    pub practitioner_email: Option<String>,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub lead_professional: bool,
    pub caf_completed_on: Option<NaiveDate>,
    pub sensitive_basis: Option<String>,
    pub consent_given_by: Option<String>,
    pub consent_given_on: Option<NaiveDate>,
    pub child_protection_reference: Option<String>,
    pub source: String,
    pub supplied_at: DateTime<Utc>,
}

fn provenance(source: &str, supplied_at: DateTime<Utc>) -> Result<Provenance, FieldError> {
    Ok(Provenance::new(SourceCode::parse(source)?, supplied_at))
}

fn optional_address(
    line1: Option<&str>,
    line2: Option<&str>,
    town: Option<&str>,
    postcode: Option<&str>,
) -> Result<Option<Address>, FieldError> {
    match (line1, town, postcode) {
        (Some(l1), Some(t), Some(p)) => Address::parse(l1, line2, t, p).map(Some),
        _ => Ok(None),
    }
}

fn optional<T>(
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    value.map(parse).transpose()
}

impl AddressRow {
    fn address(&self) -> Result<Address, FieldError> {
        Address::parse(
            &self.line1,
            self.line2.as_deref(),
            &self.town,
            &self.postcode,
        )
    }
}

impl InvolvementRow {
    fn into_involvement(self) -> Result<Involvement, FieldError> {
        let service = ServiceRef {
            id: self.service_id,
            name: self.service_name,
            organisation_name: self.organisation_name,
            category: ServiceCategory::parse(&self.category)?,
            address: optional_address(
                self.service_line1.as_deref(),
                self.service_line2.as_deref(),
                self.service_town.as_deref(),
                self.service_postcode.as_deref(),
            )?,
            telephone: optional(self.service_telephone.as_deref(), Telephone::parse)?,
            email: optional(self.service_email.as_deref(), EmailAddress::parse)?,
        };
        let practitioner = match (
            self.practitioner_id,
            &self.practitioner_given_name,
            &self.practitioner_family_name,
        ) {
            (Some(id), Some(given), Some(family)) => Some(PractitionerRef {
                id,
                given_name: GivenName::parse(given)?,
                family_name: FamilyName::parse(family)?,
                telephone: optional(self.practitioner_telephone.as_deref(), Telephone::parse)?,
                email: optional(self.practitioner_email.as_deref(), EmailAddress::parse)?,
            }),
            _ => None,
        };
        let sensitive_basis = match self.sensitive_basis.as_deref() {
            None => None,
            Some("consent") => Some(SensitiveBasis::Consent {
                given_by: ConsentGiver::parse(
                    self.consent_given_by.as_deref().unwrap_or_default(),
                )?,
                given_on: self
                    .consent_given_on
                    .ok_or_else(|| FieldError::new("consent_given_on", "a date"))?,
            }),
            Some(_) => Some(SensitiveBasis::child_protection(
                self.child_protection_reference
                    .as_deref()
                    .unwrap_or_default(),
            )?),
        };
        Ok(Involvement {
            service,
            practitioner,
            started_on: self.started_on,
            ended_on: self.ended_on,
            lead_professional: self.lead_professional,
            caf_completed_on: self.caf_completed_on,
            sensitive_basis,
            provenance: provenance(&self.source, self.supplied_at)?,
        })
    }
}

/// Puts a child's rows back together into the record they were written from.
pub(crate) fn assemble_child(
    child: ChildRow,
    former_names: Vec<FormerNameRow>,
    addresses: Vec<AddressRow>,
    parents: Vec<ParentRow>,
    involvements: Vec<InvolvementRow>,
) -> Result<ChildRecord, StorageError> {
    let corrupt = StorageError::corrupt;
    let open_address = addresses.iter().find(|a| a.valid_to.is_none());
    let address = match (child.address_state.as_str(), open_address) {
        ("current", Some(a)) => AddressState::Current {
            address: a.address().map_err(corrupt("child_addresses"))?,
        },
        ("last_known", Some(a)) => AddressState::LastKnown {
            address: a.address().map_err(corrupt("child_addresses"))?,
        },
        ("no_known_address", None) => AddressState::NoKnownAddress,
        ("left_england", None) => AddressState::LeftEngland {
            intends_to_return: ReturnIntention::parse(
                child.return_intention.as_deref().unwrap_or_default(),
            )
            .map_err(corrupt("children"))?,
        },
        _ => {
            return Err(StorageError::Corrupt {
                table: "child_addresses",
                problem: FieldError::new(
                    "address_state",
                    "one open address exactly when the state has an address",
                ),
            })
        }
    };
    let address_history = addresses
        .iter()
        .filter_map(|a| a.valid_to.map(|until| (a, until)))
        .map(|(a, until)| {
            Ok(PastAddress {
                address: a.address()?,
                from: a.valid_from,
                until,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()
        .map_err(corrupt("child_addresses"))?;
    let former_names = former_names
        .into_iter()
        .map(|f| {
            Ok(FormerName {
                given_name: optional(f.given_name.as_deref(), GivenName::parse)?,
                family_name: FamilyName::parse(&f.family_name)?,
                provenance: provenance(&f.source, f.supplied_at)?,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()
        .map_err(corrupt("child_former_names"))?;
    let parents_carers = parents
        .into_iter()
        .map(|p| {
            Ok(ParentCarer {
                given_name: GivenName::parse(&p.given_name)?,
                family_name: FamilyName::parse(&p.family_name)?,
                relationship: Relationship::parse(&p.relationship)?,
                address: optional_address(
                    p.address_line1.as_deref(),
                    p.address_line2.as_deref(),
                    p.town.as_deref(),
                    p.postcode.as_deref(),
                )?,
                telephone: optional(p.telephone.as_deref(), Telephone::parse)?,
                provenance: provenance(&p.source, p.supplied_at)?,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()
        .map_err(corrupt("parents_carers"))?;
    let involvements = involvements
        .into_iter()
        .map(InvolvementRow::into_involvement)
        .collect::<Result<Vec<_>, FieldError>>()
        .map_err(corrupt("involvements"))?;
    let c = child;
    let parse_child = || -> Result<ChildRecord, FieldError> {
        Ok(ChildRecord {
            contactpoint_id: ContactPointId::parse(&c.contactpoint_id)?,
            given_name: GivenName::parse(&c.given_name)?,
            middle_names: optional(c.middle_names.as_deref(), MiddleNames::parse)?,
            family_name: FamilyName::parse(&c.family_name)?,
            former_names,
            gender: Gender::parse(&c.gender)?,
            date_of_birth: c.date_of_birth,
            date_of_death: c.date_of_death,
            address,
            address_since: c.address_since,
            address_history,
            local_authority: LocalAuthorityCode::parse(&c.local_authority)?,
            shielded: c.shielded,
            parents_carers,
            involvements,
            provenance: ChildProvenance {
                name: provenance(&c.name_source, c.name_supplied_at)?,
                gender: provenance(&c.gender_source, c.gender_supplied_at)?,
                date_of_birth: provenance(&c.date_of_birth_source, c.date_of_birth_supplied_at)?,
                address: provenance(&c.address_source, c.address_supplied_at)?,
                date_of_death: match (&c.date_of_death_source, c.date_of_death_supplied_at) {
                    (Some(s), Some(at)) => Some(provenance(s, at)?),
                    _ => None,
                },
            },
        })
    };
    parse_child().map_err(corrupt("children"))
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
    pub role: String,
    pub duties: String,
    pub shield_override: bool,
    pub state: String,
    pub criminal_records_checked_on: Option<NaiveDate>,
    pub training_completed_on: Option<NaiveDate>,
    pub agreement_accepted_on: Option<NaiveDate>,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub failed_sign_ins: i32,
    pub password_hash: String,
    pub pin_hash: String,
    pub demo: bool,
    #[sqlx(flatten)]
    pub organisation: OrganisationRow,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OrganisationRow {
    pub organisation_id: i64,
    pub organisation_kind: String,
    pub organisation_name: String,
    pub organisation_local_authority: String,
    pub accreditation: String,
    pub web_access: bool,
    pub integration_access: bool,
}

impl OrganisationRow {
    pub(crate) fn into_record(self) -> Result<crate::OrganisationRecord, StorageError> {
        let parse = || -> Result<crate::OrganisationRecord, FieldError> {
            Ok(crate::OrganisationRecord {
                id: self.organisation_id,
                kind: contactpoint_domain::OrganisationKind::parse(&self.organisation_kind)?,
                name: self.organisation_name,
                local_authority: LocalAuthorityCode::parse(&self.organisation_local_authority)?,
                accreditation: contactpoint_domain::Accreditation::parse(&self.accreditation)?,
                web_access: self.web_access,
                integration_access: self.integration_access,
            })
        };
        parse().map_err(StorageError::corrupt("organisations"))
    }
}

impl UserRow {
    pub(crate) fn into_sign_in(self) -> Result<crate::SignInRecord, StorageError> {
        use contactpoint_domain::{AccountState, Duty, Role, Username, Vetting};
        let organisation = self.organisation.into_record()?;
        let parse = || -> Result<crate::UserRecord, FieldError> {
            Ok(crate::UserRecord {
                id: self.id,
                username: Username::parse(&self.username)?,
                organisation,
                given_name: self.given_name,
                family_name: self.family_name,
                email: optional(self.email.as_deref(), EmailAddress::parse)?,
                role: Role::parse(&self.role)?,
                duties: self
                    .duties
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(Duty::parse)
                    .collect::<Result<_, _>>()?,
                shield_override: self.shield_override,
                state: AccountState::parse(&self.state)?,
                vetting: Vetting {
                    criminal_records_checked_on: self.criminal_records_checked_on,
                    training_completed_on: self.training_completed_on,
                    agreement_accepted_on: self.agreement_accepted_on,
                },
                totp_enrolled: self.totp_secret.is_some(),
                demo: self.demo,
            })
        };
        let user = parse().map_err(StorageError::corrupt("users"))?;
        Ok(crate::SignInRecord {
            user,
            password_hash: self.password_hash,
            pin_hash: self.pin_hash,
            totp_secret: self.totp_secret,
            totp_last_step: self.totp_last_step,
            failed_sign_ins: self.failed_sign_ins,
        })
    }
}
