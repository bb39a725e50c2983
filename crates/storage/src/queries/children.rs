// Included into each backend module (see backend.rs).

macro_rules! child_columns {
    () => {
        "id, contactpoint_id, given_name, middle_names, family_name, gender, \
    date_of_birth, date_of_death, local_authority, shielded, address_state, return_intention, \
    address_since, name_source, name_supplied_at, gender_source, gender_supplied_at, \
    date_of_birth_source, date_of_birth_supplied_at, address_source, address_supplied_at, \
    date_of_death_source, date_of_death_supplied_at"
    };
}

/// Inserts child rows, skipping any whose ContactPoint ID is already taken; returns the
/// database ids of the rows it wrote.
async fn insert_child_rows(
    tx: &mut sqlx::Transaction<'_, Db>,
    rows: &[(i64, contactpoint_domain::ContactPointId, &contactpoint_domain::ChildRecord)],
) -> Result<Vec<i64>, crate::StorageError> {
    use contactpoint_domain::AddressState;
    let mut inserted = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(rows_per_statement(23)) {
        let mut insert = sqlx::QueryBuilder::<Db>::new("INSERT INTO children (");
        insert.push(child_columns!()).push(") ");
        insert.push_values(chunk, |mut row, (id, cpid, c)| {
            let p = &c.provenance;
            let return_intention = match &c.address {
                AddressState::LeftEngland { intends_to_return } => Some(intends_to_return.code()),
                _ => None,
            };
            row.push_bind(*id)
                .push_bind(cpid.as_digits())
                .push_bind(c.given_name.as_str())
                .push_bind(c.middle_names.as_ref().map(|m| m.as_str()))
                .push_bind(c.family_name.as_str())
                .push_bind(c.gender.code())
                .push_bind(c.date_of_birth)
                .push_bind(c.date_of_death)
                .push_bind(c.local_authority.as_str())
                .push_bind(c.shielded)
                .push_bind(c.address.code())
                .push_bind(return_intention)
                .push_bind(c.address_since)
                .push_bind(p.name.source.as_str())
                .push_bind(p.name.supplied_at)
                .push_bind(p.gender.source.as_str())
                .push_bind(p.gender.supplied_at)
                .push_bind(p.date_of_birth.source.as_str())
                .push_bind(p.date_of_birth.supplied_at)
                .push_bind(p.address.source.as_str())
                .push_bind(p.address.supplied_at)
                .push_bind(p.date_of_death.as_ref().map(|d| d.source.as_str()))
                .push_bind(p.date_of_death.as_ref().map(|d| d.supplied_at));
        });
        insert.push(" ON CONFLICT (contactpoint_id) DO NOTHING RETURNING id");
        let ids: Vec<i64> = insert.build_query_scalar().fetch_all(&mut **tx).await?;
        inserted.extend(ids);
    }
    Ok(inserted)
}

pub(crate) async fn load_children(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    records: &[contactpoint_domain::ChildRecord],
    keys: crate::SearchKeys,
) -> Result<crate::LoadReport, crate::StorageError> {
    if records.is_empty() {
        return Ok(crate::LoadReport::default());
    }
    let mut tx = pool.begin().await?;
    let (report, _) = insert_children(&mut tx, records, keys).await?;
    tx.commit().await?;
    Ok(report)
}

/// Stores children with all their parts and search keys (placed as `keys` says) inside the
/// caller's transaction; returns what happened and the database id of each record, in order.
async fn insert_children(
    tx: &mut sqlx::Transaction<'_, Db>,
    records: &[contactpoint_domain::ChildRecord],
    keys: crate::SearchKeys,
) -> Result<(crate::LoadReport, Vec<i64>), crate::StorageError> {
    let keys_of: Vec<Vec<i64>> = records.iter().map(|r| crate::search_index::findable(r).index_keys()).collect();
    let first_child = allocate_ids(tx, "children", records.len()).await?;
    let ids: Vec<i64> = (first_child..).take(records.len()).collect();
    let report = insert_filed_children(tx, records, &ids, &keys_of, keys).await?;
    Ok((report, ids))
}

