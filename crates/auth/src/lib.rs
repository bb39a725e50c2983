//! Proving who a user is. Passwords and PINs are hashed with argon2id; the security token is
//! a time-based one-time code (RFC 6238) whose steps are never accepted twice; session and
//! API tokens are random and stored only as their SHA-256 digest.

mod hashing;
mod secrets;
mod security_key;
mod totp;

pub use hashing::{SecretHasher, DUMMY_PHC};
pub use secrets::{check_new_password, check_new_pin, new_client_id, new_token, token_digest, Pin};
pub use security_key::{
    new_user_handle, parse_user_handle, Challenge, RegisteredKey, SecurityKeyError, SecurityKeys,
};
pub use totp::{TotpSecret, TOTP_STEP_SECONDS};
