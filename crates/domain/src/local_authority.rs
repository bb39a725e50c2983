//! Local authorities, by their ONS-style code.

use crate::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `E` followed by eight digits, e.g. `E06000055`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalAuthorityCode(String);

impl LocalAuthorityCode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim().to_ascii_uppercase();
        let ok = s.len() == 9 && s.starts_with('E') && s[1..].chars().all(|c| c.is_ascii_digit());
        if ok {
            Ok(Self(s))
        } else {
            Err(FieldError::new(
                "local_authority",
                "a local authority code: E followed by eight digits, e.g. E06000055",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LocalAuthorityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for LocalAuthorityCode {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<LocalAuthorityCode> for String {
    fn from(c: LocalAuthorityCode) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_authority_code_is_e_and_eight_digits() {
        assert_eq!(
            LocalAuthorityCode::parse("e06000055").unwrap().as_str(),
            "E06000055"
        );
        for bad in ["E0600005", "W06000055", "E0600005X", ""] {
            assert_eq!(
                LocalAuthorityCode::parse(bad).unwrap_err().field,
                "local_authority"
            );
        }
    }
}
