//! One import's batches: each read from the file, keyed, scored ahead, placed, written and
//! committed in one transaction with its audit entry. A load reading its candidates from its
//! own copy keys the next batch's records on a scoring thread while it places a batch, and
//! scores them ahead while that batch is written and committed on a task of its own
//! (`Batches::place_then_ready_next`).

use crate::ahead::{score_ahead, RecordAhead, ScoredAhead};
use crate::import::{digest, named_services, ImportError, ImportSettings, SuppliedBefore};
use crate::place::{place_scored_ahead, probe_keys, NormalisedCandidates, PlaceSettings};
use chrono::{DateTime, Utc};
use contactpoint_domain::{AccessRoute, AuditEvent, Outcome, Permit, SourceCode};
use contactpoint_storage::supply::{
    BatchSummary, FinishedSupplyBatch, IncomingRecord, PlacedSupplyBatch, Placement,
    PlacementContext, SupplyBatch,
};
use contactpoint_storage::{CandidateCache, StorageError, Store};
use contactpoint_supply::{Rejected, SuppliedChild};
use rayon::prelude::*;

/// A file's rows as read, each taken or rejected.
pub(crate) type Rows<'r> = dyn Iterator<Item = Result<SuppliedChild, Rejected>> + Send + 'r;

/// One batch's rows: those read, and those rejected with their identifiers.
#[derive(Default)]
pub(crate) struct Batch {
    pub children: Vec<SuppliedChild>,
    /// The rows of a file rejected, with line, field and reason.
    pub rejections: Vec<Rejected>,
    /// For records tried again, in the order of `children`: the sources of their companions
    /// (`companions`). Empty on a first import.
    pub companion_sources: Vec<Vec<SourceCode>>,
    pub rejected_ids: Vec<String>,
    first_line: Option<u64>,
    last_line: u64,
    pub rows: usize,
}

impl Batch {
    pub(crate) fn take(&mut self, line: u64, child: Option<SuppliedChild>) {
        self.first_line.get_or_insert(line);
        self.last_line = line;
        self.rows += 1;
        self.children.extend(child);
    }

    /// The next batch of a file's `rows`, at most `size` of them, taken or rejected; `None`
    /// once the file is read.
    pub(crate) fn read(rows: &mut Rows<'_>, size: usize) -> Option<Self> {
        let mut batch = Self::default();
        for row in &mut *rows {
            match row {
                Ok(child) => batch.take(child.line, Some(child)),
                Err(rejection) => {
                    batch.take(rejection.line, None);
                    if let Some(id) = &rejection.source_record_id {
                        batch.rejected_ids.push(id.clone());
                    }
                    batch.rejections.push(rejection);
                }
            }
            if batch.rows >= size {
                break;
            }
        }
        batch.first_line.is_some().then_some(batch)
    }
}

/// A batch ready to place: its records keyed and digested, and those worth it scored ahead.
pub(crate) struct ReadyBatch {
    batch: Batch,
    records: Vec<IncomingRecord>,
    ahead: Vec<Option<ScoredAhead>>,
}

/// What one batch came to, and how many of its records were scored ahead.
pub(crate) struct BatchDone {
    pub batch: Batch,
    pub summary: BatchSummary,
    pub scored_ahead: u64,
}

/// What the batches of one import share: where they go, who imports, how, and from which
/// file, at which moment.
pub(crate) struct Batches<'a> {
    pub store: &'a Store,
    pub permit: &'a Permit,
    pub settings: &'a ImportSettings,
    /// How each record is placed, its values supplied at `place_settings.supplied_at`.
    pub place_settings: &'a PlaceSettings,
    /// The file, as the audit trail names it.
    pub name: &'a str,
    /// When the import decides, and its audit entries are stamped.
    pub now: DateTime<Utc>,
    /// Records waiting in the exceptions queue, tried again.
    pub retry_waiting: bool,
}

