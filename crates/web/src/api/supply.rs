//! supplyChildren and supplyInvolvements: an accredited supplier's system sends its records
//! with its own client credential (HTTP Basic), for the one source its account is for. The
//! body is a file in the supply format (docs/SUPPLY.md): CSV with `Content-Type: text/csv`, or
//! JSON lines with `application/x-ndjson`. It is imported exactly as `contactpoint supply
//! import` imports a file: in batches, each with its audit entry, idempotent, and every
//! rejected row reported with its line, field and reason.

use crate::error::{ApiError, ErrorEnvelope};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use contactpoint_auth::token_digest;
use contactpoint_domain::{authorize_supply, AccessRoute, Permit, SupplierSystem};
use contactpoint_intake::{import_involvements, import_reader, ImportError, ImportSettings};
use contactpoint_supply::{Format, Rejected};
use serde::Serialize;
use utoipa::ToSchema;

/// The largest body one request may carry; larger files go in several requests.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A row that was not taken, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRow {
    /// The row's line in the body (1 is the header of a CSV body).
    pub line: u64,
    pub source_record_id: Option<String>,
    pub field: String,
    pub reason: String,
}

fn rejected_rows(rejected: Vec<Rejected>) -> Vec<RejectedRow> {
    rejected
        .into_iter()
        .map(|r| RejectedRow {
            line: r.line,
            source_record_id: r.source_record_id,
            field: r.field,
            reason: r.reason,
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChildrenSupplied {
    pub source: String,
    pub rows: u64,
    pub batches: u64,
    /// Placed on a child the directory has.
    pub linked: usize,
    /// Of the linked, how many changed a value of the child.
    pub updated: usize,
    pub created: usize,
    /// Waiting for the local team to decide.
    pub exceptions: usize,
    /// Sent before with the same values: nothing to do.
    pub unchanged: usize,
    /// Involvements with the school or GP practice the records named (a school from the
    /// schools census or local systems, a GP practice from NHS demographics or local
    /// systems): started, ended because the source named another, and references no service
    /// in the directory's catalogue has (nothing was done with those).
    pub services_started: usize,
    pub services_ended: usize,
    pub services_unknown: usize,
    pub rejected: Vec<RejectedRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvolvementsSupplied {
    pub source: String,
    pub rows: u64,
    pub batches: u64,
    pub started: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<RejectedRow>,
}

fn refused() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "supplier_credential_refused",
        "Authorization: the client credential of a supplier's system account that has not been revoked, as HTTP Basic",
    )
}

/// What a supplier's request carries: the permit and import settings of the system behind
/// its credential, and the format its body is in.
struct Sending {
    permit: Permit,
    settings: ImportSettings,
    format: Format,
}

async fn sending(state: &AppState, headers: &HeaderMap) -> Result<Sending, ApiError> {
    let (permit, settings) = supplier(state, headers).await?;
    let format = format_of(headers)?;
    Ok(Sending {
        permit,
        settings,
        format,
    })
}

/// The supplier's system behind the request's credential, with its permit and settings.
async fn supplier(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Permit, ImportSettings), ApiError> {
    let (client_id, secret) = crate::session::basic_credential(headers).ok_or_else(refused)?;
    let account = match state.store.supplier_account(&client_id).await {
        Ok(account) => account,
        Err(contactpoint_storage::StorageError::NotFound { .. }) => {
            return Err(refused_and_recorded(state, &client_id).await)
        }
        Err(e) => return Err(e.into()),
    };
    let secret_ok = crate::session::csrf_matches(&account.secret_digest, &token_digest(&secret));
    let system = SupplierSystem {
        account_id: account.id,
        source: account.source.clone(),
        revoked: account.revoked,
    };
    let permit = match authorize_supply(&system, &account.source) {
        Ok(permit) if secret_ok => permit,
        _ => return Err(refused_and_recorded(state, &client_id).await),
    };
    let mut settings = ImportSettings::system(account.source, account.authoritative);
    settings.route = AccessRoute::Api;
    settings.supplier_account_id = Some(account.id);
    Ok((permit, settings))
}

/// A refused credential is on the audit trail (by client ID, never the secret).
async fn refused_and_recorded(state: &AppState, client_id: &str) -> ApiError {
    let event = contactpoint_domain::AuditEvent::new(
        state.clock.now(),
        AccessRoute::Api,
        "supply_refused",
        contactpoint_domain::Outcome::Failure,
    )
    .with("client_id", client_id.chars().take(64).collect::<String>());
    match state.store.record_audit(&event).await {
        Ok(()) => refused(),
        Err(e) => e.into(),
    }
}

fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "text/csv" => Ok(Format::Csv),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => {
            Ok(Format::JsonLines)
        }
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type: text/csv (with a header row) or application/x-ndjson (JSON lines)",
        )),
    }
}

fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::File(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "unreadable_file",
            format!("body: {e}"),
        ),
        ImportError::Storage(e) => e.into(),
        ImportError::Interrupted(why) => {
            tracing::error!(error = why, "an upload was interrupted");
            ApiError::unavailable()
        }
    }
}

#[utoipa::path(post, path = "/api/supply/children", operation_id = "supplyChildren", tag = "supply",
    request_body(content = String, description = "Child records in the supply format: CSV with a header row, or JSON lines", content_type = "text/csv"),
    security(("client" = [])),
    responses((status = 200, description = "What became of the rows: counts, and every rejected row with its line, field and reason", body = ChildrenSupplied),
        (status = 400, description = "A body that cannot be read at all (`unreadable_file`): nothing of it was taken", body = ErrorEnvelope),
        (status = 401, description = "Not a standing supplier's credential (`supplier_credential_refused`)", body = ErrorEnvelope),
        (status = 413, description = "A body over 64 MiB: send it in parts"),
        (status = 415, description = "Neither CSV nor JSON lines", body = ErrorEnvelope)))]
pub async fn supply_children(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ChildrenSupplied>, ApiError> {
    let Sending {
        permit,
        settings,
        format,
    } = sending(&state, &headers).await?;
    let report = import_reader(
        &state.store,
        &permit,
        &settings,
        "api",
        &body[..],
        format,
        state.clock.now(),
        &mut |_| {},
    )
    .await
    .map_err(import_error)?;
    Ok(Json(ChildrenSupplied {
        source: settings.source.as_str().to_owned(),
        rows: report.rows,
        batches: report.batches,
        linked: report.outcome.linked,
        updated: report.outcome.updated,
        created: report.outcome.created,
        exceptions: report.outcome.exceptions,
        unchanged: report.outcome.unchanged,
        services_started: report.outcome.services_started,
        services_ended: report.outcome.services_ended,
        services_unknown: report.outcome.services_unknown,
        rejected: rejected_rows(report.rejected),
    }))
}

#[utoipa::path(post, path = "/api/supply/involvements", operation_id = "supplyInvolvements", tag = "supply",
    request_body(content = String, description = "Involvement records in the supply format: CSV with a header row, or JSON lines", content_type = "text/csv"),
    security(("client" = [])),
    responses((status = 200, description = "What became of the rows: counts, and every rejected row with its line, field and reason", body = InvolvementsSupplied),
        (status = 400, description = "A body that cannot be read at all (`unreadable_file`): nothing of it was taken", body = ErrorEnvelope),
        (status = 401, description = "Not a standing supplier's credential (`supplier_credential_refused`)", body = ErrorEnvelope),
        (status = 413, description = "A body over 64 MiB: send it in parts"),
        (status = 415, description = "Neither CSV nor JSON lines", body = ErrorEnvelope)))]
pub async fn supply_involvements(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<InvolvementsSupplied>, ApiError> {
    let Sending {
        permit,
        settings,
        format,
    } = sending(&state, &headers).await?;
    let report = import_involvements(
        &state.store,
        &permit,
        &settings,
        "api",
        &body[..],
        format,
        state.clock.now(),
        &mut |_| {},
    )
    .await
    .map_err(import_error)?;
    Ok(Json(InvolvementsSupplied {
        source: settings.source.as_str().to_owned(),
        rows: report.rows,
        batches: report.batches,
        started: report.started,
        updated: report.updated,
        unchanged: report.unchanged,
        rejected: rejected_rows(report.rejected),
    }))
}
