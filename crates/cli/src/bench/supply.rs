//! `contactpoint bench supply`: the initial load of the four national suppliers' files into
//! an empty directory, end to end through the real import (reading, matching, placing, the
//! batch transactions with their audit entries), then judged against the truth file.

mod accuracy;

use crate::supply::each_link;
use accuracy::{measure, Accuracy, Placed, Truth};
use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use contactpoint_domain::{Permit, SourceCode, SystemTask};
use contactpoint_intake::{
    import_file_keeping, retry_waiting_keeping, FileReport, ImportSettings, LoadCopy,
};
use contactpoint_matching::linkage::Thresholds;
use contactpoint_storage::supply::SupplyStatus;
use contactpoint_storage::Store;
use contactpoint_synthetic::{load_reference_data, NationSpec, Supplier};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct SupplyArgs {
    /// How many children the nation has.
    #[arg(long, default_value_t = 1_000_000)]
    pub children: u64,
    /// The nation's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The date the nation is drawn at and the records are supplied on, YYYY-MM-DD.
    #[arg(long, default_value = "2026-11-23")]
    pub as_of: NaiveDate,
    /// An empty database (sqlite://PATH or postgres://USER@HOST:PORT/DB): the benchmark
    /// loads the reference data, then the four suppliers' files.
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    /// Where the suppliers' files are written (reused when DIR/truth.csv is there already).
    #[arg(long, value_name = "DIR")]
    pub files_dir: PathBuf,
    /// Records per transaction.
    #[arg(long, default_value_t = ImportSettings::DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// The population the matching prior assumes; by default the nation's own size, which
    /// is the whole population its files come from (a deployment gives England's).
    #[arg(long)]
    pub population: Option<u64>,
    /// Find each record's candidates with a statement to the database, as an import does
    /// by default, instead of in a copy held in memory (`supply import
    /// --candidates-in-memory`, which an initial load uses).
    #[arg(long)]
    pub candidates_from_database: bool,
    /// Link a record at or above this probability (docs/MATCHING.md, "Deciding").
    #[arg(long, default_value_t = Thresholds::DEFAULT.upper)]
    pub upper_threshold: f64,
    /// Below this probability an authoritative source's record makes a new child and any
    /// other's waits; a record at or above it against a shielded child is held.
    #[arg(long, default_value_t = Thresholds::DEFAULT.lower)]
    pub lower_threshold: f64,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl SupplyArgs {
    fn population(&self) -> u64 {
        self.population.unwrap_or(self.children)
    }

    fn thresholds(&self) -> Result<Thresholds> {
        Thresholds::new(self.lower_threshold, self.upper_threshold).with_context(|| {
            format!(
                "--lower-threshold {} and --upper-threshold {}: give 0 <= lower <= upper <= 1",
                self.lower_threshold, self.upper_threshold
            )
        })
    }

    /// How one supplier's records are loaded.
    fn settings(&self, supplier: Supplier, authoritative: bool) -> Result<ImportSettings> {
        Ok(ImportSettings::bulk(
            source_code(supplier)?,
            authoritative,
            self.batch_size,
            self.population(),
        )
        .with_candidates_in_memory(!self.candidates_from_database)
        .with_thresholds(self.thresholds()?))
    }
}

fn source_code(supplier: Supplier) -> Result<SourceCode> {
    SourceCode::parse(supplier.source()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The order of the initial load, and who may create children: the register of births and
/// the NHS register between them hold every child; the schools census and child benefit
/// link to them, and what they cannot link waits for the local teams.
const LOAD_ORDER: [(Supplier, bool); 4] = [
    (Supplier::BirthRegistration, true),
    (Supplier::NhsDemographics, true),
    (Supplier::SchoolsCensus, false),
    (Supplier::ChildBenefit, false),
];

#[derive(Debug, serde::Serialize)]
struct SourceFigures {
    source: String,
    /// 0 for the file's load, then which round of trying its waiting records again.
    round: u32,
    authoritative: bool,
    rows: u64,
    seconds: f64,
    records_per_second: f64,
    linked: usize,
    updated: usize,
    created: usize,
    exceptions: usize,
    rejected: usize,
    unchanged: usize,
}

impl SourceFigures {
    fn of(supplier: Supplier, authoritative: bool, report: &FileReport, seconds: f64) -> Self {
        let o = &report.outcome;
        Self {
            source: supplier.source().to_owned(),
            round: 0,
            authoritative,
            rows: report.rows,
            seconds,
            records_per_second: report.rows as f64 / seconds.max(f64::EPSILON),
            linked: o.linked,
            updated: o.updated,
            created: o.created,
            exceptions: o.exceptions,
            rejected: report.rejected.len(),
            unchanged: o.unchanged,
        }
    }
}

#[derive(Debug, serde::Serialize)]
struct Report {
    backend: &'static str,
    children: u64,
    seed: u64,
    as_of: NaiveDate,
    batch_size: usize,
    population: u64,
    upper_threshold: f64,
    lower_threshold: f64,
    files_seconds: Option<f64>,
    rows: u64,
    import_seconds: f64,
    /// Of `import_seconds`, moving the search keys the load set aside into the index as it
    /// ended.
    indexing_seconds: f64,
    records_per_second: f64,
    peak_memory_mib: Option<f64>,
    sources: Vec<SourceFigures>,
    /// The waiting records tried again after the load, per source.
    retried: Vec<SourceFigures>,
    accuracy: Accuracy,
}

pub async fn run(args: SupplyArgs) -> Result<()> {
    args.thresholds()?;
    let spec = crate::generate::nation_spec(&crate::generate::GenerateArgs {
        children: args.children,
        seed: args.seed,
        database_url: args.database_url.clone(),
        local_authorities: Vec::new(),
        as_of: Some(args.as_of),
    })?;
    let files_seconds = ensure_files(&spec, &args.files_dir)?;
    // From here, not from the writing of the files.
    let memory = OwnMemoryPeak::start();

    let store = Store::connect_for_loading(&args.database_url).await?;
    store.migrate().await?;
    if !store.stats().await?.is_empty() {
        bail!("--database-url: the database already holds local authorities; the benchmark measures an initial load and needs an empty database");
    }
    load_reference_data(&store, &spec)
        .await
        .context("loading the reference data")?;

    let permit = Permit::system_bypass(SystemTask::SupplyImport);
    let mut sources = Vec::new();
    let started = Instant::now();
    // One copy of the candidates for the whole load, as `supply import` keeps it across the
    // files it is given.
    let mut copy = LoadCopy::default();
    for (supplier, authoritative) in LOAD_ORDER {
        sources.push(
            import_source(
                &store,
                &permit,
                &spec,
                &args,
                supplier,
                authoritative,
                &mut copy,
            )
            .await?,
        );
    }
    let rows: u64 = sources.iter().map(|s| s.rows).sum();
    // Then, as the server's schedule does after a bulk load (here with the load's copy of the
    // candidates, while it is trusted), each source's waiting records are
    // tried again against the full directory, round after round while a round places any: a
    // record that waited for its child (a birth registration without a postcode, say) is
    // placed once a later source's record, itself waiting until the round before, has
    // brought the child in.
    let mut retried = Vec::new();
    for round in 1..=RETRY_ROUNDS {
        let mut placed = 0;
        for (supplier, authoritative) in LOAD_ORDER {
            let figures = retry_source(
                &store,
                &permit,
                &spec,
                &args,
                (supplier, authoritative),
                round,
                &mut copy,
            )
            .await?;
            placed += figures.linked + figures.created;
            retried.push(figures);
        }
        if placed == 0 {
            break;
        }
    }
    // The load ends as `supply import` ends one: the search keys set aside are indexed, and
    // the time that takes is the load's.
    let indexing = Instant::now();
    copy.finish(&store)
        .await
        .context("indexing the loaded children for search")?;
    let indexing_seconds = indexing.elapsed().as_secs_f64();
    let import_seconds = started.elapsed().as_secs_f64();

    // Before judging, which holds every record's truth and link in memory.
    let peak_memory_mib = memory.mib();
    eprintln!("Judging every record against truth.csv...");
    let links = all_links(&store, &permit).await?;
    let accuracy = judge(&args.files_dir.join("truth.csv"), links)?;
    store.close().await;

    let report = Report {
        backend: if args.database_url.starts_with("postgres") {
            "postgresql"
        } else {
            "sqlite"
        },
        children: args.children,
        seed: args.seed,
        as_of: args.as_of,
        batch_size: args.batch_size,
        population: args.population(),
        upper_threshold: args.upper_threshold,
        lower_threshold: args.lower_threshold,
        files_seconds,
        rows,
        import_seconds,
        indexing_seconds,
        records_per_second: rows as f64 / import_seconds.max(f64::EPSILON),
        peak_memory_mib,
        sources,
        retried,
        accuracy,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

/// At most this many rounds of trying the waiting records again (each round usually places
/// a tenth of what the one before did).
const RETRY_ROUNDS: u32 = 4;

/// Names the nation a directory's files were written for.
const MANIFEST: &str = "nation.txt";

fn manifest(spec: &NationSpec) -> String {
    format!(
        "children={} seed={} as_of={}\n",
        spec.children,
        spec.seed,
        spec.today()
    )
}

/// Writes the suppliers' files unless `dir` holds them already, for this nation; the seconds
/// it took.
fn ensure_files(spec: &NationSpec, dir: &Path) -> Result<Option<f64>> {
    if dir.join("truth.csv").exists() {
        let held = std::fs::read_to_string(dir.join(MANIFEST)).unwrap_or_default();
        if held != manifest(spec) {
            bail!(
                "--files-dir: {} holds suppliers' files of another nation ({}); give an empty directory or the one written for --children {} --seed {} --as-of {}",
                dir.display(),
                if held.trim().is_empty() {
                    "not named"
                } else {
                    held.trim()
                },
                spec.children,
                spec.seed,
                spec.today()
            );
        }
        eprintln!("Reusing the suppliers' files in {}.", dir.display());
        return Ok(None);
    }
    eprintln!(
        "Writing the suppliers' files of {} children into {}...",
        spec.children,
        dir.display()
    );
    let started = Instant::now();
    crate::generate::write_files_with_progress(spec, dir)?;
    std::fs::write(dir.join(MANIFEST), manifest(spec))?;
    Ok(Some(started.elapsed().as_secs_f64()))
}

/// The most memory of its own this process held while loading (Linux): resident memory that
/// is not a file mapped into it. On SQLite a load maps the database file, whose pages are the
/// system's file cache rather than the load's, so the resident high-water mark would count
/// the database. Sampled ten times a second.
struct OwnMemoryPeak {
    kib: std::sync::Arc<std::sync::atomic::AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl OwnMemoryPeak {
    fn start() -> Self {
        let kib = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = kib.clone();
        let sampler = tokio::spawn(async move {
            loop {
                if let Some(now) = own_memory_kib() {
                    seen.fetch_max(now, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        });
        Self { kib, sampler }
    }

    /// The peak so far, in MiB; `None` where the system does not say.
    fn mib(&self) -> Option<f64> {
        let now = own_memory_kib()?;
        let peak = self
            .kib
            .fetch_max(now, std::sync::atomic::Ordering::Relaxed)
            .max(now);
        Some(peak as f64 / 1024.0)
    }
}

impl Drop for OwnMemoryPeak {
    fn drop(&mut self) {
        self.sampler.abort();
    }
}

/// This process's resident memory that is its own (`RssAnon`, Linux), in KiB.
fn own_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn import_source(
    store: &Store,
    permit: &Permit,
    spec: &NationSpec,
    args: &SupplyArgs,
    supplier: Supplier,
    authoritative: bool,
    copy: &mut LoadCopy,
) -> Result<SourceFigures> {
    let settings = args.settings(supplier, authoritative)?;
    let path = args.files_dir.join(supplier.file_name());
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} {msg}: {human_pos} rows ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(supplier.source());
    let started = Instant::now();
    let mut progress = |rows: u64| bar.set_position(rows);
    let report = import_file_keeping(
        store,
        permit,
        &settings,
        &path,
        spec.as_of,
        &mut progress,
        copy,
    )
    .await
    .with_context(|| format!("importing {}", path.display()))?;
    // Fresh statistics after each source, as an operator would run them after a bulk load,
    // so that the next source's candidate reads use the indexes.
    store.analyze().await?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    eprintln!(
        "{}: {} rows in {:.1} s ({:.0} a second)",
        supplier.source(),
        report.rows,
        seconds,
        report.rows as f64 / seconds.max(f64::EPSILON)
    );
    Ok(SourceFigures::of(supplier, authoritative, &report, seconds))
}

async fn retry_source(
    store: &Store,
    permit: &Permit,
    spec: &NationSpec,
    args: &SupplyArgs,
    (supplier, authoritative): (Supplier, bool),
    round: u32,
    copy: &mut LoadCopy,
) -> Result<SourceFigures> {
    let settings = args.settings(supplier, authoritative)?;
    let started = Instant::now();
    let report = retry_waiting_keeping(store, permit, &settings, spec.as_of, &mut |_| {}, copy)
        .await
        .with_context(|| format!("trying again the waiting records of {}", supplier.source()))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(SourceFigures {
        round,
        ..SourceFigures::of(supplier, authoritative, &report, seconds)
    })
}

/// Where every supplied record went, keyed by source and identifier.
async fn all_links(store: &Store, permit: &Permit) -> Result<HashMap<(String, String), Placed>> {
    let mut links = HashMap::new();
    for (supplier, _) in LOAD_ORDER {
        each_link(store, permit, &source_code(supplier)?, |link| {
            let placed = match (link.status, link.contactpoint_id) {
                (SupplyStatus::Linked | SupplyStatus::Created, Some(id)) => {
                    Placed::Child(id.as_digits().to_string())
                }
                (SupplyStatus::Rejected, _) => Placed::Rejected,
                _ => Placed::Exception,
            };
            links.insert(
                (supplier.source().to_owned(), link.source_record_id),
                placed,
            );
            Ok(())
        })
        .await?;
    }
    Ok(links)
}

fn judge(truth_path: &Path, mut links: HashMap<(String, String), Placed>) -> Result<Accuracy> {
    let mut reader = csv::Reader::from_path(truth_path)
        .with_context(|| format!("reading {}", truth_path.display()))?;
    let mut judged = Vec::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", truth_path.display()))?;
        let (Some(source), Some(id), Some(person), Some(expected)) =
            (row.get(0), row.get(1), row.get(2), row.get(3))
        else {
            bail!("{}: a row without four columns", truth_path.display());
        };
        let placed = links
            .remove(&(source.to_owned(), id.to_owned()))
            .unwrap_or(Placed::Missing);
        judged.push((
            Truth {
                source: source.to_owned(),
                person: person.to_owned(),
                expected_rejected: expected == "rejected",
            },
            placed,
        ));
    }
    Ok(measure(&judged))
}

fn percent(x: f64) -> String {
    format!("{:.3} %", x * 100.0)
}

fn print_report(report: &Report) {
    println!(
        "Initial load of {} children (seed {}, as of {}) on {}, {} records a transaction, matching prior 1 in {}, thresholds {} and {}",
        report.children,
        report.seed,
        report.as_of,
        report.backend,
        report.batch_size,
        report.population,
        report.lower_threshold,
        report.upper_threshold
    );
    if let Some(seconds) = report.files_seconds {
        println!("  suppliers' files written in {seconds:.1} s (not counted below)");
    }
    println!(
        "  {} records in {:.1} s: {:.0} records a second end to end; peak memory of this process while loading {} (its own, not the database file it maps)",
        report.rows,
        report.import_seconds,
        report.records_per_second,
        report
            .peak_memory_mib
            .map(|m| format!("{m:.0} MiB"))
            .unwrap_or_else(|| "unknown".to_owned())
    );
    println!(
        "  of which {:.1} s indexing for search, as the load ended, the children it made or changed",
        report.indexing_seconds
    );
    println!(
        "  {:<28} {:>5} {:>10} {:>8} {:>8} {:>10} {:>9} {:>9} {:>10} {:>9}",
        "source",
        "auth",
        "rows",
        "s",
        "rows/s",
        "linked",
        "updated",
        "created",
        "exceptions",
        "rejected"
    );
    for s in report.sources.iter().chain(&report.retried) {
        let name = match s.round {
            0 => s.source.clone(),
            1 => format!("{} (again)", s.source),
            round => format!("{} (round {round})", s.source),
        };
        println!(
            "  {:<28} {:>5} {:>10} {:>8.1} {:>8.0} {:>10} {:>9} {:>9} {:>10} {:>9}",
            name,
            if s.authoritative { "yes" } else { "no" },
            s.rows,
            s.seconds,
            s.records_per_second,
            s.linked,
            s.updated,
            s.created,
            s.exceptions,
            s.rejected
        );
    }
    let a = &report.accuracy;
    println!(
        "Accuracy against truth.csv ({} good rows of {} children):",
        a.records, a.children
    );
    println!(
        "  pairwise precision {}, recall {}, F1 {} ({} linked pairs, {} right, of {} true pairs)",
        percent(a.precision),
        percent(a.recall),
        percent(a.f1),
        a.linked_pairs,
        a.right_pairs,
        a.true_pairs
    );
    println!(
        "  children split over several records {} ({}), merged with another child {} ({})",
        percent(a.split_share()),
        a.split_children,
        percent(a.merged_share()),
        a.merged_children
    );
    println!(
        "  rows waiting in the exceptions queue {} ({}, of {} children); good rows rejected {}, bad rows taken {}, rows not accounted for {}",
        percent(a.exception_share()),
        a.exceptions,
        a.children_with_exceptions,
        a.wrongly_rejected,
        a.wrongly_accepted,
        a.missing
    );
    println!("  rows not on their child's main record, by source (exception / another child / rejected):");
    for (source, astray) in &a.astray {
        println!(
            "    {:<20} {:>9} ({} / {} / {})",
            source, astray.rows, astray.exception, astray.other_child, astray.rejected
        );
    }
}
