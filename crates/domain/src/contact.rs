//! Contact details: the only free text ContactPoint holds.

use crate::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A UK telephone number, stored as digits with a leading 0 (or +44 folded to 0).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Telephone(String);

impl Telephone {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::parse_field("telephone", input)
    }

    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        let expected = "a UK telephone number of 10 or 11 digits starting 0 or +44 (spaces, hyphens and brackets allowed)";
        let trimmed = input.trim();
        let (rest, international) = match trimmed.strip_prefix("+44") {
            Some(rest) => (rest, true),
            None => (trimmed, false),
        };
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
        {
            return Err(FieldError::new(field, expected));
        }
        let mut digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        if international {
            digits = format!("0{}", digits.trim_start_matches('0'));
        }
        if !digits.starts_with('0') || !(10..=11).contains(&digits.len()) {
            return Err(FieldError::new(field, expected));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Telephone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        if d.len() == 11 {
            write!(f, "{} {}", &d[..5], &d[5..])
        } else {
            f.write_str(d)
        }
    }
}

impl TryFrom<String> for Telephone {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Telephone> for String {
    fn from(t: Telephone) -> String {
        t.0
    }
}

/// An e-mail address: one `@`, a dotted domain, no spaces; lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::parse_field("email", input)
    }

    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        let expected = "an e-mail address like name@example.org.uk (at most 254 characters)";
        let s = input.trim().to_lowercase();
        let valid = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && domain.split('.').all(|label| {
                            !label.is_empty()
                                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                        })
                }
                None => false,
            };
        if valid {
            Ok(Self(s))
        } else {
            Err(FieldError::new(field, expected))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_numbers_are_accepted_in_their_usual_forms() {
        assert_eq!(
            Telephone::parse("01234 567890").unwrap().as_str(),
            "01234567890"
        );
        assert_eq!(
            Telephone::parse("+44 1234 567890").unwrap().as_str(),
            "01234567890"
        );
        assert_eq!(
            Telephone::parse("(020) 7946-0000").unwrap().as_str(),
            "02079460000"
        );
    }

    #[test]
    fn a_telephone_number_with_letters_or_the_wrong_length_is_refused() {
        for bad in ["call me", "12345", "0123456789012", "07700 900 12x"] {
            let err = Telephone::parse_field("parents[0].telephone", bad).unwrap_err();
            assert_eq!(err.field, "parents[0].telephone");
        }
    }

    #[test]
    fn email_addresses_are_lower_cased_and_checked() {
        assert_eq!(
            EmailAddress::parse(" Team@Example.gov.UK ")
                .unwrap()
                .as_str(),
            "team@example.gov.uk"
        );
        for bad in ["no-at-sign", "a@b", "a b@c.uk", "a@@c.uk", "@c.uk"] {
            assert_eq!(
                EmailAddress::parse(bad).unwrap_err().field,
                "email",
                "{bad}"
            );
        }
    }
}
