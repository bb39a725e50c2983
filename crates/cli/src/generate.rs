use anyhow::{bail, Context, Result};
use chrono::{NaiveDate, NaiveTime};
use contactpoint_domain::{Clock, SystemClock};
use contactpoint_storage::Store;
use contactpoint_synthetic::{
    find_local_authority, load_nation, load_reference_data, write_supplier_files, LoadSummary,
    NationSpec, Supplier, SupplierFilesSummary,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The nation to draw and the database it goes to: what `generate` and the benchmarks that
/// generate a nation share.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// How many children to make (England has about 11,000,000).
    #[arg(long)]
    pub children: u64,
    /// The same seed always makes the same nation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB; the schema is brought up to date first.
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    /// Limit the nation to these local authorities (code or name, repeatable); all 150 by default.
    #[arg(long = "local-authority")]
    pub local_authorities: Vec<String>,
    /// The date the nation is drawn at, YYYY-MM-DD (ages are reckoned from it); today by default.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
}

/// `contactpoint generate`: load the nation into a database, write its suppliers' files, or both.
#[derive(Debug, clap::Args)]
pub struct GenerateCommand {
    /// How many children to make (England has about 11,000,000).
    #[arg(long)]
    pub children: u64,
    /// The same seed always makes the same nation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB; the schema is brought up to date first.
    /// Without it (and with --supplier-files) nothing is written to a database.
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Limit the nation to these local authorities (code or name, repeatable); all 150 by default.
    #[arg(long = "local-authority")]
    pub local_authorities: Vec<String>,
    /// The date the nation is drawn at, YYYY-MM-DD (ages are reckoned from it); today by default.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Also write the four national suppliers' child files for this nation into DIR
    /// (birth_registration.csv, schools_census.csv, child_benefit.csv, nhs_demographics.csv)
    /// with truth.csv naming the child behind every row (docs/SUPPLIER_FILES.md). Give
    /// --as-of too for files that can be made again.
    #[arg(long, value_name = "DIR")]
    pub supplier_files: Option<PathBuf>,
    /// Load only the local authorities, the catalogue of services and the postcode
    /// districts, no children: where an import of the supplier files starts.
    #[arg(long)]
    pub reference_data_only: bool,
}

/// The nation `args` describe: the local authorities named (all when none), drawn at noon
/// (UTC) on the `--as-of` date, or now.
pub fn nation_spec(args: &GenerateArgs) -> Result<NationSpec> {
    spec_of(
        args.children,
        args.seed,
        &args.local_authorities,
        args.as_of,
    )
}

fn spec_of(
    children: u64,
    seed: u64,
    local_authorities: &[String],
    as_of: Option<NaiveDate>,
) -> Result<NationSpec> {
    let mut codes = Vec::new();
    for wanted in local_authorities {
        match find_local_authority(wanted) {
            Some(la) => codes.push(la.code.to_owned()),
            None => bail!("--local-authority: no local authority has the code or name {wanted:?}"),
        }
    }
    let as_of = match as_of {
        Some(date) => date
            .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
            .and_utc(),
        None => SystemClock.now(),
    };
    Ok(NationSpec {
        children,
        seed,
        as_of,
        local_authorities: codes,
    })
}

pub async fn run(args: GenerateCommand) -> Result<()> {
    let spec = spec_of(
        args.children,
        args.seed,
        &args.local_authorities,
        args.as_of,
    )?;
    if args.database_url.is_none() && args.supplier_files.is_none() {
        bail!("give --database-url to load the nation, --supplier-files DIR to write its suppliers' files, or both");
    }
    if args.reference_data_only && args.database_url.is_none() {
        bail!(
            "--reference-data-only loads reference data into a database: give --database-url too"
        );
    }
    if let Some(url) = &args.database_url {
        let store = Store::connect_for_loading(url).await?;
        store.migrate().await?;
        if args.reference_data_only {
            let summary = load_reference_data(&store, &spec)
                .await
                .context("loading the reference data")?;
            println!(
                "Loaded the reference data of {} local authorities ({} services, {} practitioners, and their postcode districts); no children.",
                summary.authorities, summary.services, summary.practitioners
            );
        } else {
            load_and_report(&store, &spec).await?;
        }
        store.close().await;
    }
    if let Some(dir) = &args.supplier_files {
        let started = Instant::now();
        let summary = write_files_with_progress(&spec, dir)?;
        report_files(&summary, started.elapsed().as_secs_f64());
    }
    Ok(())
}

async fn load_and_report(store: &Store, spec: &NationSpec) -> Result<()> {
    let started = Instant::now();
    let summary = load_with_progress(store, spec).await?;
    // Fresh statistics, so the first searches on a large new nation use the indexes.
    store.analyze().await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "Generated and loaded {} children in {} local authorities ({} services, {} practitioners) in {:.1} s: {:.0} children a second.",
        summary.children,
        summary.authorities,
        summary.services,
        summary.practitioners,
        seconds,
        summary.children as f64 / seconds.max(f64::EPSILON)
    );
    if summary.reissued_ids > 0 {
        println!(
            "{} generated ContactPoint IDs were already taken and were drawn again.",
            summary.reissued_ids
        );
    }
    Ok(())
}

fn progress_bar(children: u64) -> ProgressBar {
    let bar = ProgressBar::new(children);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} children ({per_sec}, {eta} left){msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

pub(crate) fn write_files_with_progress(
    spec: &NationSpec,
    dir: &Path,
) -> Result<SupplierFilesSummary> {
    let bar = progress_bar(spec.children);
    let summary = write_supplier_files(spec, dir, |n| bar.set_position(n))
        .with_context(|| format!("writing the supplier files into {}", dir.display()))?;
    bar.finish_and_clear();
    Ok(summary)
}

fn report_files(summary: &SupplierFilesSummary, seconds: f64) {
    println!(
        "Wrote {} supplied records of {} children in {:.1} s ({:.0} children a second):",
        summary.total_records(),
        summary.children,
        seconds,
        summary.children as f64 / seconds.max(f64::EPSILON)
    );
    for supplier in Supplier::ALL {
        println!(
            "  {:<20} {:>10} records",
            supplier.file_name(),
            summary.records.get(&supplier).copied().unwrap_or_default()
        );
    }
    println!(
        "  {} rows written to be rejected, listed in truth.csv; {} children born on the same day as a sibling; files in:",
        summary.deliberately_bad, summary.twins
    );
    for file in &summary.files {
        println!("  {}", file.display());
    }
}

/// Loads a nation with a progress bar on the terminal (nothing is drawn when output is not a terminal).
pub async fn load_with_progress(store: &Store, spec: &NationSpec) -> Result<LoadSummary> {
    let bar = progress_bar(spec.children);
    let summary = load_nation(store, spec, |n| {
        bar.set_position(n);
        if n == spec.children {
            bar.set_message("; indexing them for search");
        }
    })
    .await
    .context("loading the synthetic nation")?;
    bar.finish_and_clear();
    Ok(summary)
}
