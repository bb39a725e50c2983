use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// 200 while the database answers, 503 when it does not. Says nothing else about the system.
pub(crate) async fn healthz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(
            json!({ "status": "ok", "database": state.store.backend().name() }),
        )),
        Err(error) => {
            tracing::warn!(%error, "health check: database did not answer");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "The database is not answering.",
            ))
        }
    }
}
