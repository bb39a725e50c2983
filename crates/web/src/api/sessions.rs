//! createSession and deleteSession: a case-management system, with its client credential
//! (HTTP Basic), signs a practitioner in with all four factors and gets a short-lived
//! bearer token bound to both.

use crate::error::{ApiError, ErrorEnvelope, JsonBody};
use crate::session::ApiUser;
use crate::signin::{sign_in, Factors, Refusal};
use crate::{AppState, SourceAddress};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use contactpoint_auth::token_digest;
use contactpoint_domain::{authorize, AccessRoute, Action, AuditEvent, Outcome, Target};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SignInRequest {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub pin: String,
    /// The 6-digit code from the practitioner's security token.
    #[serde(default)]
    pub otp: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionCreated {
    pub token: String,
    /// RFC 3339; the token also ends after 15 minutes unused.
    pub expires_at: String,
}

fn refused() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "sign_in_failed",
        "The client credential or the user's details did not sign in. After 5 failed attempts the account is locked until the local ContactPoint team unlocks it.",
    )
}

/// The case-management system's client credential from HTTP Basic authentication.
async fn client(state: &AppState, headers: &HeaderMap) -> Option<i64> {
    let (client_id, secret) = crate::session::basic_credential(headers)?;
    let record = state.store.api_client(&client_id).await.ok()?;
    let secret_ok = crate::session::csrf_matches(&record.secret_digest, &token_digest(&secret));
    let accredited = record.organisation.accreditation
        == contactpoint_domain::Accreditation::Accredited
        && record.organisation.integration_access;
    (secret_ok && accredited && !record.revoked).then_some(record.id)
}

#[utoipa::path(
    post,
    path = "/api/sessions",
    operation_id = "createSession",
    tag = "sessions",
    request_body = SignInRequest,
    security(("client" = [])),
    responses(
        (status = 201, description = "Signed in", body = SessionCreated),
        (status = 401, description = "Any failure, whatever was wrong", body = ErrorEnvelope)
    )
)]
pub async fn create_session(
    State(state): State<AppState>,
    SourceAddress(address): SourceAddress,
    headers: HeaderMap,
    JsonBody(request): JsonBody<SignInRequest>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let factors = Factors {
        username: request.username,
        password: request.password,
        pin: request.pin,
        otp: request.otp,
        security_key: None,
    };
    let Some(client_id) = client(&state, &headers).await else {
        // Still check the factors, so a missing credential costs the same and counts as a failure.
        let _ = sign_in(
            &state,
            &Factors {
                password: String::new(),
                ..factors
            },
            &address,
            AccessRoute::Api,
            None,
        )
        .await;
        return Err(refused());
    };
    match sign_in(
        &state,
        &factors,
        &address,
        AccessRoute::Api,
        Some(client_id),
    )
    .await
    {
        Ok(opened) => Ok((
            StatusCode::CREATED,
            Json(SessionCreated {
                token: opened.token,
                expires_at: opened.session.expires_at.to_rfc3339(),
            }),
        )),
        Err(Refusal::Storage(e)) => Err(e.into()),
        Err(Refusal::Rejected | Refusal::Throttled) => Err(refused()),
        Err(other) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sign_in_failed",
            other.message(),
        )),
    }
}

#[utoipa::path(
    delete,
    path = "/api/sessions",
    operation_id = "deleteSession",
    tag = "sessions",
    security(("bearer" = [])),
    responses((status = 204, description = "The session of the bearer token has ended"), (status = 401, body = ErrorEnvelope))
)]
pub async fn delete_session(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> Result<StatusCode, ApiError> {
    authorize(&who.actor(), Action::EndOwnSessions, &Target::Own)?;
    let audit = AuditEvent::new(
        state.clock.now(),
        AccessRoute::Api,
        "sign_out",
        Outcome::Success,
    )
    .by(who.user_id())
    .through_client(who.session.api_client_id);
    state
        .store
        .end_sessions(who.user_id(), Some(&who.token_digest), &audit)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/me",
    operation_id = "getCurrentUser",
    tag = "sessions",
    security(("bearer" = [])),
    responses((status = 200, body = crate::api::admin::UserView), (status = 401, body = ErrorEnvelope))
)]
pub async fn current_user(
    ApiUser(who): ApiUser,
) -> Result<Json<crate::api::admin::UserView>, ApiError> {
    authorize(&who.actor(), Action::ViewOwnAccount, &Target::Own)?;
    Ok(Json(crate::api::admin::UserView::from(&who.session.user)))
}
