// Included into each backend module (see backend.rs).

#[derive(sqlx::FromRow)]
struct LinkCandidateRow {
    id: i64,
    contactpoint_id: String,
    given_name: String,
    middle_names: Option<String>,
    family_name: String,
    gender: String,
    date_of_birth: chrono::NaiveDate,
    date_of_death: Option<chrono::NaiveDate>,
    local_authority: String,
    shielded: bool,
    name_source: String,
    name_supplied_at: chrono::DateTime<chrono::Utc>,
    gender_source: String,
    gender_supplied_at: chrono::DateTime<chrono::Utc>,
    date_of_birth_source: String,
    date_of_birth_supplied_at: chrono::DateTime<chrono::Utc>,
    address_source: String,
    address_supplied_at: chrono::DateTime<chrono::Utc>,
    date_of_death_source: Option<String>,
    date_of_death_supplied_at: Option<chrono::DateTime<chrono::Utc>>,
    line1: Option<String>,
    line2: Option<String>,
    town: Option<String>,
    postcode: Option<String>,
    former_family_names: Option<String>,
    former_given_names: Option<String>,
    earlier_postcodes: Option<String>,
    parents: Option<String>,
    supplied_by: Option<String>,
}


/// `given|family|relationship|given|...` as the candidates' read gathers them.
fn held_parents(gathered: Option<&str>) -> Result<Vec<crate::supply::HeldParent>, crate::StorageError> {
    let Some(gathered) = gathered.filter(|g| !g.is_empty()) else {
        return Ok(Vec::new());
    };
    let parts: Vec<&str> = gathered.split('|').collect();
    let parents = parts.chunks_exact(3);
    if !parents.remainder().is_empty() {
        return Err(crate::StorageError::corrupt("parents_carers")(contactpoint_domain::FieldError::new(
            "given_name",
            "a name without '|'",
        )));
    }
    Ok(parents
        .map(|p| crate::supply::HeldParent {
            given_name: p[0].to_owned(),
            family_name: p[1].to_owned(),
            relationship: p[2].to_owned(),
        })
        .collect())
}

/// `value|value|...` as the candidates' read gathers a child's names or postcodes.
fn gathered(values: Option<&str>) -> Vec<String> {
    values.unwrap_or_default().split('|').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn provenance(source: String, at: chrono::DateTime<chrono::Utc>) -> Result<contactpoint_domain::Provenance, crate::StorageError> {
    let source = contactpoint_domain::SourceCode::parse(&source).map_err(crate::StorageError::corrupt("children"))?;
    Ok(contactpoint_domain::Provenance::new(source, at))
}

/// Which children a candidate read is for.
#[derive(Clone, Copy)]
enum CandidateSelection<'a> {
    Ids(&'a [i64]),
    /// Those sharing the most of these search keys.
    Keys(&'a [i64]),
    /// Every child after this id, in id order, at most so many.
    After(i64, i64),
}

/// The children (not retired by a merge) with these database ids, as linkage needs them.
async fn link_candidates_by_id(
    tx: &mut sqlx::Transaction<'_, Db>,
    ids: &[i64],
) -> Result<Vec<crate::supply::LinkCandidate>, crate::StorageError> {
    link_candidates(tx, CandidateSelection::Ids(ids)).await
}

/// The children sharing the most search keys with a supplied record.
async fn link_candidates_by_keys(
    tx: &mut sqlx::Transaction<'_, Db>,
    keys: &[i64],
) -> Result<Vec<crate::supply::LinkCandidate>, crate::StorageError> {
    link_candidates(tx, CandidateSelection::Keys(keys)).await
}

/// One statement per read (each is a round trip to the database's thread): the children
/// with their current address, former family names and the suppliers that placed a record
/// on them (a source rarely sends one child twice, which is evidence against a match).
async fn link_candidates(
    tx: &mut sqlx::Transaction<'_, Db>,
    selection: CandidateSelection<'_>,
) -> Result<Vec<crate::supply::LinkCandidate>, crate::StorageError> {
    use contactpoint_domain::{child::ChildProvenance, Address, ContactPointId, Gender, LocalAuthorityCode, SourceCode};
    let mut query = sqlx::QueryBuilder::<Db>::new(
        "SELECT c.id, c.contactpoint_id, c.given_name, c.middle_names, c.family_name, c.gender, \
         c.date_of_birth, c.date_of_death, c.local_authority, c.shielded, c.name_source, \
         c.name_supplied_at, c.gender_source, c.gender_supplied_at, c.date_of_birth_source, \
         c.date_of_birth_supplied_at, c.address_source, c.address_supplied_at, \
         c.date_of_death_source, c.date_of_death_supplied_at, a.line1, a.line2, a.town, a.postcode, \
         (SELECT string_agg(f.family_name, '|' ORDER BY f.id) FROM child_former_names f WHERE f.child_id = c.id) \
           AS former_family_names, \
         (SELECT string_agg(f.given_name, '|' ORDER BY f.id) FROM child_former_names f \
           WHERE f.child_id = c.id AND f.given_name IS NOT NULL) AS former_given_names, \
         (SELECT string_agg(e.postcode, '|' ORDER BY e.id) FROM child_addresses e \
           WHERE e.child_id = c.id AND e.valid_to IS NOT NULL) AS earlier_postcodes, \
         (SELECT string_agg(p.given_name || '|' || p.family_name || '|' || p.relationship, '|' ORDER BY p.id) \
           FROM parents_carers p WHERE p.child_id = c.id) AS parents, \
         (SELECT string_agg(r.source, '|') FROM supplied_records r \
           WHERE r.child_id = c.id AND r.status IN ('linked', 'created')) AS supplied_by \
         FROM children c LEFT JOIN child_addresses a ON a.child_id = c.id AND a.valid_to IS NULL \
         WHERE c.merged_into IS NULL AND c.id",
    );
    match selection {
        CandidateSelection::Ids([]) | CandidateSelection::Keys([]) => return Ok(Vec::new()),
        CandidateSelection::Ids(ids) => push_in_id_set(&mut query, ids),
        CandidateSelection::Keys(keys) => {
            query.push(" IN (SELECT child_id FROM child_search_keys WHERE key");
            push_in_id_set(&mut query, keys);
            query
                .push(" GROUP BY child_id ORDER BY COUNT(*) DESC, child_id LIMIT ")
                .push_bind(crate::candidate_cache::LINK_CANDIDATE_LIMIT as i64)
                .push(")");
        }
        CandidateSelection::After(after, _) => {
            query.push(" > ").push_bind(after);
        }
    }
    query.push(" ORDER BY c.id");
    if let CandidateSelection::After(_, limit) = selection {
        query.push(" LIMIT ").push_bind(limit);
    }
    let rows: Vec<LinkCandidateRow> = query.build_query_as().fetch_all(&mut **tx).await?;
    let corrupt = crate::StorageError::corrupt;
    rows.into_iter()
        .map(|row| {
            let address = match (row.line1, row.town, row.postcode) {
                (Some(line1), Some(town), Some(postcode)) => Some(
                    Address::parse(&line1, row.line2.as_deref(), &town, &postcode)
                        .map_err(corrupt("child_addresses"))?,
                ),
                _ => None,
            };
            let date_of_death = match (row.date_of_death_source, row.date_of_death_supplied_at) {
                (Some(source), Some(at)) => Some(provenance(source, at)?),
                _ => None,
            };
            let mut supplied_by = row
                .supplied_by
                .as_deref()
                .unwrap_or_default()
                .split('|')
                .filter(|s| !s.is_empty())
                .map(|s| SourceCode::parse(s).map_err(corrupt("supplied_records")))
                .collect::<Result<Vec<_>, _>>()?;
            // In code order, each once, as `LinkCandidate::note_supplier` keeps them.
            supplied_by.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            supplied_by.dedup();
            Ok(crate::supply::LinkCandidate {
                child_id: row.id,
                contactpoint_id: ContactPointId::parse(&row.contactpoint_id).map_err(corrupt("children"))?,
                given_name: row.given_name,
                middle_names: row.middle_names,
                family_name: row.family_name,
                former_family_names: gathered(row.former_family_names.as_deref()),
                former_given_names: gathered(row.former_given_names.as_deref()),
                earlier_postcodes: gathered(row.earlier_postcodes.as_deref()),
                parents: held_parents(row.parents.as_deref())?,
                supplied_by,
                gender: Gender::parse(&row.gender).map_err(corrupt("children"))?,
                date_of_birth: row.date_of_birth,
                date_of_death: row.date_of_death,
                address,
                local_authority: LocalAuthorityCode::parse(&row.local_authority).map_err(corrupt("children"))?,
                shielded: row.shielded,
                provenance: ChildProvenance {
                    name: provenance(row.name_source, row.name_supplied_at)?,
                    gender: provenance(row.gender_source, row.gender_supplied_at)?,
                    date_of_birth: provenance(row.date_of_birth_source, row.date_of_birth_supplied_at)?,
                    address: provenance(row.address_source, row.address_supplied_at)?,
                    date_of_death,
                },
            })
        })
        .collect()
}

/// Where the directory stands: its newest audit entry and highest child id. Every change to
/// a child is audited or makes a child, so an unchanged mark means nothing else wrote.
async fn directory_mark(
    tx: &mut sqlx::Transaction<'_, Db>,
) -> Result<crate::candidate_cache::DirectoryMark, crate::StorageError> {
    let (newest_audit_entry, highest_child_id): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM audit_events), (SELECT COALESCE(MAX(id), 0) FROM children)",
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(crate::candidate_cache::DirectoryMark { newest_audit_entry, highest_child_id })
}

/// Every child a supplied record could be linked to, with its search keys, read in one
/// transaction (pages of children, then the keys in child order).
pub(crate) async fn candidate_cache(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
) -> Result<crate::candidate_cache::CandidateCache, crate::StorageError> {
    const PAGE: i64 = 20_000;
    let mut tx = pool.begin().await?;
    let mut cache = crate::candidate_cache::CandidateCache::new(directory_mark(&mut tx).await?);
    let mut after = 0;
    loop {
        let page = link_candidates(&mut tx, CandidateSelection::After(after, PAGE)).await?;
        let Some(last) = page.last() else { break };
        after = last.child_id;
        for child in page {
            cache.put(child);
        }
    }
    let mut ids: Vec<i64> = cache.child_ids().collect();
    ids.sort_unstable();
    for chunk in ids.chunks(PAGE as usize) {
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT child_id, key FROM child_search_keys WHERE child_id");
        push_in_id_set(&mut query, chunk);
        query.push(" ORDER BY child_id");
        let rows: Vec<(i64, i64)> = query.build_query_as().fetch_all(&mut *tx).await?;
        for same in rows.chunk_by(|a, b| a.0 == b.0) {
            cache.index(same[0].0, same.iter().map(|(_, key)| *key).collect());
        }
    }
    tx.commit().await?;
    Ok(cache)
}

/// The candidates of one record from a bulk load's copy: the children it would choose (as
/// chosen when its batch was scored ahead, if nothing has changed under its keys since), each
/// as held, except those the batch cannot take in before it ends (`fresh`: a child a record
/// sent again has moved away from), read again once what `writes` holds is written.
async fn link_candidates_held(
    tx: &mut sqlx::Transaction<'_, Db>,
    cache: &crate::candidate_cache::CandidateCache,
    keys: &[i64],
    chosen_ahead: Option<&crate::ChosenAhead>,
    fresh: &crate::candidate_cache::IdSet,
    writes: &mut ChildWrites,
) -> Result<Vec<std::sync::Arc<crate::supply::LinkCandidate>>, crate::StorageError> {
    let chosen = cache.chosen_again(keys, chosen_ahead);
    let (held, unheld): (Vec<i64>, Vec<i64>) =
        chosen.iter().partition(|id| !fresh.contains(id) && cache.child(**id).is_some());
    if !unheld.is_empty() {
        writes.flush(tx).await?;
    }
    let mut candidates: Vec<std::sync::Arc<crate::supply::LinkCandidate>> =
        held.iter().filter_map(|id| cache.child(*id)).cloned().collect();
    candidates.extend(link_candidates_by_id(tx, &unheld).await?.into_iter().map(std::sync::Arc::new));
    candidates.sort_by_key(|c| c.child_id);
    Ok(candidates)
}

fn shared(candidates: Vec<crate::supply::LinkCandidate>) -> Vec<std::sync::Arc<crate::supply::LinkCandidate>> {
    candidates.into_iter().map(std::sync::Arc::new).collect()
}

/// Brings the copy up to date with `ids` as the batch has written them (a child no longer in
/// the directory is forgotten).
async fn refresh_held(
    tx: &mut sqlx::Transaction<'_, Db>,
    cache: &mut crate::candidate_cache::CandidateCache,
    ids: &[i64],
) -> Result<(), crate::StorageError> {
    cache.take_read_back(read_back(tx, ids).await?);
    Ok(())
}

/// `ids` as the batch has written them, for the copy: each as a record would be handed her,
/// or gone from the directory.
async fn read_back(
    tx: &mut sqlx::Transaction<'_, Db>,
    ids: &[i64],
) -> Result<Vec<crate::candidate_cache::ReadBack>, crate::StorageError> {
    use crate::candidate_cache::ReadBack;
    let mut read = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        let found = link_candidates_by_id(tx, chunk).await?;
        let kept: std::collections::HashSet<i64> = found.iter().map(|c| c.child_id).collect();
        read.extend(chunk.iter().filter(|id| !kept.contains(id)).map(|id| ReadBack::Gone(*id)));
        read.extend(found.into_iter().map(|child| ReadBack::Held(Box::new(child))));
    }
    Ok(read)
}

