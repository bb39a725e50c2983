//! A supplied involvement: a service or practitioner starting or ending work with a child,
//! with the indicators it carries.

use crate::child::{date, RawRow};
use chrono::NaiveDate;
use contactpoint_domain::{
    ConsentGiver, ContactPointId, FamilyName, FieldError, GivenName, SensitiveBasis,
};

/// Every column an involvement file may have, in the order docs/SUPPLY.md lists them.
pub const INVOLVEMENT_COLUMNS: [&str; 14] = [
    "source_record_id",
    "child_source_record_id",
    "contactpoint_id",
    "service_reference",
    "practitioner_given_name",
    "practitioner_family_name",
    "started_on",
    "ended_on",
    "lead_professional",
    "caf_completed_on",
    "sensitive_basis",
    "consent_given_by",
    "consent_given_on",
    "child_protection_reference",
];

/// Which child an involvement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildReference {
    /// A child record the same source supplied, by its identifier.
    SourceRecord(String),
    /// A child by ContactPoint ID (a supplier that looked the child up).
    ContactPoint(ContactPointId),
}

/// One supplied involvement, every value checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppliedInvolvement {
    pub line: u64,
    pub source_record_id: String,
    pub child: ChildReference,
    /// The service's national reference: a school's URN, a GP practice's code, or the
    /// reference the directory gave another service.
    pub service_reference: String,
    /// The named practitioner, if any, of that service.
    pub practitioner: Option<(GivenName, FamilyName)>,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub lead_professional: bool,
    pub caf_completed_on: Option<NaiveDate>,
    pub sensitive_basis: Option<SensitiveBasis>,
}

fn yes_no(column: &'static str) -> impl FnOnce(&str) -> Result<bool, FieldError> {
    move |v| match v.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" => Ok(true),
        "n" | "no" | "false" | "0" => Ok(false),
        _ => Err(FieldError::new(column, "Y or N (or empty for N)")),
    }
}

impl SuppliedInvolvement {
    pub(crate) fn check(line: u64, row: &RawRow<'_>, today: NaiveDate) -> Result<Self, FieldError> {
        let source_record_id = row.text("source_record_id", 64)?.ok_or_else(|| {
            FieldError::new(
                "source_record_id",
                "the supplier's own identifier of the record, 1 to 64 characters",
            )
        })?;
        let child = match (
            row.text("child_source_record_id", 64)?,
            row.parsed("contactpoint_id", ContactPointId::parse)?,
        ) {
            (Some(id), None) => ChildReference::SourceRecord(id),
            (None, Some(id)) => ChildReference::ContactPoint(id),
            _ => {
                return Err(FieldError::new(
                    "child_source_record_id",
                    "either the identifier of a child record this source supplied, or a ContactPoint ID (contactpoint_id), not both",
                ))
            }
        };
        let service_reference = row.text("service_reference", 20)?.ok_or_else(|| {
            FieldError::new(
                "service_reference",
                "the service's reference: a school URN, a GP practice code or the reference the directory gave the service",
            )
        })?;
        let practitioner = match (
            row.get("practitioner_given_name"),
            row.get("practitioner_family_name"),
        ) {
            (None, None) => None,
            (Some(g), Some(f)) => Some((
                GivenName::parse_field("practitioner_given_name", g)?,
                FamilyName::parse_field("practitioner_family_name", f)?,
            )),
            _ => {
                return Err(FieldError::new(
                    "practitioner_given_name",
                    "both practitioner_given_name and practitioner_family_name, or neither",
                ))
            }
        };
        let not_future = |column: &'static str, d: NaiveDate| {
            if d > today {
                Err(FieldError::new(column, "a date that is not in the future"))
            } else {
                Ok(d)
            }
        };
        let started_on = row
            .parsed("started_on", date("started_on"))?
            .ok_or_else(|| {
                FieldError::new(
                    "started_on",
                    "the date the involvement began, as YYYY-MM-DD",
                )
            })?;
        let started_on = not_future("started_on", started_on)?;
        let ended_on = row
            .parsed("ended_on", date("ended_on"))?
            .map(|d| not_future("ended_on", d))
            .transpose()?;
        let caf_completed_on = row
            .parsed("caf_completed_on", date("caf_completed_on"))?
            .map(|d| not_future("caf_completed_on", d))
            .transpose()?;
        let sensitive_basis = match row.get("sensitive_basis") {
            None => None,
            Some("consent") => {
                let given_by = row
                    .parsed("consent_given_by", ConsentGiver::parse)?
                    .ok_or_else(|| FieldError::new("consent_given_by", "child or parent_carer"))?;
                let given_on = row
                    .parsed("consent_given_on", date("consent_given_on"))?
                    .ok_or_else(|| {
                        FieldError::new(
                            "consent_given_on",
                            "the date consent was given, as YYYY-MM-DD",
                        )
                    })?;
                Some(SensitiveBasis::Consent { given_by, given_on })
            }
            Some("child_protection") => {
                let reference = row.get("child_protection_reference").unwrap_or_default();
                Some(SensitiveBasis::child_protection(reference)?)
            }
            Some(_) => {
                return Err(FieldError::new(
                    "sensitive_basis",
                    "consent or child_protection (or empty for a service that is not sensitive)",
                ))
            }
        };
        let involvement = Self {
            line,
            source_record_id,
            child,
            service_reference,
            practitioner,
            started_on,
            ended_on,
            lead_professional: row
                .parsed("lead_professional", yes_no("lead_professional"))?
                .unwrap_or(false),
            caf_completed_on,
            sensitive_basis,
        };
        if let Some(end) = involvement.ended_on {
            if end < involvement.started_on {
                return Err(FieldError::new("ended_on", "a date on or after started_on"));
            }
        }
        Ok(involvement)
    }
}
