//! One async test body run on SQLite and on PostgreSQL.

/// Generates `NAME::on_sqlite` and `NAME::on_postgres` from one async test body that gets a
/// fresh, migrated `&Store`; with `setup = PATH`, the async fn `PATH(&Store)` runs first. A
/// backend that is not configured is skipped, except under `CI=true` (see
/// [`crate::TestDatabase`]).
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        $crate::both_backends!(@module $name, [], |$store| $body);
    };
    ($name:ident, setup = $setup:path, |$store:ident| $body:block) => {
        $crate::both_backends!(@module $name, [$setup], |$store| $body);
    };
    (@module $name:ident, [$($setup:path)?], |$store:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($store: &$crate::storage::Store) $body

            async fn on(backend: $crate::storage::Backend) {
                let Some(db) = $crate::TestDatabase::new(backend).await else {
                    eprintln!("skipped on {}: no test database configured", backend.name());
                    return;
                };
                $($setup(&db.store).await;)?
                run(&db.store).await;
                db.drop_database().await;
            }

            #[tokio::test]
            async fn on_sqlite() {
                on($crate::storage::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                on($crate::storage::Backend::Postgres).await;
            }
        }
    };
}
