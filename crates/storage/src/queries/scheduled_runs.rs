// Included into each backend module (see backend.rs).

/// Claims this pass of the scheduled `task` for the caller: true when it never ran, or last
/// started at least `due_after` before `now`; the start is then recorded as `now`. Of several
/// servers sharing the database and keeping the same schedule, the first to claim a pass runs
/// it and the others hear false.
pub(crate) async fn claim_scheduled_run(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    task: &str,
    now: chrono::DateTime<chrono::Utc>,
    due_after: chrono::Duration,
) -> Result<bool, crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let first = sqlx::query("INSERT INTO scheduled_runs (task, last_started_at) VALUES ($1, $2) ON CONFLICT (task) DO NOTHING")
        .bind(task)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    if first.rows_affected() == 1 {
        tx.commit().await?;
        return Ok(true);
    }
    // Held for the transaction (on PostgreSQL the row stays locked until the commit), so two
    // servers claiming at once go one after the other and the second sees the first's start.
    sqlx::query("UPDATE scheduled_runs SET last_started_at = last_started_at WHERE task = $1")
        .bind(task)
        .execute(&mut **tx)
        .await?;
    let last: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT last_started_at FROM scheduled_runs WHERE task = $1")
            .bind(task)
            .fetch_one(&mut **tx)
            .await?;
    if now - last < due_after {
        return Ok(false);
    }
    sqlx::query("UPDATE scheduled_runs SET last_started_at = $1 WHERE task = $2")
        .bind(now)
        .bind(task)
        .execute(&mut **tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}
