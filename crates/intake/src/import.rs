//! Importing a supplier's files: each file read as a stream, taken in batches, each batch
//! placed and stored in one transaction with one audit entry (`batches.rs`). A record already stored with
//! the same values is skipped, so an import run twice, or run again after being killed at any
//! moment, ends exactly where one clean run would.

use crate::batches::{Batch, Batches};
use crate::companions::{Companions, WaitingPages};
use crate::place::{NormalisedCandidates, PlaceSettings};
use chrono::{DateTime, Utc};
use contactpoint_domain::precedence::{names_service, ValueGroup};
use contactpoint_domain::{AccessRoute, Permit, SourceCode};
use contactpoint_matching::linkage::{Thresholds, NATIONAL_POPULATION};
use contactpoint_storage::supply::{BatchSummary, NamedService, NamedServiceKind};
use contactpoint_storage::{CandidateCache, StorageError, Store};
use contactpoint_supply::{
    child_from_json, read_children, Format, Rejected, SuppliedChild, SupplyFileError,
};
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
pub(crate) enum SuppliedBefore {
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
    #[error("{0}")]
    Interrupted(&'static str),
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
    let report = import_reader_keeping(
        store, permit, settings, name, input, format, now, progress, &mut copy,
    )
    .await?;
    copy.finish(store).await?;
    Ok(report)
}

/// What a load of several files keeps from one file to the next when its candidates come
/// from memory (`ImportSettings::candidates_in_memory`): its copy of the candidates, read
/// once for the whole load instead of once a file (each batch keeps it as the directory
/// is), and the candidates it has normalised for comparison. On SQLite the search keys of
/// the children the load makes or changes wait aside until it ends: end it with
/// [`LoadCopy::finish`].
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

    /// Ends a file or retry whose batches read their candidates from `cache`. One that ended
    /// leaves the search keys it set aside for the load's end (`LoadCopy::finish`): the copy
    /// it hands on files them, and moving them once for the whole load sorts the index by
    /// child once instead of after every file. One that failed part way has them indexed now
    /// (its committed batches stay, and a search finds their children from here on), and the
    /// next file reads the copy afresh.
    async fn settle<T>(
        &mut self,
        store: &Store,
        cache: Option<CandidateCache>,
        worked: Result<T, ImportError>,
    ) -> Result<T, ImportError> {
        if cache.is_none() {
            return worked;
        }
        match worked {
            Ok(done) => {
                self.cache = cache;
                Ok(done)
            }
            Err(error) => {
                // The failure is what the caller hears; the keys are moved by the next
                // import, retry or server start if they cannot be now.
                if let Err(moving) = store.index_set_aside_keys().await {
                    tracing::warn!(error = %moving, "could not index the search keys a failed file set aside");
                }
                Err(error)
            }
        }
    }

    /// The copy kept from the file before, if it is still trusted and the next file or retry
    /// reads its candidates from memory. Otherwise whatever a load set aside is indexed
    /// first, in committed steps, before the directory is read or any batch looks a candidate
    /// up in the index: keys this load left aside, or a stopped load's.
    async fn take_for(
        &mut self,
        store: &Store,
        settings: &ImportSettings,
    ) -> Result<Option<CandidateCache>, ImportError> {
        let kept = self
            .take_trusted()
            .filter(|_| settings.candidates_in_memory);
        if kept.is_none() {
            store.index_set_aside_keys().await?;
        }
        Ok(kept)
    }

    /// Ends the load: the search keys its files and retries set aside for the children they
    /// made or changed are moved into the index, and a practitioner's search finds those
    /// children from here on; returns how many keys were moved. Until then only the load's
    /// copy files them. Should the load stop before it finishes, the next import, retry or
    /// server start moves them (`Store::migrate`).
    pub async fn finish(self, store: &Store) -> Result<u64, ImportError> {
        Ok(store.index_set_aside_keys().await?)
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
    let kept = copy.take_for(store, settings).await?;
    let mut report = FileReport::default();
    // A copy is kept only for a load reading its candidates from memory.
    let mut cache = match kept {
        Some(kept) => Some(kept),
        None if settings.candidates_in_memory => Some(store.candidate_cache(permit).await?),
        None => None,
    };
    let normalised = &mut copy.normalised;
    let place_settings = settings
        .place_settings(now)
        .with_held_share(held_share(store, permit, &settings.source).await?);
    let mut supplied_before = SuppliedBefore::AskEachBatch;
    let batches = Batches {
        store,
        permit,
        settings,
        place_settings: &place_settings,
        name,
        now,
        retry_waiting: false,
    };
    let placed: Result<(), ImportError> = async {
        let copy = cache.as_ref().filter(|copy| copy.trusted());
        let mut ready = batches
            .ready_next(&mut rows, copy, normalised, &mut supplied_before)
            .await?;
        while let Some(this) = ready.take() {
            let (done, next) = batches
                .place_then_ready_next(
                    this,
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
    let report = retry_waiting_keeping(store, permit, settings, now, progress, &mut copy).await?;
    copy.finish(store).await?;
    Ok(report)
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
    let mut cache = copy.take_for(store, settings).await?;
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
            let place_settings = run_settings
                .place_settings(supplied_at)
                .with_held_share(held_share);
            let batches = Batches {
                store,
                permit,
                settings: &run_settings,
                place_settings: &place_settings,
                name: WAITING,
                now,
                retry_waiting: true,
            };
            let done = batches
                .import(
                    batch,
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