impl Batches<'_> {
    /// Keys and digests each record of `batch` (on every core) and, given the load's `copy`,
    /// scores ahead against it those worth scoring (`score_ahead`).
    pub(crate) async fn make_ready(
        &self,
        batch: Batch,
        copy: Option<&CandidateCache>,
        normalised: &mut NormalisedCandidates,
        supplied_before: &mut SuppliedBefore,
    ) -> Result<ReadyBatch, ImportError> {
        let records = keyed(&batch.children, &self.keying());
        self.ready(batch, records, copy, normalised, supplied_before)
            .await
    }

    /// `batch`, its records keyed and digested as `records`, scored ahead against `copy`.
    async fn ready(
        &self,
        batch: Batch,
        records: Vec<IncomingRecord>,
        copy: Option<&CandidateCache>,
        normalised: &mut NormalisedCandidates,
        supplied_before: &mut SuppliedBefore,
    ) -> Result<ReadyBatch, ImportError> {
        let ahead = match copy {
            Some(copy) => {
                self.score_ahead(&batch, &records, copy, normalised, supplied_before)
                    .await?
            }
            None => Vec::new(),
        };
        Ok(ReadyBatch {
            batch,
            records,
            ahead,
        })
    }

    /// The next batch of `rows` made ready (`make_ready`), if the file holds one.
    pub(crate) async fn ready_next(
        &self,
        rows: &mut Rows<'_>,
        copy: Option<&CandidateCache>,
        normalised: &mut NormalisedCandidates,
        supplied_before: &mut SuppliedBefore,
    ) -> Result<Option<ReadyBatch>, ImportError> {
        let Some(batch) = Batch::read(rows, self.settings.batch_size) else {
            return Ok(None);
        };
        let ready = self
            .make_ready(batch, copy, normalised, supplied_before)
            .await?;
        Ok(Some(ready))
    }

    /// Reads the next batch of `rows`, if the file holds one, and keys its records on a
    /// scoring thread while the caller goes on.
    fn read_next(&self, rows: &mut Rows<'_>) -> Option<Keying> {
        let batch = Batch::read(rows, self.settings.batch_size)?;
        let keying = self.keying();
        // On one thread: the other core is left to placing, and this one is otherwise idle
        // while a batch is placed.
        Some(on_scoring_thread(move || {
            let records = batch.children.iter().map(|c| keying.record(c)).collect();
            (batch, records)
        }))
    }

    /// The batch `reading` holds, once keyed, scored ahead against `copy` (`ready`).
    async fn ready_read(
        &self,
        reading: Option<Keying>,
        copy: Option<&CandidateCache>,
        normalised: &mut NormalisedCandidates,
        supplied_before: &mut SuppliedBefore,
    ) -> Result<Option<ReadyBatch>, ImportError> {
        let Some(keying) = reading else {
            return Ok(None);
        };
        let (batch, records) = keying.wait().await?;
        let ready = self
            .ready(batch, records, copy, normalised, supplied_before)
            .await?;
        Ok(Some(ready))
    }

    /// What keying a record takes from the import.
    fn keying(&self) -> KeyingSettings {
        KeyingSettings {
            today: self.place_settings.supplied_at.date_naive(),
            source: self.settings.source.clone(),
        }
    }

    /// Places and stores one batch in one transaction with its audit entry, scored ahead
    /// against `cache` first if it is trusted.
    pub(crate) async fn import(
        &self,
        batch: Batch,
        cache: Option<&mut CandidateCache>,
        normalised: &mut NormalisedCandidates,
        supplied_before: &mut SuppliedBefore,
    ) -> Result<BatchDone, ImportError> {
        let copy = cache.as_deref().filter(|copy| copy.trusted());
        let ready = self
            .make_ready(batch, copy, normalised, supplied_before)
            .await?;
        let (staged, ahead) = self.stage(ready);
        let summary = self
            .place_and_finish(&staged, ahead, cache, normalised, 1)
            .await?;
        Ok(staged.done(summary))
    }

    /// Places `this` and, while it is written and committed on a task of its own, reads the
    /// next batch of `rows` and makes it ready, scored ahead against the copy as this one
    /// placed it. A child the commit then reads back into the copy is a new allocation, scored
    /// again as it is handed over, so every record is placed exactly as one batch at a time
    /// would place it. Returns what this batch came to, and the next if the file holds one.
    pub(crate) async fn place_then_ready_next(
        &self,
        this: ReadyBatch,
        mut cache: Option<&mut CandidateCache>,
        normalised: &mut NormalisedCandidates,
        supplied_before: &mut SuppliedBefore,
        rows: &mut Rows<'_>,
    ) -> Result<(BatchDone, Option<ReadyBatch>), ImportError> {
        let (staged, ahead) = self.stage(this);
        // The next batch is read now and keyed on a scoring thread while this one is placed
        // (which keeps to one core on SQLite).
        let mut reading = self.read_next(rows);
        let placed = {
            let mut placer = placer(&staged.batch, ahead, self.place_settings, normalised);
            self.store
                .place_supply_batch(
                    self.permit,
                    &staged.supply_batch,
                    cache.as_deref_mut(),
                    &mut placer,
                )
                .await
        };
        let (finished, next) = match placed {
            Ok(placed) => {
                // The copy is not trusted again until the batch has committed; the next batch
                // is scored against it all the same if this one was placed from it, and placed
                // from it only once it is trusted.
                let copy = cache.as_deref().filter(|_| placed.placed_from_copy());
                let finishing = Finishing::start(placed, staged.auditing.clone());
                let next = self
                    .ready_read(reading.take(), copy, normalised, supplied_before)
                    .await;
                let finished = finishing.wait().await?;
                let summary = finished.map(|f| f.settle_copy(cache.as_deref_mut()));
                (summary, Some(next))
            }
            Err(error) => (Err(error), None),
        };
        let summary = match finished {
            Ok(summary) => summary,
            Err(error) if error.is_transient_conflict() => {
                rolled_back(&error, 1);
                self.place_and_finish(&staged, Vec::new(), cache.as_deref_mut(), normalised, 2)
                    .await?
            }
            Err(error) => return Err(error.into()),
        };
        let next = match next {
            Some(next) => next?,
            None => {
                let copy = cache.as_deref().filter(|copy| copy.trusted());
                self.ready_read(reading.take(), copy, normalised, supplied_before)
                    .await?
            }
        };
        Ok((staged.done(summary), next))
    }

    /// `ready` as storage takes it, and what was scored ahead for its records.
    fn stage(&self, ready: ReadyBatch) -> (Staged<'_>, Vec<Option<ScoredAhead>>) {
        let scored_ahead = ready.ahead.iter().flatten().count() as u64;
        let ReadyBatch {
            batch,
            mut records,
            mut ahead,
        } = ready;
        for (record, scored) in records.iter_mut().zip(ahead.iter_mut()) {
            record.chosen_ahead = scored.as_mut().and_then(ScoredAhead::take_chosen);
        }
        let staged = Staged {
            supply_batch: self.supply_batch(&batch, records),
            auditing: BatchAuditing::new(self, &batch),
            batch,
            scored_ahead,
        };
        (staged, ahead)
    }

    /// The batch storage places: `batch`'s records as keyed in `records`.
    fn supply_batch(&self, batch: &Batch, records: Vec<IncomingRecord>) -> SupplyBatch<'_> {
        SupplyBatch {
            source: &self.settings.source,
            records,
            rejected_ids: batch.rejected_ids.clone(),
            supplied_at: self.place_settings.supplied_at,
            authoritative: self.settings.authoritative,
            retry_waiting: self.retry_waiting,
            decided_at: self.now,
            supplier_account_id: self.settings.supplier_account_id,
        }
    }

    /// Places and stores `staged` in one transaction, with its audit entry. PostgreSQL ends a
    /// deadlock with another writer by rolling one transaction back; a batch rolled back so is
    /// placed again from its first record, against the database (the copy is set aside once a
    /// batch fails), and nothing of the first try remains. `tries` counts this one.
    async fn place_and_finish(
        &self,
        staged: &Staged<'_>,
        ahead: Vec<Option<ScoredAhead>>,
        mut cache: Option<&mut CandidateCache>,
        normalised: &mut NormalisedCandidates,
        mut tries: u32,
    ) -> Result<BatchSummary, ImportError> {
        let mut ahead = Some(ahead);
        loop {
            let mut placer = placer(
                &staged.batch,
                ahead.take().unwrap_or_default(),
                self.place_settings,
                normalised,
            );
            let audit = |summary: &BatchSummary| staged.auditing.event(summary);
            match self
                .store
                .import_supply_batch(
                    self.permit,
                    &staged.supply_batch,
                    cache.as_deref_mut(),
                    &mut placer,
                    &audit,
                )
                .await
            {
                Err(error) if error.is_transient_conflict() && tries < BATCH_TRIES => {
                    rolled_back(&error, tries);
                    tries += 1;
                }
                placed => return Ok(placed?),
            }
        }
    }

    /// Each record of `batch` the batch will match scored ahead against the candidates the
    /// load's copy holds for it, when there is more than one core to score on; none
    /// otherwise, and each record is scored as it is placed. The caller gives a copy it may
    /// place the batch from: one still trusted, or one a batch still committing will trust
    /// again. A record the batch passes over as unchanged, or places again on its known
    /// child, is not scored.
    async fn score_ahead(
        &self,
        batch: &Batch,
        records: &[IncomingRecord],
        copy: &CandidateCache,
        normalised: &mut NormalisedCandidates,
        supplied_before: &mut SuppliedBefore,
    ) -> Result<Vec<Option<ScoredAhead>>, ImportError> {
        if rayon::current_num_threads() < 2 {
            return Ok(Vec::new());
        }
        let worth_scoring = self.worth_scoring(records, supplied_before).await?;
        if !worth_scoring.contains(&true) {
            return Ok(Vec::new());
        }
        let chosen: Vec<usize> = (0..records.len())
            .filter(|&index| worth_scoring[index])
            .collect();
        let districts: std::collections::BTreeSet<&str> = chosen
            .iter()
            .filter_map(|&index| records[index].postcode_district.as_deref())
            .collect();
        let districts: Vec<&str> = districts.into_iter().collect();
        let authorities = self
            .store
            .district_authorities(self.permit, &districts)
            .await?;
        let looked: Vec<RecordAhead<'_>> = chosen
            .iter()
            .map(|&index| RecordAhead {
                child: &batch.children[index],
                postcode_district: records[index].postcode_district.as_deref(),
                probe_keys: &records[index].probe_keys,
                companion_sources: batch
                    .companion_sources
                    .get(index)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            })
            .collect();
        let mut ahead: Vec<Option<ScoredAhead>> = (0..records.len()).map(|_| None).collect();
        for (index, scored) in chosen.into_iter().zip(score_ahead(
            &looked,
            copy,
            &authorities,
            self.place_settings,
            normalised,
        )) {
            ahead[index] = Some(scored);
        }
        Ok(ahead)
    }

    /// For each record, whether its batch will look for its candidates, as far as can be told
    /// before the batch: every record once the file's records are taken to be new.
    async fn worth_scoring(
        &self,
        records: &[IncomingRecord],
        supplied_before: &mut SuppliedBefore,
    ) -> Result<Vec<bool>, ImportError> {
        if *supplied_before == SuppliedBefore::TakenAsNew {
            return Ok(vec![true; records.len()]);
        }
        let matched = self
            .store
            .records_matched_against_candidates(
                self.permit,
                &self.settings.source,
                records,
                self.retry_waiting,
            )
            .await?;
        if matched.iter().all(|m| *m) {
            *supplied_before = SuppliedBefore::TakenAsNew;
        }
        Ok(matched)
    }
}

