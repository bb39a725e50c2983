//! The local ContactPoint team's data management over the API: the exceptions queue with
//! each waiting record beside its candidates, resolving by linking or creating, and merging
//! and unmerging two records of one child.

use crate::data_management as service;
use crate::error::{ApiError, ErrorEnvelope, JsonBody};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use contactpoint_intake::side_by_side;
use contactpoint_storage::supply::{LinkCandidate, SupplyExceptionRecord};
use contactpoint_storage::{MergeOutcome, MergeRequestRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A child as the team compares it: identifying details, never services.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComparedChild {
    pub contactpoint_id: String,
    pub given_name: String,
    pub middle_names: Option<String>,
    pub family_name: String,
    pub former_family_names: Vec<String>,
    pub date_of_birth: chrono::NaiveDate,
    pub gender: String,
    pub address_line1: Option<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
    pub local_authority: String,
    pub shielded: bool,
}

impl From<&LinkCandidate> for ComparedChild {
    fn from(c: &LinkCandidate) -> Self {
        Self {
            contactpoint_id: c.contactpoint_id.as_digits(),
            given_name: c.given_name.clone(),
            middle_names: c.middle_names.clone(),
            family_name: c.family_name.clone(),
            former_family_names: c.former_family_names.clone(),
            date_of_birth: c.date_of_birth,
            gender: c.gender.code().to_owned(),
            address_line1: c.address.as_ref().map(|a| a.line1.clone()),
            town: c.address.as_ref().map(|a| a.town.clone()),
            postcode: c.address.as_ref().map(|a| a.postcode.as_str().to_owned()),
            local_authority: c.local_authority.as_str().to_owned(),
            shielded: c.shielded,
        }
    }
}

/// A candidate child of an exception with the probability that it is the supplied record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionCandidate {
    pub child: ComparedChild,
    /// From 0 to 1.
    pub score: f64,
}

