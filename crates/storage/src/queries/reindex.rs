// Included into each backend module (see backend.rs).

/// Indexes for search the children stored before the index existed (a database made by an
/// earlier version): when there are children but no keys at all, every child's keys are
/// written, in one transaction. Returns how many children were indexed.
pub(crate) async fn index_unindexed_children(pool: &sqlx::Pool<Db>) -> Result<usize, crate::StorageError> {
    let mut tx = pool.begin().await?;
    // Keys set aside by a load are keys too: those children are indexed when they are moved.
    let has_keys: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM child_search_keys) OR EXISTS (SELECT 1 FROM child_search_keys_set_aside)",
    )
        .fetch_one(&mut *tx)
        .await?;
    if has_keys {
        return Ok(0);
    }
    let mut after = 0_i64;
    let mut indexed = 0;
    loop {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM children WHERE id > $1 ORDER BY id LIMIT 2000")
            .bind(after)
            .fetch_all(&mut *tx)
            .await?;
        let Some(last) = ids.last().copied() else { break };
        let found = read_candidates(&mut tx, &crate::CandidateLookup::ByChildIds(ids)).await?;
        let by_cpid: std::collections::HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT contactpoint_id, id FROM children WHERE id > $1 AND id <= $2",
        )
        .bind(after)
        .bind(last)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let children: Vec<(i64, contactpoint_matching::search::Findable)> = found
            .into_iter()
            .map(|child| (by_cpid[&child.contactpoint_id.as_digits()], child.findable))
            .collect();
        insert_index_rows(&mut tx, &children, crate::SearchKeys::Indexed).await?;
        indexed += children.len();
        after = last;
    }
    tx.commit().await?;
    Ok(indexed)
}

