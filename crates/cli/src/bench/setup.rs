//! What a benchmark runs against: a generated nation (made once, then reused), a
//! practitioner in an accredited organisation with a case-management client, and the
//! children the searches look for.

use crate::generate::GenerateArgs;
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Days, Utc};
use contactpoint_auth::{check_new_pin, new_token, token_digest, SecretHasher, TotpSecret};
use contactpoint_domain::{
    AccessRoute, Accreditation, AuditEvent, ChildRecord, ContactPointId, LocalAuthorityCode,
    OrganisationKind, Outcome, Permit, Role, SystemTask, Username, Vetting,
};
use contactpoint_storage::{CatalogueIds, NewUser, StorageError, Store};
use contactpoint_synthetic::{build_catalogue, ChildGenerator, NationSpec};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// How the database came to hold the nation.
#[derive(Debug, Clone)]
pub enum Prepared {
    Reused,
    Generated {
        seconds: f64,
        summary: contactpoint_synthetic::LoadSummary,
    },
}

pub async fn count_children(store: &Store) -> Result<i64> {
    Ok(store.stats().await?.iter().map(|r| r.children).sum())
}

/// Makes sure the database holds the nation `args` describe: reused when it already holds
/// that many children, generated (as `contactpoint generate` does) when it holds none.
pub async fn prepare_nation(args: &GenerateArgs) -> Result<(Store, NationSpec, Prepared)> {
    let spec = crate::generate::nation_spec(args)?;
    let store = Store::connect(&args.database_url).await?;
    store.migrate().await?;
    let held = count_children(&store).await?;
    if held == spec.children as i64 {
        eprintln!("The database already holds {held} children: reusing it.");
        return Ok((store, spec, Prepared::Reused));
    }
    if held != 0 {
        bail!(
            "the database holds {held} children, not {}: give an empty database, or one made with the same --children, --seed and --as-of",
            spec.children
        );
    }
    eprintln!(
        "Generating {} children (seed {}, as of {})...",
        spec.children,
        spec.seed,
        spec.today()
    );
    let started = Instant::now();
    let summary = crate::generate::load_with_progress(&store, &spec).await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "Generated and loaded {} children in {seconds:.1} s ({:.0} a second).",
        summary.children,
        summary.children as f64 / seconds.max(f64::EPSILON)
    );
    Ok((store, spec, Prepared::Generated { seconds, summary }))
}

/// The benchmark's practitioner: every factor known, for signing in over the API.
#[derive(Debug, Clone)]
pub struct BenchAccount {
    pub username: String,
    pub password: String,
    pub pin: String,
    pub totp: TotpSecret,
    pub client_id: String,
    pub client_secret: String,
}

