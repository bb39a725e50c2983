//! `contactpoint`: the one binary. Each subcommand is a module of its own.

mod admin;
mod bench;
mod cores;
mod demo;
mod generate;
mod serve;
mod settings;
mod stats;
mod supplier;
mod supply;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Matching and loading allocate and free small strings by the million; glibc's allocator
/// spent a fifth of a national load's time in itself (docs/BENCHMARKS.md, "Data supply").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "contactpoint",
    version,
    about = "ContactPoint: the national directory of children and the practitioners working with them",
    long_about = "ContactPoint lets an authorised practitioner find out, in seconds, who else is working with the same child.\n\
                  It holds basic details of children and of the services involved with each, never case notes.\n\n\
                  Databases are named by URL: sqlite://PATH for the embedded database, postgres://USER@HOST:PORT/DB in production."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Use every core even on the embedded database (which by default keeps to one: each
    /// statement is handed between threads, and on a virtual machine that is faster on one
    /// core; see docs/ARCHITECTURE.md).
    #[arg(long, global = true, env = "CONTACTPOINT_ALL_CORES")]
    all_cores: bool,
}

/// A command, with what `serve` reads from its settings file already read: the database it
/// runs on decides how many cores it uses before anything starts.
enum Resolved {
    Serve(settings::ServeSettings),
    Other(Command),
}

impl Resolved {
    fn new(command: Command) -> Result<Self> {
        Ok(match command {
            Command::Serve(args) => Self::Serve(args.resolve()?),
            other => Self::Other(other),
        })
    }

    /// The database the command works on (the demonstration's is always embedded).
    fn database_url(&self) -> Option<&str> {
        let command = match self {
            Self::Serve(settings) => return Some(&settings.database_url),
            Self::Other(command) => command,
        };
        match command {
            Command::Demo(_) => Some("sqlite:"),
            Command::Serve(_) => None,
            Command::Migrate(args) | Command::Stats(args) => Some(&args.database_url),
            Command::Generate(args) => args.database_url.as_deref(),
            Command::Audit(AuditCommand::Verify(args)) => Some(&args.database_url),
            Command::Admin(admin::AdminCommand::CreateNationalAdministrator(args)) => {
                Some(&args.database_url)
            }
            Command::Supply(supply::SupplyCommand::Import(args)) => Some(&args.load.database_url),
            Command::Supply(supply::SupplyCommand::Retry(args)) => Some(&args.database_url),
            Command::Supply(supply::SupplyCommand::Links(args)) => Some(&args.database_url),
            Command::Supplier(supplier::SupplierCommand::Register(args)) => {
                Some(&args.database_url)
            }
            Command::Supplier(supplier::SupplierCommand::Revoke(args)) => Some(&args.database_url),
            Command::Bench(bench::BenchCommand::Search(args)) => Some(&args.database_url),
            Command::Bench(bench::BenchCommand::Supply(args)) => Some(&args.database_url),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a demonstration: an embedded database with a synthetic local authority of about
    /// 20,000 children and demo accounts, made on first run and reused afterwards.
    Demo(demo::DemoArgs),
    /// Serve the web pages and the API on an existing database.
    Serve(serve::ServeArgs),
    /// Bring a database's schema up to date (safe to run again).
    Migrate(DatabaseArgs),
    /// Generate a deterministic synthetic nation: load it into a database, write its
    /// suppliers' files (--supplier-files), or both.
    Generate(generate::GenerateCommand),
    /// Count children, shielded children, services and involvements per local authority.
    Stats(DatabaseArgs),
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Set up a deployment: create the first national administrator.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Import suppliers' files, and report what became of every supplied record.
    #[command(subcommand)]
    Supply(supply::SupplyCommand),
    /// Register and revoke suppliers' system accounts, which send records through the API.
    #[command(subcommand)]
    Supplier(supplier::SupplierCommand),
    /// Measure the system on a generated nation (not for production databases: it adds a
    /// practitioner and a case-management client, and fills the audit trail).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every entry of the audit trail against the hash chain. Exits 0 and prints the
    /// head hash (keep it outside the system to catch a rewritten tail) when the trail is
    /// intact; exits 1 naming the first bad entry when any was edited, deleted or inserted.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    database_url: String,
    /// A head hash printed earlier and kept outside the system: the trail must still contain
    /// it, which catches a tail that was cut off or rewritten.
    #[arg(long)]
    expect_head: Option<String>,
}

#[derive(Debug, clap::Args)]
struct DatabaseArgs {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    database_url: String,
}

async fn verify_audit(args: VerifyArgs) -> Result<()> {
    let store = contactpoint_storage::Store::connect(&args.database_url).await?;
    match store.verify_audit_chain().await? {
        Ok(intact) => {
            if let Some(anchor) = &args.expect_head {
                if !store.audit_hash_exists(anchor.trim()).await? {
                    eprintln!("The audit trail no longer contains the head hash kept outside it ({anchor}): entries after it were removed or rewritten.");
                    std::process::exit(1);
                }
            }
            println!("The audit trail is intact: {} entries.", intact.entries);
            println!("Head hash: {}", intact.head_hash);
            Ok(())
        }
        Err(broken) => {
            eprintln!(
                "The audit trail is broken at entry {}: {}.",
                broken.entry_id, broken.reason
            );
            std::process::exit(1);
        }
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONTACTPOINT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let command = Resolved::new(cli.command)?;
    if cores::keeps_to_one_core(command.database_url(), cli.all_cores) {
        cores::start_scoring_threads();
        // Before the runtime starts its threads, so that they all keep to it.
        if let Some(core) = cores::keep_to_one_core() {
            tracing::debug!(core, "the embedded database: keeping to one core");
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(command.run())
}

impl Resolved {
    async fn run(self) -> Result<()> {
        let command = match self {
            Self::Serve(settings) => return serve::run(settings).await,
            Self::Other(command) => command,
        };
        match command {
            Command::Demo(args) => demo::run(args).await,
            Command::Serve(args) => serve::run(args.resolve()?).await,
            Command::Migrate(args) => {
                let store = contactpoint_storage::Store::connect(&args.database_url).await?;
                store.migrate().await?;
                println!("The {} database is up to date.", store.backend().name());
                Ok(())
            }
            Command::Generate(args) => generate::run(args).await,
            Command::Stats(args) => stats::run(args).await,
            Command::Audit(AuditCommand::Verify(args)) => verify_audit(args).await,
            Command::Admin(command) => admin::run(command).await,
            Command::Bench(command) => bench::run(command).await,
            Command::Supply(command) => supply::run(command).await,
            Command::Supplier(command) => supplier::run(command).await,
        }
    }
}
