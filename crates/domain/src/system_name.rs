//! The name of a system given a credential (a case-management client, a supplier's system):
//! who it belongs to, as administrators will read it in lists and the audit trail.

use crate::FieldError;
use std::fmt;

const MIN_CHARS: usize = 3;
const MAX_CHARS: usize = 100;

/// Runs of spaces folded to one; letters, digits, spaces and `- ' & . , ( )`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemName(String);

impl SystemName {
    pub const EXPECTED: &'static str = "3 to 100 letters, digits, spaces and - ' & . , ( )";

    /// Parses `input` as the value of the form or JSON field `field`.
    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
        let ok = (MIN_CHARS..=MAX_CHARS).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || " -'&.,()".contains(c));
        if ok {
            Ok(Self(name))
        } else {
            Err(FieldError::new(field, Self::EXPECTED))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SystemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_system_name_folds_its_spaces() {
        let name = SystemName::parse_field("name", "  General   Register Office ").unwrap();
        assert_eq!(name.as_str(), "General Register Office");
    }

    #[test]
    fn a_system_name_refuses_symbols_and_lengths_naming_the_field() {
        for bad in [
            "ab",
            "  a  ",
            "Office <script>",
            "Office; DROP",
            &"x".repeat(101),
        ] {
            let error = SystemName::parse_field("name", bad).unwrap_err();
            assert_eq!(error.field, "name", "{bad:?}");
            assert_eq!(error.expected, SystemName::EXPECTED);
        }
        assert!(SystemName::parse_field("name", "NHS England (Spine) & Co.").is_ok());
    }
}
