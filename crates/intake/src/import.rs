//! Importing a supplier's files: each file read as a stream, taken in batches, each batch
//! placed and stored in one transaction with one audit entry. A record already stored with
//! the same values is skipped, so an import run twice, or run again after being killed at any
//! moment, ends exactly where one clean run would.

use crate::ahead::{score_ahead, RecordAhead, ScoredAhead};
use crate::companions::{Companions, WaitingPages};
use crate::place::{place_scored_ahead, probe_keys, NormalisedCandidates, PlaceSettings};
use chrono::{DateTime, Utc};
use contactpoint_domain::precedence::{names_service, ValueGroup};
use contactpoint_domain::{AccessRoute, AuditEvent, Outcome, Permit, SourceCode};
use contactpoint_matching::linkage::{Thresholds, NATIONAL_POPULATION};
use contactpoint_storage::supply::{
    BatchSummary, IncomingRecord, NamedService, NamedServiceKind, Placement, PlacementContext,
    SupplyBatch,
};
use contactpoint_storage::{CandidateCache, StorageError, Store};
use contactpoint_supply::{
    child_from_json, read_children, Format, Rejected, SuppliedChild, SupplyFileError,
};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub source: SourceCode,
    pub authoritative: bool,
    /// Records per transaction.
    pub batch_size: usize,
    /// Who is importing, for the audit trail: the route, and the supplier's system account
    /// when it came through the API.
    pub route: AccessRoute,
    pub supplier_account_id: Option<i64>,
    /// How many children the nation served has: the matching model's prior is one chance
    /// in this many that a record is any one child (docs/MATCHING.md).
    pub population: u64,
    /// Refresh the planner's statistics as the tables grow tenfold during a file (bulk loads
    /// from the command line; not for the API's small uploads, which would each analyse the
    /// whole database).
    pub refresh_statistics: bool,
    /// Read every child into memory once at the start of each file and take each record's
    /// candidates from there (`Store::candidate_cache`): for an initial load of national
    /// files while nothing else writes to the directory. Should anything else write, the
    /// import notices at its next batch and reads from the database from then on.
    pub candidates_in_memory: bool,
    /// Where a record is linked, and below which a new child is made or the record waits
    /// (docs/MATCHING.md, "Deciding").
    pub thresholds: Thresholds,
}

impl ImportSettings {
    pub const DEFAULT_BATCH_SIZE: usize = 1_000;

    /// A bulk load from the command line: `batch_size` records a transaction (at least one),
    /// the prior set for `population` children, and the planner's statistics refreshed as the
    /// tables grow.
    pub fn bulk(
        source: SourceCode,
        authoritative: bool,
        batch_size: usize,
        population: u64,
    ) -> Self {
        Self {
            batch_size: batch_size.max(1),
            population,
            refresh_statistics: true,
            ..Self::system(source, authoritative)
        }
    }

    /// An import by the system (the API's uploads build on it).
    pub fn system(source: SourceCode, authoritative: bool) -> Self {
        Self {
            source,
            authoritative,
            batch_size: Self::DEFAULT_BATCH_SIZE,
            route: AccessRoute::System,
            supplier_account_id: None,
            population: NATIONAL_POPULATION,
            refresh_statistics: false,
            candidates_in_memory: false,
            thresholds: Thresholds::DEFAULT,
        }
    }

    /// The same settings reading candidates from memory (`candidates_in_memory`).
    pub fn with_candidates_in_memory(mut self, in_memory: bool) -> Self {
        self.candidates_in_memory = in_memory;
        self
    }

    /// The same settings deciding with `thresholds`.
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// How each record is placed, its values supplied at `supplied_at`: the model for the
    /// population and the thresholds.
    fn place_settings(&self, supplied_at: DateTime<Utc>) -> PlaceSettings {
        PlaceSettings::new(self.source.clone(), self.authoritative, supplied_at)
            .for_population(self.population)
            .with_thresholds(self.thresholds)
    }
}

/// What importing one file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// Rows read (taken and rejected).
    pub rows: u64,
    pub batches: u64,
    pub outcome: BatchSummary,
    /// Every rejected row, with its line, field and reason.
    pub rejected: Vec<Rejected>,
    /// Records scored on every core before their batch placed them (`ahead.rs`).
    pub scored_ahead: u64,
}

