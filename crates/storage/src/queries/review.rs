// Included into each backend module (see backend.rs).

#[derive(sqlx::FromRow)]
struct ActivityRow {
    id: i64,
    at: chrono::DateTime<chrono::Utc>,
    actor_user_id: i64,
    username: String,
    user_family_name: String,
    user_local_authority: String,
    organisation: String,
    action: String,
    outcome: String,
    subject_id: Option<String>,
    local_authority: Option<String>,
    child_family_name: Option<String>,
    details: String,
}

fn detail(details: &str, name: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(details)
        .ok()?
        .get(name)?
        .as_str()
        .map(str::to_owned)
}

/// Sign-ins, searches and views in `[from, to)` by users of the authority's organisations or
/// about its children, read with the audit entry of the review.
pub(crate) async fn review_activity(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    la: &contactpoint_domain::LocalAuthorityCode,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<Vec<contactpoint_domain::review::Activity>, crate::StorageError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<ActivityRow> = sqlx::query_as(
        "SELECT a.id, a.at, a.actor_user_id, u.username, u.family_name AS user_family_name, \
                o.local_authority AS user_local_authority, o.name AS organisation, a.action, a.outcome, \
                a.subject_id, a.local_authority, c.family_name AS child_family_name, a.details \
         FROM audit_events a \
         JOIN users u ON u.id = a.actor_user_id \
         JOIN organisations o ON o.id = u.organisation_id \
         LEFT JOIN children c ON a.subject_kind = 'child' AND c.contactpoint_id = a.subject_id \
         WHERE a.at >= $1 AND a.at < $2 \
           AND a.action IN ('sign_in', 'children_searched', 'child_viewed') \
           AND (o.local_authority = $3 OR a.local_authority = $3) \
         ORDER BY a.id LIMIT 200000",
    )
    .bind(from)
    .bind(to)
    .bind(la.as_str())
    .fetch_all(&mut *tx)
    .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let viewed = r.action == "child_viewed";
            contactpoint_domain::review::Activity {
                entry_id: r.id,
                at: r.at,
                user_id: r.actor_user_id,
                username: r.username,
                user_family_name: r.user_family_name,
                user_local_authority: r.user_local_authority,
                organisation: r.organisation,
                projection: detail(&r.details, "projection"),
                child_id: if viewed { r.subject_id } else { None },
                child_local_authority: if viewed { r.local_authority } else { None },
                child_family_name: r.child_family_name,
                action: r.action,
                outcome: r.outcome,
            }
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    at: chrono::DateTime<chrono::Utc>,
    actor_user_id: i64,
    username: String,
    given_name: String,
    family_name: String,
    organisation: String,
    route: String,
    details: String,
}

/// The most recent views of one child, newest first: who, from which organisation, when,
/// why and what they were shown. With `audit`, the reading is recorded in the same
/// transaction.
pub(crate) async fn child_access_history(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    id: &contactpoint_domain::ContactPointId,
    limit: i64,
    audit: Option<&contactpoint_domain::AuditEvent>,
) -> Result<Vec<crate::ChildAccess>, crate::StorageError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<AccessRow> = sqlx::query_as(
        "SELECT a.at, a.actor_user_id, u.username, u.given_name, u.family_name, o.name AS organisation, a.route, a.details \
         FROM audit_events a JOIN users u ON u.id = a.actor_user_id JOIN organisations o ON o.id = u.organisation_id \
         WHERE a.subject_kind = 'child' AND a.subject_id = $1 AND a.action = 'child_viewed' \
         ORDER BY a.id DESC LIMIT $2",
    )
    .bind(id.as_digits())
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(audit) = audit {
        append_audit(&mut tx, audit).await?;
    }
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| crate::ChildAccess {
            at: r.at,
            user_id: r.actor_user_id,
            username: r.username,
            name: format!("{} {}", r.given_name, r.family_name),
            organisation: r.organisation,
            route: r.route,
            reason: detail(&r.details, "reason").unwrap_or_default(),
            reason_text: detail(&r.details, "reason_text"),
            projection: detail(&r.details, "projection").unwrap_or_default(),
        })
        .collect())
}

pub(crate) async fn child_local_authority(
    pool: &sqlx::Pool<Db>,
    id: &contactpoint_domain::ContactPointId,
) -> Result<contactpoint_domain::LocalAuthorityCode, crate::StorageError> {
    let code: String = sqlx::query_scalar("SELECT local_authority FROM children WHERE contactpoint_id = $1")
        .bind(id.as_digits())
        .fetch_optional(pool)
        .await?
        .ok_or(crate::StorageError::NotFound { what: "child" })?;
    contactpoint_domain::LocalAuthorityCode::parse(&code).map_err(crate::StorageError::corrupt("children"))
}