/// A batch read from its file whose records are being keyed on a scoring thread
/// (`Batches::read_next`).
type Keying = ScoringJob<(Batch, Vec<IncomingRecord>)>;

/// Work handed to a scoring thread while the import goes on (`on_scoring_thread`).
struct ScoringJob<T>(tokio::sync::oneshot::Receiver<std::thread::Result<T>>);

/// Runs `job` on a scoring thread. A panic there is caught and raised again where the import
/// waits for the job (`ScoringJob::wait`), as a panic placing the batch would be: left to
/// rayon, it would end the process.
fn on_scoring_thread<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> ScoringJob<T> {
    let (done, receiver) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        // The receiver is gone only once the import has stopped.
        let _ = done.send(outcome);
    });
    ScoringJob(receiver)
}

impl<T> ScoringJob<T> {
    /// What the job came to; a panic on its thread is raised here.
    async fn wait(self) -> Result<T, ImportError> {
        match self.0.await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(ImportError::Interrupted(
                "the scoring thread stopped before its job was done",
            )),
        }
    }
}

/// What keying a record takes from its import: the day it is supplied on, which bounds the
/// years of birth a mistyped year may stand for, and its source.
struct KeyingSettings {
    today: chrono::NaiveDate,
    source: SourceCode,
}

impl KeyingSettings {
    /// `child` keyed for the search index and digested.
    fn record(&self, child: &SuppliedChild) -> IncomingRecord {
        IncomingRecord {
            source_record_id: child.source_record_id.clone(),
            digest: digest(child),
            probe_keys: probe_keys(child, self.today),
            postcode_district: child.postcode.as_ref().map(|p| p.outward().to_owned()),
            service_references: [&child.school_urn, &child.gp_practice_code]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            named_services: named_services(child, &self.source),
            chosen_ahead: None,
        }
    }
}

