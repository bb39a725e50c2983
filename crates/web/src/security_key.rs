//! Security keys on the web: enrolling one, and the challenge for signing in with one.
//! Every challenge is stored server-side and used once. A challenge asked for an unknown
//! user, or one without keys, is a decoy shaped like a real one, so the answer says nothing
//! about who exists.

use crate::error::{ApiError, JsonBody, PageError};
use crate::html::{escape, page};
use crate::pages::Fields;
use crate::session::{csrf_matches, set_cookie, EnrollingUser, ENROL_ONLY, SESSION_COOKIE};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use chrono::Duration;
use contactpoint_auth::{new_token, new_user_handle, parse_user_handle, RegisteredKey};
use contactpoint_domain::{
    authorize, Action, AuditEvent, Outcome, Permit, SystemTask, Target, Username,
};
use contactpoint_storage::{RegisteredKeyRow, StorageError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const CEREMONY_MINUTES: i64 = 5;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ChallengeRequest {
    pub username: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChallengeIssued {
    /// Send back with the key's answer.
    pub ceremony_id: String,
    /// WebAuthn options for `navigator.credentials.get` or `.create` (binary fields in base64url).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

fn to_row(key: RegisteredKey) -> RegisteredKeyRow {
    RegisteredKeyRow {
        credential_id: key.credential_id,
        credential_json: key.credential_json,
    }
}

fn to_key(row: &RegisteredKeyRow) -> RegisteredKey {
    RegisteredKey {
        credential_id: row.credential_id.clone(),
        credential_json: row.credential_json.clone(),
    }
}

fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "security_keys_unavailable",
        "Security keys cannot be used at this server's address.",
    )
}

/// Options for a user who has no keys (or does not exist): the same shape as real ones, with
/// a credential id that is stable for the user name, so repeated asks look alike.
fn decoy_options(state: &AppState, username: &str) -> serde_json::Value {
    let mut digest = Sha256::new();
    digest.update(state.dummy_totp.to_base32().as_bytes());
    digest.update(username.as_bytes());
    let fake_id = data_encoding::BASE64URL_NOPAD.encode(&digest.finalize());
    let challenge = data_encoding::BASE64URL_NOPAD.encode(&Sha256::digest(new_token().as_bytes()));
    let origin = state.settings.origin();
    let rp_id = origin
        .split("://")
        .nth(1)
        .unwrap_or("localhost")
        .split(['/', ':'])
        .next()
        .unwrap_or("localhost")
        .to_owned();
    // The same fields, in the same form, as webauthn-rs gives for a real key.
    serde_json::json!({
        "publicKey": {
            "allowCredentials": [{"id": fake_id, "type": "public-key"}],
            "challenge": challenge,
            "hints": ["security-key"],
            "rpId": rp_id,
            "timeout": 300000,
            "userVerification": "preferred"
        }
    })
}

/// Drops the optional transport hints from real options, which decoys could not imitate
/// faithfully; browsers find the key without them.
fn without_transports(mut options: serde_json::Value) -> serde_json::Value {
    if let Some(credentials) = options
        .pointer_mut("/publicKey/allowCredentials")
        .and_then(|c| c.as_array_mut())
    {
        for credential in credentials {
            if let Some(fields) = credential.as_object_mut() {
                fields.remove("transports");
            }
        }
    }
    options
}

/// Starts signing in with a security key.
pub async fn sign_in_challenge(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ChallengeRequest>,
) -> Result<Json<ChallengeIssued>, ApiError> {
    let keys_service = state.security_keys.as_ref().ok_or_else(unavailable)?;
    let permit = Permit::system_bypass(SystemTask::SignIn);
    let user = match Username::parse(&request.username) {
        Ok(username) => match state.store.sign_in_record(&permit, &username).await {
            Ok(record) => Some(record.user),
            Err(StorageError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    let keys = match &user {
        Some(u) => state.store.security_keys(u.id).await?,
        None => Vec::new(),
    };
    let ceremony_id = new_token();
    let expires = state.clock.now() + Duration::minutes(CEREMONY_MINUTES);
    let options = if let (Some(user), false) = (&user, keys.is_empty()) {
        let keys: Vec<_> = keys.iter().map(to_key).collect();
        let challenge = keys_service
            .start_authentication(&keys)
            .map_err(|_| unavailable())?;
        state
            .store
            .put_ceremony(
                &ceremony_id,
                Some(user.id),
                "authentication",
                &challenge.state_json,
                expires,
            )
            .await?;
        without_transports(serde_json::from_str(&challenge.options_json).unwrap_or_default())
    } else {
        state
            .store
            .put_ceremony(&ceremony_id, None, "authentication", "decoy", expires)
            .await?;
        decoy_options(&state, &request.username)
    };
    Ok(Json(ChallengeIssued {
        ceremony_id,
        options,
    }))
}

/// Checks a key's answer to a sign-in challenge for `user_id`: the key used, with its new
/// counter, or `None` if the answer does not hold. The challenge is used up either way.
pub async fn check_sign_in_answer(
    state: &AppState,
    user_id: i64,
    ceremony_id: &str,
    answer_json: &str,
    keys: &[RegisteredKeyRow],
) -> Result<Option<RegisteredKeyRow>, StorageError> {
    let Some(service) = &state.security_keys else {
        return Ok(None);
    };
    let (owner, state_json) = match state
        .store
        .take_ceremony(ceremony_id, "authentication", state.clock.now())
        .await
    {
        Ok(found) => found,
        Err(StorageError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if owner != Some(user_id) {
        return Ok(None);
    }
    let keys: Vec<_> = keys.iter().map(to_key).collect();
    Ok(service
        .finish_authentication(answer_json, &state_json, &keys)
        .ok()
        .map(to_row))
}

const ENROL_SCRIPT: &str = r#"
const b64 = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));
const enc = b => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
document.getElementById('register').addEventListener('click', async () => {
  const form = document.getElementById('enrol');
  const reply = await fetch('/account/security-key/challenge', {method: 'POST', headers: {'X-CSRF-Token': form.csrf.value}});
  const {ceremony_id, options} = await reply.json();
  const pk = options.publicKey;
  pk.challenge = b64(pk.challenge);
  pk.user.id = b64(pk.user.id);
  (pk.excludeCredentials || []).forEach(c => c.id = b64(c.id));
  const cred = await navigator.credentials.create({publicKey: pk});
  form.ceremony_id.value = ceremony_id;
  form.response.value = JSON.stringify({id: cred.id, rawId: enc(cred.rawId), type: cred.type, extensions: {},
    response: {attestationObject: enc(cred.response.attestationObject), clientDataJSON: enc(cred.response.clientDataJSON)}});
  form.submit();
});
"#;

pub async fn enrol_page(EnrollingUser(who): EnrollingUser) -> Result<Html<String>, PageError> {
    authorize(&who.actor(), Action::EnrolSecurityToken, &Target::Own)?;
    let first = if who.session.purpose == ENROL_ONLY {
        r#"<p class="notice">Your role signs in with a security key. Register yours now; then sign in again with it.</p>"#
    } else {
        ""
    };
    let body = format!(
        r#"<h1>Register a security key</h1>{first}
<p>Insert your security key, enter your PIN, then choose the button and touch the key when it flashes. This needs JavaScript.</p>
<form id="enrol" method="post" action="/account/security-key">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="ceremony_id" value="">
<input type="hidden" name="response" value="">
<label for="pin">PIN</label><input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" required>
<button type="button" id="register">Register security key</button>
</form>
<script>{script}</script>"#,
        csrf = escape(who.csrf()),
        script = ENROL_SCRIPT,
    );
    Ok(page("Register a security key", None, &body))
}

pub async fn enrol_challenge(
    State(state): State<AppState>,
    EnrollingUser(who): EnrollingUser,
    headers: HeaderMap,
) -> Result<Json<ChallengeIssued>, ApiError> {
    let submitted = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !csrf_matches(who.csrf(), submitted) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_input",
            "X-CSRF-Token: the form's token",
        ));
    }
    authorize(&who.actor(), Action::EnrolSecurityToken, &Target::Own)?;
    let service = state.security_keys.as_ref().ok_or_else(unavailable)?;
    let user = &who.session.user;
    let handle = state
        .store
        .webauthn_handle(user.id, &new_user_handle().to_string())
        .await?;
    let handle = parse_user_handle(&handle)?;
    let existing: Vec<_> = state
        .store
        .security_keys(user.id)
        .await?
        .iter()
        .map(to_key)
        .collect();
    let display = format!("{} {}", user.given_name, user.family_name);
    let challenge = service
        .start_registration(handle, user.username.as_str(), &display, &existing)
        .map_err(|_| unavailable())?;
    let ceremony_id = new_token();
    let expires = state.clock.now() + Duration::minutes(CEREMONY_MINUTES);
    state
        .store
        .put_ceremony(
            &ceremony_id,
            Some(user.id),
            "registration",
            &challenge.state_json,
            expires,
        )
        .await?;
    Ok(Json(ChallengeIssued {
        ceremony_id,
        options: serde_json::from_str(&challenge.options_json).unwrap_or_default(),
    }))
}

pub async fn enrol(
    State(state): State<AppState>,
    EnrollingUser(who): EnrollingUser,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    if !csrf_matches(who.csrf(), fields.raw("csrf")) {
        return Err(PageError::bad_request(
            "This form has expired. Go back, reload the page and try again.",
        ));
    }
    let permit = authorize(&who.actor(), Action::EnrolSecurityToken, &Target::Own)?;
    let service = state.security_keys.as_ref().ok_or_else(|| {
        PageError::bad_request("Security keys cannot be used at this server's address.")
    })?;
    let record = state
        .store
        .sign_in_record(
            &Permit::system_bypass(SystemTask::SignIn),
            &who.session.user.username,
        )
        .await?;
    let pin_ok = state.hasher.verify(fields.get("pin"), &record.pin_hash);
    let ceremony = state
        .store
        .take_ceremony(fields.get("ceremony_id"), "registration", state.clock.now())
        .await;
    let registered = match ceremony {
        Ok((Some(owner), state_json)) if owner == who.user_id() && pin_ok => service
            .finish_registration(fields.raw("response"), &state_json)
            .ok(),
        Ok(_) | Err(StorageError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let Some(key) = registered else {
        let failed = AuditEvent::new(
            state.clock.now(),
            who.session.route,
            "security_key_enrolled",
            Outcome::Failure,
        )
        .by(who.user_id());
        crate::identity_service::count_failure(&state, &who, &failed).await?;
        return Err(PageError::bad_request(
            "pin and security key: the key was not registered. Check your PIN and try again.",
        ));
    };
    let audit = AuditEvent::new(
        state.clock.now(),
        who.session.route,
        "security_key_enrolled",
        Outcome::Success,
    )
    .by(who.user_id())
    .about("user", who.user_id())
    .in_authority(&who.session.user.organisation.local_authority);
    state
        .store
        .add_security_key(&permit, who.user_id(), &to_row(key), &audit)
        .await?;
    if who.session.purpose == ENROL_ONLY {
        // The enrolment session has done its one job: sign in again, with the key.
        let end = AuditEvent::new(
            state.clock.now(),
            who.session.route,
            "sign_out",
            Outcome::Success,
        )
        .by(who.user_id());
        state
            .store
            .end_sessions(who.user_id(), Some(&who.token_digest), &end)
            .await?;
        let clear = set_cookie(SESSION_COOKIE, "", state.settings.secure_cookies, Some(0));
        let body = r#"<h1>Your security key is registered</h1><p><a href="/sign-in">Sign in again with it</a>.</p>"#;
        return Ok((
            [(header::SET_COOKIE, clear)],
            page("Security key registered", None, body),
        )
            .into_response());
    }
    Ok(page("Security key registered", None, r#"<h1>Your security key is registered</h1><p><a href="/account">Back to your account</a></p>"#).into_response())
}
