//! `contactpoint demo`: everything a person needs to see ContactPoint working, in one command.

use crate::generate::load_with_progress;
use anyhow::{Context, Result};
use chrono::Days;
use contactpoint_auth::{check_new_pin, new_token, token_digest, SecretHasher, TotpSecret};
use contactpoint_domain::{
    AccessRoute, Accreditation, AuditEvent, Duty, LocalAuthorityCode, Outcome, Permit, Role,
    SystemTask, Username, Vetting,
};
use contactpoint_domain::{Clock, SystemClock};
use contactpoint_storage::NewUser;
use contactpoint_storage::Store;
use contactpoint_synthetic::NationSpec;
use contactpoint_web::WebSettings;
use rand::Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The demonstration authority and its size.
const DEMO_AUTHORITY: &str = "E06000055";
const DEMO_CHILDREN: u64 = 20_000;
const DEMO_SEED: u64 = 2009;
const DEMO_ORGANISATION: &str = "Bedford Children's Services";

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

/// The case-management client credential of the demonstration, for trying the API.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct DemoApiClient {
    pub client_id: String,
    pub client_secret: String,
}

/// Six accounts, one per role (two practitioners), with fresh secrets.
fn demo_accounts() -> Vec<DemoAccount> {
    let mut rng = rand::rng();
    let words = [
        "harbour", "lantern", "meadow", "orchard", "pebble", "quarry", "saddle", "thistle",
        "willow", "beacon", "copper", "falcon",
    ];
    let mut account = |username: &str, role: &str| {
        let password = (0..4)
            .map(|_| words[rng.random_range(0..words.len())])
            .collect::<Vec<_>>()
            .join("-");
        let pin = loop {
            let pin = format!("{:06}", rng.random_range(0..1_000_000));
            if check_new_pin(&pin).is_ok() {
                break pin;
            }
        };
        DemoAccount {
            username: username.into(),
            password,
            pin,
            totp_secret: TotpSecret::generate().to_base32(),
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

/// Accredits the demonstration organisation and creates the demo accounts in it.
async fn create_demo_accounts(
    store: &Store,
    accounts: &[DemoAccount],
    client: &DemoApiClient,
) -> Result<()> {
    let permit = Permit::system_bypass(SystemTask::DemoSetUp);
    let now = SystemClock.now();
    let la = LocalAuthorityCode::parse(DEMO_AUTHORITY)?;
    let organisation = store
        .organisations_in_authority(&permit, &la)
        .await?
        .into_iter()
        .find(|o| o.name == DEMO_ORGANISATION)
        .context("the demonstration organisation was not generated")?;
    let accredit = AuditEvent::new(
        now,
        AccessRoute::System,
        "accreditation_changed",
        Outcome::Success,
    )
    .about("organisation", organisation.id)
    .in_authority(&la)
    .with("to", "accredited")
    .with("reason", "demonstration set-up");
    store
        .set_accreditation(
            &permit,
            organisation.id,
            Accreditation::Accredited,
            true,
            true,
            &accredit,
        )
        .await?;
    let client_audit = AuditEvent::new(
        now,
        AccessRoute::System,
        "api_client_created",
        Outcome::Success,
    )
    .about("organisation", organisation.id)
    .in_authority(&la)
    .with("reason", "demonstration set-up");
    store
        .create_api_client(
            &permit,
            organisation.id,
            "Demonstration case-management system",
            &client.client_id,
            &token_digest(&client.client_secret),
            &client_audit,
        )
        .await?;
    let hasher = SecretHasher::default();
    let today = now.date_naive();
    for account in accounts {
        let role = Role::parse(&account.role)?;
        let (given, family) = account
            .username
            .trim_start_matches("demo.")
            .split_once(['-', '.'])
            .unwrap_or((&account.username[5..], "user"));
        let user = NewUser {
            username: Username::parse(&account.username)?,
            organisation_id: organisation.id,
            given_name: format!("Demo {}", capitalise(given)),
            family_name: capitalise(family.trim_end_matches(char::is_numeric)).if_empty("User"),
            email: None,
            role,
            duties: if role == Role::LocalTeam {
                Duty::ALL.to_vec()
            } else {
                Vec::new()
            },
            shield_override: false,
            vetting: Vetting {
                criminal_records_checked_on: today.checked_sub_days(Days::new(200)),
                training_completed_on: today.checked_sub_days(Days::new(150)),
                agreement_accepted_on: today.checked_sub_days(Days::new(150)),
            },
            password_hash: hasher.hash(&account.password),
            pin_hash: hasher.hash(&account.pin),
            totp_secret: Some(account.totp_secret.clone()),
            demo: true,
        };
        let audit = AuditEvent::new(now, AccessRoute::System, "user_created", Outcome::Success)
            .in_authority(&la)
            .with("username", &account.username)
            .with("reason", "demonstration set-up");
        store.create_user(&permit, &user, now, &audit).await?;
    }
    Ok(())
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

trait OrIfEmpty {
    fn if_empty(self, fallback: &str) -> String;
}

impl OrIfEmpty for String {
    fn if_empty(self, fallback: &str) -> String {
        if self.is_empty() {
            fallback.to_owned()
        } else {
            self
        }
    }
}

/// Rows of the demonstration's schools census imported on first run.
const DEMO_CENSUS_ROWS: usize = 4_000;

/// Imports the first rows of the schools census the demonstration's children would have, as
/// a real census comes in: most link to their children, and those the matching cannot place
/// with confidence wait in the local team's exceptions queue, so the queue has records to
/// decide. The suppliers' files are written beside the database and removed afterwards.
async fn import_demo_census(
    store: &Store,
    spec: &NationSpec,
    data_dir: &Path,
) -> Result<contactpoint_intake::FileReport> {
    use contactpoint_synthetic::{write_supplier_files, Supplier};
    let dir = data_dir.join("supplier-files");
    write_supplier_files(spec, &dir, |_| {})
        .with_context(|| format!("cannot write the suppliers' files into {}", dir.display()))?;
    let file = dir.join(Supplier::SchoolsCensus.file_name());
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let slice: String = text
        .lines()
        .take(DEMO_CENSUS_ROWS + 1)
        .flat_map(|line| [line, "\n"])
        .collect();
    std::fs::remove_dir_all(&dir)?;
    let source =
        contactpoint_domain::SourceCode::parse(contactpoint_domain::SourceCode::SCHOOLS_CENSUS)?;
    let settings = contactpoint_intake::ImportSettings::bulk(
        source,
        false,
        contactpoint_intake::ImportSettings::DEFAULT_BATCH_SIZE,
        DEMO_CHILDREN,
    );
    Ok(contactpoint_intake::import_reader(
        store,
        &Permit::system_bypass(SystemTask::SupplyImport),
        &settings,
        &Supplier::SchoolsCensus.file_name(),
        slice.as_bytes(),
        contactpoint_supply::Format::Csv,
        SystemClock.now(),
        &mut |_| {},
    )
    .await?)
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let store = prepare(&args.data_dir).await?;
    let credentials = args.data_dir.join("demo-credentials.json");
    let settings = WebSettings {
        demo_mode: true,
        ..Default::default()
    };
    let retry_every =
        std::time::Duration::from_secs(crate::settings::DEFAULT_RETRY_WAITING_MINUTES * 60);
    crate::serve::serve(store, &args.listen, settings, Some(retry_every), |url| {
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
    let census = import_demo_census(&store, &spec, data_dir).await?;
    println!(
        "Imported the first {} rows of the schools census: {} linked, {} waiting in the exceptions queue.",
        census.rows, census.outcome.linked, census.outcome.exceptions
    );
    let accounts = demo_accounts();
    let client = DemoApiClient {
        client_id: "demo-case-system".into(),
        client_secret: new_token(),
    };
    create_demo_accounts(&store, &accounts, &client).await?;
    let client_file = data_dir.join("demo-api-client.json");
    std::fs::write(&client_file, serde_json::to_string_pretty(&client)?)
        .with_context(|| format!("cannot write {}", client_file.display()))?;
    let json = serde_json::to_string_pretty(&accounts)?;
    std::fs::write(&credentials, json)
        .with_context(|| format!("cannot write {}", credentials.display()))?;
    Ok(store)
}