/// Writes a child's search keys again after a merge or an unmerge changed what it holds, into
/// the index, and adds the words of its names to the spelling list.
async fn reindex_child(tx: &mut sqlx::Transaction<'_, Db>, child_id: i64) -> Result<(), crate::StorageError> {
    forget_search_keys(tx, child_id).await?;
    let found = read_candidates(tx, &crate::CandidateLookup::ByChildIds(vec![child_id])).await?;
    let findables: Vec<(i64, contactpoint_matching::search::Findable)> =
        found.into_iter().map(|c| (child_id, c.findable)).collect();
    insert_index_rows(tx, &findables, crate::SearchKeys::Indexed).await
}

/// `candidate` with `changes` applied as `apply_child_changes` writes them, exactly as
/// reading the child back would give it: the values and where they came from, the new
/// address and its authority, and the former names and parents and carers it did not
/// have, after those it had.
fn with_changes(
    candidate: &crate::supply::LinkCandidate,
    changes: &crate::supply::ChildChanges,
) -> crate::supply::LinkCandidate {
    let mut changed = candidate.clone();
    if let Some(name) = &changes.name {
        changed.given_name = name.given_name.as_str().to_owned();
        changed.middle_names = name.middle_names.as_ref().map(|m| m.as_str().to_owned());
        changed.family_name = name.family_name.as_str().to_owned();
        changed.provenance.name = stored(&name.provenance);
    }
    if let Some((gender, p)) = &changes.gender {
        changed.gender = *gender;
        changed.provenance.gender = stored(p);
    }
    if let Some((date, p)) = &changes.date_of_birth {
        changed.date_of_birth = *date;
        changed.provenance.date_of_birth = stored(p);
    }
    if let Some((date, p)) = &changes.date_of_death {
        changed.date_of_death = Some(*date);
        changed.provenance.date_of_death = Some(stored(p));
    }
    if let Some(change) = &changes.address {
        // The open address closes: it becomes an earlier one.
        if let Some(open) = changed.address.take() {
            changed.earlier_postcodes.push(open.postcode.as_str().to_owned());
        }
        changed.address = Some(change.address.clone());
        changed.provenance.address = stored(&change.provenance);
        if let Some(authority) = &change.local_authority {
            changed.local_authority = authority.clone();
        }
    }
    for former in &changes.former_names {
        let family_name = former.family_name.as_str();
        if !changed.former_family_names.iter().any(|known| known == family_name) {
            changed.former_family_names.push(family_name.to_owned());
            changed.former_given_names.extend(former.given_name.as_ref().map(|g| g.as_str().to_owned()));
        }
    }
    let mut known: Vec<_> = changed.parents.iter().map(crate::supply::HeldParent::folded).collect();
    for parent in changes.parents_carers.iter().map(crate::supply::HeldParent::from) {
        let key = parent.folded();
        if !known.contains(&key) {
            known.push(key);
            changed.parents.push(parent);
        }
    }
    changed
}

