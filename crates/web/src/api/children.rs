//! searchChildren and viewChild: a practitioner's case-management system finds a child,
//! then opens the record giving the reason.

use crate::error::{ApiError, ErrorEnvelope, JsonBody};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use contactpoint_domain::search::{SearchForm, SearchOutcome, SearchResult};
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
        // Shield-override holders are privileged and cannot use the API at all.
        None,
    )
    .await?;
    Ok(Json(shown))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// At most 10, best first; only what is needed to pick the right child.
    pub results: Vec<SearchResult>,
}

#[utoipa::path(get, path = "/api/children", operation_id = "searchChildren", tag = "children",
    params(SearchForm), security(("bearer" = [])),
    responses((status = 200, description = "The children that match, best first", body = SearchResponse),
        (status = 400, description = "A field that cannot be read (`invalid_input`), or a search too vague to be proportionate (`search_too_vague`, saying what to add)", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 422, description = "More good matches than can be shown (`too_many_matches`, saying what to add)", body = ErrorEnvelope)))]
pub async fn search(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(form): Query<SearchForm>,
) -> Result<Json<SearchResponse>, ApiError> {
    match crate::search::search_children(&state, &who, &form).await? {
        SearchOutcome::Found(results) => Ok(Json(SearchResponse { results })),
        SearchOutcome::TooMany { add } => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_matches",
            add,
        )),
    }
}
