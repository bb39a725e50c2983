use crate::settings::ServeSettings;
use anyhow::{Context, Result};
use contactpoint_domain::{Clock, Permit, SystemClock, SystemTask};
use contactpoint_intake::retry_every_source;
use contactpoint_storage::Store;
use contactpoint_web::{AppState, WebSettings};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A TOML settings file (database_url, listen, public_url, secure_cookies); environment
    /// variables and flags override what it says.
    #[arg(long, env = "CONTACTPOINT_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Address and port to listen on (127.0.0.1:8080 by default).
    #[arg(long, env = "CONTACTPOINT_LISTEN")]
    pub listen: Option<String>,
    /// Mark cookies Secure: set this when ContactPoint is served behind TLS.
    #[arg(long, env = "CONTACTPOINT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// The address people use to reach this server (security keys are bound to its host),
    /// e.g. https://contactpoint.example.gov.uk; http://localhost:8080 by default.
    #[arg(long, env = "CONTACTPOINT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How often, in minutes, the records waiting in the exceptions queue are tried again
    /// against the directory as it has grown (60 by default; 0 never).
    #[arg(long, env = "CONTACTPOINT_RETRY_WAITING_MINUTES")]
    pub retry_waiting_minutes: Option<u64>,
}

impl ServeArgs {
    /// The settings file under the flags and environment.
    pub fn resolve(self) -> Result<ServeSettings> {
        let file = match &self.config {
            Some(path) => crate::settings::FileSettings::read(path)?,
            None => crate::settings::FileSettings::default(),
        };
        crate::settings::resolve(
            crate::settings::Given {
                database_url: self.database_url,
                listen: self.listen,
                public_url: self.public_url,
                secure_cookies: self.secure_cookies,
                retry_waiting_minutes: self.retry_waiting_minutes,
            },
            file,
        )
    }
}

pub async fn run(resolved: ServeSettings) -> Result<()> {
    let store = Store::connect(&resolved.database_url).await?;
    store.migrate().await?;
    let settings = WebSettings {
        demo_mode: false,
        secure_cookies: resolved.secure_cookies,
        public_origin: resolved.public_url,
    };
    serve(
        store,
        &resolved.listen,
        settings,
        resolved.retry_waiting_every,
        |url| {
            println!("ContactPoint is serving at {url}");
        },
    )
    .await
}

/// Serves until Ctrl-C, calling `ready` with the URL once the socket is bound, and tries the
/// waiting records again every `retry_waiting_every`.
pub async fn serve(
    store: Store,
    listen: &str,
    settings: WebSettings,
    retry_waiting_every: Option<Duration>,
    ready: impl FnOnce(&str),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    if settings.demo_mode {
        tracing::warn!("demonstration mode: privileged demo accounts may sign in with a one-time code instead of a security key; never use this outside a demonstration");
    }
    ready(&url);
    tracing::info!(%url, backend = store.backend().name(), "serving");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if let Some(every) = retry_waiting_every {
        tokio::spawn(retry_waiting_on_schedule(
            store.clone(),
            clock.clone(),
            every,
        ));
    }
    let state = AppState::new(store, clock, settings);
    contactpoint_web::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// How the schedule names the pass that tries the waiting records again.
const RETRY_WAITING_TASK: &str = "retry_waiting_records";

/// Tries the records waiting in the exceptions queue again every `every` while the server
/// runs, so that a record that waited for a child another source had yet to bring links by
/// itself and leaves the team's queue. Each batch is audited; the log counts, naming no child.
/// Of several servers sharing one database, one runs each pass (`claim_scheduled_run`).
async fn retry_waiting_on_schedule(store: Store, clock: Arc<dyn Clock>, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let permit = Permit::system_bypass(SystemTask::ScheduledRetry);
    // Servers' ticks drift apart: a pass is due a little before a whole interval has passed.
    let due_after = chrono::Duration::from_std(every.mul_f64(0.9)).unwrap_or(chrono::Duration::MAX);
    loop {
        ticks.tick().await;
        match store
            .claim_scheduled_run(&permit, RETRY_WAITING_TASK, clock.now(), due_after)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("another server has tried the waiting records again this time");
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "could not claim the pass that tries the waiting records again; the next pass tries again");
                continue;
            }
        }
        match retry_every_source(&store, &permit, clock.now()).await {
            Ok(reports) => {
                for (source, report) in reports {
                    tracing::info!(
                        source = source.as_str(),
                        tried = report.rows,
                        linked = report.outcome.linked,
                        created = report.outcome.created,
                        waiting = report.outcome.exceptions,
                        "waiting records tried again"
                    );
                }
            }
            Err(error) => {
                tracing::warn!(%error, "trying the waiting records again failed; the next pass tries again");
            }
        }
    }
}
