//! Security keys (WebAuthn), the phishing-resistant factor privileged users must use. Each
//! ceremony's state is handed back to the caller as JSON to store server-side and use once:
//! the library itself would accept the same response twice against the same state.

use contactpoint_domain::FieldError;
use webauthn_rs::prelude::{
    AuthenticatorAttachment, PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey,
    SecurityKeyAuthentication, SecurityKeyRegistration, Url, Uuid, Webauthn, WebauthnBuilder,
};

#[derive(Debug, thiserror::Error)]
pub enum SecurityKeyError {
    #[error("the server's public address cannot be used for security keys: {0}")]
    Configuration(String),
    #[error("the security key's answer was not accepted")]
    Rejected,
    #[error("stored security-key data is unreadable")]
    Corrupt,
}

/// The relying party: this ContactPoint server as security keys know it (its public origin).
#[derive(Debug, Clone)]
pub struct SecurityKeys {
    webauthn: std::sync::Arc<Webauthn>,
}

/// A registered key as stored: its credential id (base64url) and the credential as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredKey {
    pub credential_id: String,
    pub credential_json: String,
}

/// A ceremony begun: the options for the browser (JSON) and the state to keep (JSON).
#[derive(Debug, Clone)]
pub struct Challenge {
    pub options_json: String,
    pub state_json: String,
}

fn credential_id(key: &SecurityKey) -> String {
    data_encoding::BASE64URL_NOPAD.encode(key.cred_id().as_ref())
}

impl SecurityKeys {
    /// `origin` is the address people use, e.g. `https://contactpoint.example.gov.uk` or
    /// `http://localhost:8080`; its host is the relying-party id.
    pub fn new(origin: &str) -> Result<Self, SecurityKeyError> {
        let url = Url::parse(origin).map_err(|e| SecurityKeyError::Configuration(e.to_string()))?;
        let host = url
            .host_str()
            .ok_or_else(|| SecurityKeyError::Configuration("no host".into()))?
            .to_owned();
        let webauthn = WebauthnBuilder::new(&host, &url)
            .and_then(|b| b.rp_name("ContactPoint").build())
            .map_err(|e| SecurityKeyError::Configuration(e.to_string()))?;
        Ok(Self {
            webauthn: std::sync::Arc::new(webauthn),
        })
    }

    /// Starts registering a key for a user, excluding the keys they already have.
    pub fn start_registration(
        &self,
        user_uuid: Uuid,
        username: &str,
        display_name: &str,
        existing: &[RegisteredKey],
    ) -> Result<Challenge, SecurityKeyError> {
        let exclude = existing
            .iter()
            .map(|k| {
                serde_json::from_str::<SecurityKey>(&k.credential_json).map(|c| c.cred_id().clone())
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| SecurityKeyError::Corrupt)?;
        let (options, state) = self
            .webauthn
            .start_securitykey_registration(
                user_uuid,
                username,
                display_name,
                Some(exclude),
                None,
                Some(AuthenticatorAttachment::CrossPlatform),
            )
            .map_err(|_| SecurityKeyError::Rejected)?;
        Ok(Challenge {
            options_json: serde_json::to_string(&options).map_err(|_| SecurityKeyError::Corrupt)?,
            state_json: serde_json::to_string(&state).map_err(|_| SecurityKeyError::Corrupt)?,
        })
    }

    pub fn finish_registration(
        &self,
        response_json: &str,
        state_json: &str,
    ) -> Result<RegisteredKey, SecurityKeyError> {
        let response: RegisterPublicKeyCredential =
            serde_json::from_str(response_json).map_err(|_| SecurityKeyError::Rejected)?;
        let state: SecurityKeyRegistration =
            serde_json::from_str(state_json).map_err(|_| SecurityKeyError::Corrupt)?;
        let key = self
            .webauthn
            .finish_securitykey_registration(&response, &state)
            .map_err(|_| SecurityKeyError::Rejected)?;
        Ok(RegisteredKey {
            credential_id: credential_id(&key),
            credential_json: serde_json::to_string(&key).map_err(|_| SecurityKeyError::Corrupt)?,
        })
    }

    /// Starts a sign-in with any of the user's keys.
    pub fn start_authentication(
        &self,
        keys: &[RegisteredKey],
    ) -> Result<Challenge, SecurityKeyError> {
        let keys = keys
            .iter()
            .map(|k| serde_json::from_str::<SecurityKey>(&k.credential_json))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| SecurityKeyError::Corrupt)?;
        let (options, state) = self
            .webauthn
            .start_securitykey_authentication(&keys)
            .map_err(|_| SecurityKeyError::Rejected)?;
        Ok(Challenge {
            options_json: serde_json::to_string(&options).map_err(|_| SecurityKeyError::Corrupt)?,
            state_json: serde_json::to_string(&state).map_err(|_| SecurityKeyError::Corrupt)?,
        })
    }