/// Records what became of supplied records (one row per identifier), in as few statements
/// as the backends allow.
async fn record_supplied_rows(
    tx: &mut sqlx::Transaction<'_, Db>,
    source: &contactpoint_domain::SourceCode,
    rows: &[SuppliedRow],
    supplied_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::StorageError> {
    for chunk in rows.chunks(rows_per_statement(7)) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO supplied_records (source, source_record_id, digest, status, child_id, exception_id, supplied_at) ",
        );
        insert.push_values(chunk, |mut row, r| {
            row.push_bind(source.as_str())
                .push_bind(r.source_record_id.as_str())
                .push_bind(r.digest.as_str())
                .push_bind(r.status.as_str())
                .push_bind(r.child_id)
                .push_bind(r.exception_id)
                .push_bind(supplied_at);
        });
        insert.push(
            " ON CONFLICT (source, source_record_id) DO UPDATE SET digest = excluded.digest, status = excluded.status, \
             child_id = excluded.child_id, exception_id = excluded.exception_id, supplied_at = excluded.supplied_at",
        );
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Records rejected rows under their identifiers, unless a record of the source is already
/// there, in as few statements as the backends allow.
async fn record_rejected_rows(
    tx: &mut sqlx::Transaction<'_, Db>,
    source: &contactpoint_domain::SourceCode,
    ids: &[String],
    supplied_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::StorageError> {
    for chunk in ids.chunks(rows_per_statement(5)) {
        let mut insert =
            sqlx::QueryBuilder::<Db>::new("INSERT INTO supplied_records (source, source_record_id, digest, status, supplied_at) ");
        insert.push_values(chunk, |mut row, id| {
            row.push_bind(source.as_str())
                .push_bind(id.as_str())
                .push_bind("")
                .push_bind(crate::supply::SupplyStatus::Rejected.code())
                .push_bind(supplied_at);
        });
        insert.push(" ON CONFLICT (source, source_record_id) DO NOTHING");
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SuppliedRow {
    source_record_id: String,
    digest: String,
    status: String,
    child_id: Option<i64>,
    exception_id: Option<i64>,
}

impl SuppliedRow {
    /// The exception the record waits in, if it waits.
    fn waiting_exception(&self) -> Option<i64> {
        (crate::supply::SupplyStatus::parse(&self.status) == Some(crate::supply::SupplyStatus::Exception))
            .then_some(self.exception_id)
            .flatten()
    }

    /// The child the record is on, once it was linked or created: the batch places it there
    /// again without looking for candidates.
    fn known_child(&self) -> Option<i64> {
        use crate::supply::SupplyStatus;
        matches!(SupplyStatus::parse(&self.status), Some(SupplyStatus::Linked | SupplyStatus::Created))
            .then_some(self.child_id)
            .flatten()
    }

    /// A record the batch passes over: the one supplied before, unless it waits and waiting
    /// records are being tried again.
    fn passes_over(before: Option<&Self>, record: &crate::supply::IncomingRecord, retry_waiting: bool) -> bool {
        before.is_some_and(|b| b.digest == record.digest && !(retry_waiting && b.waiting_exception().is_some()))
    }
}

/// What `source` supplied before under each of `ids`, by identifier.
async fn supplied_rows(
    tx: &mut sqlx::Transaction<'_, Db>,
    source: &contactpoint_domain::SourceCode,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, SuppliedRow>, sqlx::Error> {
    let mut seen = std::collections::HashMap::new();
    for chunk in ids.chunks(rows_per_statement(1).saturating_sub(1).max(1)) {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "SELECT source_record_id, digest, status, child_id, exception_id FROM supplied_records WHERE source = ",
        );
        query.push_bind(source.as_str()).push(" AND source_record_id IN ");
        push_text_list(&mut query, chunk);
        for row in query.build_query_as::<SuppliedRow>().fetch_all(&mut **tx).await? {
            seen.insert(row.source_record_id.clone(), row);
        }
    }
    Ok(seen)
}

/// For each of a batch's records, whether the batch will look for its candidates: false for a
/// record it passes over as unchanged and for one it places again on its known child. Read
/// outside the batch's transaction, so only a guide to work that may be done ahead.
pub(crate) async fn records_matched_against_candidates(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    source: &contactpoint_domain::SourceCode,
    records: &[crate::supply::IncomingRecord],
    retry_waiting: bool,
) -> Result<Vec<bool>, crate::StorageError> {
    let ids: Vec<&str> = records.iter().map(|r| r.source_record_id.as_str()).collect();
    let mut tx = pool.begin().await?;
    let seen = supplied_rows(&mut tx, source, &ids).await?;
    tx.rollback().await?;
    Ok(records
        .iter()
        .map(|record| {
            let before = seen.get(&record.source_record_id);
            !SuppliedRow::passes_over(before, record, retry_waiting) && before.and_then(SuppliedRow::known_child).is_none()
        })
        .collect())
}

/// The waiting exceptions of a batch's records, claimed on PostgreSQL before the batch takes
/// any allocator: all at once, in id order. A decision the team makes on an exception holds
/// its row and then numbers the child it creates; a batch that numbered a child first and
/// then waited for that row would deadlock with it. Claimed first, the batch waits for the
/// decision (and then leaves the record to it), or the decision for the batch. On SQLite one
/// writer at a time means each is claimed as its record is placed.
struct WaitingClaims {
    /// The exceptions asked for up front, and those of them still waiting when claimed.
    asked: std::collections::HashSet<i64>,
    claimed: std::collections::HashSet<i64>,
}

impl WaitingClaims {
    async fn claim(
        tx: &mut sqlx::Transaction<'_, Db>,
        batch: &crate::supply::SupplyBatch<'_>,
        seen: &std::collections::HashMap<String, SuppliedRow>,
    ) -> Result<Self, crate::StorageError> {
        let mut claims = Self { asked: std::collections::HashSet::new(), claimed: std::collections::HashSet::new() };
        if BACKEND != crate::Backend::Postgres {
            return Ok(claims);
        }
        let mut ids: Vec<i64> = batch
            .records
            .iter()
            .filter_map(|record| {
                let before = seen.get(&record.source_record_id);
                let placed = !SuppliedRow::passes_over(before, record, batch.retry_waiting);
                before.and_then(SuppliedRow::waiting_exception).filter(|_| placed)
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(5_000) {
            let mut lock = sqlx::QueryBuilder::<Db>::new("SELECT id FROM supply_exceptions WHERE resolution IS NULL AND id");
            push_in_id_set(&mut lock, chunk);
            lock.push(" ORDER BY id FOR UPDATE");
            let claimed: Vec<i64> = lock.build_query_scalar().fetch_all(&mut **tx).await?;
            claims.claimed.extend(claimed);
        }
        claims.asked.extend(ids);
        Ok(claims)
    }

    /// Whether the batch holds exception `id` for its record: claimed up front, or claimed
    /// now (one the batch raised itself, for a record sent twice in it; or on SQLite).
    async fn holds(&self, tx: &mut sqlx::Transaction<'_, Db>, id: i64) -> Result<bool, crate::StorageError> {
        if self.asked.contains(&id) {
            return Ok(self.claimed.contains(&id));
        }
        claim_waiting_exception(tx, id).await
    }
}

/// Holds a waiting exception for the transaction: false when it is no longer waiting (the
/// team decided it since it was read). An update that changes nothing takes the row's lock on
/// PostgreSQL; on SQLite the transaction already holds the database's write lock.
async fn claim_waiting_exception(tx: &mut sqlx::Transaction<'_, Db>, id: i64) -> Result<bool, crate::StorageError> {
    let claimed = sqlx::query("UPDATE supply_exceptions SET resolution = resolution WHERE id = $1 AND resolution IS NULL")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(claimed.rows_affected() == 1)
}

/// The record waiting in `id` has been placed after all (sent again, or tried again against
/// a fuller directory): the exception is closed as linked or created, by nobody.
async fn close_waiting_exception(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: i64,
    status: crate::supply::SupplyStatus,
    child_id: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::StorageError> {
    sqlx::query(
        "UPDATE supply_exceptions SET resolution = $1, resolved_child_id = $2, resolved_at = $3 \
         WHERE id = $4 AND resolution IS NULL",
    )
    .bind(status.code())
    .bind(child_id)
    .bind(at)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The record waiting in `id` waits still, with what it says and is like now: one exception
/// per record, never a stale one beside a new one.
async fn refresh_waiting_exception(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: i64,
    exception: &crate::supply::NewException,
    raised_at: chrono::DateTime<chrono::Utc>,
    // `None` keeps what the exception holds (the authority and the account it came with): a
    // retry judges a record by it, never restamps it.
    sent_by: Option<(bool, Option<i64>)>,
) -> Result<(), crate::StorageError> {
    let authoritative = sent_by.map(|(authoritative, _)| authoritative);
    let account = sent_by.and_then(|(_, account)| account);
    sqlx::query(
        "UPDATE supply_exceptions SET local_authority = $1, reason = $2, shielding_hold = $3, record = $4, \
         raised_at = $5, authoritative = COALESCE($6, authoritative), \
         supplier_account_id = CASE WHEN $6 IS NULL THEN supplier_account_id ELSE $7 END \
         WHERE id = $8 AND resolution IS NULL",
    )
    .bind(exception.local_authority.as_ref().map(|la| la.as_str()))
    .bind(exception.reason.code())
    .bind(exception.shielding_hold)
    .bind(exception.record.as_str())
    .bind(raised_at)
    .bind(authoritative)
    .bind(account)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM supply_exception_candidates WHERE exception_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    insert_exception_candidates(tx, id, &exception.candidates).await
}

#[derive(sqlx::FromRow)]
struct WaitingExceptionRow {
    local_authority: Option<String>,
    reason: String,
    shielding_hold: bool,
    record: String,
}

/// Whether the waiting exception `id` already says exactly what `exception` would: the same
/// team, reason, hold, record and candidates with the same probabilities.
async fn waits_as(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: i64,
    exception: &crate::supply::NewException,
) -> Result<bool, crate::StorageError> {
    let stored: Option<WaitingExceptionRow> = sqlx::query_as(
        "SELECT local_authority, reason, shielding_hold, record FROM supply_exceptions WHERE id = $1 AND resolution IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(stored) = stored else { return Ok(false) };
    if stored.local_authority.as_deref() != exception.local_authority.as_ref().map(|la| la.as_str())
        || stored.reason != exception.reason.code()
        || stored.shielding_hold != exception.shielding_hold
        || stored.record != exception.record
    {
        return Ok(false);
    }
    let mut candidates: Vec<(i64, f64)> =
        sqlx::query_as("SELECT child_id, probability FROM supply_exception_candidates WHERE exception_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    let mut wanted = exception.candidates.clone();
    candidates.sort_by_key(|(child_id, _)| *child_id);
    wanted.sort_by_key(|(child_id, _)| *child_id);
    Ok(candidates == wanted)
}

async fn insert_exception_candidates(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: i64,
    candidates: &[(i64, f64)],
) -> Result<(), crate::StorageError> {
    let of_exception: Vec<(i64, i64, f64)> = candidates.iter().map(|(child_id, p)| (id, *child_id, *p)).collect();
    insert_candidates_of_exceptions(tx, &of_exception).await
}

/// Writes candidates of exceptions: each an exception's id, a child's id and its probability.
async fn insert_candidates_of_exceptions(
    tx: &mut sqlx::Transaction<'_, Db>,
    candidates: &[(i64, i64, f64)],
) -> Result<(), crate::StorageError> {
    for chunk in candidates.chunks(rows_per_statement(3)) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO supply_exception_candidates (exception_id, child_id, probability) ",
        );
        insert.push_values(chunk, |mut row, (exception_id, child_id, probability)| {
            row.push_bind(*exception_id).push_bind(*child_id).push_bind(*probability);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct OpenInvolvementRow {
    id: i64,
    child_id: i64,
    service_id: i64,
    source: String,
    category: String,
    supplied_at: chrono::DateTime<chrono::Utc>,
    /// Came through an involvement file, or carries what only such a file gives (a
    /// practitioner, the lead professional, a CAF): never ended by a child record.
    fed: bool,
}

#[derive(sqlx::FromRow)]
struct NamedServiceRow {
    id: i64,
    reference: String,
    category: String,
}

/// An open involvement as the batch sees it: already stored (with its id) or started by
/// this batch.
struct OpenInvolvement {
    stored: Option<i64>,
    service_id: i64,
    source: String,
    category: String,
    supplied_at: chrono::DateTime<chrono::Utc>,
    fed: bool,
}

/// `(…)`: a parenthesised list of text values, one placeholder each.
fn push_text_list(query: &mut sqlx::QueryBuilder<Db>, values: &[&str]) {
    query.push("(");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value.to_string());
    }
    list.push_unseparated(")");
}

/// Whether a stored service category is of `kind` (an unknown one is of no kind).
fn is_of_kind(kind: crate::supply::NamedServiceKind, category: &str) -> bool {
    contactpoint_domain::ServiceCategory::parse(category).is_ok_and(|c| kind.includes(c))
}

/// Involves each child with the school and GP practice its record named, in the records'
/// order: an involvement starts (on the day the record was supplied) unless the child already
/// has an open one with that service, whoever supplied it, and one of the same kind that this
/// source's child records named before ends that day. Involvements other sources supplied
/// are theirs to end, and so are those that came through an involvement file or carry a
/// practitioner, the lead professional or a CAF; one supplied later than this record stays.
/// A handful of statements a batch: the services and the children's open involvements read
/// at once, then one update and one multi-row insert.
async fn apply_named_services(
    tx: &mut sqlx::Transaction<'_, Db>,
    source: &contactpoint_domain::SourceCode,
    supplied_at: chrono::DateTime<chrono::Utc>,
    named: &[(i64, &[crate::supply::NamedService])],
    summary: &mut crate::supply::BatchSummary,
) -> Result<(), crate::StorageError> {
    use std::collections::{BTreeSet, HashMap};
    if named.is_empty() {
        return Ok(());
    }
    let references: BTreeSet<&str> = named.iter().flat_map(|(_, n)| n.iter().map(|s| s.reference.as_str())).collect();
    let mut services: HashMap<String, NamedServiceRow> = HashMap::new();
    for chunk in references.into_iter().collect::<Vec<_>>().chunks(rows_per_statement(1)) {
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT id, reference, category FROM services WHERE reference IN ");
        push_text_list(&mut query, chunk);
        for row in query.build_query_as::<NamedServiceRow>().fetch_all(&mut **tx).await? {
            services.insert(row.reference.clone(), row);
        }
    }
    let children: Vec<i64> = named.iter().map(|(child, _)| *child).collect::<BTreeSet<_>>().into_iter().collect();
    // On PostgreSQL another import may be involving the same children at this moment, and
    // what it started is not seen until it commits: the children's rows are locked first (in
    // id order, as every import takes them here), so this batch waits for that one and then
    // reads what it started instead of starting the same involvement again. On SQLite the
    // transaction already holds the one write lock.
    if matches!(BACKEND, crate::Backend::Postgres) {
        let mut lock = sqlx::QueryBuilder::<Db>::new("SELECT id FROM children WHERE id");
        push_in_id_set(&mut lock, &children);
        lock.push(" ORDER BY id FOR UPDATE");
        lock.build().execute(&mut **tx).await?;
    }
    let mut query = sqlx::QueryBuilder::<Db>::new(
        "SELECT i.id, i.child_id, i.service_id, i.source, s.category, i.supplied_at, \
         (i.practitioner_id IS NOT NULL OR i.lead_professional OR i.caf_completed_on IS NOT NULL \
          OR EXISTS (SELECT 1 FROM supplied_involvements f WHERE f.involvement_id = i.id)) AS fed \
         FROM involvements i JOIN services s ON s.id = i.service_id WHERE i.ended_on IS NULL AND i.child_id",
    );
    push_in_id_set(&mut query, &children);
    let mut open: HashMap<i64, Vec<OpenInvolvement>> = HashMap::new();
    for row in query.build_query_as::<OpenInvolvementRow>().fetch_all(&mut **tx).await? {
        open.entry(row.child_id).or_default().push(OpenInvolvement {
            stored: Some(row.id),
            service_id: row.service_id,
            source: row.source,
            category: row.category,
            supplied_at: row.supplied_at,
            fed: row.fed,
        });
    }
    let mut ending: Vec<i64> = Vec::new();
    for (child_id, named) in named {
        let involvements = open.entry(*child_id).or_default();
        for wanted in named.iter() {
            let Some(service) = services
                .get(&wanted.reference)
                .filter(|s| is_of_kind(wanted.kind, &s.category))
            else {
                summary.services_unknown += 1;
                continue;
            };
            involvements.retain(|i| {
                let ends = i.source == source.as_str()
                    && !i.fed
                    && i.supplied_at <= supplied_at
                    && i.service_id != service.id
                    && is_of_kind(wanted.kind, &i.category);
                if let (true, Some(id)) = (ends, i.stored) {
                    ending.push(id);
                    summary.services_ended += 1;
                }
                !ends
            });
            if !involvements.iter().any(|i| i.service_id == service.id) {
                involvements.push(OpenInvolvement {
                    stored: None,
                    service_id: service.id,
                    source: source.as_str().to_owned(),
                    category: service.category.clone(),
                    supplied_at,
                    fed: false,
                });
            }
        }
    }
    let since = supplied_at.date_naive();
    if !ending.is_empty() {
        let mut update = sqlx::QueryBuilder::<Db>::new("UPDATE involvements SET ended_on = CASE WHEN started_on > ");
        update.push_bind(since).push(" THEN started_on ELSE ").push_bind(since).push(" END WHERE id");
        push_in_id_set(&mut update, &ending);
        update.build().execute(&mut **tx).await?;
    }
    let starting: Vec<(i64, i64)> = open
        .iter()
        .flat_map(|(child, involvements)| {
            involvements.iter().filter(|i| i.stored.is_none()).map(move |i| (*child, i.service_id))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    summary.services_started += starting.len();
    insert_numbered(
        tx,
        "involvements",
        &["child_id", "service_id", "started_on", "lead_professional", "source", "supplied_at"],
        &starting,
        |row, (child_id, service_id)| {
            row.push_bind(*child_id)
                .push_bind(*service_id)
                .push_bind(since)
                .push_bind(false)
                .push_bind(source.as_str())
                .push_bind(supplied_at);
        },
    )
    .await?;
    Ok(())
}

/// The local authority of each of these postcode districts the directory knows, read in one
/// statement for a whole batch (a statement per record was one round trip in every few).
async fn authorities_of_districts<'d>(
    tx: &mut sqlx::Transaction<'_, Db>,
    districts: impl Iterator<Item = &'d str>,
) -> Result<std::collections::HashMap<String, contactpoint_domain::LocalAuthorityCode>, crate::StorageError> {
    let wanted: Vec<&str> = districts.collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut found = std::collections::HashMap::new();
    for chunk in wanted.chunks(rows_per_statement(1)) {
        let mut query = sqlx::QueryBuilder::<Db>::new("SELECT district, local_authority FROM postcode_districts WHERE district IN ");
        push_text_list(&mut query, chunk);
        for (district, code) in query.build_query_as::<(String, String)>().fetch_all(&mut **tx).await? {
            let code = contactpoint_domain::LocalAuthorityCode::parse(&code).map_err(crate::StorageError::corrupt("postcode_districts"))?;
            found.insert(district, code);
        }
    }
    Ok(found)
}

/// The local authority (its code, as stored) of the organisation running each of these
/// services the directory knows, by the service's reference, read in one statement for a
/// whole batch: a statement each for the records without a known district was 1,230 of the
/// 7,223 statements a load of 20,000 children's files made.
async fn authorities_of_services<'r>(
    tx: &mut sqlx::Transaction<'_, Db>,
    references: impl Iterator<Item = &'r str>,
) -> Result<std::collections::HashMap<String, String>, crate::StorageError> {
    let wanted: Vec<&str> = references.collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut found = std::collections::HashMap::new();
    for chunk in wanted.chunks(rows_per_statement(1)) {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "SELECT s.reference, o.local_authority FROM services s JOIN organisations o ON o.id = s.organisation_id \
             WHERE s.reference IN ",
        );
        push_text_list(&mut query, chunk);
        found.extend(query.build_query_as::<(String, String)>().fetch_all(&mut **tx).await?);
    }
    Ok(found)
}

/// The children a batch has decided to make and not yet written, numbered as they are made,
/// and the exceptions it has raised (`RaisedExceptions`), written after them. Writing them
/// together takes one set of statements for many children instead of one set each, and loses
/// nothing: each is written before anything could read it or refer to it, and at the end of
/// the batch, so every record is placed against exactly the directory it would have seen had
/// each been written at once.
///
/// A load that reads its candidates from its own copy puts each child in the copy as it is
/// made, so a later record whose keys reach one is handed it from there; the children are
/// written early only when a record is sent again under the same identifier (it is placed on
/// its child, or its exception, as the database holds it), is linked to one of them (what it
/// brings is written to the child) or refreshes a waiting exception to name one (the
/// exception refers to it). A batch that reads its candidates from the database writes them
/// also before a record whose keys reach one.
struct PendingChildren {
    exceptions: RaisedExceptions,
    children: Vec<contactpoint_domain::ChildRecord>,
    /// Each child's database id, in the order they were made (so in increasing order).
    child_ids: Vec<i64>,
    /// For each child, the waiting exception the record that made it closes.
    closes: Vec<Option<i64>>,
    /// The identifiers of the records that made them.
    source_record_ids: std::collections::HashSet<String>,
    /// The search keys each child will be indexed under, and all of them together.
    keys_of: Vec<Vec<i64>>,
    keys: std::collections::HashSet<i64>,
    /// The ids for the children the batch makes.
    ids: IdBlock,
}

impl PendingChildren {
    fn of(batch: &crate::supply::SupplyBatch<'_>) -> Self {
        Self {
            exceptions: RaisedExceptions::of(batch),
            children: Vec::new(),
            child_ids: Vec::new(),
            closes: Vec::new(),
            source_record_ids: std::collections::HashSet::new(),
            keys_of: Vec::new(),
            keys: std::collections::HashSet::new(),
            ids: IdBlock::of("children"),
        }
    }

    /// Whether the record `source_record_id` made a child or raised an exception not yet
    /// written.
    fn made_for(&self, source_record_id: &str) -> bool {
        self.source_record_ids.contains(source_record_id) || self.exceptions.raised_for(source_record_id)
    }

    /// Numbers a child the batch makes, and holds it until it is written. The first child
    /// takes an id for each record still to be placed, so a batch numbers its children in one
    /// statement, in the order they are made, as writing each at once would. Returns its id,
    /// and the child as held with the keys it will be filed under.
    async fn add(
        &mut self,
        tx: &mut sqlx::Transaction<'_, Db>,
        child: contactpoint_domain::ChildRecord,
        source_record_id: &str,
        waiting: Option<i64>,
        still_to_place: usize,
    ) -> Result<(i64, &contactpoint_domain::ChildRecord, &[i64]), crate::StorageError> {
        let child_id = self.ids.next(tx, still_to_place).await?;
        let keys = crate::search_index::findable(&child).index_keys();
        self.keys.extend(&keys);
        self.keys_of.push(keys);
        self.child_ids.push(child_id);
        self.closes.push(waiting);
        self.source_record_ids.insert(source_record_id.to_owned());
        self.children.push(child);
        Ok((child_id, &self.children[self.children.len() - 1], &self.keys_of[self.keys_of.len() - 1]))
    }

    /// Whether `child_id` is one of the children waiting to be written.
    fn holds(&self, child_id: i64) -> bool {
        self.child_ids.binary_search(&child_id).is_ok()
    }

    /// Writes the children and closes the exceptions their records had waited in, then the
    /// exceptions raised; returns the children given a fresh ContactPoint ID (theirs was
    /// already in use), which are not as their records made them.
    async fn write(
        &mut self,
        tx: &mut sqlx::Transaction<'_, Db>,
        summary: &mut crate::supply::BatchSummary,
        decided_at: chrono::DateTime<chrono::Utc>,
        keys: crate::SearchKeys,
    ) -> Result<Vec<i64>, crate::StorageError> {
        let read_back = self.write_children(tx, summary, decided_at, keys).await?;
        self.exceptions.write(tx).await?;
        Ok(read_back)
    }

    async fn write_children(
        &mut self,
        tx: &mut sqlx::Transaction<'_, Db>,
        summary: &mut crate::supply::BatchSummary,
        decided_at: chrono::DateTime<chrono::Utc>,
        keys: crate::SearchKeys,
    ) -> Result<Vec<i64>, crate::StorageError> {
        if self.children.is_empty() {
            return Ok(Vec::new());
        }
        let report = insert_filed_children(tx, &self.children, &self.child_ids, &self.keys_of, keys).await?;
        for (child_id, waiting) in self.child_ids.iter().zip(&self.closes) {
            if let Some(waiting) = waiting {
                close_waiting_exception(tx, *waiting, crate::supply::SupplyStatus::Created, *child_id, decided_at).await?;
                summary.exceptions_closed += 1;
            }
        }
        let reissued: std::collections::HashSet<_> = report.reissued_ids.iter().map(|(old, _)| *old).collect();
        let read_back = self
            .child_ids
            .iter()
            .zip(&self.children)
            .filter(|(_, child)| reissued.contains(&child.contactpoint_id))
            .map(|(child_id, _)| *child_id)
            .collect();
        self.children.clear();
        self.child_ids.clear();
        self.closes.clear();
        self.source_record_ids.clear();
        self.keys_of.clear();
        self.keys.clear();
        Ok(read_back)
    }

    /// Gives back the ids taken and not given to a child or an exception, so that both stay
    /// numbered without gaps (`IdBlock`).
    async fn give_back_unused_ids(&mut self, tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), crate::StorageError> {
        self.ids.give_back_unused(tx).await?;
        self.exceptions.ids.give_back_unused(tx).await
    }
}

/// Writes what a batch holds: the values its linked records brought, then the children it
/// has made. A child given a fresh ContactPoint ID as it is written is read back into the
/// load's copy.
async fn write_what_is_held(
    tx: &mut sqlx::Transaction<'_, Db>,
    writes: &mut ChildWrites,
    pending: &mut PendingChildren,
    held: Option<&mut HeldDuringBatch<'_>>,
    summary: &mut crate::supply::BatchSummary,
    decided_at: chrono::DateTime<chrono::Utc>,
    keys: crate::SearchKeys,
) -> Result<(), crate::StorageError> {
    writes.flush(tx).await?;
    let read_back = pending.write(tx, summary, decided_at, keys).await?;
    if let Some(held) = held {
        refresh_held(tx, held.cache, &read_back).await?;
    }
    Ok(())
}

/// Where a value came from as the backend keeps it: the moment to the microsecond on
/// PostgreSQL, exactly on SQLite.
fn stored(provenance: &contactpoint_domain::Provenance) -> contactpoint_domain::Provenance {
    use chrono::SubsecRound;
    let at = provenance.supplied_at;
    let at = match BACKEND {
        crate::Backend::Postgres => at.trunc_subsecs(6),
        crate::Backend::Sqlite => at,
    };
    contactpoint_domain::Provenance::new(provenance.source.clone(), at)
}

/// The candidate a child written from `record` is, exactly as reading it back would give it
/// (`link_candidates`) before any supplier has placed a record on it.
fn written_candidate(child_id: i64, record: &contactpoint_domain::ChildRecord) -> crate::supply::LinkCandidate {
    let provenance = &record.provenance;
    crate::supply::LinkCandidate {
        child_id,
        contactpoint_id: record.contactpoint_id,
        given_name: record.given_name.as_str().to_owned(),
        middle_names: record.middle_names.as_ref().map(|m| m.as_str().to_owned()),
        family_name: record.family_name.as_str().to_owned(),
        former_family_names: record.former_names.iter().map(|f| f.family_name.as_str().to_owned()).collect(),
        former_given_names: record
            .former_names
            .iter()
            .filter_map(|f| f.given_name.as_ref().map(|g| g.as_str().to_owned()))
            .collect(),
        earlier_postcodes: record.address_history.iter().map(|h| h.address.postcode.as_str().to_owned()).collect(),
        parents: record.parents_carers.iter().map(crate::supply::HeldParent::from).collect(),
        supplied_by: Vec::new(),
        gender: record.gender,
        date_of_birth: record.date_of_birth,
        date_of_death: record.date_of_death,
        address: record.address.address().cloned(),
        local_authority: record.local_authority.clone(),
        shielded: record.shielded,
        provenance: contactpoint_domain::child::ChildProvenance {
            name: stored(&provenance.name),
            gender: stored(&provenance.gender),
            date_of_birth: stored(&provenance.date_of_birth),
            address: stored(&provenance.address),
            date_of_death: provenance.date_of_death.as_ref().map(stored),
        },
    }
}

/// A bulk load's copy of the candidates during one batch: a child whose compared values a
/// record changed, or that the batch made, is taken into the copy at once, and the supplier is
/// noted on a child as a record is linked to her; a child a record sent again moved away from
/// (`fresh`) is read from the database rather than from the copy until the batch ends. At its
/// end the copy takes those in, and any child the batch placed a record on that it does not
/// hold.
struct HeldDuringBatch<'c> {
    cache: &'c mut crate::candidate_cache::CandidateCache,
    fresh: crate::candidate_cache::IdSet,
}

impl HeldDuringBatch<'_> {
    /// Takes in a child whose compared values a record has just changed, now: every later
    /// record of the batch that reaches it is handed it from the copy. (Read again by each of
    /// them instead, a file that moves many children read a child a record for every record
    /// that reached it.) The copy applies the changes to the candidate the record was linked
    /// to, as they were written, rather than reading the child back; without that candidate
    /// it reads the child. Its supplier is noted as she is linked, as on any child a record
    /// of the batch is linked to.
    async fn changed(
        &mut self,
        tx: &mut sqlx::Transaction<'_, Db>,
        linked: Option<&crate::supply::LinkCandidate>,
        changes: &crate::supply::ChildChanges,
        child_id: i64,
        writes: &mut ChildWrites,
    ) -> Result<(), crate::StorageError> {
        match linked {
            Some(candidate) => {
                self.cache.put(with_changes(candidate, changes));
                Ok(())
            }
            None => {
                writes.flush(tx).await?;
                refresh_held(tx, self.cache, &[child_id]).await
            }
        }
    }

    /// Takes in a child the batch has just made, before it is written, from the record it is
    /// made from, with `source` as its supplier (reading the children back once written cost
    /// a statement per batch's worth and the rows it read): a record reaching it later in the
    /// batch is handed it from the copy.
    fn made(
        &mut self,
        child_id: i64,
        record: &contactpoint_domain::ChildRecord,
        keys: &[i64],
        source: &contactpoint_domain::SourceCode,
    ) {
        self.cache.index(child_id, keys.to_vec());
        let mut candidate = written_candidate(child_id, record);
        candidate.note_supplier(source);
        self.cache.put(candidate);
    }
}

/// Imports one batch in one transaction: records seen before with the same values are
/// skipped, the rest are placed by `place` and applied, rejected identifiers are recorded,
/// and `audit`'s entry (if any) is appended before the commit.
pub(crate) async fn import_supply_batch(
    pool: &sqlx::Pool<Db>,
    permit: &contactpoint_domain::Permit,
    batch: &crate::supply::SupplyBatch<'_>,
    mut cache: Option<&mut crate::candidate_cache::CandidateCache>,
    place: &mut crate::supply::Placer<'_>,
    audit: &crate::supply::BatchAudit<'_>,
) -> Result<crate::supply::BatchSummary, crate::StorageError> {
    let placed = place_supply_batch(pool, permit, batch, cache.as_deref_mut(), place).await?;
    let finished = placed.finish(audit).await?;
    Ok(finished.settle_copy(cache))
}

/// Places one batch in a transaction it leaves open (`import_supply_batch`), and returns
/// it with what the batch holds to write: records seen before with the same values are
/// skipped, the rest are placed by `place`, and the children made or changed are taken into
/// `cache` as they are placed. What the copy can only take in once the batch is written is
/// read back as it finishes (`PlacedBatch::finish`), so the copy may be read while it does.
pub(crate) async fn place_supply_batch(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    batch: &crate::supply::SupplyBatch<'_>,
    cache: Option<&mut crate::candidate_cache::CandidateCache>,
    place: &mut crate::supply::Placer<'_>,
) -> Result<PlacedBatch, crate::StorageError> {
    use crate::supply::{Placement, PlacementContext, SupplyStatus};

    let mut summary = crate::supply::BatchSummary::default();
    let mut tx = begin_read_then_write(pool).await?;
    let mut held = None;
    if let Some(cache) = cache.filter(|c| c.trusted) {
        // Not trusted again until this batch has committed what it did to the copy.
        cache.trusted = false;
        if directory_mark(&mut tx).await? == cache.mark {
            held = Some(HeldDuringBatch { cache, fresh: crate::candidate_cache::IdSet::default() });
        } else {
            tracing::warn!(
                "something else wrote to the directory during this load: candidates are read from the database from here on"
            );
        }
    }
    // On SQLite a load whose candidates come from its own copy sets the search keys of the
    // children it makes or changes aside, where each lands at the end of the table instead of
    // somewhere in the index, and indexes them as the load ends (`Store::index_set_aside_keys`):
    // its copy already files them. A batch that looks for candidates in the index itself (an
    // upload, a retry, a load that something else wrote beside) first indexes whatever is set
    // aside; SQLite's one writer at a time means nothing is set aside again before it commits.
    // On PostgreSQL a batch beside it would not see keys a load commits meanwhile, so there
    // every batch indexes its keys at once.
    let search_keys = if held.is_some() && BACKEND == crate::Backend::Sqlite {
        crate::SearchKeys::SetAside
    } else {
        index_set_aside_keys_here(&mut tx).await?;
        crate::SearchKeys::Indexed
    };
    // The values linked records bring, written together when the batch next reads a child
    // from the database, and as its records are all placed.
    let mut writes = ChildWrites::new(search_keys);

    let ids: Vec<&str> = batch
        .records
        .iter()
        .map(|r| r.source_record_id.as_str())
        .chain(batch.rejected_ids.iter().map(String::as_str))
        .collect();
    let mut seen = supplied_rows(&mut tx, batch.source, &ids).await?;

    let districts = authorities_of_districts(&mut tx, batch.records.iter().filter_map(|r| r.postcode_district.as_deref())).await?;
    let without_district_authority = batch
        .records
        .iter()
        .filter(|r| !r.postcode_district.as_ref().is_some_and(|d| districts.contains_key(d)));
    let service_authorities =
        authorities_of_services(&mut tx, without_district_authority.flat_map(|r| r.service_references.iter().map(String::as_str)))
            .await?;
    let claims = WaitingClaims::claim(&mut tx, batch, &seen).await?;
    let mut pending = PendingChildren::of(batch);
    let mut early_writes = 0usize;
    // The records linked or created that name a school or GP practice, in order, with their
    // child.
    let mut named: Vec<(i64, &[crate::supply::NamedService])> = Vec::new();
    // Records placed by this batch, and the children they went to: supplied_records is written
    // at the end, so a candidate placed earlier in the batch learns of this source from here.
    let mut placed_here: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut placed_children = crate::candidate_cache::IdSet::default();
    for (index, record) in batch.records.iter().enumerate() {
        // The children the batch has made, and the exceptions it has raised, are written before
        // anything could read them: a record sent again under the same identifier, and, when
        // candidates are read from the database, one whose keys reach one of the children.
        let reaches_unwritten = held.is_none() && record.probe_keys.iter().any(|k| pending.keys.contains(k));
        if pending.made_for(&record.source_record_id) || reaches_unwritten {
            early_writes += usize::from(!pending.children.is_empty());
            write_what_is_held(&mut tx, &mut writes, &mut pending, held.as_mut(), &mut summary, batch.decided_at, search_keys)
                .await?;
        }
        let before = seen.get(&record.source_record_id);
        let waiting = before.and_then(SuppliedRow::waiting_exception);
        if SuppliedRow::passes_over(before, record, batch.retry_waiting) {
            summary.unchanged += 1;
            continue;
        }
        // A waiting record's exception is held for this transaction (on PostgreSQL the row is
        // locked until the commit); one the team has decided since it was read is left to them.
        if let Some(id) = waiting {
            if !claims.holds(&mut tx, id).await? {
                summary.unchanged += 1;
                continue;
            }
        }
        let known_child = before.and_then(SuppliedRow::known_child);
        if let (Some(held), Some(before)) = (held.as_mut(), before.and_then(|b| b.child_id)) {
            // The child the record was on may lose this source.
            held.fresh.insert(before);
        }
        // What the batch holds to write is written before a candidate is read from the
        // database.
        let mut candidates = match (known_child, held.as_ref()) {
            (Some(child_id), _) => {
                writes.flush(&mut tx).await?;
                shared(link_candidates_by_id(&mut tx, &[child_id]).await?)
            }
            (None, Some(held)) => {
                link_candidates_held(
                    &mut tx,
                    held.cache,
                    &record.probe_keys,
                    record.chosen_ahead.as_ref(),
                    &held.fresh,
                    &mut writes,
                )
                .await?
            }
            (None, None) => {
                writes.flush(&mut tx).await?;
                shared(link_candidates_by_keys(&mut tx, &record.probe_keys).await?)
            }
        };
        for candidate in &mut candidates {
            if placed_children.contains(&candidate.child_id) && !candidate.supplied_by.contains(batch.source) {
                std::sync::Arc::make_mut(candidate).note_supplier(batch.source);
            }
        }
        let district_authority = record.postcode_district.as_ref().and_then(|d| districts.get(d).cloned());
        // Without an authority for its postcode, the first service it names that the
        // directory knows gives one.
        let service_authority = match district_authority {
            Some(_) => None,
            None => record
                .service_references
                .iter()
                .find_map(|reference| service_authorities.get(reference))
                .map(|code| contactpoint_domain::LocalAuthorityCode::parse(code))
                .transpose()
                .map_err(crate::StorageError::corrupt("organisations"))?,
        };
        let placement = place(&PlacementContext {
            index,
            candidates: &candidates,
            known_child,
            district_authority: district_authority.as_ref(),
            service_authority: service_authority.as_ref(),
        });
        let (status, child_id, exception_id) = match placement {
            Placement::Link { child_id, changes } => {
                // What the record brings is written to a child in the database.
                if pending.holds(child_id) {
                    early_writes += 1;
                    write_what_is_held(&mut tx, &mut writes, &mut pending, held.as_mut(), &mut summary, batch.decided_at, search_keys)
                        .await?;
                    // Written, she may have been given a fresh ContactPoint ID and read back: the
                    // copy holds her as written.
                    let written = held.as_ref().and_then(|held| held.cache.child(child_id));
                    if let (Some(written), Some(handed)) = (written, candidates.iter_mut().find(|c| c.child_id == child_id)) {
                        *handed = std::sync::Arc::clone(written);
                    }
                }
                // The candidate linked to holds the child as it stands, its parents too: one the
                // batch has changed was taken in again before it was handed over.
                let linked = candidates.iter().find(|c| c.child_id == child_id).map(|c| &**c);
                let applied = writes.apply(&mut tx, child_id, &changes, linked).await?;
                if applied.changed {
                    summary.updated += 1;
                }
                if let (Some(held), Some(keys)) = (held.as_mut(), applied.reindexed) {
                    held.cache.index(child_id, keys);
                }
                if let Some(held) = held.as_mut().filter(|_| applied.changed) {
                    held.changed(&mut tx, linked, &changes, child_id, &mut writes).await?;
                }
                // The copy notes this supplier on her now, so each later record of the batch is
                // handed her as she will be read (copying her for every record that reached her
                // took a twentieth of a load's main thread).
                if let Some(held) = held.as_mut() {
                    held.cache.supplied(child_id, batch.source);
                }
                summary.linked += 1;
                if let Some(waiting) = waiting {
                    close_waiting_exception(&mut tx, waiting, SupplyStatus::Linked, child_id, batch.decided_at).await?;
                    summary.exceptions_closed += 1;
                }
                (SupplyStatus::Linked, Some(child_id), None)
            }
            Placement::Create(child) => {
                summary.created += 1;
                let still_to_place = batch.records.len() - index;
                let (child_id, made, keys) =
                    pending.add(&mut tx, *child, &record.source_record_id, waiting, still_to_place).await?;
                if let Some(held) = held.as_mut() {
                    held.made(child_id, made, keys, batch.source);
                }
                (SupplyStatus::Created, Some(child_id), None)
            }
            Placement::Exception(exception) => {
                // A waiting exception refreshed names its candidates, which must be in the
                // database; one raised is written with the children the batch makes.
                if waiting.is_some() && exception.candidates.iter().any(|(child_id, _)| pending.holds(*child_id)) {
                    early_writes += 1;
                    write_what_is_held(&mut tx, &mut writes, &mut pending, held.as_mut(), &mut summary, batch.decided_at, search_keys)
                        .await?;
                }
                // A record tried again that would wait exactly as it waits (same values, same
                // candidates, same reason) is left as it is: a scheduled pass over an unchanged
                // queue writes nothing and leaves nothing on the audit trail.
                let unchanged_values = before.is_some_and(|b| b.digest == record.digest);
                if let Some(id) = waiting.filter(|_| batch.retry_waiting && unchanged_values) {
                    if waits_as(&mut tx, id, &exception).await? {
                        summary.unchanged += 1;
                        continue;
                    }
                }
                let id = match waiting {
                    Some(id) => {
                        let sent_by = (!batch.retry_waiting).then_some((batch.authoritative, batch.supplier_account_id));
                        refresh_waiting_exception(&mut tx, id, &exception, batch.supplied_at, sent_by).await?;
                        summary.exceptions_refreshed += 1;
                        id
                    }
                    None => {
                        let still_to_place = batch.records.len() - index;
                        pending.exceptions.raise(&mut tx, &record.source_record_id, exception, still_to_place).await?
                    }
                };
                summary.exceptions += 1;
                (SupplyStatus::Exception, None, Some(id))
            }
        };
        if let Some(child_id) = child_id {
            placed_children.insert(child_id);
        }
        if let Some(child_id) = child_id.filter(|_| !record.named_services.is_empty()) {
            named.push((child_id, record.named_services.as_slice()));
        }
        placed_here.insert(record.source_record_id.clone());
        // The same identifier again later in the batch updates what this placed.
        seen.insert(
            record.source_record_id.clone(),
            SuppliedRow {
                source_record_id: record.source_record_id.clone(),
                digest: record.digest.clone(),
                status: status.code().to_owned(),
                child_id,
                exception_id,
            },
        );
    }

    // How often a record needed a child the batch had yet to write (each time, the children
    // waiting were written there and then): what batching creations saves, at this size.
    tracing::debug!(records = batch.records.len(), created = summary.created, early_writes, "supplied batch placed");
    // The copy noted this supplier on every child it holds as a record was placed on her; a
    // child placed on that it does not hold is read back as the batch commits, with `fresh`.
    let read_back_for_copy = held.map(|held| {
        let unheld = placed_children.iter().filter(|id| held.cache.child(**id).is_none());
        let mut read_back: Vec<i64> = held.fresh.iter().chain(unheld).copied().collect();
        read_back.sort_unstable();
        read_back.dedup();
        read_back
    });
    // What became of each record, written once per batch (an identifier sent twice in the
    // batch is written as it ended), and the rejected rows not placed before, each once.
    let placed_rows: Vec<SuppliedRow> = placed_here.iter().filter_map(|id| seen.remove(id)).collect();
    let mut rejected = std::collections::HashSet::new();
    let rejected_ids: Vec<String> = batch
        .rejected_ids
        .iter()
        .filter(|id| !seen.contains_key(*id) && !placed_here.contains(*id) && rejected.insert(*id))
        .cloned()
        .collect();
    Ok(PlacedBatch {
        tx,
        summary,
        writes,
        pending,
        search_keys,
        named: named.into_iter().map(|(child_id, services)| (child_id, services.to_vec())).collect(),
        placed_rows,
        rejected_ids,
        source: batch.source.clone(),
        supplied_at: batch.supplied_at,
        decided_at: batch.decided_at,
        read_back_for_copy,
    })
}

/// A batch placed in its open transaction, with what it holds to write (`place_supply_batch`).
/// It owns all it needs, so it may finish while the caller gets the next batch ready.
pub(crate) struct PlacedBatch {
    tx: ReadThenWrite,
    summary: crate::supply::BatchSummary,
    writes: ChildWrites,
    pending: PendingChildren,
    search_keys: crate::SearchKeys,
    /// The children placed that their records name a school or GP practice of, in order.
    named: Vec<(i64, Vec<crate::supply::NamedService>)>,
    /// What became of each record the batch placed.
    placed_rows: Vec<SuppliedRow>,
    /// The identifiers of rejected rows no record of the source was placed under, each once.
    rejected_ids: Vec<String>,
    source: contactpoint_domain::SourceCode,
    supplied_at: chrono::DateTime<chrono::Utc>,
    decided_at: chrono::DateTime<chrono::Utc>,
    /// When placed from the load's copy: the children it takes in from the database once
    /// written (`HeldDuringBatch::fresh`, and those the batch placed a record on that it does
    /// not hold).
    read_back_for_copy: Option<Vec<i64>>,
}

impl PlacedBatch {
    pub(crate) fn placed_from_copy(&self) -> bool {
        self.read_back_for_copy.is_some()
    }

    /// Writes what the batch holds, records what became of each record and each rejected
    /// row, appends `audit`'s entry (if any) and commits. Returns what the batch did and, if
    /// it was placed from the load's copy, what the copy takes in now that it has committed.
    pub(crate) async fn finish(
        mut self,
        audit: impl FnOnce(&crate::supply::BatchSummary) -> Option<contactpoint_domain::AuditEvent>,
    ) -> Result<crate::supply::FinishedSupplyBatch, crate::StorageError> {
        let tx = &mut self.tx;
        let summary = &mut self.summary;
        self.writes.flush(tx).await?;
        let reissued = self.pending.write(tx, summary, self.decided_at, self.search_keys).await?;
        self.pending.give_back_unused_ids(tx).await?;
        let named: Vec<(i64, &[crate::supply::NamedService])> =
            self.named.iter().map(|(child_id, services)| (*child_id, services.as_slice())).collect();
        apply_named_services(tx, &self.source, self.supplied_at, &named, summary).await?;
        record_supplied_rows(tx, &self.source, &self.placed_rows, self.supplied_at).await?;
        record_rejected_rows(tx, &self.source, &self.rejected_ids, self.supplied_at).await?;
        summary.rejected += self.rejected_ids.len();

        if let Some(event) = audit(summary) {
            append_audit(tx, &event).await?;
        }
        // A child given a fresh ContactPoint ID as she was written, and those placed on that
        // the copy could not take in as they were placed, are read back for it.
        let copy = match &self.read_back_for_copy {
            Some(fresh) => {
                let mut update = crate::candidate_cache::CopyUpdate::default();
                update.read(read_back(tx, &reissued).await?);
                update.read(read_back(tx, fresh).await?);
                Some(update.marked(directory_mark(tx).await?))
            }
            None => None,
        };
        self.tx.commit().await?;
        Ok(crate::supply::FinishedSupplyBatch { summary: self.summary, copy })
    }
}

#[derive(sqlx::FromRow)]
struct WaitingRow {
    source_record_id: String,
    record: String,
    raised_at: chrono::DateTime<chrono::Utc>,
    authoritative: Option<bool>,
}

pub(crate) async fn source_coverage(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    source: &contactpoint_domain::SourceCode,
) -> Result<crate::supply::SourceCoverage, crate::StorageError> {
    // Records, not distinct children, are counted: seven times cheaper (0.6 s against 4.4 s
    // at 1,000,000 children on SQLite), and a merge moves the retired child's records to the
    // survivor. A child the source sent twice counts twice.
    let (children, held): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM children WHERE merged_into IS NULL), \
         (SELECT COUNT(*) FROM supplied_records WHERE source = $1 AND status IN ('linked', 'created'))",
    )
    .bind(source.as_str())
    .fetch_one(pool)
    .await?;
    Ok(crate::supply::SourceCoverage {
        children: u64::try_from(children).unwrap_or_default(),
        held: u64::try_from(held).unwrap_or_default(),
    })
}

/// The local authority of each of `districts` that the directory knows: a read of reference
/// data, outside any batch.
pub(crate) async fn district_authorities(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    districts: &[&str],
) -> Result<std::collections::HashMap<String, contactpoint_domain::LocalAuthorityCode>, crate::StorageError> {
    let mut tx = pool.begin().await?;
    let found = authorities_of_districts(&mut tx, districts.iter().copied()).await?;
    tx.rollback().await?;
    Ok(found)
}

/// A page of a source's records still waiting for the local team, in identifier order.
pub(crate) async fn waiting_records(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    source: &contactpoint_domain::SourceCode,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<crate::supply::WaitingRecord>, crate::StorageError> {
    let rows: Vec<WaitingRow> = sqlx::query_as(
        "SELECT r.source_record_id, e.record, e.raised_at, \
         CASE WHEN a.revoked_at IS NOT NULL THEN FALSE ELSE e.authoritative END AS authoritative \
         FROM supplied_records r \
         JOIN supply_exceptions e ON e.id = r.exception_id \
         LEFT JOIN supplier_accounts a ON a.id = e.supplier_account_id \
         WHERE r.source = $1 AND r.status = 'exception' AND e.resolution IS NULL AND r.source_record_id > $2 \
         ORDER BY r.source_record_id LIMIT $3",
    )
    .bind(source.as_str())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| crate::supply::WaitingRecord {
            source_record_id: row.source_record_id,
            record: row.record,
            raised_at: row.raised_at,
            authoritative: row.authoritative,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct SupplyLinkRow {
    source_record_id: String,
    status: String,
    contactpoint_id: Option<String>,
}

/// A page of what became of a source's records, in identifier order, after `after`.
pub(crate) async fn supply_links(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    source: &contactpoint_domain::SourceCode,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<crate::supply::SupplyLink>, crate::StorageError> {
    // A record placed on a child that was later merged into another leads to the survivor.
    let rows: Vec<SupplyLinkRow> = sqlx::query_as(
        "SELECT r.source_record_id, r.status, COALESCE(s.contactpoint_id, c.contactpoint_id) AS contactpoint_id \
         FROM supplied_records r LEFT JOIN children c ON c.id = r.child_id \
         LEFT JOIN children s ON s.id = c.merged_into \
         WHERE r.source = $1 AND r.source_record_id > $2 ORDER BY r.source_record_id LIMIT $3",
    )
    .bind(source.as_str())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(crate::supply::SupplyLink {
                status: crate::supply::SupplyStatus::parse(&row.status).ok_or_else(|| crate::StorageError::Corrupt {
                    table: "supplied_records",
                    problem: contactpoint_domain::FieldError::new("status", "linked, created, exception or rejected"),
                })?,
                contactpoint_id: row
                    .contactpoint_id
                    .map(|id| contactpoint_domain::ContactPointId::parse(&id))
                    .transpose()
                    .map_err(crate::StorageError::corrupt("children"))?,
                source_record_id: row.source_record_id,
            })
        })
        .collect()
}

/// The suppliers the directory knows.
pub(crate) async fn source_codes(pool: &sqlx::Pool<Db>) -> Result<Vec<contactpoint_domain::SourceCode>, crate::StorageError> {
    let codes: Vec<String> = sqlx::query_scalar("SELECT code FROM sources ORDER BY code").fetch_all(pool).await?;
    codes
        .iter()
        .map(|c| contactpoint_domain::SourceCode::parse(c).map_err(crate::StorageError::corrupt("sources")))
        .collect()
}
