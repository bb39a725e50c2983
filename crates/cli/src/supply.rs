//! `contactpoint supply`: import suppliers' files, and report what became of every record.

use anyhow::{Context, Result};
use contactpoint_domain::{Clock, Permit, SourceCode, SystemClock, SystemTask};
use contactpoint_intake::{
    import_involvements, import_reader_keeping, retry_waiting, ImportSettings, LoadCopy,
};
use contactpoint_storage::supply::SupplyLink;
use contactpoint_storage::Store;
use contactpoint_supply::{Format, Rejected};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, clap::Subcommand)]
pub enum SupplyCommand {
    /// Import a supplier's files (CSV or JSON lines, docs/SUPPLY.md): each record is linked
    /// to its child, creates one (authoritative sources only) or waits in the local team's
    /// exceptions queue. Safe to run again, and to run again after being stopped at any
    /// moment: records already imported with the same values are skipped. Rejected rows are
    /// listed in FILE.rejects.csv beside each file and in the summary.
    Import(ImportArgs),
    /// Try again the source's records still waiting in the exceptions queue, against the
    /// directory as it is now: after a bulk load, many wait only for a child another source
    /// has since brought in. Each is judged as of when it was supplied; those that still
    /// cannot be placed wait on, with their candidates brought up to date.
    Retry(LoadArgs),
    /// Write what became of every record a source supplied, as CSV on standard output:
    /// source,source_record_id,contactpoint_id,status (linked, created, exception, rejected).
    Links(LinksArgs),
}

/// Which supplier's records go where, and how: what importing and trying again share.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB; the schema is brought up to date first.
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    /// The supplier: birth_registration, schools_census, child_benefit, nhs_demographics or
    /// local_systems.
    #[arg(long)]
    pub source: String,
    /// The source may create a child when no child matches a record (otherwise such a record
    /// waits for the local team).
    #[arg(long)]
    pub authoritative: bool,
    /// Records per transaction. An initial load with nobody searching does better with
    /// 10000 (less written to disk); on SQLite a live server's searches wait for each batch.
    #[arg(long, default_value_t = ImportSettings::DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// How many children the nation served has: the matching model's prior is one chance in
    /// this many that a record is any one child (docs/MATCHING.md). England's by default.
    #[arg(long, default_value_t = contactpoint_matching::linkage::NATIONAL_POPULATION)]
    pub population: u64,
}

impl LoadArgs {
    /// The store, brought up to date, and the settings of a load into it.
    async fn open(&self) -> Result<(Store, ImportSettings)> {
        let store = Store::connect_for_loading(&self.database_url).await?;
        store.migrate().await?;
        let source = known_source(&store, &self.source).await?;
        let settings =
            ImportSettings::bulk(source, self.authoritative, self.batch_size, self.population);
        Ok((store, settings))
    }
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// What the files hold: child records, or involvements (a service or practitioner
    /// starting or ending work with a child).
    #[arg(long, value_enum, default_value_t = Records::Children)]
    pub records: Records,
    /// Read every child into memory once per file and find each record's candidates there:
    /// for an initial load of national files into a directory nothing else is writing to
    /// (faster at national scale; about 2.5 KB of memory a child). Should
    /// anything else write meanwhile, the import reads the database from its next batch on.
    #[arg(long)]
    pub candidates_in_memory: bool,
    /// The files, imported in the order given.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Records {
    Children,
    Involvements,
}

#[derive(Debug, clap::Args)]
pub struct LinksArgs {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    /// The supplier whose records to list.
    #[arg(long)]
    pub source: String,
}

pub async fn run(command: SupplyCommand) -> Result<()> {
    match command {
        SupplyCommand::Import(args) => import(args).await,
        SupplyCommand::Retry(args) => retry(args).await,
        SupplyCommand::Links(args) => links(args).await,
    }
}

/// The supplier named on the command line, which must be one the directory knows.
pub(crate) async fn known_source(store: &Store, name: &str) -> Result<SourceCode> {
    Ok(store.known_source("--source", name).await?)
}

/// Counts the bytes read through it, for the progress bar.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