/// One field of the supplied record beside each candidate's value.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldComparison {
    pub field: String,
    pub supplied: Option<String>,
    /// In the order of `candidates`: each candidate's value and whether it `agrees`,
    /// `differs` or is `unknown` (one side has no value).
    pub candidates: Vec<ComparedValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComparedValue {
    pub value: Option<String>,
    pub agreement: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupplyException {
    pub id: i64,
    pub source: String,
    pub source_record_id: String,
    /// The local authority whose team decides it; none for the national queue.
    pub local_authority: Option<String>,
    /// uncertain, ambiguous, no_match_from_non_authoritative_source, possibly_shielded,
    /// no_local_authority or incomplete.
    pub reason: String,
    /// Held because it may be a shielded child: a child created from it is shielded.
    pub shielding_hold: bool,
    pub raised_at: chrono::DateTime<chrono::Utc>,
    pub best_score: Option<f64>,
    /// `linked` or `created` once decided.
    pub resolution: Option<String>,
    pub resolved_contactpoint_id: Option<String>,
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The supplied record, as supplied (see docs/SUPPLY.md).
    pub record: serde_json::Value,
    /// Filled in when one exception is read: best first.
    pub candidates: Vec<ExceptionCandidate>,
    pub comparison: Vec<FieldComparison>,
    /// When one exception is read and `comparison` is empty because the stored record no
    /// longer reads back: the field and the reason.
    pub comparison_problem: Option<String>,
}

fn exception_view(e: &SupplyExceptionRecord, with_comparison: bool) -> SupplyException {
    let (comparison, comparison_problem) = match with_comparison.then(|| side_by_side(e)) {
        Some(Ok(comparison)) => (comparison, None),
        Some(Err(problem)) => (Vec::new(), Some(problem)),
        None => (Vec::new(), None),
    };
    SupplyException {
        id: e.id,
        source: e.source.as_str().to_owned(),
        source_record_id: e.source_record_id.clone(),
        local_authority: e.local_authority.as_ref().map(|la| la.as_str().to_owned()),
        reason: e.reason.code().to_owned(),
        shielding_hold: e.shielding_hold,
        raised_at: e.raised_at,
        best_score: e.best_probability,
        resolution: e.resolution.as_ref().map(|r| r.status.code().to_owned()),
        resolved_contactpoint_id: e.resolution.as_ref().map(|r| r.contactpoint_id.as_digits()),
        resolved_at: e.resolution.as_ref().map(|r| r.at),
        record: serde_json::from_str(&e.record).unwrap_or(serde_json::Value::Null),
        candidates: e
            .candidates
            .iter()
            .map(|(c, score)| ExceptionCandidate {
                child: c.into(),
                score: *score,
            })
            .collect(),
        comparison: comparison
            .into_iter()
            .map(|f| FieldComparison {
                field: f.field.to_owned(),
                supplied: f.supplied,
                candidates: f
                    .candidates
                    .into_iter()
                    .map(|(value, agreement)| ComparedValue {
                        value,
                        agreement: agreement.code().to_owned(),
                    })
                    .collect(),
            })
            .collect(),
        comparison_problem,
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct ExceptionsQuery {
    /// Also list exceptions already decided.
    pub include_resolved: bool,
}

#[utoipa::path(get, path = "/api/supply-exceptions", operation_id = "listSupplyExceptions", tag = "data management",
    params(ExceptionsQuery), security(("bearer" = [])),
    responses((status = 200, description = "Your queue, oldest first, at most 500 (the national administrators' queue holds records no authority could be found for)", body = [SupplyException]),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list_exceptions(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(query): Query<ExceptionsQuery>,
) -> Result<Json<Vec<SupplyException>>, ApiError> {
    let waiting = service::exceptions(&state, &who, query.include_resolved).await?;
    Ok(Json(
        waiting.iter().map(|e| exception_view(e, false)).collect(),
    ))
}

#[utoipa::path(get, path = "/api/supply-exceptions/{id}", operation_id = "getSupplyException", tag = "data management",
    params(("id" = i64, Path, description = "the exception")), security(("bearer" = [])),
    responses((status = 200, description = "The supplied record beside its candidate children, field by field, with each candidate's score", body = SupplyException),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn get_exception(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<SupplyException>, ApiError> {
    let exception = service::exception(&state, &who, id).await?;
    Ok(Json(exception_view(&exception, true)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ResolveRequest {
    /// `link` (to the candidate named by `contactpoint_id`) or `create` (a new child).
    pub decision: String,
    pub contactpoint_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Resolved {
    /// The child the supplied record now belongs to.
    pub contactpoint_id: String,
}

#[utoipa::path(post, path = "/api/supply-exceptions/{id}/resolve", operation_id = "resolveSupplyException", tag = "data management",
    params(("id" = i64, Path, description = "the exception")), request_body = ResolveRequest, security(("bearer" = [])),
    responses((status = 200, description = "Decided", body = Resolved),
        (status = 400, description = "A decision that cannot be applied, naming the field", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, description = "Not in your queue, or already decided", body = ErrorEnvelope)))]
pub async fn resolve_exception(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
    JsonBody(request): JsonBody<ResolveRequest>,
) -> Result<Json<Resolved>, ApiError> {
    let child = service::resolve(
        &state,
        &who,
        id,
        &request.decision,
        request.contactpoint_id.as_deref(),
    )
    .await?;
    Ok(Json(Resolved {
        contactpoint_id: child.as_digits(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Merge {
    pub id: i64,
    pub survivor: String,
    pub survivor_name: String,
    pub retired: String,
    pub retired_name: String,
    pub merged_at: chrono::DateTime<chrono::Utc>,
    pub merged_by_user_id: Option<i64>,
    pub unmerged_at: Option<chrono::DateTime<chrono::Utc>>,
    pub unmerged_by_user_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/merges", operation_id = "listMerges", tag = "data management",
    security(("bearer" = [])),
    responses((status = 200, description = "Merges of your authority's children, newest first, at most 200", body = [Merge]),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list_merges(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> Result<Json<Vec<Merge>>, ApiError> {
    let merges = service::merges(&state, &who).await?;
    Ok(Json(
        merges
            .into_iter()
            .map(|m| Merge {
                id: m.id,
                survivor: m.survivor.as_digits(),
                survivor_name: m.survivor_name,
                retired: m.retired.as_digits(),
                retired_name: m.retired_name,
                merged_at: m.merged_at,
                merged_by_user_id: m.merged_by_user_id,
                unmerged_at: m.unmerged_at,
                unmerged_by_user_id: m.unmerged_by_user_id,
            })
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
pub struct CompareQuery {
    /// The ContactPoint ID of the record that would stay.
    pub survivor: String,
    /// The ContactPoint ID of the record that would be retired.
    pub retired: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Comparison {
    pub survivor: ComparedChild,
    pub retired: ComparedChild,
}

#[utoipa::path(get, path = "/api/merges/compare", operation_id = "compareChildren", tag = "data management",
    params(CompareQuery), security(("bearer" = [])),
    responses((status = 200, description = "Both records side by side", body = Comparison),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn compare(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(query): Query<CompareQuery>,
) -> Result<Json<Comparison>, ApiError> {
    let (keep, gone) = service::compare(&state, &who, &query.survivor, &query.retired).await?;
    Ok(Json(Comparison {
        survivor: (&keep).into(),
        retired: (&gone).into(),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MergeRequest {
    /// The ContactPoint ID of the record that stays.
    pub survivor: String,
    /// The ContactPoint ID of the record retired; it leads to the survivor from then on.
    pub retired: String,
    pub pin: String,
    /// A new code from your security token.
    pub otp: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeCreated {
    pub id: i64,
}

/// A merge asked of another authority's team: one of the two records is held there, and
/// nothing moves until that team agrees.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergeAwaiting {
    pub merge_request_id: i64,
    /// The local authority whose team is asked to agree.
    pub awaiting_authority: String,
}

#[utoipa::path(post, path = "/api/merges", operation_id = "mergeChildren", tag = "data management",
    request_body = MergeRequest, security(("bearer" = [])),
    responses((status = 201, description = "Merged (both records are your authority's children)", body = MergeCreated),
        (status = 202, description = "One record is held by another authority: its team is asked to agree (`decideMergeRequest`)", body = MergeAwaiting),
        (status = 400, body = ErrorEnvelope),
        (status = 401, description = "Wrong PIN or code (`fresh_authentication_failed`)", body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope)))]
pub async fn merge(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    JsonBody(request): JsonBody<MergeRequest>,
) -> Result<Response, ApiError> {
    let outcome = service::merge(
        &state,
        &who,
        &request.survivor,
        &request.retired,
        &request.pin,
        &request.otp,
    )
    .await?;
    Ok(match outcome {
        MergeOutcome::Merged { merge_id } => {
            (StatusCode::CREATED, Json(MergeCreated { id: merge_id })).into_response()
        }
        MergeOutcome::Requested {
            request_id,
            awaiting,
        } => (
            StatusCode::ACCEPTED,
            Json(MergeAwaiting {
                merge_request_id: request_id,
                awaiting_authority: awaiting.as_str().to_owned(),
            }),
        )
            .into_response(),
    })
}

/// A merge still waiting for one team to agree.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingMerge {
    pub id: i64,
    pub survivor: String,
    pub survivor_authority: String,
    pub retired: String,
    pub retired_authority: String,
    pub requested_by_authority: String,
    /// The authority whose team decides; your own when you are asked.
    pub awaiting_authority: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
}

impl From<&MergeRequestRecord> for PendingMerge {
    fn from(r: &MergeRequestRecord) -> Self {
        Self {
            id: r.id,
            survivor: r.survivor.as_digits(),
            survivor_authority: r.survivor_authority.as_str().to_owned(),
            retired: r.retired.as_digits(),
            retired_authority: r.retired_authority.as_str().to_owned(),
            requested_by_authority: r.requested_by_authority.as_str().to_owned(),
            awaiting_authority: r.awaiting_authority.as_str().to_owned(),
            requested_at: r.requested_at,
        }
    }
}

#[utoipa::path(get, path = "/api/merge-requests", operation_id = "listMergeRequests", tag = "data management",
    security(("bearer" = [])),
    responses((status = 200, description = "Merges waiting that your authority asked for or is asked to agree to, oldest first", body = [PendingMerge]),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list_merge_requests(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> Result<Json<Vec<PendingMerge>>, ApiError> {
    let requests = service::merge_requests(&state, &who).await?;
    Ok(Json(requests.iter().map(PendingMerge::from).collect()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MergeDecision {
    /// `merge` (needs `pin` and `otp`) or `decline`.
    pub decision: String,
    pub pin: String,
    pub otp: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeDecided {
    /// `merged` or `declined`.
    pub decision: String,
    /// The merge, when it merged (`unmergeChildren` undoes it).
    pub merge_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/merge-requests/{id}/decision", operation_id = "decideMergeRequest", tag = "data management",
    params(("id" = i64, Path, description = "the merge request")), request_body = MergeDecision, security(("bearer" = [])),
    responses((status = 200, body = MergeDecided),
        (status = 400, description = "`decision` is neither `merge` nor `decline`, or a record is no longer where it was", body = ErrorEnvelope),
        (status = 401, description = "Wrong PIN or code (`fresh_authentication_failed`)", body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No merge waiting for your authority's agreement with this id", body = ErrorEnvelope)))]
pub async fn decide_merge_request(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
    JsonBody(decision): JsonBody<MergeDecision>,
) -> Result<Json<MergeDecided>, ApiError> {
    let merge_id = service::decide_merge_request(
        &state,
        &who,
        id,
        &decision.decision,
        &decision.pin,
        &decision.otp,
    )
    .await?;
    Ok(Json(MergeDecided {
        decision: if merge_id.is_some() {
            "merged"
        } else {
            "declined"
        }
        .to_owned(),
        merge_id,
    }))
}

#[utoipa::path(post, path = "/api/merge-requests/{id}/withdraw", operation_id = "withdrawMergeRequest", tag = "data management",
    params(("id" = i64, Path, description = "the merge request")), security(("bearer" = [])),
    responses((status = 204, description = "The request no longer waits; nothing had moved"),
        (status = 403, body = ErrorEnvelope),
        (status = 404, description = "No merge your authority asked for that still waits with this id", body = ErrorEnvelope)))]
pub async fn withdraw_merge_request(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    service::withdraw_merge_request(&state, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/merges/{id}/unmerge", operation_id = "unmergeChildren", tag = "data management",
    params(("id" = i64, Path, description = "the merge")), request_body = crate::identity_service::FreshFactors, security(("bearer" = [])),
    responses((status = 204, description = "Both records are back as they were before the merge"),
        (status = 400, body = ErrorEnvelope),
        (status = 401, description = "Wrong PIN or code (`fresh_authentication_failed`)", body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, description = "No such merge of your authority's children, or already undone", body = ErrorEnvelope)))]
pub async fn unmerge(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<i64>,
    JsonBody(factors): JsonBody<crate::identity_service::FreshFactors>,
) -> Result<StatusCode, ApiError> {
    service::unmerge(&state, &who, id, &factors.pin, &factors.otp).await?;
    Ok(StatusCode::NO_CONTENT)
}