/// Stores children as `insert_children` does, under the database ids the caller has already
/// numbered them with (`ids`), each filed under the search keys it has already worked out
/// from its record (`keys_of`), both in the records' order: working keys out took a tenth of
/// a load's main thread when it was done twice.
async fn insert_filed_children(
    tx: &mut sqlx::Transaction<'_, Db>,
    records: &[contactpoint_domain::ChildRecord],
    ids: &[i64],
    keys_of: &[Vec<i64>],
    keys: crate::SearchKeys,
) -> Result<crate::LoadReport, crate::StorageError> {
    use contactpoint_domain::{AddressState, ContactPointId, SensitiveBasis};
    use std::collections::HashSet;

    let mut report = crate::LoadReport { children: records.len(), reissued_ids: Vec::new() };
    let rows: Vec<_> = records.iter().zip(ids).map(|(r, id)| (*id, r.contactpoint_id, r)).collect();
    let written: HashSet<i64> = insert_child_rows(tx, &rows).await?.into_iter().collect();
    // An ID already in use (random IDs collide now and then at national scale) is replaced
    // by a fresh one, and the caller is told.
    for (id, old, record) in rows.iter().filter(|(id, _, _)| !written.contains(id)) {
        loop {
            let fresh = ContactPointId::random(&mut rand::rng());
            if !insert_child_rows(tx, &[(*id, fresh, record)]).await?.is_empty() {
                report.reissued_ids.push((*old, fresh));
                break;
            }
        }
    }

    let filed: Vec<(i64, i64)> = rows
        .iter()
        .zip(keys_of)
        .flat_map(|((id, _, _), keys)| keys.iter().map(move |key| (*key, *id)))
        .collect();
    insert_key_pairs(tx, &filed, keys).await?;
    let spelled: Vec<_> = rows.iter().map(|(id, _, r)| (*id, crate::search_index::findable(r))).collect();
    insert_spellings(tx, &spelled).await?;

    let former: Vec<_> = rows
        .iter()
        .flat_map(|(id, _, r)| r.former_names.iter().map(move |f| (*id, f)))
        .collect();
    insert_former_names(tx, &former).await?;

    let addresses: Vec<AddressRow<'_>> = rows
        .iter()
        .flat_map(|(id, _, r)| {
            let open = match &r.address {
                AddressState::Current { address } | AddressState::LastKnown { address } => {
                    Some((*id, address, r.address_since, None))
                }
                AddressState::NoKnownAddress | AddressState::LeftEngland { .. } => None,
            };
            r.address_history
                .iter()
                .map(move |h| (*id, &h.address, h.from, Some(h.until)))
                .chain(open)
        })
        .collect();
    insert_addresses(tx, &addresses).await?;

    let parents: Vec<_> = rows
        .iter()
        .flat_map(|(id, _, r)| r.parents_carers.iter().map(move |p| (*id, p)))
        .collect();
    insert_parents(tx, &parents).await?;

    let involvements: Vec<_> = rows
        .iter()
        .flat_map(|(id, _, r)| r.involvements.iter().map(move |i| (*id, i)))
        .collect();
    insert_numbered(
        tx,
        "involvements",
        &[
            "child_id",
            "service_id",
            "practitioner_id",
            "started_on",
            "ended_on",
            "lead_professional",
            "caf_completed_on",
            "sensitive_basis",
            "consent_given_by",
            "consent_given_on",
            "child_protection_reference",
            "source",
            "supplied_at",
        ],
        &involvements,
        |row, (child_id, inv)| {
            let (given_by, given_on, reference) = match &inv.sensitive_basis {
                Some(SensitiveBasis::Consent { given_by, given_on }) => (Some(given_by.code()), Some(*given_on), None),
                Some(SensitiveBasis::ChildProtection { reference }) => (None, None, Some(reference.as_str())),
                None => (None, None, None),
            };
            row.push_bind(*child_id)
                .push_bind(inv.service.id)
                .push_bind(inv.practitioner.as_ref().map(|p| p.id))
                .push_bind(inv.started_on)
                .push_bind(inv.ended_on)
                .push_bind(inv.lead_professional)
                .push_bind(inv.caf_completed_on)
                .push_bind(inv.sensitive_basis.as_ref().map(|b| b.code()))
                .push_bind(given_by)
                .push_bind(given_on)
                .push_bind(reference)
                .push_bind(inv.provenance.source.as_str())
                .push_bind(inv.provenance.supplied_at);
        },
    )
    .await?;

    Ok(report)
}

/// An address of a child: the child, the address, and the days it began and (unless it is
/// open) ended.
type AddressRow<'a> = (i64, &'a contactpoint_domain::Address, chrono::NaiveDate, Option<chrono::NaiveDate>);

/// Writes children's addresses (numbered in order), in as few statements as the backends allow.
async fn insert_addresses(tx: &mut sqlx::Transaction<'_, Db>, addresses: &[AddressRow<'_>]) -> Result<(), crate::StorageError> {
    insert_numbered(
        tx,
        "child_addresses",
        &["child_id", "line1", "line2", "town", "postcode", "valid_from", "valid_to"],
        addresses,
        |row, (child_id, a, from, until)| {
            row.push_bind(*child_id)
                .push_bind(a.line1.as_str())
                .push_bind(a.line2.as_deref())
                .push_bind(a.town.as_str())
                .push_bind(a.postcode.as_str())
                .push_bind(*from)
                .push_bind(*until);
        },
    )
    .await
}