/// Accredits a children's services organisation for web and case-management access and
/// creates, in it, a case-management client and a vetted practitioner with fresh random
/// secrets (held only in memory: each run makes its own).
pub async fn create_account(
    store: &Store,
    spec: &NationSpec,
    now: DateTime<Utc>,
) -> Result<BenchAccount> {
    let permit = Permit::system_bypass(SystemTask::BenchmarkSetUp);
    let (authority, _) = spec
        .authorities()
        .into_iter()
        .find(|(_, n)| *n > 0)
        .context("the nation has no local authority with children")?;
    let la = LocalAuthorityCode::parse(authority.code)?;
    let organisations = store.organisations_in_authority(&permit, &la).await?;
    let organisation = organisations
        .iter()
        .find(|o| o.kind == OrganisationKind::LocalAuthorityChildrensServices)
        .or_else(|| organisations.first())
        .with_context(|| format!("no organisation was generated in {}", authority.code))?;
    let audit = |action: &'static str| {
        AuditEvent::new(now, AccessRoute::System, action, Outcome::Success)
            .in_authority(&la)
            .with("reason", "search benchmark set-up")
    };
    store
        .set_accreditation(
            &permit,
            organisation.id,
            Accreditation::Accredited,
            true,
            true,
            &audit("accreditation_changed")
                .about("organisation", organisation.id)
                .with("to", "accredited"),
        )
        .await?;
    let run = format!("{:08x}", rand::rng().random::<u32>());
    let client_id = format!("bench-case-system-{run}");
    let client_secret = new_token();
    store
        .create_api_client(
            &permit,
            organisation.id,
            "Search benchmark case-management system",
            &client_id,
            &token_digest(&client_secret),
            &audit("api_client_created").about("organisation", organisation.id),
        )
        .await?;
    let username = format!("bench.practitioner.{run}");
    let password = new_token();
    let pin = loop {
        let pin = format!("{:06}", rand::rng().random_range(0..1_000_000));
        if check_new_pin(&pin).is_ok() {
            break pin;
        }
    };
    let totp = TotpSecret::generate();
    let today = now.date_naive();
    let hasher = SecretHasher::default();
    let user = NewUser {
        username: Username::parse(&username)?,
        organisation_id: organisation.id,
        given_name: "Benchmark".into(),
        family_name: "Practitioner".into(),
        email: None,
        role: Role::Practitioner,
        duties: Vec::new(),
        shield_override: false,
        vetting: Vetting {
            criminal_records_checked_on: today.checked_sub_days(Days::new(200)),
            training_completed_on: today.checked_sub_days(Days::new(150)),
            agreement_accepted_on: today.checked_sub_days(Days::new(150)),
        },
        password_hash: hasher.hash(&password),
        pin_hash: hasher.hash(&pin),
        totp_secret: Some(totp.to_base32()),
        demo: false,
    };
    store
        .create_user(
            &permit,
            &user,
            now,
            &audit("user_created").with("username", &username),
        )
        .await?;
    Ok(BenchAccount {
        username,
        password,
        pin,
        totp,
        client_id,
        client_secret,
    })
}

/// The children searched for: `count` drawn at random (by `seed`) from the nation's
/// generation order, read back from the database. The nation is drawn again to learn their
/// ContactPoint IDs, so this needs no query of its own; shielded children are left out
/// (a search by postcode rightly never shows them).
pub async fn sample_targets(
    store: &Store,
    spec: &NationSpec,
    count: usize,
    seed: u64,
) -> Result<Vec<ChildRecord>> {
    let total = spec.children as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005E_A2C4_B37A_26E7);
    let wanted = (count + count / 10 + 20).min(total);
    let mut positions: Vec<usize> = rand::seq::index::sample(&mut rng, total, wanted).into_vec();
    positions.sort_unstable();
    let generation_spec = spec.clone();
    let ids: Vec<ContactPointId> = tokio::task::spawn_blocking(move || {
        let (_, catalogue, index) = build_catalogue(&generation_spec);
        // The catalogue's database ids only shape the involvements, not the children's IDs.
        let ids = CatalogueIds {
            first_organisation: 1,
            first_service: 1,
            first_practitioner: 1,
        };
        let mut wanted = positions.into_iter().peekable();
        let mut found = Vec::new();
        for (i, child) in
            ChildGenerator::new(&generation_spec, &catalogue, &index, &ids).enumerate()
        {
            match wanted.peek() {
                Some(&p) if p == i => {
                    found.push(child.contactpoint_id);
                    wanted.next();
                }
                Some(_) => {}
                None => break,
            }
        }
        found
    })
    .await?;
    let mut ids = ids;
    ids.shuffle(&mut rng);
    let permit = Permit::system_bypass(SystemTask::BenchmarkSetUp);
    let mut targets = Vec::with_capacity(count);
    let mut missing = 0;
    for id in ids {
        if targets.len() == count {
            break;
        }
        match store.child_record(&permit, &id).await {
            Ok(record) if record.shielded => {}
            Ok(record) => targets.push(record),
            Err(StorageError::NotFound { .. }) => missing += 1,
            Err(e) => return Err(e.into()),
        }
    }
    if missing > 5 + count / 100 {
        bail!(
            "{missing} of the children this nation should hold are not in the database: it was generated with another --seed or --as-of"
        );
    }
    if targets.len() < count.min(total / 2) {
        bail!("only {} children could be sampled", targets.len());
    }
    Ok(targets)
}