async fn import(args: ImportArgs) -> Result<()> {
    let (store, settings) = args.load.open().await?;
    let settings = settings.with_candidates_in_memory(args.candidates_in_memory);
    let permit = Permit::system_bypass(SystemTask::SupplyImport);
    let mut failed = Vec::new();
    // With candidates in memory, the copy read for the first file serves the next ones.
    let mut copy = LoadCopy::default();
    for path in &args.files {
        match import_one(&store, &permit, &settings, args.records, path, &mut copy).await {
            Ok(()) => {}
            Err(e) => {
                eprintln!("{}: not imported: {e:#}", path.display());
                failed.push(path.display().to_string());
            }
        }
    }
    // The search keys of the children the files made or changed, set aside while they were
    // loaded, are indexed once for all of them, whichever files failed.
    let indexed = copy.finish(&store).await;
    if !failed.is_empty() {
        if let Err(e) = &indexed {
            eprintln!("indexing the loaded children for search: {e:#}");
        }
        anyhow::bail!(
            "{} file(s) not imported: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    indexed.context("indexing the loaded children for search")?;
    Ok(())
}

async fn import_one(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    records: Records,
    path: &Path,
    copy: &mut LoadCopy,
) -> Result<()> {
    let format = Format::of_path(path)?;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read = Arc::new(AtomicU64::new(0));
    let input = Counted {
        inner: std::io::BufReader::with_capacity(1 << 16, file),
        read: read.clone(),
    };
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    bar.set_message(name.clone());
    let started = Instant::now();
    let mut progress = |_rows: u64| bar.set_position(read.load(Ordering::Relaxed));
    let now = SystemClock.now();
    let rejects = rejects_path(path);
    match records {
        Records::Children => {
            let report = import_reader_keeping(
                store,
                permit,
                settings,
                &name,
                input,
                format,
                now,
                &mut progress,
                copy,
            )
            .await;
            bar.finish_and_clear();
            let report = report?;
            write_rejects(&rejects, &report.rejected)?;
            let o = &report.outcome;
            println!(
                "{}: {} rows in {} batches, {:.1} s ({:.0} rows a second): {} linked ({} of them updated a child), {} created, {} exceptions for the local teams, {} rejected, {} unchanged since an earlier import; {} school or GP involvements started, {} ended, {} references to no known service.",
                path.display(),
                report.rows,
                report.batches,
                started.elapsed().as_secs_f64(),
                report.rows as f64 / started.elapsed().as_secs_f64().max(1e-9),
                o.linked,
                o.updated,
                o.created,
                o.exceptions,
                report.rejected.len(),
                o.unchanged,
                o.services_started,
                o.services_ended,
                o.services_unknown,
            );
            print_rejections(&rejects, &report.rejected);
        }
        Records::Involvements => {
            let report = import_involvements(
                store,
                permit,
                settings,
                &name,
                input,
                format,
                now,
                &mut progress,
            )
            .await;
            bar.finish_and_clear();
            let report = report?;
            write_rejects(&rejects, &report.rejected)?;
            println!(
                "{}: {} rows in {} batches, {:.1} s: {} involvements started, {} updated, {} rejected, {} unchanged since an earlier import.",
                path.display(),
                report.rows,
                report.batches,
                started.elapsed().as_secs_f64(),
                report.started,
                report.updated,
                report.rejected.len(),
                report.unchanged,
            );
            print_rejections(&rejects, &report.rejected);
        }
    }
    Ok(())
}

/// Where the rejects of `file` are listed: `FILE.rejects.csv` beside it.
pub fn rejects_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".rejects.csv");
    PathBuf::from(name)
}

fn write_rejects(path: &Path, rejected: &[Rejected]) -> Result<()> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
    );
    writeln!(out, "line,source_record_id,field,reason")?;
    for r in rejected {
        writeln!(
            out,
            "{},{},{},{}",
            r.line,
            csv_field(r.source_record_id.as_deref().unwrap_or("")),
            csv_field(&r.field),
            csv_field(&r.reason)
        )?;
    }
    out.flush()?;
    Ok(())
}

/// A value quoted for CSV when it needs to be (RFC 4180).
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn print_rejections(rejects: &Path, rejected: &[Rejected]) {
    if rejected.is_empty() {
        return;
    }
    for r in rejected.iter().take(10) {
        println!(
            "  rejected: line {}, {}, {}: {}",
            r.line,
            r.source_record_id.as_deref().unwrap_or("(no identifier)"),
            r.field,
            r.reason
        );
    }
    if rejected.len() > 10 {
        println!("  ... and {} more", rejected.len() - 10);
    }
    println!("  every rejected row is listed in {}", rejects.display());
}

async fn retry(args: LoadArgs) -> Result<()> {
    let (store, settings) = args.open().await?;
    let permit = Permit::system_bypass(SystemTask::SupplyImport);
    let started = Instant::now();
    let report = retry_waiting(&store, &permit, &settings, SystemClock.now(), &mut |_| {}).await?;
    let o = &report.outcome;
    println!(
        "{}: {} waiting records tried again in {:.1} s: {} linked, {} created, {} still waiting.",
        args.source,
        report.rows,
        started.elapsed().as_secs_f64(),
        o.linked,
        o.created,
        o.exceptions,
    );
    // A waiting record was read once already; one that no longer reads stays waiting.
    for r in &report.rejected {
        println!(
            "  left waiting, no longer readable: {}, {}: {}",
            r.source_record_id.as_deref().unwrap_or("(no identifier)"),
            r.field,
            r.reason
        );
    }
    Ok(())
}

async fn links(args: LinksArgs) -> Result<()> {
    let store = Store::connect(&args.database_url).await?;
    store.migrate().await?;
    let source = known_source(&store, &args.source).await?;
    let permit = Permit::system_bypass(SystemTask::SupplyImport);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    writeln!(out, "source,source_record_id,contactpoint_id,status")?;
    each_link(&store, &permit, &source, |link| {
        writeln!(
            out,
            "{},{},{},{}",
            source,
            csv_field(&link.source_record_id),
            link.contactpoint_id
                .map(|id| id.as_digits())
                .unwrap_or_default(),
            link.status.code()
        )?;
        Ok(())
    })
    .await?;
    out.flush()?;
    Ok(())
}

/// Hands `each` what became of every record `source` supplied, in identifier order, a page
/// at a time (memory stays flat however many there are).
pub(crate) async fn each_link(
    store: &Store,
    permit: &Permit,
    source: &SourceCode,
    mut each: impl FnMut(SupplyLink) -> Result<()>,
) -> Result<()> {
    let mut after: Option<String> = None;
    loop {
        let page = store
            .supply_links(permit, source, after.as_deref(), 10_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.source_record_id.clone());
        for link in page {
            each(link)?;
        }
    }
    Ok(())
}
