// Included into each backend module (see backend.rs).

#[derive(sqlx::FromRow)]
struct SupplyExceptionRow {
    id: i64,
    source: String,
    source_record_id: String,
    local_authority: Option<String>,
    reason: String,
    shielding_hold: bool,
    record: String,
    raised_at: chrono::DateTime<chrono::Utc>,
    best_probability: Option<f64>,
    resolution: Option<String>,
    resolved_contactpoint_id: Option<String>,
    resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    resolved_by_user_id: Option<i64>,
}

const SUPPLY_EXCEPTION_COLUMNS: &str = "e.id, e.source, e.source_record_id, e.local_authority, e.reason, \
     e.shielding_hold, e.record, e.raised_at, \
     (SELECT MAX(probability) FROM supply_exception_candidates k WHERE k.exception_id = e.id) AS best_probability, \
     e.resolution, c.contactpoint_id AS resolved_contactpoint_id, e.resolved_at, e.resolved_by_user_id \
     FROM supply_exceptions e LEFT JOIN children c ON c.id = e.resolved_child_id";

fn supply_exception_from_row(
    row: SupplyExceptionRow,
) -> Result<crate::supply::SupplyExceptionRecord, crate::StorageError> {
    use contactpoint_domain::{ContactPointId, FieldError, LocalAuthorityCode, SourceCode};
    let corrupt = crate::StorageError::corrupt;
    let resolution = match (row.resolution, row.resolved_contactpoint_id, row.resolved_at) {
        (Some(status), Some(id), Some(at)) => Some(crate::supply::ExceptionResolved {
            status: crate::supply::SupplyStatus::parse(&status)
                .ok_or_else(|| corrupt("supply_exceptions")(FieldError::new("resolution", "linked or created")))?,
            contactpoint_id: ContactPointId::parse(&id).map_err(corrupt("children"))?,
            at,
            by_user_id: row.resolved_by_user_id,
        }),
        _ => None,
    };
    Ok(crate::supply::SupplyExceptionRecord {
        id: row.id,
        source: SourceCode::parse(&row.source).map_err(corrupt("supply_exceptions"))?,
        source_record_id: row.source_record_id,
        local_authority: row
            .local_authority
            .map(|la| LocalAuthorityCode::parse(&la))
            .transpose()
            .map_err(corrupt("supply_exceptions"))?,
        reason: crate::supply::ExceptionReason::parse(&row.reason)
            .ok_or_else(|| corrupt("supply_exceptions")(FieldError::new("reason", "a known reason")))?,
        shielding_hold: row.shielding_hold,
        record: row.record,
        raised_at: row.raised_at,
        best_probability: row.best_probability,
        resolution,
        candidates: Vec::new(),
    })
}

/// The exceptions in `queue`, oldest first, at most 500; only those waiting unless
/// `include_resolved`. The look is recorded with `audit` in the same transaction.
pub(crate) async fn supply_exceptions(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    queue: crate::ExceptionQueue<'_>,
    include_resolved: bool,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<Vec<crate::supply::SupplyExceptionRecord>, crate::StorageError> {
    let mut query = sqlx::QueryBuilder::<Db>::new(format!("SELECT {SUPPLY_EXCEPTION_COLUMNS} WHERE 1 = 1"));
    match queue {
        crate::ExceptionQueue::Authority(la) => {
            query.push(" AND e.local_authority = ").push_bind(la.as_str());
        }
        crate::ExceptionQueue::Unplaced => {
            query.push(" AND e.local_authority IS NULL");
        }
        crate::ExceptionQueue::Every => {}
    }
    if !include_resolved {
        query.push(" AND e.resolved_at IS NULL");
    }
    query.push(" ORDER BY e.raised_at, e.id LIMIT 500");
    let mut tx = begin_read_then_write(pool).await?;
    let rows: Vec<SupplyExceptionRow> = query.build_query_as().fetch_all(&mut **tx).await?;
    let exceptions = rows.into_iter().map(supply_exception_from_row).collect::<Result<Vec<_>, _>>()?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(exceptions)
}

async fn read_supply_exception(
    tx: &mut sqlx::Transaction<'_, Db>,
    queue: crate::ExceptionQueue<'_>,
    id: i64,
) -> Result<crate::supply::SupplyExceptionRecord, crate::StorageError> {
    let row: Option<SupplyExceptionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SUPPLY_EXCEPTION_COLUMNS} WHERE e.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let mut exception = supply_exception_from_row(row.ok_or(crate::StorageError::NotFound { what: "exception" })?)?;
    if !queue.reaches(exception.local_authority.as_ref()) {
        return Err(crate::StorageError::NotFound { what: "exception" });
    }
    let scored: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT child_id, probability FROM supply_exception_candidates WHERE exception_id = $1 ORDER BY probability DESC, child_id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<i64> = scored.iter().map(|(c, _)| *c).collect();
    let mut candidates = link_candidates_by_id(tx, &ids).await?;
    for (child_id, probability) in scored {
        if let Some(at) = candidates.iter().position(|c| c.child_id == child_id) {
            exception.candidates.push((candidates.swap_remove(at), probability));
        }
    }
    Ok(exception)
}

