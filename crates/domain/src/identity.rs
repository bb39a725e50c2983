//! Who uses ContactPoint: roles, duties, account states, accreditation and vetting.

use crate::service::code_enum;
use crate::FieldError;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

code_enum!(
    /// What a user is for. The shield override is a separate grant, not a role.
    Role, "role" {
        Practitioner => "practitioner",
        Mediator => "mediator",
        LocalTeam => "local_team",
        Auditor => "auditor",
        NationalAdministrator => "national_administrator",
    }
);

impl Role {
    /// Roles whose holders must sign in with a phishing-resistant security key
    /// (OWASP ASVS 5.0 level 3, 6.3.3). Holders of the shield override must too.
    pub fn is_privileged(self) -> bool {
        matches!(
            self,
            Self::LocalTeam | Self::Auditor | Self::NationalAdministrator
        )
    }
}

code_enum!(
    /// What a member of a local ContactPoint team may do; a team member may hold several.
    Duty, "duty" {
        UserAdministration => "user_administration",
        DataManagement => "data_management",
        Helpdesk => "helpdesk",
    }
);

code_enum!(
    AccountState, "state" {
        Active => "active",
        Suspended => "suspended",
        Locked => "locked",
        Closed => "closed",
    }
);

code_enum!(
    /// Where an organisation stands with its local authority's ContactPoint team.
    Accreditation, "accreditation" {
        NotAccredited => "not_accredited",
        Accredited => "accredited",
        Suspended => "suspended",
        Withdrawn => "withdrawn",
    }
);

code_enum!(
    /// How a user reached ContactPoint for this request.
    AccessRoute, "route" {
        Web => "web",
        Api => "api",
        Mediated => "mediated",
        System => "system",
    }
);

/// A user name: 3 to 64 lower-case letters, digits, dots, hyphens and underscores.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim().to_ascii_lowercase();
        let ok = (3..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if ok {
            Ok(Self(s))
        } else {
            Err(FieldError::new(
                "username",
                "3 to 64 letters, digits, dots, hyphens or underscores, starting with a letter or digit",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Username {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

/// How long an enhanced criminal-records check stays valid.
pub const CRIMINAL_RECORDS_CHECK_VALID_YEARS: u32 = 3;

/// The checks a user must keep up to date to be let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vetting {
    pub criminal_records_checked_on: Option<NaiveDate>,
    pub training_completed_on: Option<NaiveDate>,
    pub agreement_accepted_on: Option<NaiveDate>,
}

/// The first vetting requirement a user no longer meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapse {
    CriminalRecordsCheck,
    Training,
    Agreement,
}

impl Lapse {
    pub fn explanation(self) -> &'static str {
        match self {
            Self::CriminalRecordsCheck => {
                "your enhanced criminal records check is missing or more than 3 years old"
            }
            Self::Training => "your ContactPoint training has not been recorded as completed",
            Self::Agreement => "you have not accepted the end-user agreement",
        }
    }
}

impl Vetting {
    /// What has lapsed on `today`, if anything. A check dated 1 March 2023 is good until
    /// 28 February 2026 inclusive.
    pub fn lapse_on(&self, today: NaiveDate) -> Option<Lapse> {
        let check_valid = self.criminal_records_checked_on.is_some_and(|checked| {
            checked <= today
                && checked
                    .checked_add_months(Months::new(12 * CRIMINAL_RECORDS_CHECK_VALID_YEARS))
                    .is_some_and(|expires| today < expires)
        });
        if !check_valid {
            Some(Lapse::CriminalRecordsCheck)
        } else if self.training_completed_on.is_none_or(|d| d > today) {
            Some(Lapse::Training)
        } else if self.agreement_accepted_on.is_none_or(|d| d > today) {
            Some(Lapse::Agreement)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn vetting(checked: NaiveDate) -> Vetting {
        Vetting {
            criminal_records_checked_on: Some(checked),
            training_completed_on: Some(date(2024, 1, 1)),
            agreement_accepted_on: Some(date(2024, 1, 1)),
        }
    }

    #[test]
    fn a_criminal_records_check_lapses_three_years_after_it_was_made() {
        let v = vetting(date(2023, 3, 1));
        assert_eq!(v.lapse_on(date(2026, 2, 28)), None);
        assert_eq!(
            v.lapse_on(date(2026, 3, 1)),
            Some(Lapse::CriminalRecordsCheck)
        );
    }

    #[test]
    fn missing_training_or_agreement_blocks_in_that_order() {
        let mut v = vetting(date(2025, 1, 1));
        v.training_completed_on = None;
        v.agreement_accepted_on = None;
        assert_eq!(v.lapse_on(date(2026, 1, 1)), Some(Lapse::Training));
        v.training_completed_on = Some(date(2025, 2, 1));
        assert_eq!(v.lapse_on(date(2026, 1, 1)), Some(Lapse::Agreement));
        v.criminal_records_checked_on = None;
        assert_eq!(
            v.lapse_on(date(2026, 1, 1)),
            Some(Lapse::CriminalRecordsCheck)
        );
    }

    #[test]
    fn user_names_are_folded_to_lower_case_and_checked() {
        assert_eq!(Username::parse(" A.Smith ").unwrap().as_str(), "a.smith");
        for bad in ["ab", ".x", "a b", "a@b", &"x".repeat(65)] {
            assert_eq!(Username::parse(bad).unwrap_err().field, "username");
        }
    }

    #[test]
    fn only_the_local_team_auditors_and_national_administrators_are_privileged() {
        let privileged: Vec<_> = Role::ALL
            .iter()
            .filter(|r| r.is_privileged())
            .map(|r| r.code())
            .collect();
        assert_eq!(
            privileged,
            ["local_team", "auditor", "national_administrator"]
        );
    }
}