/// Writes children's former names (numbered in order), in as few statements as the backends
/// allow.
async fn insert_former_names(
    tx: &mut sqlx::Transaction<'_, Db>,
    former: &[(i64, &contactpoint_domain::FormerName)],
) -> Result<(), crate::StorageError> {
    insert_numbered(
        tx,
        "child_former_names",
        &["child_id", "given_name", "family_name", "source", "supplied_at"],
        former,
        |row, (child_id, f)| {
            row.push_bind(*child_id)
                .push_bind(f.given_name.as_ref().map(|g| g.as_str()))
                .push_bind(f.family_name.as_str())
                .push_bind(f.provenance.source.as_str())
                .push_bind(f.provenance.supplied_at);
        },
    )
    .await
}

/// Writes children's parents and carers (numbered in order), in as few statements as the
/// backends allow.
async fn insert_parents(
    tx: &mut sqlx::Transaction<'_, Db>,
    parents: &[(i64, &contactpoint_domain::ParentCarer)],
) -> Result<(), crate::StorageError> {
    insert_numbered(
        tx,
        "parents_carers",
        &[
            "child_id",
            "given_name",
            "family_name",
            "relationship",
            "address_line1",
            "address_line2",
            "town",
            "postcode",
            "telephone",
            "source",
            "supplied_at",
        ],
        parents,
        |row, (child_id, p)| {
            let a = p.address.as_ref();
            row.push_bind(*child_id)
                .push_bind(p.given_name.as_str())
                .push_bind(p.family_name.as_str())
                .push_bind(p.relationship.code())
                .push_bind(a.map(|a| a.line1.as_str()))
                .push_bind(a.and_then(|a| a.line2.as_deref()))
                .push_bind(a.map(|a| a.town.as_str()))
                .push_bind(a.map(|a| a.postcode.as_str()))
                .push_bind(p.telephone.as_ref().map(|t| t.as_str()))
                .push_bind(p.provenance.source.as_str())
                .push_bind(p.provenance.supplied_at);
        },
    )
    .await
}

pub(crate) async fn child_record(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    id: &contactpoint_domain::ContactPointId,
) -> Result<contactpoint_domain::ChildRecord, crate::StorageError> {
    // One transaction, so the parts are read from one consistent state.
    let mut tx = pool.begin().await?;
    let record = read_child(&mut tx, id).await?;
    tx.commit().await?;
    Ok(record)
}

async fn read_child(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: &contactpoint_domain::ContactPointId,
) -> Result<contactpoint_domain::ChildRecord, crate::StorageError> {
    let child: crate::rows::ChildRow = sqlx::query_as(concat!(
        "SELECT ",
        child_columns!(),
        " FROM children WHERE contactpoint_id = $1"
    ))
    .bind(id.as_digits())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(crate::StorageError::NotFound { what: "child" })?;
    read_child_parts(tx, child).await
}

/// Reads the rest of a child's record (former names, addresses, parents and carers,
/// involvements) and puts the record together.
async fn read_child_parts(
    tx: &mut sqlx::Transaction<'_, Db>,
    child: crate::rows::ChildRow,
) -> Result<contactpoint_domain::ChildRecord, crate::StorageError> {
    use crate::rows::{AddressRow, FormerNameRow, InvolvementRow, ParentRow};
    let former: Vec<FormerNameRow> = sqlx::query_as(
        "SELECT given_name, family_name, source, supplied_at FROM child_former_names WHERE child_id = $1 ORDER BY id",
    )
    .bind(child.id)
    .fetch_all(&mut **tx)
    .await?;
    let addresses: Vec<AddressRow> = sqlx::query_as(
        "SELECT line1, line2, town, postcode, valid_from, valid_to FROM child_addresses WHERE child_id = $1 ORDER BY valid_from, id",
    )
    .bind(child.id)
    .fetch_all(&mut **tx)
    .await?;
    let parents: Vec<ParentRow> = sqlx::query_as(
        "SELECT given_name, family_name, relationship, address_line1, address_line2, town, postcode, telephone, source, supplied_at \
         FROM parents_carers WHERE child_id = $1 ORDER BY id",
    )
    .bind(child.id)
    .fetch_all(&mut **tx)
    .await?;
    let involvements: Vec<InvolvementRow> = sqlx::query_as(
        "SELECT s.id AS service_id, s.name AS service_name, o.name AS organisation_name, s.category, \
                s.address_line1 AS service_line1, s.address_line2 AS service_line2, s.town AS service_town, \
                s.postcode AS service_postcode, s.telephone AS service_telephone, s.email AS service_email, \
                p.id AS practitioner_id, p.given_name AS practitioner_given_name, p.family_name AS practitioner_family_name, \
                p.telephone AS practitioner_telephone, p.email AS practitioner_email, \
                i.started_on, i.ended_on, i.lead_professional, i.caf_completed_on, i.sensitive_basis, \
                i.consent_given_by, i.consent_given_on, i.child_protection_reference, i.source, i.supplied_at \
         FROM involvements i \
         JOIN services s ON s.id = i.service_id \
         JOIN organisations o ON o.id = s.organisation_id \
         LEFT JOIN practitioners p ON p.id = i.practitioner_id \
         WHERE i.child_id = $1 ORDER BY i.id",
    )
    .bind(child.id)
    .fetch_all(&mut **tx)
    .await?;
    crate::rows::assemble_child(child, former, addresses, parents, involvements)
}

