//! Who is asking. A web request carries the session in an HttpOnly, SameSite=Strict cookie;
//! an API request carries a bearer token. Either way the session is looked up in the
//! database (so any server process can serve it) and checked on every request: idle for
//! 15 minutes or older than its absolute limit ends it, and so does a user or organisation
//! that is no longer allowed in. The last-seen time is written at most once a minute.

use crate::error::{ApiError, PageError};
use crate::AppState;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use chrono::Duration;
use contactpoint_auth::token_digest;
use contactpoint_domain::{AccessRoute, AccountState, Accreditation, Actor};
use contactpoint_storage::{SessionRecord, StorageError};

pub const SESSION_COOKIE: &str = "cp_session";
pub const SIGN_IN_CSRF_COOKIE: &str = "cp_sign_in";
pub const IDLE_MINUTES: i64 = 15;
/// How stale a session's last-seen time may get before a request writes it again. Writing it
/// on every request would make every request a write; once a minute is enough for a
/// 15-minute idle rule (a session then ends between 14 and 15 idle minutes after its last
/// request, never later).
pub const TOUCH_EVERY_SECONDS: i64 = 60;

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: SessionRecord,
    pub token_digest: String,
}

impl SignedIn {
    pub fn actor(&self) -> Actor {
        self.session.user.actor(self.session.route)
    }

    pub fn user_id(&self) -> i64 {
        self.session.user.id
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    /// Name and CSRF token for the page header.
    pub fn header(&self) -> (String, &str) {
        let u = &self.session.user;
        (format!("{} {}", u.given_name, u.family_name), self.csrf())
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure behind TLS.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age_seconds: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age_seconds {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
}

/// Why there is no signed-in user.
#[derive(Debug)]
pub enum NotSignedIn {
    Missing,
    Storage(StorageError),
}

/// A session opened only to enrol a first security key.
pub const ENROL_ONLY: &str = "enrol_security_key";

async fn load_full(
    state: &AppState,
    token: Option<String>,
    route: AccessRoute,
) -> Result<SignedIn, NotSignedIn> {
    let signed_in = load(state, token, route).await?;
    if signed_in.session.purpose == ENROL_ONLY {
        return Err(NotSignedIn::Missing);
    }
    Ok(signed_in)
}

async fn load(
    state: &AppState,
    token: Option<String>,
    route: AccessRoute,
) -> Result<SignedIn, NotSignedIn> {
    let token = token.ok_or(NotSignedIn::Missing)?;
    let digest = token_digest(&token);
    let session = match state.store.session(&digest).await {
        Ok(s) => s,
        Err(StorageError::NotFound { .. }) => return Err(NotSignedIn::Missing),
        Err(e) => return Err(NotSignedIn::Storage(e)),
    };
    let now = state.clock.now();
    let user = &session.user;
    let organisation_ok = user.organisation.accreditation == Accreditation::Accredited
        && match route {
            AccessRoute::Api => user.organisation.integration_access,
            _ => user.organisation.web_access,
        };
    let live = session.route == route
        && now < session.expires_at
        && now - session.last_seen_at < Duration::minutes(IDLE_MINUTES)
        && user.state == AccountState::Active
        && organisation_ok
        && user.vetting.lapse_on(state.clock.today()).is_none();
    if !live {
        return Err(NotSignedIn::Missing);
    }
    if let Some(client_id) = session.api_client_id {
        match state.store.api_client_by_id(client_id).await {
            // The system's organisation must still be accredited for integration too.
            Ok(client)
                if !client.revoked
                    && client.organisation.accreditation == Accreditation::Accredited
                    && client.organisation.integration_access => {}
            Ok(_) | Err(StorageError::NotFound { .. }) => return Err(NotSignedIn::Missing),
            Err(e) => return Err(NotSignedIn::Storage(e)),
        }
    }
    if now - session.last_seen_at >= Duration::seconds(TOUCH_EVERY_SECONDS) {
        state
            .store
            .touch_session(&digest, now)
            .await
            .map_err(NotSignedIn::Storage)?;
    }
    Ok(SignedIn {
        session,
        token_digest: digest,
    })
}

/// The web session of a request, if any. `full` refuses a session opened only to enrol a
/// security key. A storage failure is an error page, never "not signed in".
async fn web_session(
    parts: &Parts,
    state: &AppState,
    full: bool,
) -> Result<Option<SignedIn>, PageError> {
    let token = cookie(&parts.headers, SESSION_COOKIE);
    let loaded = if full {
        load_full(state, token, AccessRoute::Web).await
    } else {
        load(state, token, AccessRoute::Web).await
    };
    match loaded {
        Ok(s) => Ok(Some(s)),
        Err(NotSignedIn::Missing) => Ok(None),
        Err(NotSignedIn::Storage(e)) => Err(PageError::from(e)),
    }
}

/// A signed-in user of the web pages.
#[derive(Debug, Clone)]
pub struct PageUser(pub SignedIn);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        web_session(parts, state, true)
            .await?
            .map(Self)
            .ok_or_else(PageError::unauthenticated)
    }
}

impl OptionalFromRequestParts<AppState> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(web_session(parts, state, true).await?.map(Self))
    }
}

/// A signed-in web user, including one whose session exists only to enrol a first
/// security key. Used by the enrolment pages and nothing else.
#[derive(Debug, Clone)]
pub struct EnrollingUser(pub SignedIn);

impl FromRequestParts<AppState> for EnrollingUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        web_session(parts, state, false)
            .await?
            .map(Self)
            .ok_or_else(PageError::unauthenticated)
    }
}

/// A signed-in user of the API, acting through an accredited case-management system.
#[derive(Debug, Clone)]
pub struct ApiUser(pub SignedIn);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match load_full(state, bearer(&parts.headers), AccessRoute::Api).await {
            Ok(s) => Ok(Self(s)),
            Err(NotSignedIn::Missing) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Sign in first: send Authorization: Bearer <token> from createSession.",
            )),
            Err(NotSignedIn::Storage(e)) => Err(ApiError::from(e)),
        }
    }
}

/// Compares a submitted CSRF token with the expected one in constant time.
/// The client ID and secret of an HTTP Basic `Authorization` header, if it holds one.
pub(crate) fn basic_credential(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = data_encoding::BASE64
        .decode(encoded.trim().as_bytes())
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

pub fn csrf_matches(expected: &str, submitted: &str) -> bool {
    use subtle::ConstantTimeEq;
    !expected.is_empty() && expected.as_bytes().ct_eq(submitted.as_bytes()).into()
}
