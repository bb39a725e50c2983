//! A person as a supplier sends them: names, date of birth, gender and address, each as given.

use chrono::NaiveDate;

/// Gender as suppliers code it: `F`, `M` or `U` (not known or not specified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Female,
    Male,
    /// Known to the supplier as not known or not specified: compared as missing.
    NotSpecified,
}

impl Gender {
    /// Reads `F`, `M`, `U` (any case) and the directory's words `female`, `male`,
    /// `not_specified`; `None` for an empty or unknown code.
    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "f" | "female" => Some(Self::Female),
            "m" | "male" => Some(Self::Male),
            "u" | "not_specified" | "not specified" | "unknown" => Some(Self::NotSpecified),
            _ => None,
        }
    }
}

/// One supplied record of a child, as given: nothing is checked or corrected here. Empty
/// strings count as not given. There is deliberately no identifier: matching works from
/// names, date of birth, gender and address alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuppliedPerson {
    pub given_name: String,
    pub middle_names: Option<String>,
    pub family_name: String,
    /// A family name the child had before (birth name before a change of surname).
    pub former_family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<Gender>,
    pub address_line1: Option<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
}
