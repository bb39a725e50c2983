//! The ContactPoint ID: twelve digits, the first never zero, the last a Damm check digit.
//! It is drawn at random, so it says nothing about the child, and the check digit catches
//! every single mistyped digit and every swap of two neighbouring digits.

use crate::FieldError;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Digits in an ID, check digit included.
pub const ID_DIGITS: usize = 12;

/// Damm's table: a weakly totally anti-symmetric quasigroup of order 10.
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The Damm check digit of a run of digits (each 0..=9).
pub fn damm_check_digit(digits: &[u8]) -> u8 {
    digits
        .iter()
        .fold(0u8, |interim, &d| DAMM[interim as usize][d as usize])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContactPointId([u8; ID_DIGITS]);

impl ContactPointId {
    /// A fresh random ID.
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut digits = [0u8; ID_DIGITS];
        digits[0] = rng.random_range(1..=9);
        for d in digits.iter_mut().take(ID_DIGITS - 1).skip(1) {
            *d = rng.random_range(0..=9);
        }
        digits[ID_DIGITS - 1] = damm_check_digit(&digits[..ID_DIGITS - 1]);
        Self(digits)
    }

    /// Parses an ID as people write it: spaces and hyphens between digits are ignored.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::parse_field("contactpoint_id", input)
    }

    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        let expected = "a ContactPoint ID of 12 digits (spaces allowed), as printed on the record";
        let mut digits = [0u8; ID_DIGITS];
        let mut count = 0;
        for c in input.chars() {
            match c {
                ' ' | '-' => continue,
                '0'..='9' if count < ID_DIGITS => {
                    digits[count] = c as u8 - b'0';
                    count += 1;
                }
                _ => return Err(FieldError::new(field, expected)),
            }
        }
        if count != ID_DIGITS || digits[0] == 0 {
            return Err(FieldError::new(field, expected));
        }
        if damm_check_digit(&digits) != 0 {
            return Err(FieldError::new(
                field,
                "a ContactPoint ID whose check digit matches: one digit is probably mistyped",
            ));
        }
        Ok(Self(digits))
    }

    /// The twelve digits with no separators, as stored.
    pub fn as_digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

impl fmt::Display for ContactPointId {
    /// Grouped in fours for reading aloud: `4821 0937 5512`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_digits();
        write!(f, "{} {} {}", &s[0..4], &s[4..8], &s[8..12])
    }
}

impl std::str::FromStr for ContactPointId {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ContactPointId {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ContactPointId> for String {
    fn from(id: ContactPointId) -> String {
        id.as_digits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn with_check_digit(payload: &[u8]) -> Vec<u8> {
        let mut all = payload.to_vec();
        all.push(damm_check_digit(payload));
        all
    }

    fn render(digits: &[u8]) -> String {
        digits.iter().map(|d| char::from(b'0' + d)).collect()
    }

    fn payload() -> impl Strategy<Value = Vec<u8>> {
        (1u8..=9, proptest::collection::vec(0u8..=9, ID_DIGITS - 2)).prop_map(|(first, rest)| {
            let mut all = vec![first];
            all.extend(rest);
            all
        })
    }

    proptest! {
        #[test]
        fn every_valid_id_parses_back_to_itself(payload in payload()) {
            let text = render(&with_check_digit(&payload));
            let id = ContactPointId::parse(&text).unwrap();
            prop_assert_eq!(id.as_digits(), text);
        }

        #[test]
        fn every_single_digit_error_is_caught(payload in payload(), position in 0..ID_DIGITS, replacement in 0u8..=9) {
            let mut digits = with_check_digit(&payload);
            prop_assume!(digits[position] != replacement);
            digits[position] = replacement;
            prop_assert!(ContactPointId::parse(&render(&digits)).is_err());
        }

        #[test]
        fn every_adjacent_transposition_is_caught(payload in payload(), position in 0..ID_DIGITS - 1) {
            let mut digits = with_check_digit(&payload);
            prop_assume!(digits[position] != digits[position + 1]);
            digits.swap(position, position + 1);
            prop_assert!(ContactPointId::parse(&render(&digits)).is_err());
        }

        #[test]
        fn random_ids_are_always_valid(seed in any::<u64>()) {
            let mut rng = rand_chacha_free_rng(seed);
            let id = ContactPointId::random(&mut rng);
            prop_assert_eq!(ContactPointId::parse(&id.to_string()), Ok(id));
        }
    }

    fn rand_chacha_free_rng(seed: u64) -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(seed)
    }

    #[test]
    fn the_damm_table_catches_every_single_error_and_transposition_exhaustively() {
        // The property tests sample; this checks the table itself over every digit pair.
        for interim in 0..10usize {
            for a in 0..10u8 {
                for b in 0..10u8 {
                    if a != b {
                        assert_ne!(DAMM[interim][a as usize], DAMM[interim][b as usize]);
                        let ab = DAMM[DAMM[interim][a as usize] as usize][b as usize];
                        let ba = DAMM[DAMM[interim][b as usize] as usize][a as usize];
                        assert_ne!(ab, ba, "transposition {a}{b} after interim {interim}");
                    }
                }
            }
        }
    }

    #[test]
    fn spaces_and_hyphens_are_ignored_but_letters_are_refused() {
        let id = ContactPointId::random(&mut rand_chacha_free_rng(7));
        let spaced = id.to_string();
        assert_eq!(ContactPointId::parse(&spaced), Ok(id));
        assert_eq!(ContactPointId::parse(&spaced.replace(' ', "-")), Ok(id));
        let err = ContactPointId::parse("4821 O937 5512").unwrap_err();
        assert_eq!(err.field, "contactpoint_id");
        assert!(err.expected.contains("12 digits"));
    }

    #[test]
    fn an_id_starting_with_zero_or_of_the_wrong_length_is_refused() {
        assert!(ContactPointId::parse("012345678901").is_err());
        assert!(ContactPointId::parse("12345").is_err());
        assert!(ContactPointId::parse("1234567890123").is_err());
    }
}
