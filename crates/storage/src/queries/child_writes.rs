// Included into each backend module (see backend.rs).

/// What applying a linked record's values did to the child.
#[derive(Default)]
struct ChildChangesApplied {
    /// Anything of the child's was written: every value a linked record can bring is one
    /// matching compares (names, gender, dates, address, authority, a former name, a parent
    /// or carer), so the child must be taken in again to be compared.
    changed: bool,
    /// The keys the child is indexed under now, when its names, date of birth or address
    /// changed.
    reindexed: Option<Vec<i64>>,
}

/// A child's names as a linked record sets them.
struct NameWrite {
    given_name: String,
    middle_names: Option<String>,
    family_name: String,
    provenance: contactpoint_domain::Provenance,
}

/// Where a linked record says the child lives now, and the authority that moves with it.
struct CurrentAddressWrite {
    since: chrono::NaiveDate,
    provenance: contactpoint_domain::Provenance,
    local_authority: Option<String>,
}

/// An address a linked record brings, open until a later record of the same batch moves the
/// child again.
struct AddressWrite {
    child_id: i64,
    address: contactpoint_domain::Address,
    valid_from: chrono::NaiveDate,
    valid_to: Option<chrono::NaiveDate>,
}

/// The values linked records bring to their children, held until the batch next reads a
/// child from the database, or ends, and then written in a few statements of many rows each.
/// Written one record at a time, a load's linked records cost a statement per value, per
/// address, per parent, per id and per search key, and five statements to read each changed
/// child back for its search keys: each a round trip to the database's thread. Here a
/// child's new keys are worked out from what the batch holds of it (the candidate it was
/// linked to, as the database holds it with this batch's writes applied), and its other
/// values are written as they would have been, each child's rows in the same order (rows of
/// different children can be numbered in another order: a batch writes its new children at
/// its end).
struct ChildWrites {
    /// Where the search keys of the children changed go.
    keys: crate::SearchKeys,
    names: std::collections::BTreeMap<i64, NameWrite>,
    genders: std::collections::BTreeMap<i64, (contactpoint_domain::Gender, contactpoint_domain::Provenance)>,
    births: std::collections::BTreeMap<i64, (chrono::NaiveDate, contactpoint_domain::Provenance)>,
    deaths: std::collections::BTreeMap<i64, (chrono::NaiveDate, contactpoint_domain::Provenance)>,
    current_addresses: std::collections::BTreeMap<i64, CurrentAddressWrite>,
    /// Children whose open address in the database closes, and the day the new one begins.
    closed: Vec<(i64, chrono::NaiveDate)>,
    addresses: Vec<AddressWrite>,
    /// For each child moved, its address still open among `addresses`.
    open_address: std::collections::HashMap<i64, usize>,
    former_names: Vec<(i64, contactpoint_domain::FormerName)>,
    parents: Vec<(i64, contactpoint_domain::ParentCarer)>,
    /// The search keys each changed child is filed under now (its old ones are forgotten).
    refiled: std::collections::BTreeMap<i64, Vec<i64>>,
    /// Children whose names changed: their words join the spelling list.
    spelled: Vec<(i64, contactpoint_matching::search::Findable)>,
}

impl ChildWrites {
    fn new(keys: crate::SearchKeys) -> Self {
        Self {
            keys,
            names: Default::default(),
            genders: Default::default(),
            births: Default::default(),
            deaths: Default::default(),
            current_addresses: Default::default(),
            closed: Vec::new(),
            addresses: Vec::new(),
            open_address: Default::default(),
            former_names: Vec::new(),
            parents: Vec::new(),
            refiled: Default::default(),
            spelled: Vec::new(),
        }
    }

