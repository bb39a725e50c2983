//! Suppliers' system accounts over the API, for the national administrators' tools.

use crate::error::{ApiError, ErrorEnvelope, JsonBody};
use crate::identity_service::FreshFactors;
use crate::session::ApiUser;
use crate::supplier_accounts::{self as service, SupplierRegistration};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use contactpoint_storage::SupplierAccountListing;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplierAccount {
    pub client_id: String,
    pub source: String,
    pub name: String,
    pub authoritative: bool,
    pub created_at: String,
    /// When the account was revoked; absent while it stands.
    pub revoked_at: Option<String>,
}

impl From<&SupplierAccountListing> for SupplierAccount {
    fn from(a: &SupplierAccountListing) -> Self {
        Self {
            client_id: a.client_id.clone(),
            source: a.source.as_str().to_owned(),
            name: a.name.clone(),
            authoritative: a.authoritative,
            created_at: a.created_at.to_rfc3339(),
            revoked_at: a.revoked_at.map(|at| at.to_rfc3339()),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplierAccounts {
    pub accounts: Vec<SupplierAccount>,
}

#[utoipa::path(get, path = "/api/supplier-accounts", operation_id = "listSupplierAccounts", tag = "administration", security(("bearer" = [])),
    responses((status = 200, body = SupplierAccounts), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> Result<Json<SupplierAccounts>, ApiError> {
    let accounts = service::accounts(&state, &who).await?;
    Ok(Json(SupplierAccounts {
        accounts: accounts.iter().map(SupplierAccount::from).collect(),
    }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupplierRegistered {
    pub client_id: String,
    /// Shown once: give it to the supplier over a secure channel. The system sends its
    /// records to `POST /api/supply/children` or `/api/supply/involvements` with HTTP Basic
    /// authentication.
    pub client_secret: String,
    pub source: String,
}

#[utoipa::path(post, path = "/api/supplier-accounts", operation_id = "registerSupplierAccount", tag = "administration", request_body = SupplierRegistration, security(("bearer" = [])),
    responses((status = 201, body = SupplierRegistered), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn register(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    JsonBody(request): JsonBody<SupplierRegistration>,
) -> Result<(StatusCode, Json<SupplierRegistered>), ApiError> {
    let registered = service::register(&state, &who, &request).await?;
    Ok((
        StatusCode::CREATED,
        Json(SupplierRegistered {
            client_id: registered.client_id,
            client_secret: registered.client_secret,
            source: registered.source.as_str().to_owned(),
        }),
    ))
}

#[utoipa::path(post, path = "/api/supplier-accounts/{id}/revoke", operation_id = "revokeSupplierAccount", tag = "administration", request_body = FreshFactors, params(("id" = String, Path, description = "the account's client ID")), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn revoke(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(client_id): Path<String>,
    JsonBody(factors): JsonBody<FreshFactors>,
) -> Result<StatusCode, ApiError> {
    service::revoke(&state, &who, &client_id, &factors).await?;
    Ok(StatusCode::NO_CONTENT)
}
