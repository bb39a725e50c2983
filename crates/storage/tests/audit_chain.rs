//! The audit trail is append-only and tamper-evident, on both backends.

use chrono::TimeZone;
use contactpoint_domain::{AccessRoute, AuditEvent, Outcome, Permit, SystemTask};
use contactpoint_storage::{Backend, Store};
use contactpoint_test_support::{execute_sql, TestDatabase};

macro_rules! on_both_backends {
    ($name:ident, |$store:ident, $backend:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($store: &Store, $backend: Backend) $body

            async fn on(backend: Backend) {
                let Some(db) = TestDatabase::new(backend).await else {
                    eprintln!("skipped on {}: no test database configured", backend.name());
                    return;
                };
                run(&db.store, backend).await;
                db.drop_database().await;
            }

            #[tokio::test]
            async fn on_sqlite() {
                on(Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                on(Backend::Postgres).await;
            }
        }
    };
}

fn event(n: i64) -> AuditEvent {
    let at = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
        + chrono::Duration::nanoseconds(n * 1_234_567_891);
    AuditEvent::new(at, AccessRoute::Web, "sign_in", Outcome::Success)
        .by(n)
        .with("source_address", "127.0.0.1")
}

async fn drop_triggers(store: &Store, backend: Backend) {
    let on = if backend == Backend::Postgres {
        " ON audit_events"
    } else {
        ""
    };
    for trigger in [
        "audit_events_are_never_updated",
        "audit_events_are_never_deleted",
    ] {
        execute_sql(store, &format!("DROP TRIGGER {trigger}{on}"))
            .await
            .unwrap();
    }
}

async fn five_entries(store: &Store) -> String {
    for n in 1..=5 {
        store.record_audit(&event(n)).await.unwrap();
    }
    let intact = store
        .verify_audit_chain()
        .await
        .unwrap()
        .expect("a fresh trail verifies");
    assert_eq!(intact.entries, 5);
    intact.head_hash
}

on_both_backends!(
    an_untouched_trail_verifies_and_names_its_head,
    |store, _backend| {
        let empty = store.verify_audit_chain().await.unwrap().unwrap();
        assert_eq!(empty.entries, 0);
        let head = five_entries(store).await;
        assert_eq!(head.len(), 64);
        let permit = Permit::system_bypass(SystemTask::TestFixture);
        let stored = store.audit_events(&permit, 0).await.unwrap();
        assert_eq!(stored.len(), 5);
        assert_eq!(stored[0].details, r#"{"source_address":"127.0.0.1"}"#);
    }
);

on_both_backends!(
    the_database_refuses_to_change_or_delete_an_entry,
    |store, _backend| {
        five_entries(store).await;
        assert!(execute_sql(
            store,
            "UPDATE audit_events SET outcome = 'failure' WHERE id = 2"
        )
        .await
        .is_err());
        assert!(execute_sql(store, "DELETE FROM audit_events WHERE id = 2")
            .await
            .is_err());
        assert!(store.verify_audit_chain().await.unwrap().is_ok());
    }
);

on_both_backends!(
    an_edited_entry_is_caught_even_with_the_triggers_dropped,
    |store, backend| {
        five_entries(store).await;
        drop_triggers(store, backend).await;
        assert_eq!(
            execute_sql(
                store,
                "UPDATE audit_events SET actor_user_id = 99 WHERE id = 3"
            )
            .await
            .unwrap(),
            1
        );
        let broken = store.verify_audit_chain().await.unwrap().unwrap_err();
        assert_eq!(broken.entry_id, 3);
        assert!(broken.reason.contains("edited"));
    }
);

on_both_backends!(
    a_deleted_entry_is_caught_even_with_the_triggers_dropped,
    |store, backend| {
        five_entries(store).await;
        drop_triggers(store, backend).await;
        assert_eq!(
            execute_sql(store, "DELETE FROM audit_events WHERE id = 2")
                .await
                .unwrap(),
            1
        );
        let broken = store.verify_audit_chain().await.unwrap().unwrap_err();
        assert_eq!(
            broken.entry_id, 3,
            "the entry after the gap no longer follows"
        );
    }
);

on_both_backends!(an_inserted_entry_is_caught, |store, backend| {
    five_entries(store).await;
    drop_triggers(store, backend).await;
    // A forged entry slipped in before the first, claiming to start the chain.
    execute_sql(
        store,
        "INSERT INTO audit_events (id, at, route, action, outcome, details, previous_hash, hash) \
         SELECT 0, at, route, 'sign_in', 'success', '{}', previous_hash, 'forged' FROM audit_events WHERE id = 1",
    )
    .await
    .unwrap();
    let broken = store.verify_audit_chain().await.unwrap().unwrap_err();
    assert_eq!(broken.entry_id, 0);
});

on_both_backends!(
    a_rewritten_tail_changes_the_head_hash_anchored_outside,
    |store, backend| {
        let anchored = five_entries(store).await;
        drop_triggers(store, backend).await;
        // Someone deletes the last entry: the chain that remains is consistent, but its head is
        // no longer the one anchored outside the system.
        execute_sql(store, "DELETE FROM audit_events WHERE id = 5")
            .await
            .unwrap();
        let intact = store.verify_audit_chain().await.unwrap().unwrap();
        assert_eq!(intact.entries, 4);
        assert_ne!(intact.head_hash, anchored);
    }
);

on_both_backends!(concurrent_appends_stay_one_chain, |store, _backend| {
    let writers: Vec<_> = (0..40)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.record_audit(&event(n)).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let intact = store
        .verify_audit_chain()
        .await
        .unwrap()
        .expect("one valid sequence");
    assert_eq!(intact.entries, 40);
});

#[tokio::test]
async fn on_postgres_the_role_that_owns_the_trail_may_not_update_delete_or_truncate_it() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        eprintln!("skipped on postgres: no test database configured");
        return;
    };
    let Store::Postgres(pool) = &db.store else {
        unreachable!()
    };
    let granted: Vec<String> = sqlx::query_scalar(
        "SELECT privilege_type::text FROM information_schema.role_table_grants \
         WHERE table_schema = current_schema() AND table_name = 'audit_events' AND grantee = current_user \
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        granted.contains(&"INSERT".to_owned()) && granted.contains(&"SELECT".to_owned()),
        "{granted:?}"
    );
    for revoked in ["UPDATE", "DELETE", "TRUNCATE"] {
        assert!(
            !granted.contains(&revoked.to_owned()),
            "{revoked} still granted: {granted:?}"
        );
    }
    // Other tables keep their ordinary rights.
    let children: Vec<String> = sqlx::query_scalar(
        "SELECT privilege_type::text FROM information_schema.role_table_grants \
         WHERE table_schema = current_schema() AND table_name = 'children' AND grantee = current_user",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(children.contains(&"UPDATE".to_owned()), "{children:?}");
    db.drop_database().await;
}
