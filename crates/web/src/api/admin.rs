//! Users and organisations over the API, for the local ContactPoint team's tools.

use crate::error::{ApiError, ErrorEnvelope, JsonBody};
use crate::identity_service::{
    self as service, AccreditationChange, ClientRegistration, FreshFactors, NewUserInput,
};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use contactpoint_storage::{OrganisationRecord, UserRecord};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub given_name: String,
    pub family_name: String,
    pub role: String,
    pub duties: Vec<String>,
    pub shield_override: bool,
    pub state: String,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub local_authority: String,
    pub criminal_records_checked_on: Option<String>,
    pub training_completed_on: Option<String>,
    pub agreement_accepted_on: Option<String>,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id,
            username: u.username.to_string(),
            given_name: u.given_name.clone(),
            family_name: u.family_name.clone(),
            role: u.role.code().into(),
            duties: u.duties.iter().map(|d| d.code().into()).collect(),
            shield_override: u.shield_override,
            state: u.state.code().into(),
            organisation_id: u.organisation.id,
            organisation_name: u.organisation.name.clone(),
            local_authority: u.organisation.local_authority.to_string(),
            criminal_records_checked_on: u
                .vetting
                .criminal_records_checked_on
                .map(|d| d.to_string()),
            training_completed_on: u.vetting.training_completed_on.map(|d| d.to_string()),
            agreement_accepted_on: u.vetting.agreement_accepted_on.map(|d| d.to_string()),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub local_authority: String,
    pub accreditation: String,
    pub web_access: bool,
    pub integration_access: bool,
}

impl From<&OrganisationRecord> for OrganisationView {
    fn from(o: &OrganisationRecord) -> Self {
        Self {
            id: o.id,
            name: o.name.clone(),
            kind: o.kind.code().into(),
            local_authority: o.local_authority.to_string(),
            accreditation: o.accreditation.code().into(),
            web_access: o.web_access,
            integration_access: o.integration_access,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuthorityQuery {
    /// A local authority code; the caller's own by default.
    pub local_authority: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserCreated {
    pub id: i64,
    pub username: String,
    /// Base32 key for the user's security token, returned once.
    pub totp_secret: String,
    pub otpauth_uri: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StateChange {
    /// active (also unlocks), suspended or closed
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub pin: String,
    #[serde(default)]
    pub otp: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct VettingChange {
    pub criminal_records_checked_on: Option<String>,
    pub training_completed_on: Option<String>,
    pub agreement_accepted_on: Option<String>,
    #[serde(default)]
    pub pin: String,
    #[serde(default)]
    pub otp: String,
}

#[utoipa::path(get, path = "/api/users", operation_id = "listUsers", tag = "administration", params(AuthorityQuery), security(("bearer" = [])),
    responses((status = 200, body = [UserView]), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list_users(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(q): Query<AuthorityQuery>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let (_, users) = service::list_users(&state, &who, q.local_authority.as_deref()).await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

#[utoipa::path(post, path = "/api/users", operation_id = "createUser", tag = "administration", request_body = NewUserInput, security(("bearer" = [])),
    responses((status = 201, body = UserCreated), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn create_user(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    JsonBody(json): JsonBody<NewUserInput>,
) -> Result<(StatusCode, Json<UserCreated>), ApiError> {
    let input = json;
    let created = service::create_user(&state, &who, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(UserCreated {
            id: created.id,
            username: created.username.to_string(),
            otpauth_uri: created.totp_secret.otpauth_uri(created.username.as_str()),
            totp_secret: created.totp_secret.to_base32(),
        }),
    ))
}

#[utoipa::path(post, path = "/api/users/{id}/state", operation_id = "setUserState", tag = "administration", request_body = StateChange, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn set_user_state(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
    JsonBody(json): JsonBody<StateChange>,
) -> Result<StatusCode, ApiError> {
    let change = json;
    service::set_user_state(&state, &who, id, &change.state, &change.pin, &change.otp).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/users/{id}/vetting", operation_id = "setUserVetting", tag = "administration", request_body = VettingChange, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn set_user_vetting(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
    JsonBody(json): JsonBody<VettingChange>,
) -> Result<StatusCode, ApiError> {
    let change = json;
    let dates = service::VettingDates {
        criminal_records_checked_on: change.criminal_records_checked_on.as_deref(),
        training_completed_on: change.training_completed_on.as_deref(),
        agreement_accepted_on: change.agreement_accepted_on.as_deref(),
    };
    service::set_vetting(&state, &who, id, dates, &change.pin, &change.otp).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/organisations", operation_id = "listOrganisations", tag = "administration", params(AuthorityQuery), security(("bearer" = [])),
    responses((status = 200, body = [OrganisationView]), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list_organisations(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(q): Query<AuthorityQuery>,
) -> Result<Json<Vec<OrganisationView>>, ApiError> {
    let (_, organisations) =
        service::list_organisations(&state, &who, q.local_authority.as_deref()).await?;
    Ok(Json(
        organisations.iter().map(OrganisationView::from).collect(),
    ))
}

#[utoipa::path(put, path = "/api/organisations/{id}/accreditation", operation_id = "setAccreditation", tag = "administration", request_body = AccreditationChange, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn set_accreditation(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
    JsonBody(json): JsonBody<AccreditationChange>,
) -> Result<StatusCode, ApiError> {
    let change = json;
    service::set_accreditation(&state, &who, id, &change).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientRegistered {
    pub client_id: String,
    /// Shown once: give it to the system's supplier over a secure channel.
    pub client_secret: String,
}

#[utoipa::path(post, path = "/api/organisations/{id}/api-clients", operation_id = "registerApiClient", tag = "administration", request_body = ClientRegistration, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 201, body = ClientRegistered), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn register_client(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
    JsonBody(request): JsonBody<ClientRegistration>,
) -> Result<(StatusCode, Json<ClientRegistered>), ApiError> {
    let registered = service::register_client(&state, &who, id, &request).await?;
    Ok((
        StatusCode::CREATED,
        Json(ClientRegistered {
            client_id: registered.client_id,
            client_secret: registered.client_secret,
        }),
    ))
}

#[utoipa::path(post, path = "/api/api-clients/{id}/revoke", operation_id = "revokeApiClient", tag = "administration", request_body = FreshFactors, params(("id" = String, Path, description = "the client id")), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn revoke_client(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(client_id): Path<String>,
    JsonBody(factors): JsonBody<FreshFactors>,
) -> Result<StatusCode, ApiError> {
    service::revoke_client(&state, &who, &client_id, &factors).await?;
    Ok(StatusCode::NO_CONTENT)
}
