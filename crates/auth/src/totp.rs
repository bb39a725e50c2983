//! The security token as a time-based one-time code: RFC 6238, 30-second steps, 6 digits,
//! HMAC-SHA-1 (what authenticator apps support), one step of drift either way. The caller
//! stores the step of the last accepted code, and a code is only accepted for a later step,
//! so no code works twice.

use chrono::{DateTime, Utc};
use contactpoint_domain::FieldError;
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

pub const TOTP_STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
const DRIFT_STEPS: u64 = 1;
const ISSUER: &str = "ContactPoint";

/// 160 random bits, shown to people in base32.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 20];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_base32(encoded: &str) -> Result<Self, FieldError> {
        let cleaned: String = encoded
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .collect::<String>()
            .to_ascii_uppercase();
        match data_encoding::BASE32_NOPAD.decode(cleaned.as_bytes()) {
            Ok(bytes) if bytes.len() >= 16 => Ok(Self(bytes)),
            _ => Err(FieldError::new(
                "totp_secret",
                "a base32 secret of at least 128 bits",
            )),
        }
    }

    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    fn totp(&self, account: &str) -> TOTP {
        TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            0,
            TOTP_STEP_SECONDS,
            self.0.clone(),
            Some(ISSUER.to_owned()),
            account.to_owned(),
        )
    }

    /// The code for the step containing `at` (what an authenticator app shows then).
    pub fn code_at(&self, at: DateTime<Utc>) -> String {
        self.totp("").generate(at.timestamp().max(0) as u64)
    }

    /// The step of `code` if it is right for `now` give or take one step, and later than
    /// `last_accepted_step`. The caller must store the returned step.
    pub fn accept(
        &self,
        code: &str,
        now: DateTime<Utc>,
        last_accepted_step: Option<u64>,
    ) -> Option<u64> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp("");
        let current = now.timestamp().max(0) as u64 / TOTP_STEP_SECONDS;
        let mut accepted = None;
        // Every candidate step is computed, matched or not, so timing says nothing.
        for step in current.saturating_sub(DRIFT_STEPS)..=current + DRIFT_STEPS {
            let expected = totp.generate(step * TOTP_STEP_SECONDS);
            let matches: bool =
                subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into();
            if matches && last_accepted_step.is_none_or(|last| step > last) {
                accepted = Some(step);
            }
        }
        accepted
    }

    /// The `otpauth://` URI an authenticator app reads from the enrolment QR code.
    pub fn otpauth_uri(&self, account: &str) -> String {
        self.totp(account).get_url()
    }

    /// The enrolment QR code as an SVG image.
    pub fn qr_svg(&self, account: &str) -> String {
        qrcode::QrCode::new(self.otpauth_uri(account).as_bytes())
            .map(|code| {
                code.render::<qrcode::render::svg::Color>()
                    .min_dimensions(200, 200)
                    .build()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", 8-digit codes; our 6-digit
    /// codes are their last six digits.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        for (unix, eight_digits) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let at = Utc.timestamp_opt(unix, 0).unwrap();
            assert_eq!(secret.code_at(at), eight_digits[2..]);
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_never_twice() {
        let secret = TotpSecret::generate();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 15).unwrap();
        let code = secret.code_at(now);
        let step = secret.accept(&code, now, None).expect("the current code");
        assert_eq!(secret.accept(&code, now, Some(step)), None, "replayed");
        let earlier = secret.code_at(now - chrono::Duration::seconds(30));
        assert!(
            secret.accept(&earlier, now, None).is_some(),
            "one step of drift"
        );
        let too_old = secret.code_at(now - chrono::Duration::seconds(60));
        assert_eq!(secret.accept(&too_old, now, None), None);
        let next = secret.code_at(now + chrono::Duration::seconds(30));
        assert_eq!(secret.accept(&next, now, Some(step)), Some(step + 1));
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = TotpSecret::generate();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        for bad in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(secret.accept(bad, now, None), None);
        }
    }

    #[test]
    fn enrolment_gives_an_otpauth_uri_a_qr_code_and_a_base32_secret_that_round_trips() {
        let secret = TotpSecret::generate();
        let uri = secret.otpauth_uri("a.smith");
        assert!(
            uri.starts_with("otpauth://totp/ContactPoint:a.smith?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={}", secret.to_base32())));
        assert!(secret.qr_svg("a.smith").contains("<svg"));
        assert_eq!(
            TotpSecret::from_base32(&secret.to_base32().to_lowercase()).unwrap(),
            secret
        );
        assert_eq!(
            TotpSecret::from_base32("AAAA").unwrap_err().field,
            "totp_secret"
        );
    }
}