/// Whether a file's records may have been supplied before, as its batches go by: a file run
/// again, or resumed after a stop, begins with records its batches pass over or place again
/// on their known child, which are not worth scoring ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SuppliedBefore {
    /// Each batch asks which of its records it will match before scoring any ahead.
    AskEachBatch,
    /// A batch found all its records new (or they are waiting records, tried again): the rest
    /// are taken to be new without asking.
    TakenAsNew,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] SupplyFileError),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

/// SHA-256 of a record's values: equal digests mean nothing in the record changed.
pub fn digest(child: &SuppliedChild) -> String {
    let mut hash = Sha256::new();
    for (column, value) in child.columns() {
        hash.update(column.as_bytes());
        hash.update([0x1f]);
        hash.update(value.as_bytes());
        hash.update([0x1e]);
    }
    data_encoding::HEXLOWER.encode(&hash.finalize())
}

/// Imports one file (`name` is recorded in the audit trail; `format` says how it is
/// written). `now` is the moment the values are supplied at; `progress` hears the number of
/// rows read after each batch.
#[allow(clippy::too_many_arguments)]
pub async fn import_reader(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    name: &str,
    input: impl Read + Send,
    format: Format,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<FileReport, ImportError> {
    let mut copy = LoadCopy::default();
    import_reader_keeping(
        store, permit, settings, name, input, format, now, progress, &mut copy,
    )
    .await
}

/// What a load of several files keeps from one file to the next when its candidates come
/// from memory (`ImportSettings::candidates_in_memory`): its copy of the candidates, read
/// once for the whole load instead of once a file (each batch keeps it as the directory
/// is), and the candidates it has normalised for comparison.
#[derive(Debug, Default)]
pub struct LoadCopy {
    cache: Option<CandidateCache>,
    normalised: NormalisedCandidates,
}

impl LoadCopy {
    /// The copy of the candidates kept for the next file, if one is (none after a file that
    /// failed part way, or when candidates are read from the database).
    pub fn candidates(&self) -> Option<&CandidateCache> {
        self.cache.as_ref()
    }

    /// The copy kept, taken for a file or a retry if it is still trusted. Should that fail
    /// part way the copy is not given back, and the next reads it afresh.
    fn take_trusted(&mut self) -> Option<CandidateCache> {
        self.cache.take().filter(CandidateCache::trusted)
    }

    /// Ends a file or retry whose batches read their candidates from `cache`: the keys they
    /// set aside are indexed whether it ended or failed part way (its committed batches
    /// stay, and a search finds their children from here on), and the copy is kept for the
    /// next only if it ended.
    async fn settle<T>(
        &mut self,
        store: &Store,
        cache: Option<CandidateCache>,
        worked: Result<T, ImportError>,
    ) -> Result<T, ImportError> {
        if cache.is_none() {
            return worked;
        }
        let indexed = store.index_set_aside_keys().await;
        let done = worked?;
        indexed?;
        self.cache = cache;
        Ok(done)
    }
}

/// Imports one file as `import_reader` does, taking the copy of the candidates `copy` kept
/// from the file before, if every batch that changed it committed and nothing else has
/// written since (the first batch checks), and leaving it there for the next.
#[allow(clippy::too_many_arguments)]
pub async fn import_reader_keeping(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    name: &str,
    input: impl Read + Send,
    format: Format,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64) + Send),
    copy: &mut LoadCopy,
) -> Result<FileReport, ImportError> {
    let today = now.date_naive();
    let mut rows = read_children(input, format, today)?;
    // Keys a load stopped part way left aside are indexed first, in committed steps, before
    // the copy is read or any batch looks a candidate up in the index.
    store.index_set_aside_keys().await?;
    let mut report = FileReport::default();
    let mut cache = match (settings.candidates_in_memory, copy.take_trusted()) {
        (false, _) => None,
        (true, Some(kept)) => Some(kept),
        (true, None) => Some(store.candidate_cache(permit).await?),
    };
    let normalised = &mut copy.normalised;
    let place_settings = settings
        .place_settings(now)
        .with_held_share(held_share(store, permit, &settings.source).await?);
    let mut supplied_before = SuppliedBefore::AskEachBatch;
    let placed: Result<(), ImportError> = async {
        let copy = cache.as_ref().filter(|copy| copy.trusted());
        let mut ready = ready_next(
            store,
            permit,
            settings,
            &place_settings,
            &mut rows,
            copy,
            normalised,
            &mut supplied_before,
        )
        .await?;
        while let Some(this) = ready.take() {
            // While this batch is written and committed on a task of its own, the next is read
            // and scored ahead against the copy as this one placed it: a child the commit
            // then reads back into the copy is a new allocation, scored again as it is
            // handed over, so every record is placed exactly as without looking ahead.
            let (done, next) = place_then_ready_next(
                store,
                permit,
                settings,
                &place_settings,
                name,
                this,
                now,
                cache.as_mut(),
                normalised,
                &mut supplied_before,
                &mut rows,
            )
            .await?;
            report.rows += done.batch.rows as u64;
            report.rejected.extend(done.batch.rejections);
            report.outcome.add(&done.summary);
            report.scored_ahead += done.scored_ahead;
            report.batches += 1;
            if settings.refresh_statistics && STATISTICS_REFRESHED_AFTER.contains(&report.batches) {
                store.analyze().await?;
            }
            progress(report.rows);
            ready = next;
        }
        Ok(())
    }
    .await;
    copy.settle(store, cache, placed.map(|()| report)).await
}

