// Included into each backend module (see backend.rs).

/// Merges two records at once when both are children of `own`; when one is held by another
/// authority, records a request for that authority's team to agree instead (nothing moves
/// until it does). Neither record in `own` is refused, naming `survivor`. `audit` makes the
/// entry for what happened, written in the same transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn merge_or_request(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    own: &contactpoint_domain::LocalAuthorityCode,
    survivor: &contactpoint_domain::ContactPointId,
    retired: &contactpoint_domain::ContactPointId,
    by_user_id: i64,
    at: chrono::DateTime<chrono::Utc>,
    audit: &(dyn Fn(&crate::MergeOutcome) -> contactpoint_domain::AuditEvent + Sync),
) -> Result<crate::MergeOutcome, crate::StorageError> {
    use contactpoint_domain::{FieldError, LocalAuthorityCode};
    let invalid = |field: &str, expected: &str| crate::StorageError::Invalid(FieldError::new(field, expected));
    if survivor == retired {
        return Err(invalid("retired", "a different child from the one that stays"));
    }
    let mut tx = begin_read_then_write(pool).await?;
    let keep = merge_party(&mut tx, None, survivor, "survivor").await?;
    let gone = merge_party(&mut tx, None, retired, "retired").await?;
    let outcome = match (keep.local_authority == own.as_str(), gone.local_authority == own.as_str()) {
        (true, true) => crate::MergeOutcome::Merged {
            merge_id: merge_parties(&mut tx, keep, gone, Some(by_user_id), at).await?,
        },
        (false, false) => {
            return Err(invalid(
                "survivor",
                "the ContactPoint ID of a child your authority is responsible for (one of the two records must be)",
            ))
        }
        (keep_is_own, _) => {
            let elsewhere = if keep_is_own { &gone.local_authority } else { &keep.local_authority };
            let awaiting = LocalAuthorityCode::parse(elsewhere).map_err(crate::StorageError::corrupt("children"))?;
            // A shielded child's record stays with the team responsible for it: retiring it
            // into another authority's record would hand that team its hidden details.
            if gone.shielded {
                return Err(invalid(
                    "retired",
                    "a record that is not shielded (a shielded child's record must be the one that stays when the other is held by another authority)",
                ));
            }
            // Taking the id first holds the allocator's row, so two requests for one pair at
            // once go one after the other and the second sees the first.
            let request_id = allocate_ids(&mut tx, "merge_requests", 1).await?;
            let waiting: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM merge_requests WHERE decision IS NULL \
                 AND ((survivor_child_id = $1 AND retired_child_id = $2) OR (survivor_child_id = $2 AND retired_child_id = $1)))",
            )
            .bind(keep.id)
            .bind(gone.id)
            .fetch_one(&mut **tx)
            .await?;
            if waiting {
                return Err(invalid("retired", "a pair of records not already waiting for the other team to agree"));
            }
            sqlx::query(
                "INSERT INTO merge_requests (id, survivor_child_id, retired_child_id, survivor_authority, retired_authority, \
                 requested_by_authority, awaiting_authority, requested_by_user_id, requested_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(request_id)
            .bind(keep.id)
            .bind(gone.id)
            .bind(&keep.local_authority)
            .bind(&gone.local_authority)
            .bind(own.as_str())
            .bind(awaiting.as_str())
            .bind(by_user_id)
            .bind(at)
            .execute(&mut **tx)
            .await?;
            crate::MergeOutcome::Requested { request_id, awaiting }
        }
    };
    append_audit(&mut tx, &audit(&outcome)).await?;
    tx.commit().await?;
    Ok(outcome)
}

#[derive(sqlx::FromRow)]
struct MergeRequestRow {
    id: i64,
    survivor: String,
    retired: String,
    survivor_authority: String,
    retired_authority: String,
    requested_by_authority: String,
    awaiting_authority: String,
    requested_by_user_id: i64,
    requested_at: chrono::DateTime<chrono::Utc>,
}

const MERGE_REQUEST_COLUMNS: &str = "SELECT r.id, s.contactpoint_id AS survivor, \
     g.contactpoint_id AS retired, r.survivor_authority, r.retired_authority, r.requested_by_authority, \
     r.awaiting_authority, r.requested_by_user_id, r.requested_at \
     FROM merge_requests r JOIN children s ON s.id = r.survivor_child_id JOIN children g ON g.id = r.retired_child_id";

fn merge_request_record(row: MergeRequestRow) -> Result<crate::MergeRequestRecord, crate::StorageError> {
    use contactpoint_domain::{ContactPointId, LocalAuthorityCode};
    let corrupt = crate::StorageError::corrupt;
    let la = |code: &str| LocalAuthorityCode::parse(code).map_err(corrupt("merge_requests"));
    Ok(crate::MergeRequestRecord {
        id: row.id,
        survivor: ContactPointId::parse(&row.survivor).map_err(corrupt("children"))?,
        survivor_authority: la(&row.survivor_authority)?,
        retired: ContactPointId::parse(&row.retired).map_err(corrupt("children"))?,
        retired_authority: la(&row.retired_authority)?,
        requested_by_authority: la(&row.requested_by_authority)?,
        awaiting_authority: la(&row.awaiting_authority)?,
        requested_by_user_id: row.requested_by_user_id,
        requested_at: row.requested_at,
    })
}

