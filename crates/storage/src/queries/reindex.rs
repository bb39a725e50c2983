// Included into each backend module (see backend.rs).

/// Indexes for search the children stored before the index existed (a database made by an
/// earlier version): when there are children but no keys at all, every child's keys are
/// written, in one transaction. Returns how many children were indexed.
pub(crate) async fn index_unindexed_children(pool: &sqlx::Pool<Db>) -> Result<usize, crate::StorageError> {
    let mut tx = pool.begin().await?;
    let has_keys: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM child_search_keys)")
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
        insert_index_rows(&mut tx, &children).await?;
        indexed += children.len();
        after = last;
    }
    tx.commit().await?;
    Ok(indexed)
}
