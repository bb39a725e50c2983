use anyhow::{bail, Context, Result};
use chrono::{NaiveDate, NaiveTime};
use contactpoint_domain::{Clock, SystemClock};
use contactpoint_storage::Store;
use contactpoint_synthetic::{find_local_authority, load_nation, LoadSummary, NationSpec};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;

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

/// The nation `args` describe: the local authorities named (all when none), drawn at noon
/// (UTC) on the `--as-of` date, or now.
pub fn nation_spec(args: &GenerateArgs) -> Result<NationSpec> {
    let mut codes = Vec::new();
    for wanted in &args.local_authorities {
        match find_local_authority(wanted) {
            Some(la) => codes.push(la.code.to_owned()),
            None => bail!("--local-authority: no local authority has the code or name {wanted:?}"),
        }
    }
    let as_of = match args.as_of {
        Some(date) => date
            .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
            .and_utc(),
        None => SystemClock.now(),
    };
    Ok(NationSpec {
        children: args.children,
        seed: args.seed,
        as_of,
        local_authorities: codes,
    })
}

pub async fn run(args: GenerateArgs) -> Result<()> {
    let spec = nation_spec(&args)?;
    let store = Store::connect(&args.database_url).await?;
    store.migrate().await?;
    let started = Instant::now();
    let summary = load_with_progress(&store, &spec).await?;
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

/// Loads a nation with a progress bar on the terminal (nothing is drawn when output is not a terminal).
pub async fn load_with_progress(store: &Store, spec: &NationSpec) -> Result<LoadSummary> {
    let bar = ProgressBar::new(spec.children);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} children ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let summary = load_nation(store, spec, |n| bar.set_position(n))
        .await
        .context("loading the synthetic nation")?;
    bar.finish_and_clear();
    Ok(summary)
}
