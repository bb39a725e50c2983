//! Where each value came from: which supplier, and when.

use crate::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A supplier's code: lower-case letters, digits and underscores, e.g. `birth_registration`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceCode(String);

impl SourceCode {
    pub const BIRTH_REGISTRATION: &'static str = "birth_registration";
    pub const SCHOOLS_CENSUS: &'static str = "schools_census";
    pub const CHILD_BENEFIT: &'static str = "child_benefit";
    pub const NHS_DEMOGRAPHICS: &'static str = "nhs_demographics";
    pub const LOCAL_SYSTEMS: &'static str = "local_systems";

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let ok = (2..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "source",
                "a supplier code of 2 to 40 lower-case letters, digits and underscores",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SourceCode {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SourceCode> for String {
    fn from(s: SourceCode) -> String {
        s.0
    }
}

/// Which supplier gave a value, and when it was supplied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub source: SourceCode,
    pub supplied_at: DateTime<Utc>,
}

impl Provenance {
    pub fn new(source: SourceCode, supplied_at: DateTime<Utc>) -> Self {
        Self {
            source,
            supplied_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_code_must_be_a_simple_identifier() {
        assert!(SourceCode::parse(SourceCode::SCHOOLS_CENSUS).is_ok());
        for bad in ["", "A", "Schools Census", "x;drop", &"a".repeat(41)] {
            assert_eq!(SourceCode::parse(bad).unwrap_err().field, "source");
        }
    }
}