    /// Checks the key's answer; returns the key used, with its signature counter brought up
    /// to date, to store back.
    pub fn finish_authentication(
        &self,
        response_json: &str,
        state_json: &str,
        keys: &[RegisteredKey],
    ) -> Result<RegisteredKey, SecurityKeyError> {
        let response: PublicKeyCredential =
            serde_json::from_str(response_json).map_err(|_| SecurityKeyError::Rejected)?;
        let state: SecurityKeyAuthentication =
            serde_json::from_str(state_json).map_err(|_| SecurityKeyError::Corrupt)?;
        let result = self
            .webauthn
            .finish_securitykey_authentication(&response, &state)
            .map_err(|_| SecurityKeyError::Rejected)?;
        for stored in keys {
            let mut key: SecurityKey = serde_json::from_str(&stored.credential_json)
                .map_err(|_| SecurityKeyError::Corrupt)?;
            if key.cred_id() == result.cred_id() {
                // A counter that did not go up means a cloned key or a replay.
                if result.counter() != 0 && key.update_credential(&result) == Some(false) {
                    return Err(SecurityKeyError::Rejected);
                }
                return Ok(RegisteredKey {
                    credential_id: stored.credential_id.clone(),
                    credential_json: serde_json::to_string(&key)
                        .map_err(|_| SecurityKeyError::Corrupt)?,
                });
            }
        }
        Err(SecurityKeyError::Rejected)
    }
}

/// A new random handle for a user, as security keys know them.
pub fn new_user_handle() -> Uuid {
    Uuid::new_v4()
}

pub fn parse_user_handle(text: &str) -> Result<Uuid, FieldError> {
    Uuid::parse_str(text).map_err(|_| FieldError::new("webauthn_user", "a UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use webauthn_authenticator_rs::softtoken::SoftToken;
    use webauthn_authenticator_rs::WebauthnAuthenticator;

    const ORIGIN: &str = "http://localhost:8080";

    fn register(keys: &SecurityKeys, token: &mut SoftToken) -> RegisteredKey {
        let challenge = keys
            .start_registration(new_user_handle(), "a.team", "A Team", &[])
            .unwrap();
        let options = serde_json::from_str(&challenge.options_json).unwrap();
        let response = token
            .do_registration(Url::parse(ORIGIN).unwrap(), options)
            .unwrap();
        keys.finish_registration(
            &serde_json::to_string(&response).unwrap(),
            &challenge.state_json,
        )
        .unwrap()
    }

    fn sign(
        keys: &SecurityKeys,
        token: &mut SoftToken,
        registered: &[RegisteredKey],
        origin: &str,
    ) -> (String, Challenge) {
        let challenge = keys.start_authentication(registered).unwrap();
        let options = serde_json::from_str(&challenge.options_json).unwrap();
        let response = token
            .do_authentication(Url::parse(origin).unwrap(), options)
            .unwrap();
        (serde_json::to_string(&response).unwrap(), challenge)
    }

    #[test]
    fn a_registered_key_signs_in_and_its_counter_moves_on() {
        let keys = SecurityKeys::new(ORIGIN).unwrap();
        let (mut token, _) = SoftToken::new(false).unwrap();
        let registered = register(&keys, &mut token);
        let (response, challenge) =
            sign(&keys, &mut token, std::slice::from_ref(&registered), ORIGIN);
        let updated = keys
            .finish_authentication(
                &response,
                &challenge.state_json,
                std::slice::from_ref(&registered),
            )
            .unwrap();
        assert_eq!(updated.credential_id, registered.credential_id);
        assert_ne!(
            updated.credential_json, registered.credential_json,
            "the counter is stored"
        );
        // The old answer against the updated key: the counter did not move, so it is refused.
        assert!(keys
            .finish_authentication(&response, &challenge.state_json, &[updated])
            .is_err());
    }

    #[test]
    fn an_answer_for_another_site_or_another_challenge_is_refused() {
        let keys = SecurityKeys::new(ORIGIN).unwrap();
        let (mut token, _) = SoftToken::new(false).unwrap();
        let registered = register(&keys, &mut token);
        let (elsewhere, challenge) = sign(
            &keys,
            &mut token,
            std::slice::from_ref(&registered),
            "http://localhost:9999",
        );
        assert!(keys
            .finish_authentication(
                &elsewhere,
                &challenge.state_json,
                std::slice::from_ref(&registered)
            )
            .is_err());
        let (response, _) = sign(&keys, &mut token, std::slice::from_ref(&registered), ORIGIN);
        let other = keys
            .start_authentication(std::slice::from_ref(&registered))
            .unwrap();
        assert!(keys
            .finish_authentication(&response, &other.state_json, &[registered])
            .is_err());
    }

    #[test]
    fn an_unusable_origin_is_a_configuration_error() {
        assert!(matches!(
            SecurityKeys::new("not a url"),
            Err(SecurityKeyError::Configuration(_))
        ));
    }
}