/// Tries again every record of the settings' source still waiting in the exceptions queue,
/// against the directory as it is now: a record that waited because its child was not yet
/// known, or because nobody could say where to place a new child, is linked or created once
/// another source has brought that child in. Each record is judged with the values and the
/// moment it was supplied at; one that still cannot be placed waits on in the same exception
/// with its candidates brought up to date. One audit entry per batch, stamped `now`.
pub async fn retry_waiting(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<FileReport, ImportError> {
    let mut copy = LoadCopy::default();
    retry_waiting_keeping(store, permit, settings, now, progress, &mut copy).await
}

/// Tries the waiting records again as `retry_waiting` does, at the end of a load whose
/// candidates come from memory: with the copy `copy` kept from the load's files, if it is
/// still trusted (records tried again from the index read each candidate on its own), and
/// leaving it there for the next source's.
pub async fn retry_waiting_keeping(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64) + Send),
    copy: &mut LoadCopy,
) -> Result<FileReport, ImportError> {
    // Keys a load stopped part way left aside are indexed first, in committed steps, rather
    // than by the first batch in one transaction.
    store.index_set_aside_keys().await?;
    let mut cache = copy
        .take_trusted()
        .filter(|_| settings.candidates_in_memory);
    let retried = retry_pages(
        store,
        permit,
        settings,
        now,
        progress,
        cache.as_mut(),
        &mut copy.normalised,
    )
    .await;
    copy.settle(store, cache, retried).await
}

/// The source's waiting records, page by page, each run of records supplied at one moment
/// placed in one batch, with candidates from `cache` when given.
async fn retry_pages(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64) + Send),
    mut cache: Option<&mut CandidateCache>,
    normalised: &mut NormalisedCandidates,
) -> Result<FileReport, ImportError> {
    let mut report = FileReport::default();
    let mut pages = WaitingPages::new(settings.source.clone(), settings.batch_size as i64);
    let companions = Companions::waiting(store, permit, &settings.source).await?;
    // Companions are judged by the model the records are placed with.
    let model = settings.place_settings(now).model;
    let held_share = held_share(store, permit, &settings.source).await?;
    while let Some(page) = pages.next(store, permit).await? {
        // Records supplied at one moment are placed together, as of that moment, and each
        // with the authority it was supplied with (the caller's, for a record raised before
        // that was kept).
        for run in
            page.chunk_by(|a, b| a.raised_at == b.raised_at && a.authoritative == b.authoritative)
        {
            let supplied_at = run[0].raised_at;
            let run_settings = ImportSettings {
                authoritative: run[0].authoritative.unwrap_or(settings.authoritative),
                ..settings.clone()
            };
            let mut batch = Batch::default();
            for (position, waiting) in run.iter().enumerate() {
                report.rows += 1;
                let line = position as u64 + 1;
                match child_from_json(&waiting.record, supplied_at.date_naive()) {
                    Ok(child) => {
                        let sources = companions.sources_of(
                            &child,
                            &settings.source,
                            &model,
                            &settings.thresholds,
                        );
                        batch.companion_sources.push(sources);
                        batch.take(line, Some(child));
                    }
                    Err(rejection) => {
                        batch.take(line, None);
                        report.rejected.push(Rejected {
                            source_record_id: Some(waiting.source_record_id.clone()),
                            ..rejection
                        });
                    }
                }
            }
            let done = import_batch(
                store,
                permit,
                &run_settings,
                &run_settings
                    .place_settings(supplied_at)
                    .with_held_share(held_share),
                WAITING,
                batch,
                now,
                true,
                cache.as_deref_mut(),
                normalised,
                &mut SuppliedBefore::TakenAsNew,
            )
            .await?;
            report.outcome.add(&done.summary);
            report.scored_ahead += done.scored_ahead;
            report.batches += 1;
            progress(report.rows);
        }
    }
    Ok(report)
}