/// The merges still waiting that `la` asked for or is asked to agree to, oldest first, read
/// with the audit entry of the look.
pub(crate) async fn merge_requests(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    la: &contactpoint_domain::LocalAuthorityCode,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<Vec<crate::MergeRequestRecord>, crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let rows: Vec<MergeRequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{MERGE_REQUEST_COLUMNS} WHERE r.decision IS NULL AND (r.awaiting_authority = $1 OR r.requested_by_authority = $1) \
         ORDER BY r.requested_at, r.id"
    )))
    .bind(la.as_str())
    .fetch_all(&mut **tx)
    .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    rows.into_iter().map(merge_request_record).collect()
}

/// Ends a merge request still waiting, if `la` is its party in `party` (`awaiting_authority`:
/// the team asked decides; `requested_by_authority`: the team that asked withdraws), recording
/// `decision` by whom and when, and reads it back. Claiming it first holds it for the caller's
/// transaction (on PostgreSQL the row stays locked until the commit), so two endings at once
/// (two decisions, or a decision and a withdrawal) cannot both go through. NotFound as
/// `not_found` when no such request waits.
async fn end_waiting_request(
    tx: &mut sqlx::Transaction<'_, Db>,
    request_id: i64,
    (party, la): (&'static str, &contactpoint_domain::LocalAuthorityCode),
    decision: &str,
    (by_user_id, at): (i64, chrono::DateTime<chrono::Utc>),
    not_found: &'static str,
) -> Result<crate::MergeRequestRecord, crate::StorageError> {
    let claimed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE merge_requests SET decision = $1, decided_by_user_id = $2, decided_at = $3 \
         WHERE id = $4 AND {party} = $5 AND decision IS NULL"
    )))
    .bind(decision)
    .bind(by_user_id)
    .bind(at)
    .bind(request_id)
    .bind(la.as_str())
    .execute(&mut **tx)
    .await?;
    if claimed.rows_affected() == 0 {
        return Err(crate::StorageError::NotFound { what: not_found });
    }
    let row: MergeRequestRow = sqlx::query_as(sqlx::AssertSqlSafe(format!("{MERGE_REQUEST_COLUMNS} WHERE r.id = $1")))
        .bind(request_id)
        .fetch_one(&mut **tx)
        .await?;
    merge_request_record(row)
}

/// The team of `la` agrees to a merge it was asked for (which then happens, in the same
/// transaction, provided both records are still where they were and neither has been merged
/// away since) or declines it. Returns the merge's id when it merged. A request not waiting
/// for `la` is not found.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn decide_merge_request(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    la: &contactpoint_domain::LocalAuthorityCode,
    request_id: i64,
    agree: bool,
    by_user_id: i64,
    at: chrono::DateTime<chrono::Utc>,
    audit: &(dyn Fn(&crate::MergeRequestRecord, Option<i64>) -> contactpoint_domain::AuditEvent + Sync),
) -> Result<Option<i64>, crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let decision = if agree { "merged" } else { "declined" };
    let request = end_waiting_request(
        &mut tx,
        request_id,
        ("awaiting_authority", la),
        decision,
        (by_user_id, at),
        "merge request waiting for your authority",
    )
    .await?;
    let mut merge_id = None;
    if agree {
        let keep = merge_party(&mut tx, Some(&request.survivor_authority), &request.survivor, "survivor").await?;
        let gone = merge_party(&mut tx, Some(&request.retired_authority), &request.retired, "retired").await?;
        let id = merge_parties(&mut tx, keep, gone, Some(by_user_id), at).await?;
        sqlx::query("UPDATE merge_requests SET merge_id = $1 WHERE id = $2")
            .bind(id)
            .bind(request_id)
            .execute(&mut **tx)
            .await?;
        merge_id = Some(id);
    }
    append_audit(&mut tx, &audit(&request, merge_id)).await?;
    tx.commit().await?;
    Ok(merge_id)
}

/// The team of `la` withdraws a merge it asked for that still waits (nothing has moved, so
/// nothing moves back). A request `la` did not ask for, or one already decided, is not found.
pub(crate) async fn withdraw_merge_request(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    la: &contactpoint_domain::LocalAuthorityCode,
    request_id: i64,
    by_user_id: i64,
    at: chrono::DateTime<chrono::Utc>,
    audit: &(dyn Fn(&crate::MergeRequestRecord) -> contactpoint_domain::AuditEvent + Sync),
) -> Result<(), crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let request = end_waiting_request(
        &mut tx,
        request_id,
        ("requested_by_authority", la),
        "withdrawn",
        (by_user_id, at),
        "merge request your authority asked for that still waits",
    )
    .await?;
    append_audit(&mut tx, &audit(&request)).await?;
    tx.commit().await?;
    Ok(())
}
