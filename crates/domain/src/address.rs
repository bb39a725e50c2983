//! Addresses, UK postcodes and the states a child's address can be in.

use crate::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A full UK postcode, normalised to upper case with one space before the inward code: `MK40 1AB`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Postcode(String);

fn is_outward(s: &str) -> bool {
    let b = s.as_bytes();
    let alpha = |i: usize| b.get(i).is_some_and(u8::is_ascii_uppercase);
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    match b.len() {
        2 => alpha(0) && digit(1),
        3 => {
            alpha(0) && ((digit(1) && digit(2)) || (alpha(1) && digit(2)) || (digit(1) && alpha(2)))
        }
        4 => alpha(0) && alpha(1) && digit(2) && (digit(3) || alpha(3)),
        _ => false,
    }
}

fn is_inward(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3 && b[0].is_ascii_digit() && b[1].is_ascii_uppercase() && b[2].is_ascii_uppercase()
}

impl Postcode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::parse_field("postcode", input)
    }

    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.len() >= 5 && compact.len() <= 7 && compact.is_ascii() {
            let (outward, inward) = compact.split_at(compact.len() - 3);
            if is_outward(outward) && is_inward(inward) {
                return Ok(Self(format!("{outward} {inward}")));
            }
        }
        Err(FieldError::new(
            field,
            "a full UK postcode such as MK40 1AB (letters and digits, with or without the space)",
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the space: `MK40`.
    pub fn outward(&self) -> &str {
        self.0.split_once(' ').map_or(&self.0, |(o, _)| o)
    }

    /// Outward code and the sector digit: `MK40 1`.
    pub fn sector(&self) -> &str {
        &self.0[..self.0.len() - 2]
    }

    /// The leading letters: `MK`.
    pub fn area(&self) -> &str {
        let end = self
            .0
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(self.0.len());
        &self.0[..end]
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Postcode {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Postcode> for String {
    fn from(p: Postcode) -> String {
        p.0
    }
}

/// A postal address in England. Lines are contact details, limited in length and characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub town: String,
    pub postcode: Postcode,
}

fn address_line(field: &str, input: &str, max: usize) -> Result<String, FieldError> {
    let folded = input.split_whitespace().collect::<Vec<_>>().join(" ");
    let allowed =
        |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | ',' | '.' | '/' | '&');
    if folded.is_empty() || folded.chars().count() > max || !folded.chars().all(allowed) {
        return Err(FieldError::new(
            field,
            format!("1 to {max} characters of letters, digits, spaces and - ' , . / &"),
        ));
    }
    Ok(folded)
}

impl Address {
    /// Parses the four parts; `line2` may be empty.
    pub fn parse(
        line1: &str,
        line2: Option<&str>,
        town: &str,
        postcode: &str,
    ) -> Result<Self, FieldError> {
        Ok(Self {
            line1: address_line("address_line1", line1, 100)?,
            line2: match line2.map(str::trim) {
                None | Some("") => None,
                Some(l) => Some(address_line("address_line2", l, 100)?),
            },
            town: address_line("town", town, 60)?,
            postcode: Postcode::parse(postcode)?,
        })
    }
}

/// Whether a child who left England intends to come back within three years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnIntention {
    WithinThreeYears,
    NotReturning,
    NotKnown,
}

impl ReturnIntention {
    pub const ALL: [Self; 3] = [Self::WithinThreeYears, Self::NotReturning, Self::NotKnown];

    pub fn code(self) -> &'static str {
        match self {
            Self::WithinThreeYears => "within_three_years",
            Self::NotReturning => "not_returning",
            Self::NotKnown => "not_known",
        }
    }

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|r| r.code() == input.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "return_intention",
                    "one of within_three_years, not_returning, not_known",
                )
            })
    }
}

/// Where a child lives, as far as ContactPoint knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AddressState {
    Current { address: Address },
    LastKnown { address: Address },
    NoKnownAddress,
    LeftEngland { intends_to_return: ReturnIntention },
}

impl AddressState {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Current { .. } => "current",
            Self::LastKnown { .. } => "last_known",
            Self::NoKnownAddress => "no_known_address",
            Self::LeftEngland { .. } => "left_england",
        }
    }

    /// The address to show, if there is one.
    pub fn address(&self) -> Option<&Address> {
        match self {
            Self::Current { address } | Self::LastKnown { address } => Some(address),
            Self::NoKnownAddress | Self::LeftEngland { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_uk_postcode_shape_is_accepted_and_normalised() {
        for (input, normal) in [
            ("mk401ab", "MK40 1AB"),
            ("M1 1AE", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("cr2 6xh", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("W1A 0AX", "W1A 0AX"),
            ("EC1A 1BB", "EC1A 1BB"),
        ] {
            assert_eq!(Postcode::parse(input).unwrap().as_str(), normal);
        }
    }

    #[test]
    fn postcode_parts_are_available_for_partial_matching() {
        let p = Postcode::parse("MK40 1AB").unwrap();
        assert_eq!(
            (p.area(), p.outward(), p.sector()),
            ("MK", "MK40", "MK40 1")
        );
    }

    #[test]
    fn a_malformed_postcode_is_refused_naming_the_field() {
        for bad in ["", "MK40", "12345", "MK40 AB1", "MK40 1ABC", "ZZZZ 1AA"] {
            let err = Postcode::parse(bad).unwrap_err();
            assert_eq!(err.field, "postcode", "{bad:?}");
        }
    }

    #[test]
    fn an_address_names_the_line_that_is_wrong() {
        let err = Address::parse("", None, "Bedford", "MK40 1AB").unwrap_err();
        assert_eq!(err.field, "address_line1");
        let err = Address::parse("1 High St", Some("<script>"), "Bedford", "MK40 1AB").unwrap_err();
        assert_eq!(err.field, "address_line2");
        let err = Address::parse("1 High St", None, "Bedford", "nope").unwrap_err();
        assert_eq!(err.field, "postcode");
        assert!(
            Address::parse("Flat 2/3, 14 St. Mary's Rd", Some(""), "Bedford", "mk401ab").is_ok()
        );
    }
}
