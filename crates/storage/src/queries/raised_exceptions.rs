/// The exceptions a batch raises, numbered as they are raised and written together after the
/// children the batch makes (`PendingChildren::write`), in a few statements, as the batch ends
/// or before anything in it could read one. Written one at a time, each took three
/// statements, and one naming a child the batch had made but not yet written made the batch
/// write every child it held first: on a load of births, half the time placing a batch took.
struct RaisedExceptions {
    by: RaisedBy,
    /// The ids for the exceptions still to be raised.
    ids: IdBlock,
    raised: Vec<RaisedException>,
    /// The identifiers of the records that raised them: one sent again later in the batch
    /// finds its exception written.
    source_record_ids: std::collections::HashSet<String>,
}

struct RaisedException {
    id: i64,
    source_record_id: String,
    exception: crate::supply::NewException,
}

/// What every exception of one batch shares: who sent its records, when, and whether they
/// may create children.
struct RaisedBy {
    source: contactpoint_domain::SourceCode,
    raised_at: chrono::DateTime<chrono::Utc>,
    authoritative: bool,
    supplier_account_id: Option<i64>,
}

impl RaisedExceptions {
    fn of(batch: &crate::supply::SupplyBatch<'_>) -> Self {
        Self {
            by: RaisedBy {
                source: batch.source.clone(),
                raised_at: batch.supplied_at,
                authoritative: batch.authoritative,
                supplier_account_id: batch.supplier_account_id,
            },
            ids: IdBlock::of("supply_exceptions"),
            raised: Vec::new(),
            source_record_ids: std::collections::HashSet::new(),
        }
    }

    /// Numbers `exception`, raised by the record `source_record_id`, to be written with the
    /// batch; the first of a batch takes ids for as many as `still_to_place` records could
    /// raise (`IdBlock`).
    async fn raise(
        &mut self,
        tx: &mut sqlx::Transaction<'_, Db>,
        source_record_id: &str,
        exception: crate::supply::NewException,
        still_to_place: usize,
    ) -> Result<i64, crate::StorageError> {
        let id = self.ids.next(tx, still_to_place).await?;
        self.source_record_ids.insert(source_record_id.to_owned());
        self.raised.push(RaisedException { id, source_record_id: source_record_id.to_owned(), exception });
        Ok(id)
    }

    /// Whether the record `source_record_id` raised an exception not yet written.
    fn raised_for(&self, source_record_id: &str) -> bool {
        self.source_record_ids.contains(source_record_id)
    }

    /// Writes the exceptions raised so far with their candidates, whose children must be in
    /// the database already.
    async fn write(&mut self, tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), crate::StorageError> {
        if self.raised.is_empty() {
            return Ok(());
        }
        let by = &self.by;
        for chunk in self.raised.chunks(rows_per_statement(10)) {
            let mut insert = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO supply_exceptions (id, source, source_record_id, local_authority, reason, shielding_hold, \
                 record, raised_at, authoritative, supplier_account_id) ",
            );
            insert.push_values(chunk, |mut row, raised| {
                let exception = &raised.exception;
                row.push_bind(raised.id)
                    .push_bind(by.source.as_str())
                    .push_bind(raised.source_record_id.as_str())
                    .push_bind(exception.local_authority.as_ref().map(|la| la.as_str()))
                    .push_bind(exception.reason.code())
                    .push_bind(exception.shielding_hold)
                    .push_bind(exception.record.as_str())
                    .push_bind(by.raised_at)
                    .push_bind(by.authoritative)
                    .push_bind(by.supplier_account_id);
            });
            insert.build().execute(&mut **tx).await?;
        }
        let candidates: Vec<(i64, i64, f64)> = self
            .raised
            .iter()
            .flat_map(|raised| raised.exception.candidates.iter().map(|(child_id, p)| (raised.id, *child_id, *p)))
            .collect();
        insert_candidates_of_exceptions(tx, &candidates).await?;
        self.raised.clear();
        self.source_record_ids.clear();
        Ok(())
    }
}