/// The record a view of `id` opens. A record never merged nor archived (nearly every view) is
/// read with what says so in one statement: a view holds the write lock on SQLite while it
/// reads, so each statement saved is views a second gained.
async fn read_openable_child(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: &contactpoint_domain::ContactPointId,
) -> Result<contactpoint_domain::ChildRecord, crate::StorageError> {
    use sqlx::{FromRow, Row};
    let row = sqlx::query(concat!(
        "SELECT ",
        child_columns!(),
        ", archived_on IS NOT NULL AS archived, merged_into IS NOT NULL AS merged FROM children WHERE contactpoint_id = $1"
    ))
    .bind(id.as_digits())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(crate::StorageError::NotFound { what: "child" })?;
    let (archived, merged): (bool, bool) = (row.try_get("archived")?, row.try_get("merged")?);
    match (archived, merged) {
        (false, false) => read_child_parts(tx, crate::rows::ChildRow::from_row(&row)?).await,
        _ => {
            let id = openable_contactpoint_id(tx, id).await?;
            read_child(tx, &id).await
        }
    }
}

/// The record a view of `id` opens, in one query for a record never merged: a record retired by
/// a merge leads to the one it was merged into; an archived record is not opened by a view
/// (only by the archive's own readers), nor is an unknown one.
async fn openable_contactpoint_id(
    tx: &mut sqlx::Transaction<'_, Db>,
    id: &contactpoint_domain::ContactPointId,
) -> Result<contactpoint_domain::ContactPointId, crate::StorageError> {
    let not_found = || crate::StorageError::NotFound { what: "child" };
    let mut current = *id;
    // A chain of merges is followed to its end (bounded, in case of a cycle written by hand).
    for _ in 0..16 {
        let row: Option<(bool, Option<String>)> = sqlx::query_as(
            "SELECT c.archived_on IS NOT NULL, s.contactpoint_id FROM children c \
             LEFT JOIN children s ON s.id = c.merged_into WHERE c.contactpoint_id = $1",
        )
        .bind(current.as_digits())
        .fetch_optional(&mut **tx)
        .await?;
        match row {
            None | Some((true, None)) => return Err(not_found()),
            Some((false, None)) => return Ok(current),
            Some((_, Some(survivor))) => {
                current = contactpoint_domain::ContactPointId::parse(&survivor)
                    .map_err(crate::StorageError::corrupt("children"))?;
            }
        }
    }
    Err(not_found())
}

/// Reads a child's whole record and appends the audit entry `audit_for` makes from it, in one
/// transaction: nothing is returned unless the view is on the trail.
pub(crate) async fn view_child(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    id: &contactpoint_domain::ContactPointId,
    audit_for: &(dyn Fn(&contactpoint_domain::ChildRecord) -> contactpoint_domain::AuditEvent + Sync),
    override_alert: Option<&crate::NewShieldAlert>,
) -> Result<contactpoint_domain::ChildRecord, crate::StorageError> {
    let mut tx = begin_read_then_write(pool).await?;
    let record = read_openable_child(&mut tx, id).await?;
    append_audit(&mut tx, &audit_for(&record)).await?;
    if let Some(alert) = override_alert.filter(|_| record.shielded) {
        insert_shield_alert(&mut tx, &record, alert).await?;
    }
    tx.commit().await?;
    Ok(record)
}

pub(crate) async fn service_ids_of_organisation(
    pool: &sqlx::Pool<Db>,
    organisation_id: i64,
) -> Result<Vec<i64>, crate::StorageError> {
    Ok(sqlx::query_scalar("SELECT id FROM services WHERE organisation_id = $1 ORDER BY id")
        .bind(organisation_id)
        .fetch_all(pool)
        .await?)
}