/// Each of `children` keyed for the search index and digested, on every core.
fn keyed(children: &[SuppliedChild], settings: &KeyingSettings) -> Vec<IncomingRecord> {
    children
        .par_iter()
        .map(|child| settings.record(child))
        .collect()
}

/// A ready batch as storage takes it, with its audit entry's particulars.
struct Staged<'s> {
    batch: Batch,
    supply_batch: SupplyBatch<'s>,
    auditing: BatchAuditing,
    /// How many of its records were scored ahead.
    scored_ahead: u64,
}

impl Staged<'_> {
    fn done(self, summary: BatchSummary) -> BatchDone {
        BatchDone {
            batch: self.batch,
            summary,
            scored_ahead: self.scored_ahead,
        }
    }
}

/// Notes that PostgreSQL rolled a batch back on its `tries`-th try, to place it again.
fn rolled_back(error: &StorageError, tries: u32) {
    tracing::warn!(%error, tries, "a supplied batch was rolled back by a conflict with another writer; placing it again");
}

/// A placed batch written and committed on a task of its own. Should the import stop waiting
/// for it (its future dropped: an upload whose client went away), the task is stopped and
/// the batch rolled back, as it would be had it been finishing in place.
struct Finishing(tokio::task::JoinHandle<Result<FinishedSupplyBatch, StorageError>>);

