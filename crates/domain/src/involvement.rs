//! A service's or practitioner's involvement with a child, with the indicators it carries.

use crate::{FieldError, PractitionerRef, Provenance, ServiceRef};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// The age from which a child can give consent themselves (the age of comprehension).
pub const AGE_OF_COMPREHENSION: u32 = 12;

/// How long an ended involvement stays on the record.
pub const YEARS_SHOWN_AFTER_END: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentGiver {
    Child,
    ParentCarer,
}

impl ConsentGiver {
    pub fn code(self) -> &'static str {
        match self {
            Self::Child => "child",
            Self::ParentCarer => "parent_carer",
        }
    }

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        match input.trim() {
            "child" => Ok(Self::Child),
            "parent_carer" => Ok(Self::ParentCarer),
            _ => Err(FieldError::new(
                "consent_given_by",
                "one of child, parent_carer",
            )),
        }
    }
}

/// Why a sensitive service may be recorded at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum SensitiveBasis {
    /// Explicit consent, from the child (12 or over) or a parent or carer.
    Consent {
        given_by: ConsentGiver,
        given_on: NaiveDate,
    },
    /// No consent, but a documented child-protection concern; the reference points to that
    /// document, which ContactPoint never holds.
    ChildProtection { reference: String },
}

impl SensitiveBasis {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Consent { .. } => "consent",
            Self::ChildProtection { .. } => "child_protection",
        }
    }

    pub fn child_protection(reference: &str) -> Result<Self, FieldError> {
        let r = reference.trim();
        let ok = (1..=40).contains(&r.len())
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_'));
        if ok {
            Ok(Self::ChildProtection {
                reference: r.to_owned(),
            })
        } else {
            Err(FieldError::new(
                "child_protection_reference",
                "the reference of the documented concern: 1 to 40 letters, digits, - / _",
            ))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Involvement {
    pub service: ServiceRef,
    pub practitioner: Option<PractitionerRef>,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub lead_professional: bool,
    /// Set when this service or practitioner completed a Common Assessment Framework
    /// assessment (the assessment itself is never held).
    pub caf_completed_on: Option<NaiveDate>,
    pub sensitive_basis: Option<SensitiveBasis>,
    pub provenance: Provenance,
}

/// Whole years of age on a date. A 29 February birthday arrives on 1 March in other years,
/// as English law counts it.
pub fn age_on(date_of_birth: NaiveDate, on: NaiveDate) -> u32 {
    on.years_since(date_of_birth).unwrap_or(0)
}

impl Involvement {
    /// Checks the rules that tie an involvement to the child it is about.
    pub fn check(&self, child_date_of_birth: NaiveDate) -> Result<(), FieldError> {
        if let Some(end) = self.ended_on {
            if end < self.started_on {
                return Err(FieldError::new("ended_on", "a date on or after started_on"));
            }
        }
        if let Some(caf) = self.caf_completed_on {
            if caf < self.started_on {
                return Err(FieldError::new(
                    "caf_completed_on",
                    "a date on or after the involvement started",
                ));
            }
        }
        match (self.service.category.is_sensitive(), &self.sensitive_basis) {
            (true, None) => Err(FieldError::new(
                "sensitive_basis",
                "consent (from the child aged 12 or over, or a parent or carer) or a documented child-protection concern: a sensitive service cannot be recorded without one",
            )),
            (false, Some(_)) => Err(FieldError::new(
                "sensitive_basis",
                "nothing: only sexual health, mental health and substance misuse services carry a basis",
            )),
            (true, Some(SensitiveBasis::Consent { given_by: ConsentGiver::Child, given_on })) => {
                if age_on(child_date_of_birth, *given_on) < AGE_OF_COMPREHENSION {
                    Err(FieldError::new(
                        "consent_given_by",
                        "parent_carer: a child under 12 cannot give consent on their own",
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Shown while involved and for five years after the involvement ended.
    pub fn is_shown_on(&self, today: NaiveDate) -> bool {
        match self.ended_on {
            None => true,
            Some(end) => end
                .checked_add_months(Months::new(12 * YEARS_SHOWN_AFTER_END))
                .is_some_and(|until| today <= until),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ServiceCategory, SourceCode};
    use chrono::{TimeZone, Utc};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn involvement(category: ServiceCategory, basis: Option<SensitiveBasis>) -> Involvement {
        Involvement {
            service: ServiceRef {
                id: 1,
                name: "Service".into(),
                organisation_name: "Organisation".into(),
                category,
                address: None,
                telephone: None,
                email: None,
            },
            practitioner: None,
            started_on: date(2024, 1, 10),
            ended_on: None,
            lead_professional: false,
            caf_completed_on: None,
            sensitive_basis: basis,
            provenance: Provenance::new(
                SourceCode::parse("local_systems").unwrap(),
                Utc.with_ymd_and_hms(2024, 1, 10, 0, 0, 0).unwrap(),
            ),
        }
    }

    #[test]
    fn a_sensitive_service_without_consent_or_concern_is_refused() {
        let err = involvement(ServiceCategory::MentalHealth, None)
            .check(date(2010, 5, 1))
            .unwrap_err();
        assert_eq!(err.field, "sensitive_basis");
    }

    #[test]
    fn a_child_of_twelve_may_consent_but_a_child_of_eleven_may_not() {
        let consent = |on| {
            Some(SensitiveBasis::Consent {
                given_by: ConsentGiver::Child,
                given_on: on,
            })
        };
        let dob = date(2012, 3, 15);
        assert!(
            involvement(ServiceCategory::SexualHealth, consent(date(2024, 3, 15)))
                .check(dob)
                .is_ok()
        );
        let err = involvement(ServiceCategory::SexualHealth, consent(date(2024, 3, 14)))
            .check(dob)
            .unwrap_err();
        assert_eq!(err.field, "consent_given_by");
    }

    #[test]
    fn a_parent_may_consent_for_a_young_child_and_a_concern_needs_no_consent() {
        let dob = date(2020, 1, 1);
        let parent = SensitiveBasis::Consent {
            given_by: ConsentGiver::ParentCarer,
            given_on: date(2024, 1, 10),
        };
        assert!(involvement(ServiceCategory::SubstanceMisuse, Some(parent))
            .check(dob)
            .is_ok());
        let concern = SensitiveBasis::child_protection("CP/2024-0117").unwrap();
        assert!(involvement(ServiceCategory::MentalHealth, Some(concern))
            .check(dob)
            .is_ok());
        assert_eq!(
            SensitiveBasis::child_protection("free text about the case")
                .unwrap_err()
                .field,
            "child_protection_reference"
        );
    }

    #[test]
    fn an_ordinary_service_cannot_carry_a_sensitive_basis() {
        let concern = SensitiveBasis::child_protection("CP-1").unwrap();
        let err = involvement(ServiceCategory::GpPractice, Some(concern))
            .check(date(2015, 1, 1))
            .unwrap_err();
        assert_eq!(err.field, "sensitive_basis");
    }

    #[test]
    fn an_involvement_cannot_end_before_it_starts() {
        let mut i = involvement(ServiceCategory::YouthService, None);
        i.ended_on = Some(date(2023, 12, 31));
        assert_eq!(i.check(date(2010, 1, 1)).unwrap_err().field, "ended_on");
    }

    #[test]
    fn an_ended_involvement_is_shown_for_five_years_and_then_not() {
        let mut i = involvement(ServiceCategory::SocialCare, None);
        i.ended_on = Some(date(2020, 6, 30));
        assert!(i.is_shown_on(date(2025, 6, 30)));
        assert!(!i.is_shown_on(date(2025, 7, 1)));
        i.ended_on = None;
        assert!(i.is_shown_on(date(2040, 1, 1)));
    }

    #[test]
    fn age_counts_whole_years_and_a_leap_day_birthday_arrives_on_the_first_of_march() {
        assert_eq!(age_on(date(2012, 3, 15), date(2024, 3, 14)), 11);
        assert_eq!(age_on(date(2012, 3, 15), date(2024, 3, 15)), 12);
        assert_eq!(age_on(date(2008, 2, 29), date(2026, 2, 28)), 17);
        assert_eq!(age_on(date(2008, 2, 29), date(2026, 3, 1)), 18);
    }
}
