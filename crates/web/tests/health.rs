//! The health check, on both backends.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use contactpoint_domain::FixedClock;
use contactpoint_storage::Backend;
use contactpoint_test_support::{test_now, TestDatabase};
use contactpoint_web::{router, AppState};
use http_body_util::BodyExt;
use std::sync::Arc;
use tower::ServiceExt;

async fn get(state: &AppState, path: &str) -> (StatusCode, serde_json::Value) {
    let response = router(state.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

async fn health_follows_the_database(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        eprintln!("skipped on {}", backend.name());
        return;
    };
    let state = AppState::new(
        db.store.clone(),
        Arc::new(FixedClock::at(test_now())),
        Default::default(),
    );
    let (status, body) = get(&state, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], backend.name());

    db.store.close().await;
    let (status, body) = get(&state, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "database_unavailable");
    db.drop_database().await;
}

#[tokio::test]
async fn health_answers_200_while_sqlite_answers_and_503_when_it_does_not() {
    health_follows_the_database(Backend::Sqlite).await;
}

#[tokio::test]
async fn health_answers_200_while_postgres_answers_and_503_when_it_does_not() {
    health_follows_the_database(Backend::Postgres).await;
}

#[tokio::test]
async fn an_unknown_address_gets_the_json_error_envelope() {
    let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let state = AppState::new(
        db.store.clone(),
        Arc::new(FixedClock::at(test_now())),
        Default::default(),
    );
    let (status, body) = get(&state, "/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].is_string());
}
