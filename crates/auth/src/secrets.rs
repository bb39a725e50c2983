//! Rules for new passwords and PINs, and random tokens.

use contactpoint_domain::FieldError;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::OnceLock;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Length and the common-password list, nothing else: no composition rules. A common
/// password padded with digits or symbols (`password123456`) counts as common.
pub fn check_new_password(password: &str) -> Result<(), FieldError> {
    let length = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&length) {
        return Err(FieldError::new(
            "password",
            format!("{MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters; a few unrelated words make a good one"),
        ));
    }
    let lower = password.to_lowercase();
    let core = lower
        .trim_end_matches(|c: char| !c.is_alphabetic())
        .trim_start_matches(|c: char| !c.is_alphabetic());
    let list = common_passwords();
    if list.contains(lower.as_str()) || (core.chars().count() >= 4 && list.contains(core)) {
        return Err(FieldError::new(
            "password",
            "a password that is not on the list of commonly used passwords",
        ));
    }
    Ok(())
}

/// A PIN: 6 to 8 digits, not one digit repeated and not a run like 123456.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(..)")
    }
}

impl Pin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn check_new_pin(pin: &str) -> Result<Pin, FieldError> {
    let digits: Vec<u8> = pin.bytes().collect();
    let well_formed = (6..=8).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit);
    let repeated = digits.windows(2).all(|w| w[0] == w[1]);
    let ascending = digits.windows(2).all(|w| w[1] == w[0] + 1);
    let descending = digits.windows(2).all(|w| w[0] == w[1] + 1);
    if !well_formed || repeated || ascending || descending {
        return Err(FieldError::new(
            "pin",
            "6 to 8 digits, not one digit repeated and not a run such as 123456",
        ));
    }
    Ok(Pin(pin.to_owned()))
}

/// 32 random bytes, base64url without padding: a session or API token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    data_encoding::BASE64URL_NOPAD.encode(&bytes)
}

/// A client ID for a system's credential: `prefix-` and 16 random characters in lower case.
/// It names the credential in lists and the audit trail; the secret beside it is what counts.
pub fn new_client_id(prefix: &str) -> String {
    format!("{prefix}-{}", &new_token()[..16]).to_lowercase()
}

/// What the database keeps of a token: its SHA-256, hex. A stolen copy of the table cannot
/// be used to sign in.
pub fn token_digest(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_needs_twelve_characters_and_nothing_more_about_its_composition() {
        assert_eq!(check_new_password("short").unwrap_err().field, "password");
        assert!(check_new_password("lantern meadow quarry").is_ok());
        assert!(check_new_password("alllowercaseletters").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_even_when_padded() {
        for common in [
            "qwertyuiop123456",
            "password123456",
            "1q2w3e4r5t6y7u8i",
            "Password!!!!!!!",
            "iloveyou12345678",
        ] {
            assert!(check_new_password(common).is_err(), "{common}");
        }
        assert!(common_passwords().len() > 19_000);
    }

    #[test]
    fn a_pin_is_six_to_eight_digits_that_are_not_trivial() {
        assert!(check_new_pin("482915").is_ok());
        assert!(check_new_pin("48291573").is_ok());
        for bad in ["12345", "123456", "654321", "000000", "12a456", "123456789"] {
            assert_eq!(check_new_pin(bad).unwrap_err().field, "pin", "{bad}");
        }
        assert_eq!(format!("{:?}", check_new_pin("482915").unwrap()), "Pin(..)");
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_digests() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_digest(&a).len(), 64);
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), token_digest(&b));
    }
}