    /// Takes the values a linked record brings to `child_id`. `linked` is the child as it
    /// stands with this batch's writes, when the caller holds it (the candidate it was linked
    /// to); otherwise it is read, after what is held has been written.
    async fn apply(
        &mut self,
        tx: &mut sqlx::Transaction<'_, Db>,
        child_id: i64,
        changes: &crate::supply::ChildChanges,
        linked: Option<&crate::supply::LinkCandidate>,
    ) -> Result<ChildChangesApplied, crate::StorageError> {
        if changes.is_empty() {
            return Ok(ChildChangesApplied::default());
        }
        let read;
        let held = match linked {
            Some(held) => held,
            None => {
                self.flush(tx).await?;
                read = link_candidates_by_id(tx, &[child_id])
                    .await?
                    .pop()
                    .ok_or(crate::StorageError::NotFound { what: "child" })?;
                &read
            }
        };
        let values_changed = changes.name.is_some()
            || changes.gender.is_some()
            || changes.date_of_birth.is_some()
            || changes.date_of_death.is_some()
            || changes.address.is_some();
        if let Some(name) = &changes.name {
            self.names.insert(
                child_id,
                NameWrite {
                    given_name: name.given_name.as_str().to_owned(),
                    middle_names: name.middle_names.as_ref().map(|m| m.as_str().to_owned()),
                    family_name: name.family_name.as_str().to_owned(),
                    provenance: name.provenance.clone(),
                },
            );
        }
        if let Some(gender) = &changes.gender {
            self.genders.insert(child_id, gender.clone());
        }
        if let Some(born) = &changes.date_of_birth {
            self.births.insert(child_id, born.clone());
        }
        if let Some(died) = &changes.date_of_death {
            self.deaths.insert(child_id, died.clone());
        }
        if let Some(change) = &changes.address {
            self.move_child(child_id, change);
        }
        // A former family name the child has is not added again.
        let mut known_former: Vec<&str> = held.former_family_names.iter().map(String::as_str).collect();
        let mut former_added = false;
        for former in &changes.former_names {
            if known_former.contains(&former.family_name.as_str()) {
                continue;
            }
            known_former.push(former.family_name.as_str());
            self.former_names.push((child_id, former.clone()));
            former_added = true;
        }
        // A parent or carer is known when one of that relationship has the same names, however
        // the supplier cased or accented them (child benefit writes names in capitals).
        let mut known_parents: Vec<(String, String, String)> = Vec::new();
        if !changes.parents_carers.is_empty() {
            known_parents = held.parents.iter().map(crate::supply::HeldParent::folded).collect();
        }
        let mut parent_added = false;
        for parent in &changes.parents_carers {
            let key = crate::supply::HeldParent::from(parent).folded();
            if known_parents.contains(&key) {
                continue;
            }
            known_parents.push(key);
            self.parents.push((child_id, parent.clone()));
            parent_added = true;
        }
        let changed = values_changed || former_added || parent_added;
        // A former name the child already has changes none of its keys.
        let names_changed = changes.name.is_some() || former_added;
        let reindexed = (names_changed || changes.date_of_birth.is_some() || changes.address.is_some()).then(|| {
            let findable = with_changes(held, changes).findable();
            let keys = findable.index_keys();
            self.refiled.insert(child_id, keys.clone());
            if names_changed {
                self.spelled.push((child_id, findable));
            }
            keys
        });
        Ok(ChildChangesApplied { changed, reindexed })
    }

    /// The child's open address closes the day the new one begins (or the day it began, if the
    /// supplier's date is earlier), and the new one opens.
    fn move_child(&mut self, child_id: i64, change: &crate::supply::AddressChange) {
        match self.open_address.get(&child_id) {
            Some(&open) => {
                let open = &mut self.addresses[open];
                open.valid_to = Some(open.valid_from.max(change.since));
            }
            None => self.closed.push((child_id, change.since)),
        }
        self.open_address.insert(child_id, self.addresses.len());
        self.addresses.push(AddressWrite {
            child_id,
            address: change.address.clone(),
            valid_from: change.since,
            valid_to: None,
        });
        // An authority already taken stays when a later move names none.
        let earlier_authority = self.current_addresses.remove(&child_id).and_then(|a| a.local_authority);
        self.current_addresses.insert(
            child_id,
            CurrentAddressWrite {
                since: change.since,
                provenance: change.provenance.clone(),
                local_authority: change.local_authority.as_ref().map(|la| la.as_str().to_owned()).or(earlier_authority),
            },
        );
    }

    /// Writes everything held, and holds nothing after.
    async fn flush(&mut self, tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), crate::StorageError> {
        self.write_values(tx).await?;
        self.write_addresses(tx).await?;
        self.write_former_names(tx).await?;
        self.write_parents(tx).await?;
        self.write_search_keys(tx).await
    }

    async fn write_values(&mut self, tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), crate::StorageError> {
        let names = std::mem::take(&mut self.names);
        update_children(
            tx,
            "given_name = v.column2, middle_names = v.column3, family_name = v.column4, name_source = v.column5, \
             name_supplied_at = v.column6",
            6,
            &names,
            |row, name| {
                row.push_bind(name.given_name.clone())
                    .push_bind(name.middle_names.clone())
                    .push_bind(name.family_name.clone())
                    .push_bind(name.provenance.source.as_str().to_owned())
                    .push_bind(name.provenance.supplied_at);
            },
        )
        .await?;
        let genders = std::mem::take(&mut self.genders);
        update_children(
            tx,
            "gender = v.column2, gender_source = v.column3, gender_supplied_at = v.column4",
            4,
            &genders,
            |row, (gender, provenance)| {
                row.push_bind(gender.code()).push_bind(provenance.source.as_str().to_owned()).push_bind(provenance.supplied_at);
            },
        )
        .await?;
        for (column, dates) in [("date_of_birth", std::mem::take(&mut self.births)), ("date_of_death", std::mem::take(&mut self.deaths))] {
            update_children(
                tx,
                &format!("{column} = v.column2, {column}_source = v.column3, {column}_supplied_at = v.column4"),
                4,
                &dates,
                |row, (date, provenance)| {
                    row.push_bind(*date).push_bind(provenance.source.as_str().to_owned()).push_bind(provenance.supplied_at);
                },
            )
            .await?;
        }
        let current = std::mem::take(&mut self.current_addresses);
        update_children(
            tx,
            "address_state = 'current', return_intention = NULL, address_since = v.column2, address_source = v.column3, \
             address_supplied_at = v.column4, local_authority = COALESCE(v.column5, children.local_authority)",
            5,
            &current,
            |row, moved| {
                row.push_bind(moved.since)
                    .push_bind(moved.provenance.source.as_str().to_owned())
                    .push_bind(moved.provenance.supplied_at)
                    .push_bind(moved.local_authority.clone());
            },
        )
        .await
    }