impl Finishing {
    fn start(placed: PlacedSupplyBatch, auditing: BatchAuditing) -> Self {
        Self(tokio::spawn(
            placed.finish(move |summary| auditing.event(summary)),
        ))
    }

    /// What finishing the batch came to; a panic on its task is raised here.
    async fn wait(mut self) -> Result<Result<FinishedSupplyBatch, StorageError>, ImportError> {
        match (&mut self.0).await {
            Ok(finished) => Ok(finished),
            Err(stopped) if stopped.is_panic() => std::panic::resume_unwind(stopped.into_panic()),
            Err(_) => Err(ImportError::Interrupted(
                "the task writing a supplied batch was stopped before it committed (the runtime shut down)",
            )),
        }
    }
}

impl Drop for Finishing {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often a batch is placed before a conflict with another writer is reported.
const BATCH_TRIES: u32 = 3;

/// Decides each record of `batch` as storage hands it over, with what was scored `ahead`
/// for it. Records before this one were placed or passed over (unchanged): what was scored
/// ahead for them, and the candidates it holds, are let go as the batch moves on.
fn placer<'a>(
    batch: &'a Batch,
    mut ahead: Vec<Option<ScoredAhead>>,
    place_settings: &'a PlaceSettings,
    normalised: &'a mut NormalisedCandidates,
) -> impl FnMut(&PlacementContext<'_>) -> Placement + Send + 'a {
    let mut let_go = 0;
    move |context: &PlacementContext<'_>| {
        let companion_sources = batch
            .companion_sources
            .get(context.index)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for passed_over in ahead.get_mut(let_go..context.index).into_iter().flatten() {
            passed_over.take();
        }
        let_go = let_go.max(context.index + 1);
        let scored_ahead = ahead.get_mut(context.index).and_then(Option::take);
        place_scored_ahead(
            &batch.children[context.index],
            companion_sources,
            context,
            place_settings,
            normalised,
            scored_ahead.as_ref(),
        )
    }
}

/// What a batch's one audit entry says besides what its records came to: who imported which
/// file's lines, and when. It names no child: the records' own entries are in
/// `supplied_records`.
#[derive(Debug, Clone)]
struct BatchAuditing {
    route: AccessRoute,
    source: SourceCode,
    supplier_account_id: Option<i64>,
    file: String,
    lines: String,
    now: DateTime<Utc>,
}

