//! `contactpoint demo`: everything a person needs to see ContactPoint working, in one command.

use crate::generate::load_with_progress;
use anyhow::{Context, Result};
use contactpoint_domain::{Clock, SystemClock};
use contactpoint_storage::Store;
use contactpoint_synthetic::NationSpec;
use rand::Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The demonstration authority and its size.
const DEMO_AUTHORITY: &str = "E06000055";
const DEMO_CHILDREN: u64 = 20_000;
const DEMO_SEED: u64 = 2009;
const DEMO_ORGANISATION: &str = "Bedford Borough Council Children's Services";

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the embedded database and the demo credentials live.
    #[arg(long, default_value = "./contactpoint-data")]
    pub data_dir: PathBuf,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

/// One demo account, as written to `demo-credentials.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub pin: String,
    /// Base32, for any authenticator app.
    pub totp_secret: String,
    pub role: String,
    pub organisation: String,
}

fn demo_accounts() -> Vec<DemoAccount> {
    let mut rng = rand::rng();
    let mut account = |username: &str, role: &str| {
        let secret: [u8; 20] = rng.random();
        let words = [
            "harbour", "lantern", "meadow", "orchard", "pebble", "quarry", "saddle", "thistle",
            "willow", "beacon",
        ];
        let password = (0..4)
            .map(|_| words[rng.random_range(0..words.len())])
            .collect::<Vec<_>>()
            .join("-");
        DemoAccount {
            username: username.into(),
            password,
            pin: format!("{:06}", rng.random_range(0..1_000_000)),
            totp_secret: data_encoding::BASE32_NOPAD.encode(&secret),
            role: role.into(),
            organisation: DEMO_ORGANISATION.into(),
        }
    };
    vec![
        account("demo.practitioner", "practitioner"),
        account("demo.practitioner2", "practitioner"),
        account("demo.mediator", "mediator"),
        account("demo.la-team", "local_team"),
        account("demo.auditor", "auditor"),
        account("demo.national-admin", "national_administrator"),
    ]
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let store = prepare(&args.data_dir).await?;
    let credentials = args.data_dir.join("demo-credentials.json");
    crate::serve::serve(store, &args.listen, |url| {
        println!("ContactPoint demonstration: {url}");
        println!(
            "Demo accounts (user name, password, PIN, TOTP secret, role): {}",
            credentials.display()
        );
        println!("Press Ctrl-C to stop.");
    })
    .await
}

/// Makes the data directory on first run, or reuses it. The credentials file is written
/// last, so a directory without it holds a set-up that did not finish and is made again.
pub async fn prepare(data_dir: &Path) -> Result<Store> {
    let database = data_dir.join("contactpoint.sqlite3");
    let credentials = data_dir.join("demo-credentials.json");
    if database.exists() && credentials.exists() {
        let store = Store::connect(&sqlite_url(&database)).await?;
        store.migrate().await?;
        return Ok(store);
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    for leftover in [
        "contactpoint.sqlite3",
        "contactpoint.sqlite3-wal",
        "contactpoint.sqlite3-shm",
    ] {
        let path = data_dir.join(leftover);
        if path.exists() {
            println!(
                "An earlier set-up of {} did not finish; starting it again.",
                data_dir.display()
            );
            std::fs::remove_file(&path)?;
        }
    }
    let store = Store::connect(&sqlite_url(&database)).await?;
    store.migrate().await?;
    println!("Making a synthetic local authority of {DEMO_CHILDREN} children (first run only)...");
    let spec = NationSpec {
        children: DEMO_CHILDREN,
        seed: DEMO_SEED,
        as_of: SystemClock.now(),
        local_authorities: vec![DEMO_AUTHORITY.into()],
    };
    load_with_progress(&store, &spec).await?;
    let json = serde_json::to_string_pretty(&demo_accounts())?;
    std::fs::write(&credentials, json)
        .with_context(|| format!("cannot write {}", credentials.display()))?;
    Ok(store)
}