/// One pass of the server's schedule: every source's records still waiting in the exceptions
/// queue tried again (as `retry_waiting` does), each with the authority it was supplied with.
/// A record raised before that was kept is tried as a source that cannot create children
/// would send it: linked once its child is clear, never made a new child. Returns what each
/// source with waiting records came to.
pub async fn retry_every_source(
    store: &Store,
    permit: &Permit,
    now: DateTime<Utc>,
) -> Result<Vec<(SourceCode, FileReport)>, ImportError> {
    let mut reports = Vec::new();
    for source in store.source_codes().await? {
        let settings = ImportSettings::system(source.clone(), false);
        let report = retry_waiting(store, permit, &settings, now, &mut |_| {}).await?;
        if report.rows > 0 {
            reports.push((source, report));
        }
    }
    Ok(reports)
}

/// The share of the directory's children `source` holds a record of, read once as an import
/// begins (two counts, 0.9 s in all at 1,000,000 children on SQLite): the children it places
/// during the import make the share only larger, so reading it then understates the weight
/// of a child the source holds no record of.
async fn held_share(
    store: &Store,
    permit: &Permit,
    source: &SourceCode,
) -> Result<f64, StorageError> {
    Ok(store.source_coverage(permit, source).await?.held_share())
}

/// After these many batches of one file the planner's statistics are refreshed: a load into
/// a new directory grows its tables tenfold again and again, and a plan made for the empty
/// tables (PostgreSQL keeps one per prepared statement) would read every row for every record.
/// Without autovacuum nothing else refreshes them during the load.
const STATISTICS_REFRESHED_AFTER: [u64; 5] = [1, 10, 100, 1_000, 10_000];

/// What the audit trail names as the file of a batch of waiting records tried again.
pub const WAITING: &str = "(records waiting in the exceptions queue)";

/// One batch's rows: those read, and those rejected with their identifiers.
#[derive(Default)]
struct Batch {
    children: Vec<SuppliedChild>,
    /// The rows of a file rejected, with line, field and reason.
    rejections: Vec<Rejected>,
    /// For records tried again, in the order of `children`: the sources of their companions
    /// (`companions`). Empty on a first import.
    companion_sources: Vec<Vec<SourceCode>>,
    rejected_ids: Vec<String>,
    first_line: Option<u64>,
    last_line: u64,
    rows: usize,
}

impl Batch {
    fn take(&mut self, line: u64, child: Option<SuppliedChild>) {
        self.first_line.get_or_insert(line);
        self.last_line = line;
        self.rows += 1;
        self.children.extend(child);
    }

    fn len(&self) -> usize {
        self.rows
    }
}

/// A file's rows as read, each taken or rejected.
type Rows<'r> = dyn Iterator<Item = Result<SuppliedChild, Rejected>> + Send + 'r;

/// The next batch of a file's `rows`, at most `size` of them, taken or rejected; `None` once
/// the file is read.
fn read_batch(rows: &mut Rows<'_>, size: usize) -> Option<Batch> {
    let mut batch = Batch::default();
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
        if batch.len() >= size {
            break;
        }
    }
    batch.first_line.is_some().then_some(batch)
}

/// A batch ready to place: its records keyed and digested, and those worth it scored ahead.
struct ReadyBatch {
    batch: Batch,
    records: Vec<IncomingRecord>,
    ahead: Vec<Option<ScoredAhead>>,
}

