//! Fresh databases for tests. SQLite: a file in a temporary directory. PostgreSQL: a schema
//! of its own in the database named by `CONTACTPOINT_TEST_POSTGRES_URL`, dropped afterwards.
//! Without that variable PostgreSQL tests are skipped, except under `CI=true`, where a
//! skipped backend is a failure.

use contactpoint_storage::{Backend, Store};
use rand::Rng;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Connection;
use std::str::FromStr;

pub const POSTGRES_URL_VARIABLE: &str = "CONTACTPOINT_TEST_POSTGRES_URL";

/// The PostgreSQL URL for tests, or `None` to skip them (never under `CI=true`).
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{POSTGRES_URL_VARIABLE} must be set under CI=true: the PostgreSQL half of the suite may not be skipped")
        }
        _ => None,
    }
}

#[derive(Debug)]
pub struct TestDatabase {
    pub store: Store,
    /// The URL another process (a second server, the CLI) can use to reach the same data.
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, schema: String },
}

impl TestDatabase {
    /// A migrated, empty database on `backend`; `None` when PostgreSQL is not configured.
    pub async fn new(backend: Backend) -> Option<Self> {
        let db = match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres(&postgres_url()?).await,
        };
        db.store.migrate().await.expect("migrations apply to a fresh database");
        Some(db)
    }

    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("contactpoint.sqlite3");
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true);
        let store = Store::connect_sqlite(options).await.expect("sqlite opens");
        Self { store, url, cleanup: Cleanup::Sqlite(dir) }
    }

    async fn postgres(admin_url: &str) -> Self {
        let schema = format!("test_{:016x}", rand::rng().random::<u64>());
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {POSTGRES_URL_VARIABLE} answers: {e}"));
        // The schema name is generated here from hex digits only.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .expect("create test schema");
        admin.close().await.ok();
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
        let options = PgConnectOptions::from_str(admin_url)
            .unwrap()
            .options([("search_path", schema.as_str())]);
        let store = Store::connect_postgres(options).await.expect("postgres opens");
        Self {
            store,
            url,
            cleanup: Cleanup::Postgres { admin_url: admin_url.to_owned(), schema },
        }
    }

    /// Closes the pool and removes the database.
    pub async fn drop_database(self) {
        self.store.close().await;
        if let Cleanup::Postgres { admin_url, schema } = &self.cleanup {
            if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&mut admin)
                    .await;
            }
        }
    }
}
