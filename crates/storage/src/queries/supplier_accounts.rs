// Included into each backend module (see backend.rs).

/// Registers a supplier's system account with its audit entry; returns its id.
pub(crate) async fn register_supplier_account(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    account: &crate::NewSupplierAccount,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<i64, crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let id = allocate_ids(&mut tx, "supplier_accounts", 1).await?;
    sqlx::query(
        "INSERT INTO supplier_accounts (id, source, name, client_id, secret_digest, authoritative, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(account.source.as_str())
    .bind(account.name.as_str())
    .bind(&account.client_id)
    .bind(&account.secret_digest)
    .bind(account.authoritative)
    .bind(audit.at)
    .execute(&mut **tx)
    .await?;
    let mut audit = audit.clone();
    audit.subject = Some(contactpoint_domain::Subject { kind: "supplier_account", id: id.to_string() });
    append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(id)
}

/// A supplier's system account by its client ID, to check the secret it presents.
pub(crate) async fn supplier_account(
    pool: &sqlx::Pool<Db>,
    client_id: &str,
) -> Result<crate::SupplierAccountRecord, crate::StorageError> {
    type Row = (i64, String, String, String, String, bool, Option<chrono::DateTime<chrono::Utc>>);
    let row: Row = sqlx::query_as(
        "SELECT id, source, name, client_id, secret_digest, authoritative, revoked_at FROM supplier_accounts WHERE client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(pool)
    .await?
    .ok_or(crate::StorageError::NotFound { what: "supplier account" })?;
    Ok(crate::SupplierAccountRecord {
        id: row.0,
        source: contactpoint_domain::SourceCode::parse(&row.1).map_err(crate::StorageError::corrupt("supplier_accounts"))?,
        name: row.2,
        client_id: row.3,
        secret_digest: row.4,
        authoritative: row.5,
        revoked: row.6.is_some(),
    })
}

/// Revokes a supplier's system account with its audit entry; NotFound when there is no such
/// account still standing.
pub(crate) async fn revoke_supplier_account(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    client_id: &str,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let revoked = sqlx::query("UPDATE supplier_accounts SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
        .bind(audit.at)
        .bind(client_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if revoked == 0 {
        return Err(crate::StorageError::NotFound { what: "supplier account" });
    }
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

/// Every supplier's system account, standing ones first, each source's in the order they were
/// registered.
pub(crate) async fn supplier_accounts(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
) -> Result<Vec<crate::SupplierAccountListing>, crate::StorageError> {
    type Row = (i64, String, String, String, bool, chrono::DateTime<chrono::Utc>, Option<chrono::DateTime<chrono::Utc>>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, source, name, client_id, authoritative, created_at, revoked_at FROM supplier_accounts \
         ORDER BY revoked_at IS NOT NULL, source, created_at, id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, source, name, client_id, authoritative, created_at, revoked_at)| {
            Ok(crate::SupplierAccountListing {
                id,
                source: contactpoint_domain::SourceCode::parse(&source).map_err(crate::StorageError::corrupt("supplier_accounts"))?,
                name,
                client_id,
                authoritative,
                created_at,
                revoked_at,
            })
        })
        .collect()
}
