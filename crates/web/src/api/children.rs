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

/// A search: every parameter optional, checked together. A ContactPoint ID alone is
/// enough; otherwise at least three of family name, given name, date of birth (or an age
/// range) and postcode, one of them a name.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Current or former family name; either part of a double-barrelled name will do.
    pub family_name: Option<String>,
    /// Given name, a nickname or short form, or a middle name the child goes by.
    pub given_name: Option<String>,
    /// YYYY-MM-DD; day and month swapped or one digit wrong still finds the child.
    pub date_of_birth: Option<String>,
    /// With age_to, instead of a date of birth: ages in whole years, at most 5 apart.
    pub age_from: Option<String>,
    pub age_to: Option<String>,
    /// female, male or not_specified (or F, M, U).
    pub gender: Option<String>,
    /// Whole or first part (MK40 1AB, MK40 1, MK40); current or earlier address.
    pub postcode: Option<String>,
    /// 12 digits, spaces allowed.
    pub contactpoint_id: Option<String>,
}

impl From<SearchParams> for SearchForm {
    fn from(p: SearchParams) -> Self {
        Self {
            family_name: p.family_name,
            given_name: p.given_name,
            date_of_birth: p.date_of_birth,
            age_from: p.age_from,
            age_to: p.age_to,
            gender: p.gender,
            postcode: p.postcode,
            contactpoint_id: p.contactpoint_id,
        }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// At most 10, best first; only what is needed to pick the right child.
    pub results: Vec<SearchResult>,
}

#[utoipa::path(get, path = "/api/children", operation_id = "searchChildren", tag = "children",
    params(SearchParams), security(("bearer" = [])),
    responses((status = 200, description = "The children that match, best first", body = SearchResponse),
        (status = 400, description = "A field that cannot be read (`invalid_input`), or a search too vague to be proportionate (`search_too_vague`, saying what to add)", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 422, description = "More good matches than can be shown (`too_many_matches`, saying what to add)", body = ErrorEnvelope)))]
pub async fn search(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResponse>, ApiError> {
    match crate::search::search_children(&state, &who, &params.into()).await? {
        SearchOutcome::Found(results) => Ok(Json(SearchResponse { results })),
        SearchOutcome::TooMany { add } => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_matches",
            add,
        )),
    }
}
