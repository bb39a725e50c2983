//! The HTTP face of ContactPoint: one axum router serving the pages and the JSON API.

mod error;
mod health;
mod pages;

use axum::routing::get;
use axum::Router;
use contactpoint_domain::Clock;
use contactpoint_storage::Store;
use std::sync::Arc;

pub use error::ApiError;

/// What every handler can reach. No global state: the server builds one of these.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(health::healthz))
        .fallback(error::not_found)
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