/// What one batch came to, and how many of its records were scored ahead.
struct BatchDone {
    batch: Batch,
    summary: BatchSummary,
    scored_ahead: u64,
}

/// Keys and digests each record of `batch` (on every core) and, given the load's `copy`,
/// scores ahead against it those worth scoring (`score_batch_ahead`).
#[allow(clippy::too_many_arguments)]
async fn make_ready(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    place_settings: &PlaceSettings,
    batch: Batch,
    retry_waiting: bool,
    copy: Option<&CandidateCache>,
    normalised: &mut NormalisedCandidates,
    supplied_before: &mut SuppliedBefore,
) -> Result<ReadyBatch, ImportError> {
    let today = place_settings.supplied_at.date_naive();
    let records: Vec<IncomingRecord> = batch
        .children
        .par_iter()
        .map(|child| IncomingRecord {
            source_record_id: child.source_record_id.clone(),
            digest: digest(child),
            probe_keys: probe_keys(child, today),
            postcode_district: child.postcode.as_ref().map(|p| p.outward().to_owned()),
            service_references: [&child.school_urn, &child.gp_practice_code]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            named_services: named_services(child, &settings.source),
        })
        .collect();
    let ahead = match copy {
        Some(copy) => {
            let worth = RecordsWorthScoring {
                source: &settings.source,
                retry_waiting,
                supplied_before,
            };
            score_batch_ahead(
                store,
                permit,
                &batch,
                &records,
                copy,
                place_settings,
                normalised,
                worth,
            )
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

/// Places and stores one batch in one transaction with its audit entry (stamped `now`);
/// the values count as supplied at `place_settings.supplied_at`.
#[allow(clippy::too_many_arguments)]
async fn import_batch(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    place_settings: &PlaceSettings,
    name: &str,
    batch: Batch,
    now: DateTime<Utc>,
    retry_waiting: bool,
    cache: Option<&mut CandidateCache>,
    normalised: &mut NormalisedCandidates,
    supplied_before: &mut SuppliedBefore,
) -> Result<BatchDone, ImportError> {
    let copy = cache.as_deref().filter(|copy| copy.trusted());
    let ready = make_ready(
        store,
        permit,
        settings,
        place_settings,
        batch,
        retry_waiting,
        copy,
        normalised,
        supplied_before,
    )
    .await?;
    let scored_ahead = ready.ahead.iter().flatten().count() as u64;
    let ReadyBatch {
        batch,
        records,
        ahead,
    } = ready;
    let supply_batch = supply_batch(
        settings,
        place_settings,
        &batch,
        records,
        retry_waiting,
        now,
    );
    let auditing = BatchAuditing::new(settings, name, &batch, now);
    let summary = place_and_finish(
        store,
        permit,
        place_settings,
        &batch,
        &supply_batch,
        ahead,
        cache,
        normalised,
        &auditing,
        1,
    )
    .await?;
    Ok(BatchDone {
        batch,
        summary,
        scored_ahead,
    })
}

/// Places `this` and, while it is written and committed on a task of its own, reads the next
/// batch of `rows` and makes it ready (scored ahead against the copy as this one placed it).
/// Returns what this batch came to, and the next batch if the file holds one.
#[allow(clippy::too_many_arguments)]
async fn place_then_ready_next(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    place_settings: &PlaceSettings,
    name: &str,
    this: ReadyBatch,
    now: DateTime<Utc>,
    mut cache: Option<&mut CandidateCache>,
    normalised: &mut NormalisedCandidates,
    supplied_before: &mut SuppliedBefore,
    rows: &mut Rows<'_>,
) -> Result<(BatchDone, Option<ReadyBatch>), ImportError> {
    let scored_ahead = this.ahead.iter().flatten().count() as u64;
    let ReadyBatch {
        batch,
        records,
        ahead,
    } = this;
    let supply_batch = supply_batch(settings, place_settings, &batch, records, false, now);
    let auditing = BatchAuditing::new(settings, name, &batch, now);
    let placed = {
        let mut placer = placer(&batch, ahead, place_settings, normalised);
        store
            .place_supply_batch(permit, &supply_batch, cache.as_deref_mut(), &mut placer)
            .await
    };
    let (finished, next) = match placed {
        Ok(placed) => {
            let finishing = {
                let auditing = auditing.clone();
                tokio::spawn(placed.finish(move |summary| auditing.event(summary)))
            };
            // The copy is not trusted again until the batch has committed; the next batch is
            // scored against it all the same, and placed from it only once it is.
            let next = ready_next(
                store,
                permit,
                settings,
                place_settings,
                rows,
                cache.as_deref(),
                normalised,
                supplied_before,
            )
            .await;
            let finished = match finishing.await {
                Ok(finished) => finished,
                Err(stopped) => std::panic::resume_unwind(stopped.into_panic()),
            };
            (
                finished.map(|f| f.settle_copy(cache.as_deref_mut())),
                Some(next),
            )
        }
        Err(error) => (Err(error), None),
    };
    let summary = match finished {
        Ok(summary) => summary,
        Err(error) if error.is_transient_conflict() => {
            tracing::warn!(%error, tries = 1, "a supplied batch was rolled back by a conflict with another writer; placing it again");
            place_and_finish(
                store,
                permit,
                place_settings,
                &batch,
                &supply_batch,
                Vec::new(),
                cache.as_deref_mut(),
                normalised,
                &auditing,
                2,
            )
            .await?
        }
        Err(error) => return Err(error.into()),
    };
    let next = match next {
        Some(next) => next?,
        None => {
            let copy = cache.as_deref().filter(|copy| copy.trusted());
            ready_next(
                store,
                permit,
                settings,
                place_settings,
                rows,
                copy,
                normalised,
                supplied_before,
            )
            .await?
        }
    };
    Ok((
        BatchDone {
            batch,
            summary,
            scored_ahead,
        },
        next,
    ))
}

/// The next batch of `rows` made ready (`make_ready`), if the file holds one.
#[allow(clippy::too_many_arguments)]
async fn ready_next(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    place_settings: &PlaceSettings,
    rows: &mut Rows<'_>,
    copy: Option<&CandidateCache>,
    normalised: &mut NormalisedCandidates,
    supplied_before: &mut SuppliedBefore,
) -> Result<Option<ReadyBatch>, ImportError> {
    let Some(batch) = read_batch(rows, settings.batch_size) else {
        return Ok(None);
    };
    let ready = make_ready(
        store,
        permit,
        settings,
        place_settings,
        batch,
        false,
        copy,
        normalised,
        supplied_before,
    )
    .await?;
    Ok(Some(ready))
}

/// The batch storage places: `batch`'s records as keyed in `records`.
fn supply_batch<'s>(
    settings: &'s ImportSettings,
    place_settings: &PlaceSettings,
    batch: &Batch,
    records: Vec<IncomingRecord>,
    retry_waiting: bool,
    now: DateTime<Utc>,
) -> SupplyBatch<'s> {
    SupplyBatch {
        source: &settings.source,
        records,
        rejected_ids: batch.rejected_ids.clone(),
        supplied_at: place_settings.supplied_at,
        authoritative: settings.authoritative,
        retry_waiting,
        decided_at: now,
        supplier_account_id: settings.supplier_account_id,
    }
}

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

/// Places and stores `supply_batch` in one transaction, with its audit entry. PostgreSQL
/// ends a deadlock with another writer by rolling one transaction back; a batch rolled back
/// so is placed again from its first record, against the database (the copy is set aside
/// once a batch fails), and nothing of the first try remains. `tries` counts this one.
#[allow(clippy::too_many_arguments)]
async fn place_and_finish(
    store: &Store,
    permit: &Permit,
    place_settings: &PlaceSettings,
    batch: &Batch,
    supply_batch: &SupplyBatch<'_>,
    ahead: Vec<Option<ScoredAhead>>,
    mut cache: Option<&mut CandidateCache>,
    normalised: &mut NormalisedCandidates,
    auditing: &BatchAuditing,
    mut tries: u32,
) -> Result<BatchSummary, ImportError> {
    let mut ahead = Some(ahead);
    loop {
        let mut placer = placer(
            batch,
            ahead.take().unwrap_or_default(),
            place_settings,
            normalised,
        );
        let audit = |summary: &BatchSummary| auditing.event(summary);
        match store
            .import_supply_batch(
                permit,
                supply_batch,
                cache.as_deref_mut(),
                &mut placer,
                &audit,
            )
            .await
        {
            Err(error) if error.is_transient_conflict() && tries < BATCH_TRIES => {
                tracing::warn!(%error, tries, "a supplied batch was rolled back by a conflict with another writer; placing it again");
                tries += 1;
            }
            placed => return Ok(placed?),
        }
    }
}

/// How often a batch is placed before a conflict with another writer is reported.
const BATCH_TRIES: u32 = 3;

/// What tells a batch which of its records are worth scoring ahead.
struct RecordsWorthScoring<'a> {
    source: &'a SourceCode,
    retry_waiting: bool,
    supplied_before: &'a mut SuppliedBefore,
}

