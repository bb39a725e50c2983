// Included into each backend module (see backend.rs).

/// What a merge moved, kept so an unmerge puts back exactly what was there.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct MergeMoved {
    involvements: Vec<i64>,
    parents_carers: Vec<i64>,
    former_names: Vec<i64>,
    /// Former names added to the survivor (the retired record's own name).
    added_former_names: Vec<i64>,
    supplied_records: Vec<(String, String)>,
    survivor_was_shielded: bool,
}

async fn ids_of(
    tx: &mut sqlx::Transaction<'_, Db>,
    table: &str,
    child_id: i64,
) -> Result<Vec<i64>, crate::StorageError> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT id FROM {table} WHERE child_id = $1 ORDER BY id")))
        .bind(child_id)
        .fetch_all(&mut **tx)
        .await?)
}

async fn move_rows(
    tx: &mut sqlx::Transaction<'_, Db>,
    table: &str,
    ids: &[i64],
    to_child: i64,
) -> Result<(), crate::StorageError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut update = sqlx::QueryBuilder::<Db>::new(format!("UPDATE {table} SET child_id = "));
    update.push_bind(to_child).push(" WHERE id");
    push_in_id_set(&mut update, ids);
    update.build().execute(&mut **tx).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct MergeParty {
    id: i64,
    given_name: String,
    family_name: String,
    shielded: bool,
    merged_into: Option<i64>,
    local_authority: String,
    name_source: String,
    name_supplied_at: chrono::DateTime<chrono::Utc>,
}

/// A record a merge may take part in: in the directory, in the authority the caller works
/// for (`within`; any for the system's own tasks), and not itself merged away.
async fn merge_party(
    tx: &mut sqlx::Transaction<'_, Db>,
    within: Option<&contactpoint_domain::LocalAuthorityCode>,
    id: &contactpoint_domain::ContactPointId,
    field: &str,
) -> Result<MergeParty, crate::StorageError> {
    // An update that changes nothing takes the row's lock on PostgreSQL (SQLite's transaction
    // holds the one write lock already), so two merges naming one record at once go one after
    // the other, and the second reads what the first committed: a record merged away.
    sqlx::query("UPDATE children SET merged_into = merged_into WHERE contactpoint_id = $1")
        .bind(id.as_digits())
        .execute(&mut **tx)
        .await?;
    let party: Option<MergeParty> = sqlx::query_as(
        "SELECT id, given_name, family_name, shielded, merged_into, local_authority, name_source, name_supplied_at \
         FROM children WHERE contactpoint_id = $1",
    )
    .bind(id.as_digits())
    .fetch_optional(&mut **tx)
    .await?;
    let party = party
        .filter(|p| within.is_none_or(|la| la.as_str() == p.local_authority))
        .ok_or_else(|| {
            crate::StorageError::Invalid(contactpoint_domain::FieldError::new(
                field,
                match within {
                    Some(_) => "the ContactPoint ID of a child your authority is responsible for",
                    None => "the ContactPoint ID of a child in the directory",
                },
            ))
        })?;
    if party.merged_into.is_some() {
        return Err(crate::StorageError::Invalid(contactpoint_domain::FieldError::new(
            field,
            "a record that has not itself been merged into another",
        )));
    }
    Ok(party)
}

