//! argon2id with at least OWASP's parameters: 19 MiB of memory, 2 iterations, 1 lane.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// A hash of no one's secret, verified against when the user does not exist, so that an
/// unknown user name costs the same time as a wrong password.
pub const DUMMY_PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2WbVKdjPIetYBv+kKkfYnPuCOeNxRsdJHuX1nnO8vUo";

#[derive(Debug, Clone)]
pub struct SecretHasher {
    argon2: Argon2<'static>,
}

impl Default for SecretHasher {
    fn default() -> Self {
        let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP parameters are valid");
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        }
    }
}

impl SecretHasher {
    /// A PHC string (`$argon2id$...`) with a fresh random salt.
    pub fn hash(&self, secret: &str) -> String {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
        self.argon2
            .hash_password(secret.as_bytes(), &salt)
            .expect("argon2id hashes any input")
            .to_string()
    }

    /// True when `secret` matches `phc`. A malformed hash never matches.
    pub fn verify(&self, secret: &str, phc: &str) -> bool {
        PasswordHash::new(phc)
            .map(|hash| {
                self.argon2
                    .verify_password(secret.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_secret_and_nothing_else() {
        let hasher = SecretHasher::default();
        let phc = hasher.hash("correct horse battery");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("correct horse battery", &phc));
        assert!(!hasher.verify("correct horse battery ", &phc));
        assert_ne!(
            phc,
            hasher.hash("correct horse battery"),
            "each hash has its own salt"
        );
    }

    #[test]
    fn the_dummy_hash_is_well_formed_but_matches_nothing_likely() {
        let hasher = SecretHasher::default();
        assert!(PasswordHash::new(DUMMY_PHC).is_ok());
        assert!(!hasher.verify("", DUMMY_PHC));
        assert!(!hasher.verify("password", DUMMY_PHC));
        assert!(!hasher.verify("x", "not a hash"));
    }
}