impl RecordsWorthScoring<'_> {
    /// For each record, whether its batch will look for its candidates, as far as can be told
    /// before the batch: every record once the file's records are taken to be new.
    async fn ask(
        self,
        store: &Store,
        permit: &Permit,
        records: &[IncomingRecord],
    ) -> Result<Vec<bool>, ImportError> {
        if *self.supplied_before == SuppliedBefore::TakenAsNew {
            return Ok(vec![true; records.len()]);
        }
        let matched = store
            .records_matched_against_candidates(permit, self.source, records, self.retry_waiting)
            .await?;
        if matched.iter().all(|m| *m) {
            *self.supplied_before = SuppliedBefore::TakenAsNew;
        }
        Ok(matched)
    }
}

/// Each record of `batch` the batch will match scored ahead against the candidates the
/// load's copy holds for it (`ahead`), when there is more than one core to score on; none
/// otherwise, and each record is scored as it is placed. The caller gives a copy it may place
/// the batch from: one still trusted, or one a batch still committing will trust again. A record
/// the batch passes over as unchanged, or places again on its known child, is not scored.
#[allow(clippy::too_many_arguments)]
async fn score_batch_ahead(
    store: &Store,
    permit: &Permit,
    batch: &Batch,
    records: &[IncomingRecord],
    copy: &CandidateCache,
    place_settings: &PlaceSettings,
    normalised: &mut NormalisedCandidates,
    worth: RecordsWorthScoring<'_>,
) -> Result<Vec<Option<ScoredAhead>>, ImportError> {
    if rayon::current_num_threads() < 2 {
        return Ok(Vec::new());
    }
    let worth_scoring = worth.ask(store, permit, records).await?;
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
    let authorities = store.district_authorities(permit, &districts).await?;
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
        place_settings,
        normalised,
    )) {
        ahead[index] = Some(scored);
    }
    Ok(ahead)
}