impl BatchAuditing {
    fn new(batches: &Batches<'_>, batch: &Batch) -> Self {
        let settings = batches.settings;
        Self {
            route: settings.route,
            source: settings.source.clone(),
            supplier_account_id: settings.supplier_account_id,
            file: batches.name.to_owned(),
            lines: format!(
                "{}-{}",
                batch.first_line.unwrap_or_default(),
                batch.last_line
            ),
            now: batches.now,
        }
    }

    /// The entry for a batch that did `summary`; none when it changed nothing.
    fn event(&self, summary: &BatchSummary) -> Option<AuditEvent> {
        if !summary.changed_anything() {
            return None;
        }
        let mut event = AuditEvent::new(
            self.now,
            self.route,
            "supply_batch_imported",
            Outcome::Success,
        )
        .with("source", self.source.as_str())
        .with("file", self.file.as_str())
        .with("lines", self.lines.as_str())
        .with("linked", summary.linked.to_string())
        .with("updated", summary.updated.to_string())
        .with("created", summary.created.to_string())
        .with("exceptions", summary.exceptions.to_string())
        .with("rejected", summary.rejected.to_string())
        .with("unchanged", summary.unchanged.to_string())
        .with("exceptions_closed", summary.exceptions_closed.to_string())
        .with(
            "exceptions_refreshed",
            summary.exceptions_refreshed.to_string(),
        )
        .with("services_started", summary.services_started.to_string())
        .with("services_ended", summary.services_ended.to_string())
        .with("services_unknown", summary.services_unknown.to_string());
        if let Some(account) = self.supplier_account_id {
            event = event.with("supplier_account", account);
        }
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contactpoint_domain::SystemTask;
    use contactpoint_test_support::{both_backends, test_now};

    fn permit() -> Permit {
        Permit::system_bypass(SystemTask::TestFixture)
    }

    /// A batch of one rejected row from `source`, placed: finishing it records the row.
    async fn placed_rejecting(store: &Store, source: &SourceCode, id: &str) -> PlacedSupplyBatch {
        let batch = SupplyBatch {
            source,
            records: Vec::new(),
            rejected_ids: vec![id.to_owned()],
            supplied_at: test_now(),
            authoritative: false,
            retry_waiting: false,
            decided_at: test_now(),
            supplier_account_id: None,
        };
        let mut nothing_to_place = |_: &PlacementContext<'_>| -> Placement {
            unreachable!("the batch holds no record to place")
        };
        store
            .place_supply_batch(&permit(), &batch, None, &mut nothing_to_place)
            .await
            .unwrap()
    }

    fn auditing(source: &SourceCode) -> BatchAuditing {
        BatchAuditing {
            route: AccessRoute::System,
            source: source.clone(),
            supplier_account_id: None,
            file: "census.csv".to_owned(),
            lines: "2-2".to_owned(),
            now: test_now(),
        }
    }

    #[tokio::test]
    async fn a_job_done_on_a_scoring_thread_hands_its_result_to_the_import() {
        let job = on_scoring_thread(|| (1..=4).sum::<u32>());
        assert_eq!(job.wait().await.unwrap(), 10);
    }

    #[tokio::test]
    #[should_panic(expected = "a record no key could be made of")]
    async fn a_panic_on_a_scoring_thread_is_raised_where_the_import_waits_not_ending_the_process() {
        let job = on_scoring_thread(|| -> u32 { panic!("a record no key could be made of") });
        let _ = job.wait().await;
    }

    both_backends!(
        a_batch_its_import_stops_waiting_for_is_rolled_back_and_one_waited_for_commits,
        |store| {
            let census = SourceCode::parse("schools_census").unwrap();
            // The import's future is dropped before the batch's task has run.
            let abandoned = Finishing::start(
                placed_rejecting(store, &census, "UPN-1").await,
                auditing(&census),
            );
            drop(abandoned);
            tokio::task::yield_now().await;

            let finished = Finishing::start(
                placed_rejecting(store, &census, "UPN-2").await,
                auditing(&census),
            )
            .wait()
            .await
            .unwrap()
            .unwrap();
            assert_eq!(finished.summary.rejected, 1);
            let recorded: Vec<String> = store
                .supply_links(&permit(), &census, None, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|link| link.source_record_id)
                .collect();
            assert_eq!(
                recorded,
                vec!["UPN-2"],
                "nothing of the abandoned batch remains"
            );
        }
    );
}
