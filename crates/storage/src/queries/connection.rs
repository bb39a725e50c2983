// Included into each backend module (see backend.rs).

pub(crate) async fn migrate(pool: &sqlx::Pool<Db>) -> Result<(), crate::StorageError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Refreshes the query planner's statistics (after a bulk load). On SQLite from about a
/// thousand entries of each index, as PostgreSQL samples its tables: the plans need only
/// how many rows a key picks out, roughly, and reading every entry of every index took
/// longer with each batch of a load (a twentieth of a load of 200,000 children's files).
pub(crate) async fn analyze(pool: &sqlx::Pool<Db>) -> Result<(), crate::StorageError> {
    let mut connection = pool.acquire().await?;
    if BACKEND == crate::Backend::Sqlite {
        sqlx::query("PRAGMA analysis_limit = 1000").execute(&mut *connection).await?;
    }
    let analysed = sqlx::query("ANALYZE").execute(&mut *connection).await;
    if BACKEND == crate::Backend::Sqlite {
        // Back to SQLite's own default for whatever else the connection is lent for.
        sqlx::query("PRAGMA analysis_limit = 0").execute(&mut *connection).await?;
    }
    analysed?;
    Ok(())
}

pub(crate) async fn ping(pool: &sqlx::Pool<Db>) -> Result<(), crate::StorageError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// A transaction that reads and then writes (an audit entry after what it read). On SQLite
/// it also holds this process's turn at the database's one write lock (see
/// [`begin_read_then_write`]); the turn passes on when the transaction ends.
pub(crate) struct ReadThenWrite {
    tx: sqlx::Transaction<'static, Db>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for ReadThenWrite {
    type Target = sqlx::Transaction<'static, Db>;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for ReadThenWrite {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl ReadThenWrite {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// One turn at the write lock per SQLite database this process has open (by pool).
fn write_turn(pool: &sqlx::Pool<Db>) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};
    static TURNS: LazyLock<Mutex<HashMap<usize, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let pool_key = Arc::as_ptr(&pool.connect_options()) as usize;
    let mut turns = TURNS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    turns.entry(pool_key).or_default().clone()
}

/// Begins a transaction that reads and then writes (an audit entry after what it read).
/// SQLite takes its write lock up front (`BEGIN IMMEDIATE`): a transaction that began by
/// reading cannot wait for the write lock later, and fails at once with "database is
/// locked" whenever another connection wrote in the meantime. Such transactions in this
/// process first wait their turn in a queue, so they take the lock one after another as it
/// is released, instead of polling for it in SQLite's busy handler (which sleeps between
/// tries, and left the lock idle under load). PostgreSQL locks rows as it writes them and
/// needs no such care.
pub(crate) async fn begin_read_then_write(
    pool: &sqlx::Pool<Db>,
) -> Result<ReadThenWrite, crate::StorageError> {
    match BACKEND {
        crate::Backend::Sqlite => {
            let turn = write_turn(pool).lock_owned().await;
            Ok(ReadThenWrite {
                tx: pool.begin_with("BEGIN IMMEDIATE").await?,
                _turn: Some(turn),
            })
        }
        crate::Backend::Postgres => Ok(ReadThenWrite {
            tx: pool.begin().await?,
            _turn: None,
        }),
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
    if count == 0 {
        // Nothing to number: no statement (a round trip per empty list adds up in imports).
        return Ok(0);
    }
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

/// Gives back `ids`, the last taken from `table`'s allocator by this transaction, when nothing
/// has taken an id since (the allocator still stands at their end); otherwise they stay
/// unused.
pub(crate) async fn give_back_ids(
    tx: &mut sqlx::Transaction<'_, Db>,
    table: &str,
    ids: std::ops::Range<i64>,
) -> Result<(), crate::StorageError> {
    sqlx::query("UPDATE id_allocators SET next_id = $1 WHERE name = $2 AND next_id = $3")
        .bind(ids.start)
        .bind(table)
        .bind(ids.end)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ids a batch takes from `table`'s allocator in one block, when it numbers its first row,
/// and hands out in order as it numbers the rest; those left when it ends are given back
/// (`give_back_unused`), so the table stays numbered without gaps. Nothing else can take an
/// id meanwhile: on PostgreSQL the allocator's row stays locked until the batch commits, and
/// SQLite has one writer.
pub(crate) struct IdBlock {
    table: &'static str,
    ids: std::ops::Range<i64>,
}

impl IdBlock {
    pub(crate) fn of(table: &'static str) -> Self {
        Self { table, ids: 0..0 }
    }

    /// The next id; with none left, takes a block of one for each of `still_to_number` rows
    /// the batch could still number.
    pub(crate) async fn next(&mut self, tx: &mut sqlx::Transaction<'_, Db>, still_to_number: usize) -> Result<i64, crate::StorageError> {
        if self.ids.is_empty() {
            let first = allocate_ids(tx, self.table, still_to_number.max(1)).await?;
            self.ids = first..first + still_to_number.max(1) as i64;
        }
        let id = self.ids.start;
        self.ids.start += 1;
        Ok(id)
    }

    /// Gives back the ids taken and not handed out.
    pub(crate) async fn give_back_unused(&mut self, tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), crate::StorageError> {
        if !self.ids.is_empty() {
            give_back_ids(tx, self.table, self.ids.clone()).await?;
            self.ids = 0..0;
        }
        Ok(())
    }
}

/// Inserts `rows` into `table`, each numbered in order from the table's allocator as its `id`
/// and bound after it by `bind` (one value for each of `columns`), in as few statements as the
/// backends allow.
pub(crate) async fn insert_numbered<T>(
    tx: &mut sqlx::Transaction<'_, Db>,
    table: &str,
    columns: &[&str],
    rows: &[T],
    bind: impl Fn(&mut sqlx::query_builder::Separated<'_, Db, &'static str>, &T),
) -> Result<(), crate::StorageError> {
    let first = allocate_ids(tx, table, rows.len()).await?;
    let per_statement = rows_per_statement(columns.len() + 1);
    let numbered: Vec<(i64, &T)> = (first..).zip(rows).collect();
    for chunk in numbered.chunks(per_statement) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(format!("INSERT INTO {table} (id, {}) ", columns.join(", ")));
        insert.push_values(chunk, |mut row, (id, values)| {
            row.push_bind(*id);
            bind(&mut row, values);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Rows per multi-row INSERT: as many as fit under both backends' limits on bound values
/// (SQLite 32,766; PostgreSQL 65,535).
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (30_000 / columns).clamp(1, 1_000)
}
