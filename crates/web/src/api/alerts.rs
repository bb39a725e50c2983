//! The shield-override alert queue for the responsible local team.

use crate::error::{ApiError, ErrorEnvelope};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ShieldAlert {
    pub id: i64,
    pub contactpoint_id: String,
    pub raised_at: chrono::DateTime<chrono::Utc>,
    pub raised_by_user_id: i64,
    pub raised_by_username: String,
    pub raised_by_organisation: String,
    /// The reason given for the view.
    pub reason: String,
    pub acknowledged_at: Option<chrono::DateTime<chrono::Utc>>,
    pub acknowledged_by_user_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/shield-alerts", operation_id = "listShieldAlerts", tag = "audit",
    security(("bearer" = [])),
    responses((status = 200, description = "Shield overrides of your authority's children, unacknowledged first", body = [ShieldAlert]),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> Result<Json<Vec<ShieldAlert>>, ApiError> {
    let alerts = crate::shield_alerts::list(&state, &who).await?;
    Ok(Json(
        alerts
            .into_iter()
            .map(|a| ShieldAlert {
                id: a.id,
                contactpoint_id: a.contactpoint_id,
                raised_at: a.raised_at,
                raised_by_user_id: a.raised_by_user_id,
                raised_by_username: a.raised_by_username,
                raised_by_organisation: a.raised_by_organisation,
                reason: a.reason,
                acknowledged_at: a.acknowledged_at,
                acknowledged_by_user_id: a.acknowledged_by_user_id,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/shield-alerts/{id}/acknowledge", operation_id = "acknowledgeShieldAlert", tag = "audit",
    params(("id" = i64, Path, description = "the alert")), security(("bearer" = [])),
    responses((status = 204, description = "Acknowledged"), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    crate::shield_alerts::acknowledge(&state, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
