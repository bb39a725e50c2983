//! Personal names: letters (any alphabet), spaces, hyphens and apostrophes, nothing else.
//! Typographic apostrophes are folded to `'` and runs of spaces to one.

use crate::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

const MAX_NAME_CHARS: usize = 64;
const MAX_MIDDLE_CHARS: usize = 128;

/// Combining diacritics, as in Yorùbá tone marks (ọ́) or Vietnamese, which have no
/// precomposed form.
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

fn clean_name(field: &str, input: &str, max: usize) -> Result<String, FieldError> {
    let expected = format!(
        "1 to {max} characters: letters, spaces, hyphens and apostrophes (no digits or other symbols)"
    );
    let folded: String = input
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| {
            if matches!(c, '\u{2019}' | '`' | '\u{2018}') {
                '\''
            } else {
                c
            }
        })
        .collect();
    let length = folded.chars().count();
    let allowed =
        |c: char| c.is_alphabetic() || is_combining_mark(c) || matches!(c, ' ' | '-' | '\'' | '.');
    let starts_with_letter = folded.chars().next().is_some_and(char::is_alphabetic);
    if length == 0 || length > max || !starts_with_letter || !folded.chars().all(allowed) {
        return Err(FieldError::new(field, expected));
    }
    Ok(folded)
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, FieldError> {
                Self::parse_field($field, input)
            }

            pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
                clean_name(field, input, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }
    };
}

name_type!(
    /// A first name, as the child is known.
    GivenName,
    "given_name",
    MAX_NAME_CHARS
);
name_type!(
    /// Surname, including hyphenated and double-barrelled ones.
    FamilyName,
    "family_name",
    MAX_NAME_CHARS
);
name_type!(
    /// Middle names, space separated.
    MiddleNames,
    "middle_names",
    MAX_MIDDLE_CHARS
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_many_traditions_are_accepted() {
        for name in [
            "O'Brien",
            "Smith-Jones",
            "Lloyd Webber",
            "Nguyễn",
            "Małgorzata",
            "Ọlálékan",
            "Olúwadámilọ́lá",
            "Zoë",
            "St. John",
        ] {
            assert!(FamilyName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn typographic_apostrophes_and_extra_spaces_are_folded() {
        assert_eq!(
            FamilyName::parse("  O\u{2019}Connor   Byrne ")
                .unwrap()
                .as_str(),
            "O'Connor Byrne"
        );
    }

    #[test]
    fn a_name_with_digits_or_symbols_is_refused_naming_the_field() {
        for bad in ["J0hn", "", "   ", "Smith; DROP", "-Smith", "<b>"] {
            let err = GivenName::parse(bad).unwrap_err();
            assert_eq!(err.field, "given_name", "{bad:?}");
            assert!(err.expected.contains("letters"));
        }
    }

    #[test]
    fn an_overlong_name_is_refused_and_the_message_never_repeats_the_value() {
        let long = "A".repeat(65);
        let err = FamilyName::parse(&long).unwrap_err();
        assert_eq!(err.field, "family_name");
        assert!(!err.to_string().contains(&long));
        assert!(MiddleNames::parse(&"Ann ".repeat(20)).is_ok());
    }
}
