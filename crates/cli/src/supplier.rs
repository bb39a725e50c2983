//! `contactpoint supplier`: the system accounts accredited suppliers send their records with
//! through the API (`POST /api/supply/children` and `/api/supply/involvements`).

use anyhow::{bail, Result};
use contactpoint_domain::{
    AccessRoute, AuditEvent, Clock, Outcome, Permit, SourceCode, SystemClock, SystemName,
    SystemTask,
};
use contactpoint_storage::{NewSupplierAccount, StorageError, Store};

#[derive(Debug, clap::Subcommand)]
pub enum SupplierCommand {
    /// Register a supplier's system account for one source. Prints its client ID and secret
    /// once: only a digest of the secret is kept.
    Register(RegisterArgs),
    /// Revoke a supplier's system account: its credential is refused from then on.
    Revoke(RevokeArgs),
}

#[derive(Debug, clap::Args)]
pub struct RegisterArgs {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB; the schema is brought up to date first.
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    /// The source the account sends records for: birth_registration, schools_census,
    /// child_benefit, nhs_demographics or local_systems.
    #[arg(long)]
    pub source: String,
    /// Who the system belongs to, e.g. "General Register Office".
    #[arg(long)]
    pub name: String,
    /// A record from this source that matches no child creates one (otherwise it waits for
    /// the local team).
    #[arg(long)]
    pub authoritative: bool,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    /// The account's client ID, as printed when it was registered.
    #[arg(long)]
    pub client_id: String,
}

pub async fn run(command: SupplierCommand) -> Result<()> {
    match command {
        SupplierCommand::Register(args) => register(args).await,
        SupplierCommand::Revoke(args) => revoke(args).await,
    }
}

async fn register(args: RegisterArgs) -> Result<()> {
    let store = Store::connect(&args.database_url).await?;
    store.migrate().await?;
    let source = crate::supply::known_source(&store, &args.source).await?;
    let name = SystemName::parse_field("--name", &args.name)?;
    let client_id = contactpoint_auth::new_client_id("supplier");
    let secret = contactpoint_auth::new_token();
    let audit = AuditEvent::new(
        SystemClock.now(),
        AccessRoute::System,
        "supplier_account_registered",
        Outcome::Success,
    )
    .with("source", source.as_str())
    .with("client_id", &client_id)
    .with("authoritative", args.authoritative);
    store
        .register_supplier_account(
            &Permit::system_bypass(SystemTask::Bootstrap),
            &NewSupplierAccount {
                source: source.clone(),
                name,
                client_id: client_id.clone(),
                secret_digest: contactpoint_auth::token_digest(&secret),
                authoritative: args.authoritative,
            },
            &audit,
        )
        .await?;
    println!(
        "Registered a system account for {source}{}.",
        if args.authoritative {
            " (authoritative)"
        } else {
            ""
        },
        source = SourceCode::as_str(&source)
    );
    println!("Client ID: {client_id}");
    println!("Secret:    {secret}");
    println!("Keep the secret now: it is not shown again. Send records with HTTP Basic authentication to POST /api/supply/children or /api/supply/involvements.");
    Ok(())
}

async fn revoke(args: RevokeArgs) -> Result<()> {
    let store = Store::connect(&args.database_url).await?;
    let audit = AuditEvent::new(
        SystemClock.now(),
        AccessRoute::System,
        "supplier_account_revoked",
        Outcome::Success,
    )
    .with("client_id", &args.client_id);
    match store
        .revoke_supplier_account(
            &Permit::system_bypass(SystemTask::Bootstrap),
            &args.client_id,
            &audit,
        )
        .await
    {
        Ok(()) => {
            println!(
                "Revoked {}: its credential is refused from now on.",
                args.client_id
            );
            Ok(())
        }
        Err(StorageError::NotFound { .. }) => bail!(
            "--client-id: {:?} is not a supplier's system account that is still standing",
            args.client_id
        ),
        Err(e) => Err(e.into()),
    }
}
