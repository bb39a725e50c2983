// Included into each backend module (see backend.rs).

/// Raises an alert to the team responsible for `record` (inside the view's transaction).
async fn insert_shield_alert(
    tx: &mut sqlx::Transaction<'_, Db>,
    record: &contactpoint_domain::ChildRecord,
    alert: &crate::NewShieldAlert,
) -> Result<(), crate::StorageError> {
    let id = allocate_ids(tx, "shield_alerts", 1).await?;
    sqlx::query(
        "INSERT INTO shield_alerts (id, local_authority, contactpoint_id, raised_at, raised_by_user_id, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(record.local_authority.as_str())
    .bind(record.contactpoint_id.as_digits())
    .bind(alert.at)
    .bind(alert.by_user_id)
    .bind(&alert.reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn shield_alerts(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    la: &contactpoint_domain::LocalAuthorityCode,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<Vec<crate::ShieldAlertRecord>, crate::StorageError> {
    let mut tx = pool.begin().await?;
    let alerts = sqlx::query_as(
        "SELECT a.id, a.contactpoint_id, a.raised_at, a.raised_by_user_id, u.username AS raised_by_username, \
                o.name AS raised_by_organisation, a.reason, a.acknowledged_at, a.acknowledged_by_user_id \
         FROM shield_alerts a JOIN users u ON u.id = a.raised_by_user_id JOIN organisations o ON o.id = u.organisation_id \
         WHERE a.local_authority = $1 ORDER BY (a.acknowledged_at IS NULL) DESC, a.id DESC LIMIT 500",
    )
    .bind(la.as_str())
    .fetch_all(&mut *tx)
    .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(alerts)
}

pub(crate) async fn acknowledge_shield_alert(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    la: &contactpoint_domain::LocalAuthorityCode,
    id: i64,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let by = audit.actor_user_id;
    let mut tx = pool.begin().await?;
    let changed = sqlx::query(
        "UPDATE shield_alerts SET acknowledged_at = $1, acknowledged_by_user_id = $2 \
         WHERE id = $3 AND local_authority = $4 AND acknowledged_at IS NULL",
    )
    .bind(audit.at)
    .bind(by)
    .bind(id)
    .bind(la.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(crate::StorageError::NotFound { what: "unacknowledged alert" });
    }
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}