/// Moves everything of `gone` to `keep` and retires `gone` into it, inside the caller's
/// transaction; returns the merge's id.
async fn merge_parties(
    tx: &mut sqlx::Transaction<'_, Db>,
    keep: MergeParty,
    gone: MergeParty,
    by_user_id: Option<i64>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<i64, crate::StorageError> {
    let mut moved = MergeMoved {
        involvements: ids_of(tx, "involvements", gone.id).await?,
        parents_carers: ids_of(tx, "parents_carers", gone.id).await?,
        former_names: ids_of(tx, "child_former_names", gone.id).await?,
        survivor_was_shielded: keep.shielded,
        ..MergeMoved::default()
    };
    move_rows(tx, "involvements", &moved.involvements, keep.id).await?;
    move_rows(tx, "parents_carers", &moved.parents_carers, keep.id).await?;
    move_rows(tx, "child_former_names", &moved.former_names, keep.id).await?;
    if gone.given_name != keep.given_name || gone.family_name != keep.family_name {
        let id = allocate_ids(tx, "child_former_names", 1).await?;
        sqlx::query(
            "INSERT INTO child_former_names (id, child_id, given_name, family_name, source, supplied_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(keep.id)
        .bind(&gone.given_name)
        .bind(&gone.family_name)
        .bind(&gone.name_source)
        .bind(gone.name_supplied_at)
        .execute(&mut **tx)
        .await?;
        moved.added_former_names.push(id);
    }
    moved.supplied_records = sqlx::query_as(
        "SELECT source, source_record_id FROM supplied_records WHERE child_id = $1 ORDER BY source, source_record_id",
    )
    .bind(gone.id)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query("UPDATE supplied_records SET child_id = $1 WHERE child_id = $2")
        .bind(keep.id)
        .bind(gone.id)
        .execute(&mut **tx)
        .await?;
    // A child is shielded if either record was: a merge never uncovers a child in hiding.
    sqlx::query("UPDATE children SET shielded = $1 WHERE id = $2")
        .bind(keep.shielded || gone.shielded)
        .bind(keep.id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE children SET merged_into = $1 WHERE id = $2")
        .bind(keep.id)
        .bind(gone.id)
        .execute(&mut **tx)
        .await?;
    forget_search_keys(tx, gone.id).await?;
    reindex_child(tx, keep.id).await?;
    let merge_id = allocate_ids(tx, "child_merges", 1).await?;
    sqlx::query(
        "INSERT INTO child_merges (id, survivor_child_id, retired_child_id, merged_at, merged_by_user_id, moved) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(merge_id)
    .bind(keep.id)
    .bind(gone.id)
    .bind(at)
    .bind(by_user_id)
    .bind(serde_json::to_string(&moved).unwrap_or_default())
    .execute(&mut **tx)
    .await?;
    Ok(merge_id)
}

/// Merges `retired` into `survivor` with its audit entry; returns the merge's id. Both must
/// be children of `within`, when given.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn merge_children(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    within: Option<&contactpoint_domain::LocalAuthorityCode>,
    survivor: &contactpoint_domain::ContactPointId,
    retired: &contactpoint_domain::ContactPointId,
    by_user_id: Option<i64>,
    at: chrono::DateTime<chrono::Utc>,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<i64, crate::StorageError> {
    if survivor == retired {
        return Err(crate::StorageError::Invalid(contactpoint_domain::FieldError::new(
            "retired",
            "a different child from the one that stays",
        )));
    }
    let mut tx = begin_read_then_write(pool).await?;
    let keep = merge_party(&mut tx, within, survivor, "survivor").await?;
    let gone = merge_party(&mut tx, within, retired, "retired").await?;
    let merge_id = merge_parties(&mut tx, keep, gone, by_user_id, at).await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(merge_id)
}

#[derive(sqlx::FromRow)]
struct MergeRow {
    survivor_child_id: i64,
    retired_child_id: i64,
    moved: String,
    local_authority: String,
}

/// Splits a merge back into the two records exactly as they were, with its audit entry. With
/// `within`, only a merge whose surviving record is a child of that authority.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn unmerge_children(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    within: Option<&contactpoint_domain::LocalAuthorityCode>,
    merge_id: i64,
    by_user_id: Option<i64>,
    at: chrono::DateTime<chrono::Utc>,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    // Held for the transaction, as a merge holds its records (`merge_party`).
    sqlx::query("UPDATE child_merges SET unmerged_at = unmerged_at WHERE id = $1")
        .bind(merge_id)
        .execute(&mut **tx)
        .await?;
    let merge: Option<MergeRow> = sqlx::query_as(
        "SELECT m.survivor_child_id, m.retired_child_id, m.moved, c.local_authority \
         FROM child_merges m JOIN children c ON c.id = m.survivor_child_id \
         WHERE m.id = $1 AND m.unmerged_at IS NULL",
    )
    .bind(merge_id)
    .fetch_optional(&mut **tx)
    .await?;
    let merge = merge.filter(|m| within.is_none_or(|la| la.as_str() == m.local_authority));
    let merge = merge.ok_or(crate::StorageError::NotFound { what: "merge not yet undone" })?;
    sqlx::query("UPDATE children SET merged_into = merged_into WHERE id = $1")
        .bind(merge.survivor_child_id)
        .execute(&mut **tx)
        .await?;
    let survivor_merged: Option<i64> = sqlx::query_scalar("SELECT merged_into FROM children WHERE id = $1")
        .bind(merge.survivor_child_id)
        .fetch_one(&mut **tx)
        .await?;
    if survivor_merged.is_some() {
        return Err(crate::StorageError::Invalid(contactpoint_domain::FieldError::new(
            "merge",
            "a merge whose surviving record has not since been merged into another (undo that one first)",
        )));
    }
    let moved: MergeMoved = serde_json::from_str(&merge.moved).map_err(|_| crate::StorageError::Corrupt {
        table: "child_merges",
        problem: contactpoint_domain::FieldError::new("moved", "the rows a merge moved"),
    })?;
    let back = merge.retired_child_id;
    move_rows(&mut tx, "involvements", &moved.involvements, back).await?;
    move_rows(&mut tx, "parents_carers", &moved.parents_carers, back).await?;
    move_rows(&mut tx, "child_former_names", &moved.former_names, back).await?;
    if !moved.added_former_names.is_empty() {
        let mut delete = sqlx::QueryBuilder::<Db>::new("DELETE FROM child_former_names WHERE id");
        push_in_id_set(&mut delete, &moved.added_former_names);
        delete.build().execute(&mut **tx).await?;
    }
    for (source, source_record_id) in &moved.supplied_records {
        sqlx::query(
            "UPDATE supplied_records SET child_id = $1 WHERE source = $2 AND source_record_id = $3 AND child_id = $4",
        )
        .bind(back)
        .bind(source)
        .bind(source_record_id)
        .bind(merge.survivor_child_id)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE children SET shielded = $1 WHERE id = $2")
        .bind(moved.survivor_was_shielded)
        .bind(merge.survivor_child_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE children SET merged_into = NULL WHERE id = $1")
        .bind(back)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE child_merges SET unmerged_at = $1, unmerged_by_user_id = $2 WHERE id = $3")
        .bind(at)
        .bind(by_user_id)
        .bind(merge_id)
        .execute(&mut **tx)
        .await?;
    reindex_child(&mut tx, merge.survivor_child_id).await?;
    reindex_child(&mut tx, back).await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

/// The ContactPoint ID a retired record leads to (itself when it was never merged); NotFound
/// for an unknown ID.
pub(crate) async fn current_contactpoint_id(
    pool: &sqlx::Pool<Db>,
    id: &contactpoint_domain::ContactPointId,
) -> Result<contactpoint_domain::ContactPointId, crate::StorageError> {
    let mut current = id.as_digits();
    // A chain of merges is followed to its end (bounded, in case of a cycle written by hand).
    for _ in 0..16 {
        let next: Option<Option<String>> = sqlx::query_scalar(
            "SELECT s.contactpoint_id FROM children c LEFT JOIN children s ON s.id = c.merged_into \
             WHERE c.contactpoint_id = $1",
        )
        .bind(&current)
        .fetch_optional(pool)
        .await?;
        match next {
            None => return Err(crate::StorageError::NotFound { what: "child" }),
            Some(None) => break,
            Some(Some(survivor)) => current = survivor,
        }
    }
    contactpoint_domain::ContactPointId::parse(&current).map_err(crate::StorageError::corrupt("children"))
}

#[derive(sqlx::FromRow)]
struct MergeListRow {
    id: i64,
    survivor: String,
    survivor_given_name: String,
    survivor_family_name: String,
    retired: String,
    retired_given_name: String,
    retired_family_name: String,
    merged_at: chrono::DateTime<chrono::Utc>,
    merged_by_user_id: Option<i64>,
    unmerged_at: Option<chrono::DateTime<chrono::Utc>>,
    unmerged_by_user_id: Option<i64>,
}

/// The latest 200 merges whose surviving record is a child of `within` (all, for `None`),
/// newest first, read with the audit entry of the look.
pub(crate) async fn child_merges(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    within: Option<&contactpoint_domain::LocalAuthorityCode>,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<Vec<crate::MergeRecord>, crate::StorageError> {
    use contactpoint_domain::ContactPointId;
    let mut query = sqlx::QueryBuilder::<Db>::new(
        "SELECT m.id, s.contactpoint_id AS survivor, s.given_name AS survivor_given_name, \
         s.family_name AS survivor_family_name, r.contactpoint_id AS retired, \
         r.given_name AS retired_given_name, r.family_name AS retired_family_name, m.merged_at, \
         m.merged_by_user_id, m.unmerged_at, m.unmerged_by_user_id \
         FROM child_merges m JOIN children s ON s.id = m.survivor_child_id \
         JOIN children r ON r.id = m.retired_child_id WHERE 1 = 1",
    );
    if let Some(la) = within {
        query.push(" AND s.local_authority = ").push_bind(la.as_str());
    }
    query.push(" ORDER BY m.merged_at DESC, m.id DESC LIMIT 200");
    let mut tx = begin_read_then_write(pool).await?;
    let rows: Vec<MergeListRow> = query.build_query_as().fetch_all(&mut **tx).await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    let corrupt = |e| crate::StorageError::corrupt("children")(e);
    rows.into_iter()
        .map(|row| {
            Ok(crate::MergeRecord {
                id: row.id,
                survivor: ContactPointId::parse(&row.survivor).map_err(&corrupt)?,
                survivor_name: format!("{} {}", row.survivor_given_name, row.survivor_family_name),
                retired: ContactPointId::parse(&row.retired).map_err(&corrupt)?,
                retired_name: format!("{} {}", row.retired_given_name, row.retired_family_name),
                merged_at: row.merged_at,
                merged_by_user_id: row.merged_by_user_id,
                unmerged_at: row.unmerged_at,
                unmerged_by_user_id: row.unmerged_by_user_id,
            })
        })
        .collect()
}

/// Two or more records side by side, as a merge compares them: each must be a child of
/// `within` (when given) not merged away; read with the audit entry of the look.
pub(crate) async fn children_to_compare(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    within: Option<&contactpoint_domain::LocalAuthorityCode>,
    ids: &[(&str, &contactpoint_domain::ContactPointId)],
    audit: &contactpoint_domain::AuditEvent,
) -> Result<Vec<crate::supply::LinkCandidate>, crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let mut children = Vec::with_capacity(ids.len());
    for (field, id) in ids {
        let party = merge_party(&mut tx, within, id, field).await?;
        let mut found = link_candidates_by_id(&mut tx, &[party.id]).await?;
        children.push(found.pop().ok_or(crate::StorageError::NotFound { what: "child" })?);
    }
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(children)
}
