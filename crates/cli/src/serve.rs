use anyhow::{Context, Result};
use contactpoint_domain::SystemClock;
use contactpoint_storage::Store;
use contactpoint_web::AppState;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    /// Address and port to listen on.
    #[arg(long, env = "CONTACTPOINT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let store = Store::connect(&args.database_url).await?;
    store.migrate().await?;
    serve(store, &args.listen, |url| {
        println!("ContactPoint is serving at {url}");
    })
    .await
}

/// Serves until Ctrl-C, calling `ready` with the URL once the socket is bound.
pub async fn serve(store: Store, listen: &str, ready: impl FnOnce(&str)) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    ready(&url);
    tracing::info!(%url, backend = store.backend().name(), "serving");
    let state = AppState {
        store,
        clock: Arc::new(SystemClock),
    };
    contactpoint_web::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
