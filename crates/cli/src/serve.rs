use crate::settings::ServeSettings;
use anyhow::{Context, Result};
use contactpoint_domain::SystemClock;
use contactpoint_storage::Store;
use contactpoint_web::{AppState, WebSettings};
use std::sync::Arc;

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
}

impl ServeArgs {
    /// The settings file under the flags and environment.
    pub fn resolve(self) -> Result<ServeSettings> {
        let file = match &self.config {
            Some(path) => crate::settings::FileSettings::read(path)?,
            None => crate::settings::FileSettings::default(),
        };
        crate::settings::resolve(
            self.database_url,
            self.listen,
            self.public_url,
            self.secure_cookies,
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
    serve(store, &resolved.listen, settings, |url| {
        println!("ContactPoint is serving at {url}");
    })
    .await
}

/// Serves until Ctrl-C, calling `ready` with the URL once the socket is bound.
pub async fn serve(
    store: Store,
    listen: &str,
    settings: WebSettings,
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
    let state = AppState::new(store, Arc::new(SystemClock), settings);
    contactpoint_web::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
