//! viewChild: a practitioner's case-management system opens a record, giving the reason.

use crate::error::{ApiError, ErrorEnvelope, JsonBody};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ViewRequest {
    /// One of coordinating_support, safeguarding_concern, contacting_involved_services,
    /// recording_involvement, data_quality, subject_access_request, other.
    pub reason: String,
    /// Required for `other`: 10 to 200 characters saying why.
    pub reason_text: Option<String>,
}

#[utoipa::path(post, path = "/api/children/{id}/view", operation_id = "viewChild", tag = "children",
    request_body = ViewRequest, params(("id" = String, Path, description = "the ContactPoint ID: 12 digits, spaces allowed")), security(("bearer" = [])),
    responses((status = 200, description = "The record as this viewer may see it", body = Object), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn view(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(contactpoint_id): Path<String>,
    JsonBody(request): JsonBody<ViewRequest>,
) -> Result<Json<contactpoint_domain::ProjectedRecord>, ApiError> {
    let shown = crate::children::view_child(
        &state,
        &who,
        &contactpoint_id,
        &request.reason,
        request.reason_text.as_deref(),
    )
    .await?;
    Ok(Json(shown))
}
