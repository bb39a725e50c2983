//! The queries, compiled once per backend. `Db` is the concrete driver.
//! A dialect branch, where SQL differs, matches on `crate::Backend`.

pub(crate) mod sqlite {
    pub(crate) type Db = sqlx::Sqlite;
    pub(crate) const BACKEND: crate::Backend = crate::Backend::Sqlite;
    pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    include!("queries/connection.rs");
    include!("queries/catalogue.rs");
    include!("queries/children.rs");
    include!("queries/stats.rs");
    include!("queries/identity.rs");
    include!("queries/search.rs");
    include!("queries/shield_alerts.rs");
    include!("queries/review.rs");
    include!("queries/reindex.rs");
    include!("queries/supply.rs");
    include!("queries/raised_exceptions.rs");
    include!("queries/child_writes.rs");
    include!("queries/supply_exceptions.rs");
    include!("queries/merges.rs");
    include!("queries/merge_requests.rs");
    include!("queries/supplied_involvements.rs");
    include!("queries/postcode_districts.rs");
    include!("queries/supplier_accounts.rs");
    include!("queries/scheduled_runs.rs");
}

pub(crate) mod postgres {
    pub(crate) type Db = sqlx::Postgres;
    pub(crate) const BACKEND: crate::Backend = crate::Backend::Postgres;
    pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    include!("queries/connection.rs");
    include!("queries/catalogue.rs");
    include!("queries/children.rs");
    include!("queries/stats.rs");
    include!("queries/identity.rs");
    include!("queries/search.rs");
    include!("queries/shield_alerts.rs");
    include!("queries/review.rs");
    include!("queries/reindex.rs");
    include!("queries/supply.rs");
    include!("queries/raised_exceptions.rs");
    include!("queries/child_writes.rs");
    include!("queries/supply_exceptions.rs");
    include!("queries/merges.rs");
    include!("queries/merge_requests.rs");
    include!("queries/supplied_involvements.rs");
    include!("queries/postcode_districts.rs");
    include!("queries/supplier_accounts.rs");
    include!("queries/scheduled_runs.rs");
}
