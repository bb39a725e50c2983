//! The child's record: everything ContactPoint holds about one child, and nothing more.

use crate::service::code_enum;
use crate::{
    Address, AddressState, ContactPointId, FamilyName, FieldError, GivenName, Involvement,
    LocalAuthorityCode, MiddleNames, Provenance, Telephone,
};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

code_enum!(
    Gender, "gender" {
        Female => "female",
        Male => "male",
        NotSpecified => "not_specified",
    }
);

impl Gender {
    /// Accepts the codes and the suppliers' single letters F, M and U.
    pub fn parse_supplied(input: &str) -> Result<Self, FieldError> {
        match input.trim().to_ascii_uppercase().as_str() {
            "F" => Ok(Self::Female),
            "M" => Ok(Self::Male),
            "U" | "" => Ok(Self::NotSpecified),
            _ => Self::parse(&input.trim().to_ascii_lowercase()).map_err(|_| {
                FieldError::new("gender", "F, M or U (or female, male, not_specified)")
            }),
        }
    }
}

code_enum!(
    /// How a parent or carer is related to the child.
    Relationship, "relationship" {
        Mother => "mother",
        Father => "father",
        StepParent => "step_parent",
        Grandparent => "grandparent",
        FosterCarer => "foster_carer",
        SpecialGuardian => "special_guardian",
        OtherRelative => "other_relative",
        Carer => "carer",
    }
);

/// Oldest a record can be: kept until the 25th birthday with consent.
pub const OLDEST_RECORD_AGE_YEARS: u32 = 25;

/// A date of birth: a real date, not in the future and not before the oldest age a record
/// can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, FieldError> {
        let expected =
            "a date of birth as YYYY-MM-DD, not in the future and within the last 25 years";
        let date = NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d")
            .map_err(|_| FieldError::new("date_of_birth", expected))?;
        Self::new(date, today).map_err(|_| FieldError::new("date_of_birth", expected))
    }

    pub fn new(date: NaiveDate, today: NaiveDate) -> Result<Self, FieldError> {
        let earliest = today
            .checked_sub_months(Months::new(12 * (OLDEST_RECORD_AGE_YEARS + 1)))
            .unwrap_or(NaiveDate::MIN);
        if date > today || date <= earliest {
            return Err(FieldError::new(
                "date_of_birth",
                "a date not in the future and within the last 25 years",
            ));
        }
        Ok(Self(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// A name the child was known by before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormerName {
    pub given_name: Option<GivenName>,
    pub family_name: FamilyName,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentCarer {
    pub given_name: GivenName,
    pub family_name: FamilyName,
    pub relationship: Relationship,
    pub address: Option<Address>,
    pub telephone: Option<Telephone>,
    pub provenance: Provenance,
}

/// An address the child lived at, with the dates it was theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PastAddress {
    pub address: Address,
    pub from: NaiveDate,
    pub until: NaiveDate,
}

/// Where each of the child's own values came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildProvenance {
    pub name: Provenance,
    pub gender: Provenance,
    pub date_of_birth: Provenance,
    pub address: Provenance,
    pub date_of_death: Option<Provenance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildRecord {
    pub contactpoint_id: ContactPointId,
    pub given_name: GivenName,
    pub middle_names: Option<MiddleNames>,
    pub family_name: FamilyName,
    pub former_names: Vec<FormerName>,
    pub gender: Gender,
    pub date_of_birth: NaiveDate,
    pub date_of_death: Option<NaiveDate>,
    pub address: AddressState,
    /// When the current (or last known) address became the child's.
    pub address_since: NaiveDate,
    pub address_history: Vec<PastAddress>,
    pub local_authority: LocalAuthorityCode,
    pub shielded: bool,
    pub parents_carers: Vec<ParentCarer>,
    /// Universal services (school, GP practice) and additional involvement alike.
    pub involvements: Vec<Involvement>,
    pub provenance: ChildProvenance,
}

impl ChildRecord {
    /// Checks the rules across the record's parts, naming the first field that breaks one.
    pub fn check(&self, today: NaiveDate) -> Result<(), FieldError> {
        DateOfBirth::new(self.date_of_birth, today)?;
        if let Some(death) = self.date_of_death {
            if death < self.date_of_birth || death > today {
                return Err(FieldError::new(
                    "date_of_death",
                    "a date on or after the date of birth and not in the future",
                ));
            }
        }
        for (i, past) in self.address_history.iter().enumerate() {
            if past.until < past.from || past.until > self.address_since {
                return Err(FieldError::new(
                    "until",
                    "a date on or after from, and no later than the current address began",
                )
                .within(&format!("address_history[{i}]")));
            }
        }
        for (i, involvement) in self.involvements.iter().enumerate() {
            involvement
                .check(self.date_of_birth)
                .map_err(|e| e.within(&format!("involvements[{i}]")))?;
        }
        Ok(())
    }

    /// True when any involvement is with a sexual health, mental health or substance
    /// misuse service.
    pub fn has_sensitive_service(&self) -> bool {
        self.involvements
            .iter()
            .any(|i| i.service.category.is_sensitive())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_date_of_birth_must_be_a_real_past_date_within_twenty_five_years() {
        let today = date(2026, 11, 23);
        assert!(DateOfBirth::parse("2015-02-28", today).is_ok());
        for bad in ["2015-02-30", "23/11/2015", "2027-01-01", "1990-01-01", ""] {
            let err = DateOfBirth::parse(bad, today).unwrap_err();
            assert_eq!(err.field, "date_of_birth", "{bad:?}");
            assert!(err.expected.contains("YYYY-MM-DD"));
        }
    }

    #[test]
    fn suppliers_letters_for_gender_are_understood() {
        assert_eq!(Gender::parse_supplied("f"), Ok(Gender::Female));
        assert_eq!(Gender::parse_supplied("M"), Ok(Gender::Male));
        assert_eq!(Gender::parse_supplied("U"), Ok(Gender::NotSpecified));
        assert_eq!(
            Gender::parse_supplied("not_specified"),
            Ok(Gender::NotSpecified)
        );
        assert_eq!(Gender::parse_supplied("X").unwrap_err().field, "gender");
    }

    #[test]
    fn relationships_are_a_closed_list() {
        assert_eq!(
            Relationship::parse("foster_carer"),
            Ok(Relationship::FosterCarer)
        );
        assert_eq!(
            Relationship::parse("neighbour").unwrap_err().field,
            "relationship"
        );
    }
}