/// Moves the search keys that bulk loads set aside into the index; returns how many were
/// moved. The index by child (and on PostgreSQL the primary key's) is built again around the
/// move: one sort of the whole is cheaper than placing each key. Keys already in the index are
/// not moved twice.
///
/// Fewer keys than the directory holds children are moved in one transaction without
/// building anything again (`index_set_aside_keys_here`). Otherwise, on PostgreSQL the move
/// is one transaction, the set-aside table locked first, so a load
/// still running waits for the move rather than committing keys it would then empty. On
/// SQLite it is made in committed steps of about `keys_per_step` keys, each a range of key
/// values (`move_in_steps`).
pub(crate) async fn index_set_aside_keys(pool: &sqlx::Pool<Db>, keys_per_step: u64) -> Result<u64, crate::StorageError> {
    use sqlx::Connection;
    let mut conn = pool.acquire().await?;
    // Nearly always nothing is set aside (every server start asks): no lock for that. A load
    // that sets keys aside meanwhile moves them itself at its end.
    if !set_aside_keys_exist(&mut conn).await? {
        return Ok(0);
    }
    // Fewer keys than children (what a load of supplied records set aside for the children its
    // files made or changed, once most are held) are placed in the index as it stands: building
    // the whole index again would cost more than they do.
    let (aside, children): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM child_search_keys_set_aside), (SELECT COUNT(*) FROM children)",
    )
    .fetch_one(&mut *conn)
    .await?;
    if aside < children {
        let mut tx = match BACKEND {
            crate::Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
            crate::Backend::Postgres => conn.begin().await?,
        };
        let moved = index_set_aside_keys_here(&mut tx).await?;
        tx.commit().await?;
        return Ok(moved);
    }
    if BACKEND == crate::Backend::Sqlite {
        // A national index's sort would not fit in memory; let SQLite's sorter spill to disk.
        sqlx::query("PRAGMA temp_store = FILE").execute(&mut *conn).await?;
        let moved = move_in_steps(&mut conn, keys_per_step).await;
        // The connection goes back to the pool as every other is made; a failure here must
        // not hide the move's own outcome.
        if let Err(error) = sqlx::query("PRAGMA temp_store = MEMORY").execute(&mut *conn).await {
            tracing::warn!(%error, "could not set temp_store back to memory; closing the connection");
            conn.close_on_drop();
        }
        return moved;
    }
    let mut tx = conn.begin().await?;
    sqlx::query("LOCK TABLE child_search_keys_set_aside IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    if !set_aside_keys_exist(&mut tx).await? {
        return Ok(0);
    }
    // A key both set aside and indexed (a child re-indexed while its load was stopped) stays
    // where it is. (A load sets each child's keys aside once, so the set-aside keys hold no
    // key twice.) A new nation's index is empty, and nothing is looked up.
    let indexed: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM child_search_keys)")
        .fetch_one(&mut *tx)
        .await?;
    if indexed {
        sqlx::query(
            "DELETE FROM child_search_keys_set_aside WHERE EXISTS (SELECT 1 FROM child_search_keys k \
             WHERE k.key = child_search_keys_set_aside.key AND k.child_id = child_search_keys_set_aside.child_id)",
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DROP INDEX IF EXISTS child_search_keys_by_child").execute(&mut *tx).await?;
    sqlx::query("ALTER TABLE child_search_keys DROP CONSTRAINT child_search_keys_pkey")
        .execute(&mut *tx)
        .await?;
    let moved = sqlx::query(
        "INSERT INTO child_search_keys (key, child_id) SELECT key, child_id FROM child_search_keys_set_aside",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("ALTER TABLE child_search_keys ADD PRIMARY KEY (key, child_id)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE INDEX child_search_keys_by_child ON child_search_keys (child_id)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("TRUNCATE child_search_keys_set_aside").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(moved)
}

/// The SQLite move, in committed steps: first the index by child is dropped, then each step
/// moves the set-aside keys of one range of key values, in key order (SQLite keeps the keys
/// in their primary key's order, WITHOUT ROWID, so each lands beside the last), and the last
/// builds the index by child again and empties what was moved. Only the rows set aside when
/// the move began are moved: a load still running sets later ones aside for the next move. A
/// move stopped between steps is taken up again by the next (`Store::migrate` asks at every
/// start); a key already in the index is left where it is.
async fn move_in_steps(
    conn: &mut <Db as sqlx::Database>::Connection,
    keys_per_step: u64,
) -> Result<u64, crate::StorageError> {
    use sqlx::Connection;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let (last_row, rows): (Option<i64>, i64) =
        sqlx::query_as("SELECT MAX(rowid), COUNT(*) FROM child_search_keys_set_aside")
            .fetch_one(&mut *tx)
            .await?;
    let Some(last_row) = last_row else {
        return Ok(0);
    };
    sqlx::query("DROP INDEX IF EXISTS child_search_keys_by_child").execute(&mut *tx).await?;
    tx.commit().await?;
    let mut moved = 0;
    for (low, high) in key_ranges(u64::try_from(rows).unwrap_or(0).div_ceil(keys_per_step.max(1))) {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        moved += sqlx::query(
            "INSERT OR IGNORE INTO child_search_keys (key, child_id) \
             SELECT key, child_id FROM child_search_keys_set_aside \
             WHERE rowid <= $1 AND key BETWEEN $2 AND $3 ORDER BY key, child_id",
        )
        .bind(last_row)
        .bind(low)
        .bind(high)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
    }
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("CREATE INDEX IF NOT EXISTS child_search_keys_by_child ON child_search_keys (child_id)")
        .execute(&mut *tx)
        .await?;
    // The set-aside keys' index by child is built again over what is left (nearly always
    // nothing) rather than each moved key taken out of it.
    sqlx::query("DROP INDEX IF EXISTS child_search_keys_set_aside_by_child").execute(&mut *tx).await?;
    sqlx::query("DELETE FROM child_search_keys_set_aside WHERE rowid <= $1")
        .bind(last_row)
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE INDEX child_search_keys_set_aside_by_child ON child_search_keys_set_aside (child_id)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(moved)
}

/// `count` (at least one) ranges of key values, together every `i64` once, in order.
fn key_ranges(count: u64) -> Vec<(i64, i64)> {
    let count = i128::from(count.max(1));
    let span = (i128::from(i64::MAX) - i128::from(i64::MIN) + 1) / count;
    (0..count)
        .map(|step| {
            let low = i128::from(i64::MIN) + step * span;
            let high = if step == count - 1 { i128::from(i64::MAX) } else { low + span - 1 };
            (low as i64, high as i64)
        })
        .collect()
}

/// Moves every key set aside into the index within `tx`, in key order, a key already in the
/// index staying where it is; returns how many were moved. For the few keys a load of
/// supplied records set aside since its last move, and for any batch that looks for
/// candidates in the index itself: what is set aside is indexed before anything is looked up.
async fn index_set_aside_keys_here(tx: &mut sqlx::Transaction<'_, Db>) -> Result<u64, crate::StorageError> {
    if !set_aside_keys_exist(tx).await? {
        return Ok(0);
    }
    let moved = match BACKEND {
        crate::Backend::Sqlite => {
            // One writer at a time: nothing can be set aside between the two statements.
            let moved = sqlx::query(
                "INSERT OR IGNORE INTO child_search_keys (key, child_id) \
                 SELECT key, child_id FROM child_search_keys_set_aside ORDER BY key, child_id",
            )
            .execute(&mut **tx)
            .await?
            .rows_affected();
            sqlx::query("DELETE FROM child_search_keys_set_aside").execute(&mut **tx).await?;
            moved
        }
        // Exactly the rows deleted are moved, whatever a load running beside sets aside meanwhile.
        crate::Backend::Postgres => sqlx::query(
            "WITH moved AS (DELETE FROM child_search_keys_set_aside RETURNING key, child_id) \
             INSERT INTO child_search_keys (key, child_id) SELECT key, child_id FROM moved \
             ORDER BY key, child_id ON CONFLICT DO NOTHING",
        )
        .execute(&mut **tx)
        .await?
        .rows_affected(),
    };
    Ok(moved)
}

async fn set_aside_keys_exist(conn: &mut <Db as sqlx::Database>::Connection) -> Result<bool, crate::StorageError> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM child_search_keys_set_aside)")
        .fetch_one(conn)
        .await?)
}