/// The school and GP practice a record names that its source may name (by precedence: the
/// census and local systems for a school, the NHS and local systems for a GP practice).
pub(crate) fn named_services(child: &SuppliedChild, source: &SourceCode) -> Vec<NamedService> {
    [
        (
            ValueGroup::School,
            NamedServiceKind::School,
            &child.school_urn,
        ),
        (
            ValueGroup::GpPractice,
            NamedServiceKind::GpPractice,
            &child.gp_practice_code,
        ),
    ]
    .into_iter()
    .filter(|(group, _, _)| names_service(*group, source))
    .filter_map(|(_, kind, reference)| {
        reference.as_ref().map(|reference| NamedService {
            kind,
            reference: reference.clone(),
        })
    })
    .collect()
}

/// Imports one file from disk, its format known by its name, keeping the copy of the
/// candidates in `copy` for the next file (`import_reader_keeping`).
pub async fn import_file_keeping(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    path: &Path,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64) + Send),
    copy: &mut LoadCopy,
) -> Result<FileReport, ImportError> {
    let format = Format::of_path(path)?;
    let file = std::fs::File::open(path)
        .map_err(|e| SupplyFileError::Unreadable(format!("{}: {e}", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    import_reader_keeping(
        store, permit, settings, &name, file, format, now, progress, copy,
    )
    .await
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
    fn new(settings: &ImportSettings, file: &str, batch: &Batch, now: DateTime<Utc>) -> Self {
        Self {
            route: settings.route,
            source: settings.source.clone(),
            supplier_account_id: settings.supplier_account_id,
            file: file.to_owned(),
            lines: format!(
                "{}-{}",
                batch.first_line.unwrap_or_default(),
                batch.last_line
            ),
            now,
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
