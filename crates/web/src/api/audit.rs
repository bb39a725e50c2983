//! Reviewing the audit trail: the local team and auditors read their authority's entries,
//! by user or by subject. Reading the trail is itself recorded.

use crate::error::{ApiError, ErrorEnvelope};
use crate::session::ApiUser;
use crate::AppState;
use axum::extract::{Query, State};
use axum::Json;
use contactpoint_domain::{authorize, Action, AuditEvent, FieldError, Outcome, Target};
use serde::{Deserialize, Serialize};

const PAGE: i64 = 200;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct AuditQuery {
    /// A local authority code; the caller's own by default.
    pub local_authority: Option<String>,
    /// Only entries made by this user.
    pub user_id: Option<i64>,
    /// Only entries about this subject: `user`, `organisation`, `api_client` or `child`...
    pub subject_kind: Option<String>,
    /// ...with this id (a ContactPoint ID for a child).
    pub subject_id: Option<String>,
    /// Entries after this id (for the next page).
    pub after_id: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub route: String,
    pub actor_user_id: Option<i64>,
    pub on_behalf_of_user_id: Option<i64>,
    pub api_client_id: Option<i64>,
    pub action: String,
    pub outcome: String,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[utoipa::path(get, path = "/api/audit", operation_id = "listAuditEntries", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = [AuditEntry]), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let own = who.session.user.organisation.local_authority.clone();
    authorize(
        &who.actor(),
        Action::ReadAuditTrail,
        &Target::LocalAuthority(own),
    )?;
    let la = crate::identity_service::authority(&who, query.local_authority.as_deref())?;
    let permit = authorize(
        &who.actor(),
        Action::ReadAuditTrail,
        &Target::LocalAuthority(la.clone()),
    )?;
    let subject = match (query.subject_kind.as_deref(), query.subject_id.as_deref()) {
        (Some(kind), Some(id)) => Some((kind, id)),
        (None, None) => None,
        _ => {
            return Err(FieldError::new(
                "subject_id",
                "subject_kind and subject_id together, or neither",
            )
            .into())
        }
    };
    let mut audit = AuditEvent::new(
        state.clock.now(),
        who.session.route,
        "audit_reviewed",
        Outcome::Success,
    )
    .by(who.user_id())
    .through_client(who.session.api_client_id)
    .in_authority(&la);
    if let Some(user) = query.user_id {
        audit = audit.with("user_id", user);
    }
    if let Some((kind, id)) = subject {
        audit = audit.with("subject", format!("{kind} {id}"));
    }
    let entries = state
        .store
        .review_audit(
            &permit,
            &la,
            query.user_id,
            subject,
            query.after_id.unwrap_or(0),
            PAGE,
            &audit,
        )
        .await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditEntry {
                id: e.id,
                at: e.at.to_rfc3339(),
                route: e.route,
                actor_user_id: e.actor_user_id,
                on_behalf_of_user_id: e.on_behalf_of_user_id,
                api_client_id: e.api_client_id,
                action: e.action,
                outcome: e.outcome,
                subject_kind: e.subject_kind,
                subject_id: e.subject_id,
                details: serde_json::from_str(&e.details).unwrap_or_default(),
            })
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day, YYYY-MM-DD (default: 6 days before `to`).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today); at most 31 days after `from`.
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/api/audit/usage", operation_id = "reviewUsage", tag = "audit", params(PeriodQuery), security(("bearer" = [])),
    responses((status = 200, description = "Sign-ins, searches and views per organisation per day, and flags for likely misuse", body = crate::review::Review),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn usage(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(query): Query<PeriodQuery>,
) -> Result<Json<crate::review::Review>, ApiError> {
    Ok(Json(
        crate::review::review(&state, &who, query.from.as_deref(), query.to.as_deref()).await?,
    ))
}

#[utoipa::path(get, path = "/api/children/{id}/access-history", operation_id = "childAccessHistory", tag = "audit",
    params(("id" = String, Path, description = "the ContactPoint ID")), security(("bearer" = [])),
    responses((status = 200, description = "The latest 200 views of the child, newest first: who, from which organisation, when, why", body = [Object]),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn child_history(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<Vec<contactpoint_storage::ChildAccess>>, ApiError> {
    Ok(Json(
        crate::review::child_history(&state, &who, &id, PAGE).await?,
    ))
}