    /// The open addresses the batch's moves close, then the addresses they open.
    async fn write_addresses(&mut self, tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), crate::StorageError> {
        for chunk in self.closed.chunks(rows_per_statement(2)) {
            let mut close = sqlx::QueryBuilder::<Db>::new(
                "UPDATE child_addresses SET valid_to = CASE WHEN child_addresses.valid_from > v.column2 \
                 THEN child_addresses.valid_from ELSE v.column2 END FROM (",
            );
            close.push_values(chunk, |mut row, (child_id, since)| {
                row.push_bind(*child_id).push_bind(*since);
            });
            close.push(") AS v WHERE child_addresses.child_id = v.column1 AND child_addresses.valid_to IS NULL");
            close.build().execute(&mut **tx).await?;
        }
        self.closed.clear();
        self.open_address.clear();
        let addresses = std::mem::take(&mut self.addresses);
        let rows: Vec<AddressRow<'_>> =
            addresses.iter().map(|a| (a.child_id, &a.address, a.valid_from, a.valid_to)).collect();
        insert_addresses(tx, &rows).await
    }

    async fn write_former_names(&mut self, tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), crate::StorageError> {
        let former_names = std::mem::take(&mut self.former_names);
        let rows: Vec<(i64, &contactpoint_domain::FormerName)> = former_names.iter().map(|(id, f)| (*id, f)).collect();
        insert_former_names(tx, &rows).await
    }

    async fn write_parents(&mut self, tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), crate::StorageError> {
        let parents = std::mem::take(&mut self.parents);
        let rows: Vec<(i64, &contactpoint_domain::ParentCarer)> = parents.iter().map(|(id, p)| (*id, p)).collect();
        insert_parents(tx, &rows).await
    }

    /// Each changed child's old search keys forgotten (in the index and aside) and its new
    /// ones written, and the words of changed names added to the spelling list.
    async fn write_search_keys(&mut self, tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), crate::StorageError> {
        let refiled = std::mem::take(&mut self.refiled);
        if !refiled.is_empty() {
            let children: Vec<i64> = refiled.keys().copied().collect();
            for table in ["child_search_keys", "child_search_keys_set_aside"] {
                let mut forget = sqlx::QueryBuilder::<Db>::new(format!("DELETE FROM {table} WHERE child_id"));
                push_in_id_set(&mut forget, &children);
                forget.build().execute(&mut **tx).await?;
            }
            let keys: Vec<(i64, i64)> =
                refiled.iter().flat_map(|(child_id, keys)| keys.iter().map(move |key| (*key, *child_id))).collect();
            insert_key_pairs(tx, &keys, self.keys).await?;
        }
        let spelled = std::mem::take(&mut self.spelled);
        if !spelled.is_empty() {
            insert_spellings(tx, &spelled).await?;
        }
        Ok(())
    }
}

/// `UPDATE children SET {set} FROM (VALUES ...) AS v WHERE children.id = v.column1`, a row of
/// `columns` values for each child (its id first, then what `bind` binds), in as few
/// statements as the backends allow. Both backends name a VALUES list's columns `column1`,
/// `column2`...; each child appears once, so each row of `children` is set from one row.
async fn update_children<T>(
    tx: &mut sqlx::Transaction<'_, Db>,
    set: &str,
    columns: usize,
    rows: &std::collections::BTreeMap<i64, T>,
    bind: impl Fn(&mut sqlx::query_builder::Separated<'_, Db, &'static str>, &T),
) -> Result<(), crate::StorageError> {
    let rows: Vec<(&i64, &T)> = rows.iter().collect();
    for chunk in rows.chunks(rows_per_statement(columns)) {
        let mut update = sqlx::QueryBuilder::<Db>::new(format!("UPDATE children SET {set} FROM ("));
        update.push_values(chunk, |mut row, (child_id, values)| {
            row.push_bind(**child_id);
            bind(&mut row, values);
        });
        update.push(") AS v WHERE children.id = v.column1");
        update.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Applies the values a linked record brings to a child at once (a decision on an exception,
/// made on its own).
async fn apply_child_changes(
    tx: &mut sqlx::Transaction<'_, Db>,
    child_id: i64,
    changes: &crate::supply::ChildChanges,
) -> Result<ChildChangesApplied, crate::StorageError> {
    let mut writes = ChildWrites::new(crate::SearchKeys::Indexed);
    let applied = writes.apply(tx, child_id, changes, None).await?;
    writes.flush(tx).await?;
    Ok(applied)
}
