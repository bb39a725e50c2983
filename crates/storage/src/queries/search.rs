// Included into each backend module (see backend.rs).

/// Removes a child's search keys, from the index and from any a stopped load set aside (which
/// would otherwise come back when moved).
async fn forget_search_keys(tx: &mut sqlx::Transaction<'_, Db>, child_id: i64) -> Result<(), crate::StorageError> {
    for table in ["child_search_keys", "child_search_keys_set_aside"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE child_id = $1")))
            .bind(child_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Writes the search keys of children (database id and what the index needs of each), into
/// the index or aside as `placement` says, and adds the words of their names to the
/// spelling list.
async fn insert_index_rows(
    tx: &mut sqlx::Transaction<'_, Db>,
    children: &[(i64, contactpoint_matching::search::Findable)],
    placement: crate::SearchKeys,
) -> Result<(), crate::StorageError> {
    insert_key_rows(tx, children, placement).await?;
    insert_spellings(tx, children).await
}

/// Writes the search keys of children, into the index or aside as `placement` says.
async fn insert_key_rows(
    tx: &mut sqlx::Transaction<'_, Db>,
    children: &[(i64, contactpoint_matching::search::Findable)],
    placement: crate::SearchKeys,
) -> Result<(), crate::StorageError> {
    let keys: Vec<(i64, i64)> = children
        .iter()
        .flat_map(|(id, child)| child.index_keys().into_iter().map(move |key| (key, *id)))
        .collect();
    insert_key_pairs(tx, &keys, placement).await
}

/// Writes search keys (each a key and the child filed under it), into the index or aside as
/// `placement` says.
async fn insert_key_pairs(
    tx: &mut sqlx::Transaction<'_, Db>,
    keys: &[(i64, i64)],
    placement: crate::SearchKeys,
) -> Result<(), crate::StorageError> {
    let table = match placement {
        crate::SearchKeys::Indexed => "child_search_keys",
        crate::SearchKeys::SetAside => "child_search_keys_set_aside",
    };
    for chunk in keys.chunks(rows_per_statement(2)) {
        let mut insert =
            sqlx::QueryBuilder::<Db>::new(format!("INSERT INTO {table} (key, child_id) "));
        insert.push_values(chunk, |mut row, (key, child_id)| {
            row.push_bind(*key).push_bind(*child_id);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Adds the words of children's names to the spelling list (each word once).
async fn insert_spellings(
    tx: &mut sqlx::Transaction<'_, Db>,
    children: &[(i64, contactpoint_matching::search::Findable)],
) -> Result<(), crate::StorageError> {
    let words: std::collections::BTreeSet<String> =
        children.iter().flat_map(|(_, child)| child.name_words()).collect();
    let spellings: Vec<(i64, &str)> = words
        .iter()
        .flat_map(|word| {
            contactpoint_matching::search::spelling_fragments(word)
                .into_iter()
                .map(move |fragment| (fragment, word.as_str()))
        })
        .collect();
    for chunk in spellings.chunks(rows_per_statement(2)) {
        let mut insert =
            sqlx::QueryBuilder::<Db>::new("INSERT INTO search_spellings (fragment, word) ");
        insert.push_values(chunk, |mut row, (fragment, word)| {
            row.push_bind(*fragment).push_bind(*word);
        });
        insert.push(" ON CONFLICT DO NOTHING");
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The words of names the spelling list holds under any of these fragments.
pub(crate) async fn spellings(
    pool: &sqlx::Pool<Db>,
    fragments: &[i64],
) -> Result<Vec<String>, crate::StorageError> {
    if fragments.is_empty() {
        return Ok(Vec::new());
    }
    let mut query =
        sqlx::QueryBuilder::<Db>::new("SELECT DISTINCT word FROM search_spellings WHERE fragment");
    push_in_id_set(&mut query, fragments);
    Ok(query.build_query_scalar().fetch_all(pool).await?)
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: i64,
    contactpoint_id: String,
    given_name: String,
    middle_names: Option<String>,
    family_name: String,
    gender: String,
    date_of_birth: chrono::NaiveDate,
    shielded: bool,
    archived: bool,
}

#[derive(sqlx::FromRow)]
struct CandidateFormerName {
    child_id: i64,
    given_name: Option<String>,
    family_name: String,
}

#[derive(sqlx::FromRow)]
struct CandidateAddress {
    child_id: i64,
    postcode: String,
    town: String,
    open: bool,
}


/// ` IN` the set of `ids`, bound as one parameter so that the statement's text, and so its
/// prepared form, does not change with how many ids there are (`crate::id_set`).
fn push_in_id_set(query: &mut sqlx::QueryBuilder<Db>, ids: &[i64]) {
    let set = crate::id_set::IdSet(ids.to_vec());
    match BACKEND {
        crate::Backend::Sqlite => query.push(" IN (SELECT value FROM json_each(").push_bind(set).push("))"),
        crate::Backend::Postgres => query.push(" = ANY(").push_bind(set).push(")"),
    };
}

/// The children a lookup reaches, with what a search scores them on.
async fn read_candidates(
    tx: &mut sqlx::Transaction<'_, Db>,
    lookup: &crate::CandidateLookup,
) -> Result<Vec<crate::FoundChild>, crate::StorageError> {
    use std::collections::HashMap;
    let mut query = sqlx::QueryBuilder::<Db>::new(
        "SELECT id, contactpoint_id, given_name, middle_names, family_name, gender, date_of_birth, \
         shielded, archived_on IS NOT NULL AS archived FROM children WHERE ",
    );
    match lookup {
        crate::CandidateLookup::ById(id) => {
            query.push("contactpoint_id = ").push_bind(id.as_digits());
        }
        crate::CandidateLookup::ByChildIds(ids) if ids.is_empty() => return Ok(Vec::new()),
        crate::CandidateLookup::ByChildIds(ids) => {
            query.push("id");
            push_in_id_set(&mut query, ids);
        }
        crate::CandidateLookup::ByKeys(keys) if keys.is_empty() => return Ok(Vec::new()),
        crate::CandidateLookup::ByKeys(keys) => {
            query.push("id IN (SELECT child_id FROM child_search_keys WHERE key");
            push_in_id_set(&mut query, keys);
            query.push(")");
        }
    }
    let rows: Vec<CandidateRow> = query.build_query_as().fetch_all(&mut **tx).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut former = sqlx::QueryBuilder::<Db>::new(
        "SELECT child_id, given_name, family_name FROM child_former_names WHERE child_id",
    );
    push_in_id_set(&mut former, &ids);
    let mut former_by_child: HashMap<i64, Vec<CandidateFormerName>> = HashMap::new();
    for row in former.build_query_as::<CandidateFormerName>().fetch_all(&mut **tx).await? {
        former_by_child.entry(row.child_id).or_default().push(row);
    }
    let mut addresses = sqlx::QueryBuilder::<Db>::new(
        "SELECT child_id, postcode, town, valid_to IS NULL AS open FROM child_addresses WHERE child_id",
    );
    push_in_id_set(&mut addresses, &ids);
    addresses.push(" ORDER BY valid_from DESC, id DESC");
    let mut addresses_by_child: HashMap<i64, Vec<CandidateAddress>> = HashMap::new();
    for row in addresses.build_query_as::<CandidateAddress>().fetch_all(&mut **tx).await? {
        addresses_by_child.entry(row.child_id).or_default().push(row);
    }
    rows.into_iter()
        .map(|row| {
            let former = former_by_child.remove(&row.id).unwrap_or_default();
            let addresses = addresses_by_child.remove(&row.id).unwrap_or_default();
            let open = addresses.iter().find(|a| a.open);
            Ok(crate::FoundChild {
                contactpoint_id: contactpoint_domain::ContactPointId::parse(&row.contactpoint_id)
                    .map_err(crate::StorageError::corrupt("children"))?,
                gender: contactpoint_domain::Gender::parse(&row.gender).map_err(crate::StorageError::corrupt("children"))?,
                date_of_birth: row.date_of_birth,
                town: open.map(|a| a.town.clone()),
                shielded: row.shielded,
                archived: row.archived,
                findable: contactpoint_matching::search::Findable {
                    given_name: row.given_name,
                    middle_names: row.middle_names,
                    family_name: row.family_name,
                    former_given_names: former.iter().filter_map(|f| f.given_name.clone()).collect(),
                    former_family_names: former.into_iter().map(|f| f.family_name).collect(),
                    date_of_birth: Some(row.date_of_birth),
                    gender: row.gender,
                    current_postcode: open.map(|a| a.postcode.clone()),
                    earlier_postcodes: addresses
                        .iter()
                        .filter(|a| !a.open)
                        .map(|a| a.postcode.clone())
                        .collect(),
                },
            })
        })
        .collect()
}

pub(crate) async fn search_children(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    lookup: &crate::CandidateLookup,
    decide: &crate::SearchDecision<'_>,
) -> Result<contactpoint_domain::search::SearchOutcome, crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let candidates = read_candidates(&mut tx, lookup).await?;
    let (outcome, event) = decide(candidates);
    append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(outcome)
}

pub(crate) async fn archive_child(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    id: &contactpoint_domain::ContactPointId,
    on: chrono::NaiveDate,
) -> Result<(), crate::StorageError> {
    let changed = sqlx::query("UPDATE children SET archived_on = $1 WHERE contactpoint_id = $2")
        .bind(on)
        .bind(id.as_digits())
        .execute(pool)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(crate::StorageError::NotFound { what: "child" });
    }
    Ok(())
}
