// Included into each backend module (see backend.rs).

pub(crate) async fn migrate(pool: &sqlx::Pool<Db>) -> Result<(), crate::StorageError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

pub(crate) async fn ping(pool: &sqlx::Pool<Db>) -> Result<(), crate::StorageError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// Begins a transaction that reads and then writes (an audit entry after what it read).
/// SQLite takes its write lock up front (`BEGIN IMMEDIATE`), waiting its busy timeout for
/// it: a transaction that began by reading cannot wait for the write lock later, and fails
/// at once with "database is locked" whenever another connection wrote in the meantime.
/// PostgreSQL locks rows as it writes them and needs no such care.
pub(crate) async fn begin_read_then_write(
    pool: &sqlx::Pool<Db>,
) -> Result<sqlx::Transaction<'static, Db>, crate::StorageError> {
    match BACKEND {
        crate::Backend::Sqlite => Ok(pool.begin_with("BEGIN IMMEDIATE").await?),
        crate::Backend::Postgres => Ok(pool.begin().await?),
    }
}

/// Reserves `count` consecutive ids for `table` inside the caller's transaction and returns
/// the first. The allocator row stays locked until the transaction ends, so concurrent
/// loaders never share ids.
pub(crate) async fn allocate_ids(
    tx: &mut sqlx::Transaction<'_, Db>,
    table: &str,
    count: usize,
) -> Result<i64, crate::StorageError> {
    let count = count as i64;
    let next: i64 = sqlx::query_scalar(
        "UPDATE id_allocators SET next_id = next_id + $1 WHERE name = $2 RETURNING next_id",
    )
    .bind(count)
    .bind(table)
    .fetch_one(&mut **tx)
    .await?;
    Ok(next - count)
}

/// Rows per multi-row INSERT: as many as fit under both backends' limits on bound values
/// (SQLite 32,766; PostgreSQL 65,535).
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (30_000 / columns).clamp(1, 1_000)
}