/// One exception of `queue` with its candidate children, read together with the audit entry
/// of the look (`audit_for` makes it from the exception).
pub(crate) async fn supply_exception(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    queue: crate::ExceptionQueue<'_>,
    id: i64,
    audit_for: &(dyn Fn(&crate::supply::SupplyExceptionRecord) -> contactpoint_domain::AuditEvent + Sync),
) -> Result<crate::supply::SupplyExceptionRecord, crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let exception = read_supply_exception(&mut tx, queue, id).await?;
    append_audit(&mut tx, &audit_for(&exception)).await?;
    tx.commit().await?;
    Ok(exception)
}

/// Resolves a waiting exception of `queue` as the team decided, with its audit entry, in one
/// transaction; NotFound when it is not in the queue or was resolved already.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn resolve_supply_exception(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    queue: crate::ExceptionQueue<'_>,
    id: i64,
    resolution: &crate::supply::Resolution,
    by_user_id: Option<i64>,
    at: chrono::DateTime<chrono::Utc>,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<contactpoint_domain::ContactPointId, crate::StorageError> {
    use crate::supply::{Resolution, SupplyStatus};
    let mut tx = begin_read_then_write(pool).await?;
    // Claimed for this transaction: an update that changes nothing locks the row on
    // PostgreSQL, so an import or another person deciding the same record waits, then finds
    // it decided.
    let waiting: Option<(String, String, Option<String>, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "UPDATE supply_exceptions SET resolution = resolution WHERE id = $1 AND resolved_at IS NULL \
         RETURNING source, source_record_id, local_authority, raised_at",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let not_found = crate::StorageError::NotFound { what: "waiting exception" };
    let (source, source_record_id, local_authority, raised_at) = waiting.ok_or(not_found)?;
    let local_authority = local_authority
        .map(|la| contactpoint_domain::LocalAuthorityCode::parse(&la))
        .transpose()
        .map_err(crate::StorageError::corrupt("supply_exceptions"))?;
    if !queue.reaches(local_authority.as_ref()) {
        return Err(crate::StorageError::NotFound { what: "waiting exception" });
    }
    let (status, child_id, named) = match resolution {
        Resolution::Link { child_id, changes, named_services } => {
            // The decision was made on what the team read before; the chosen child must not
            // have been merged into another since.
            // (Held the same way, so that a merge waits for this decision.)
            let held = sqlx::query("UPDATE children SET merged_into = merged_into WHERE id = $1 AND merged_into IS NULL")
                .bind(*child_id)
                .execute(&mut **tx)
                .await?;
            if held.rows_affected() != 1 {
                return Err(crate::StorageError::Invalid(contactpoint_domain::FieldError::new(
                    "child",
                    "a child still in the directory: it was merged into another since the exception was read; open the exception again",
                )));
            }
            apply_child_changes(&mut tx, *child_id, changes).await?;
            (SupplyStatus::Linked, *child_id, named_services)
        }
        Resolution::Create { child, named_services } => {
            let (_, ids) = insert_children(&mut tx, std::slice::from_ref(&**child), crate::SearchKeys::Indexed).await?;
            (SupplyStatus::Created, ids[0], named_services)
        }
    };
    // The school and GP practice the record names, as an import placing it would have; the
    // values count as supplied when the record arrived.
    let source_code = contactpoint_domain::SourceCode::parse(&source).map_err(crate::StorageError::corrupt("supply_exceptions"))?;
    let mut involved = crate::supply::BatchSummary::default();
    apply_named_services(&mut tx, &source_code, raised_at, &[(child_id, named.as_slice())], &mut involved).await?;
    sqlx::query(
        "UPDATE supply_exceptions SET resolution = $1, resolved_child_id = $2, resolved_at = $3, \
         resolved_by_user_id = $4 WHERE id = $5",
    )
    .bind(status.code())
    .bind(child_id)
    .bind(at)
    .bind(by_user_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    // The supplied record now says where it went, unless the supplier has since sent it again
    // and it was placed afresh.
    sqlx::query(
        "UPDATE supplied_records SET status = $1, child_id = $2, exception_id = NULL \
         WHERE source = $3 AND source_record_id = $4 AND exception_id = $5",
    )
    .bind(status.code())
    .bind(child_id)
    .bind(&source)
    .bind(&source_record_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    let contactpoint_id: String = sqlx::query_scalar("SELECT contactpoint_id FROM children WHERE id = $1")
        .bind(child_id)
        .fetch_one(&mut **tx)
        .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    contactpoint_domain::ContactPointId::parse(&contactpoint_id).map_err(crate::StorageError::corrupt("children"))
}
