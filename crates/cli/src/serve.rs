use anyhow::{Context, Result};
use contactpoint_domain::SystemClock;
use contactpoint_storage::Store;
use contactpoint_web::{AppState, WebSettings};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    /// Address and port to listen on.
    #[arg(long, env = "CONTACTPOINT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Mark cookies Secure: set this when ContactPoint is served behind TLS.
    #[arg(long, env = "CONTACTPOINT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// The address people use to reach this server (security keys are bound to its host),
    /// e.g. https://contactpoint.example.gov.uk; http://localhost:8080 by default.
    #[arg(long, env = "CONTACTPOINT_PUBLIC_URL")]
    pub public_url: Option<String>,
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let store = Store::connect(&args.database_url).await?;
    store.migrate().await?;
    let settings = WebSettings {
        demo_mode: false,
        // Served at an https address, cookies are Secure whether or not the flag was given.
        secure_cookies: args.secure_cookies
            || args
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
        public_origin: args.public_url,
    };
    serve(store, &args.listen, settings, |url| {
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
