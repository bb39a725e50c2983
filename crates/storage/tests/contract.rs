//! The storage contract: every test here runs on SQLite and on PostgreSQL. A backend that
//! is not configured is skipped (see contactpoint-test-support), except under CI=true.

use contactpoint_domain::{AddressState, ChildRecord, ContactPointId, Permit, SystemTask};
use contactpoint_storage::{migration_names, Backend, SearchKeys, StorageError, Store};
use contactpoint_test_support::{
    both_backends, execute_sql, load_sample_catalogue, sample_child, sample_local_authority,
};

fn permit() -> Permit {
    Permit::system_bypass(SystemTask::TestFixture)
}

async fn with_catalogue(
    store: &Store,
) -> (
    contactpoint_storage::Catalogue,
    contactpoint_storage::CatalogueIds,
) {
    load_sample_catalogue(store).await
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = migration_names(Backend::Sqlite);
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_names(Backend::Postgres));
    let listing = |dir: &str| {
        let mut names: Vec<_> =
            std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
        names.sort();
        names
    };
    assert_eq!(listing("sqlite"), listing("postgres"));
}

both_backends!(a_child_record_round_trips_with_every_part, |store| {
    let (catalogue, ids) = with_catalogue(store).await;
    let record = sample_child(&catalogue, &ids, 1);
    let report = store
        .load_children(&permit(), std::slice::from_ref(&record))
        .await
        .unwrap();
    assert_eq!(report.children, 1);
    assert!(report.reissued_ids.is_empty());
    let stored = store
        .child_record(&permit(), &record.contactpoint_id)
        .await
        .unwrap();
    assert_eq!(stored, record);
});

both_backends!(every_address_state_round_trips, |store| {
    use contactpoint_domain::ReturnIntention;
    let (catalogue, ids) = with_catalogue(store).await;
    let base = sample_child(&catalogue, &ids, 2);
    let home = base.address.address().unwrap().clone();
    let states = [
        AddressState::LastKnown { address: home },
        AddressState::NoKnownAddress,
        AddressState::LeftEngland {
            intends_to_return: ReturnIntention::WithinThreeYears,
        },
        AddressState::LeftEngland {
            intends_to_return: ReturnIntention::NotKnown,
        },
    ];
    let records: Vec<_> = states
        .into_iter()
        .enumerate()
        .map(|(i, state)| {
            let mut r = sample_child(&catalogue, &ids, 100 + i as u64);
            r.address = state;
            r
        })
        .collect();
    store.load_children(&permit(), &records).await.unwrap();
    for record in &records {
        assert_eq!(
            &store
                .child_record(&permit(), &record.contactpoint_id)
                .await
                .unwrap(),
            record
        );
    }
});

both_backends!(an_unknown_child_is_not_found_rather_than_empty, |store| {
    let missing = ContactPointId::random(&mut rand::rng());
    let err = store.child_record(&permit(), &missing).await.unwrap_err();
    assert!(
        matches!(err, StorageError::NotFound { what: "child" }),
        "{err:?}"
    );
});

both_backends!(
    a_batch_with_a_broken_record_writes_nothing_at_all,
    |store| {
        let (catalogue, ids) = with_catalogue(store).await;
        let good = sample_child(&catalogue, &ids, 3);
        let mut broken = sample_child(&catalogue, &ids, 4);
        // A service the database does not hold: the foreign key refuses the involvement.
        broken.involvements[0].service.id = 999_999;
        let err = store
            .load_children(&permit(), &[good.clone(), broken])
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Database(_)), "{err:?}");
        assert!(matches!(
            store.child_record(&permit(), &good.contactpoint_id).await,
            Err(StorageError::NotFound { .. })
        ));
        let stats = store.stats().await.unwrap();
        assert_eq!((stats[0].children, stats[0].involvements), (0, 0));
    }
);

both_backends!(
    a_contactpoint_id_already_in_use_is_replaced_and_reported,
    |store| {
        let (catalogue, ids) = with_catalogue(store).await;
        let first = sample_child(&catalogue, &ids, 5);
        store
            .load_children(&permit(), std::slice::from_ref(&first))
            .await
            .unwrap();
        let mut second = sample_child(&catalogue, &ids, 5);
        second.given_name = contactpoint_domain::GivenName::parse("Oliver").unwrap();
        let report = store
            .load_children(&permit(), std::slice::from_ref(&second))
            .await
            .unwrap();
        assert_eq!(report.reissued_ids.len(), 1);
        let (old, fresh) = report.reissued_ids[0];
        assert_eq!(old, first.contactpoint_id);
        assert_ne!(fresh, old);
        assert_eq!(
            store
                .child_record(&permit(), &old)
                .await
                .unwrap()
                .given_name
                .as_str(),
            "Amelia"
        );
        assert_eq!(
            store
                .child_record(&permit(), &fresh)
                .await
                .unwrap()
                .given_name
                .as_str(),
            "Oliver"
        );
    }
);

both_backends!(
    the_database_refuses_a_sensitive_service_row_that_is_not_marked_sensitive,
    |store| {
        let (catalogue, ids) = with_catalogue(store).await;
        let _ = (catalogue, ids);
        let sql = "INSERT INTO services (id, organisation_id, name, category, sensitive) VALUES (9001, 1, 'Clinic', 'sexual_health', false)";
        assert!(
            execute_sql(store, sql).await.is_err(),
            "the CHECK constraint must refuse the row"
        );
    }
);

both_backends!(
    statistics_count_children_shielded_services_and_involvements_per_authority,
    |store| {
        let (catalogue, ids) = with_catalogue(store).await;
        let mut records: Vec<_> = (0..5)
            .map(|i| sample_child(&catalogue, &ids, 200 + i))
            .collect();
        records[0].shielded = true;
        records[1].involvements.pop();
        store.load_children(&permit(), &records).await.unwrap();
        let stats = store.stats().await.unwrap();
        assert_eq!(stats.len(), 1);
        let la = &stats[0];
        assert_eq!(
            (la.code.as_str(), la.name.as_str()),
            ("E06000055", "Bedford")
        );
        assert_eq!(
            (la.children, la.shielded, la.services, la.involvements),
            (5, 1, 3, 14)
        );
    }
);

both_backends!(
    loading_the_same_local_authorities_twice_keeps_one_of_each,
    |store| {
        store
            .load_local_authorities(&permit(), &[sample_local_authority()])
            .await
            .unwrap();
        store
            .load_local_authorities(&permit(), &[sample_local_authority()])
            .await
            .unwrap();
        assert_eq!(store.stats().await.unwrap().len(), 1);
    }
);

both_backends!(
    a_large_batch_is_split_across_statements_and_loads_whole,
    |store| {
        let (catalogue, ids) = with_catalogue(store).await;
        let records: Vec<_> = (0..2_500)
            .map(|i| sample_child(&catalogue, &ids, 10_000 + i))
            .collect();
        let report = store.load_children(&permit(), &records).await.unwrap();
        let distinct: std::collections::HashSet<_> =
            records.iter().map(|r| r.contactpoint_id).collect();
        assert_eq!(report.reissued_ids.len(), records.len() - distinct.len());
        let stats = store.stats().await.unwrap();
        assert_eq!(stats[0].children, 2_500);
        assert_eq!(stats[0].involvements, 2_500 * 3);
        let last = records.last().unwrap();
        assert_eq!(
            &store
                .child_record(&permit(), &last.contactpoint_id)
                .await
                .unwrap(),
            last
        );
    }
);

both_backends!(the_database_answers_a_ping_until_it_is_closed, |store| {
    store.ping().await.unwrap();
    store.close().await;
    assert!(store.ping().await.is_err());
});

async fn index_exists(store: &Store, name: &str) -> bool {
    let count: i64 = match store {
        Store::Sqlite(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $1")
                .bind(name)
                .fetch_one(pool)
                .await
        }
        Store::Postgres(pool) => sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1",
        )
        .bind(name)
        .fetch_one(pool)
        .await,
    }
    .unwrap();
    count == 1
}

/// The index `children` get in a new database of `store`'s backend, each written with its
/// keys at once.
async fn keys_written_at_once(store: &Store, children: &[ChildRecord]) -> Vec<(i64, i64)> {
    let fresh = contactpoint_test_support::TestDatabase::new(store.backend())
        .await
        .unwrap();
    with_catalogue(&fresh.store).await;
    fresh
        .store
        .load_children(&permit(), children)
        .await
        .unwrap();
    search_keys(&fresh.store).await
}

async fn search_keys(store: &Store) -> Vec<(i64, i64)> {
    let sql = "SELECT key, child_id FROM child_search_keys ORDER BY key, child_id";
    match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    }
}

both_backends!(
    children_stored_before_the_search_index_are_indexed_by_the_next_migration,
    |store| {
        let (catalogue, ids) = with_catalogue(store).await;
        let children: Vec<_> = (0..3)
            .map(|seed| sample_child(&catalogue, &ids, seed))
            .collect();
        store.load_children(&permit(), &children).await.unwrap();
        let written = search_keys(store).await;
        assert!(written.len() > 3 * 10, "{} keys", written.len());
        // As a database from before the index: the children, no keys.
        execute_sql(store, "DELETE FROM child_search_keys")
            .await
            .unwrap();
        assert!(search_keys(store).await.is_empty());
        store.migrate().await.unwrap();
        assert_eq!(
            search_keys(store).await,
            written,
            "the same keys as when loaded"
        );
        store.migrate().await.unwrap();
        assert_eq!(
            search_keys(store).await,
            written,
            "and nothing more the next time"
        );
    }
);

both_backends!(
    keys_set_aside_by_a_bulk_load_are_indexed_at_its_end_exactly_as_if_written_at_once,
    |store| {
        let (catalogue, ids) = with_catalogue(store).await;
        let children: Vec<_> = (0..40)
            .map(|seed| sample_child(&catalogue, &ids, 500 + seed))
            .collect();
        let (first, second) = children.split_at(20);
        store.load_children(&permit(), first).await.unwrap();
        let indexed_at_once = search_keys(store).await;
        for batch in second.chunks(7) {
            store
                .load_children_with_keys(&permit(), batch, SearchKeys::SetAside)
                .await
                .unwrap();
        }
        assert_eq!(
            search_keys(store).await,
            indexed_at_once,
            "set-aside keys are not in the index until moved"
        );
        let moved = store.index_set_aside_keys().await.unwrap();
        let all = search_keys(store).await;
        assert_eq!(moved as usize, all.len() - indexed_at_once.len());
        // The index still refuses a key twice (its primary key was built again on PostgreSQL).
        let (key, child) = all[all.len() / 2];
        let twice =
            format!("INSERT INTO child_search_keys (key, child_id) VALUES ({key}, {child})");
        assert!(
            execute_sql(store, &twice).await.is_err(),
            "a key twice must be refused"
        );

        // The same children, each written with its keys at once, give the same index.
        assert_eq!(all, keys_written_at_once(store, &children).await);
        assert_eq!(
            store.index_set_aside_keys().await.unwrap(),
            0,
            "nothing left"
        );
    }
);

both_backends!(
    keys_a_stopped_bulk_load_left_set_aside_are_indexed_by_the_next_migration,
    |store| {
        let (catalogue, ids) = with_catalogue(store).await;
        let children: Vec<_> = (0..5)
            .map(|seed| sample_child(&catalogue, &ids, 900 + seed))
            .collect();
        store
            .load_children_with_keys(&permit(), &children, SearchKeys::SetAside)
            .await
            .unwrap();
        assert!(search_keys(store).await.is_empty());
        store.migrate().await.unwrap();
        let keys = search_keys(store).await;
        assert!(keys.len() > 5 * 10, "{} keys", keys.len());
        store.migrate().await.unwrap();
        assert_eq!(
            search_keys(store).await,
            keys,
            "and nothing more the next time"
        );
    }
);

both_backends!(
    a_scheduled_pass_is_claimed_once_an_interval_by_one_of_the_servers_asking,
    |store| {
        let hour = chrono::Duration::minutes(60);
        let start = chrono::DateTime::parse_from_rfc3339("2026-12-06T01:00:00Z")
            .unwrap()
            .to_utc();
        let claim = |at: chrono::DateTime<chrono::Utc>| async move {
            store
                .claim_scheduled_run(&permit(), "retry_waiting_records", at, hour)
                .await
                .unwrap()
        };
        assert!(claim(start).await, "a task that never ran is due");
        assert!(!claim(start + chrono::Duration::minutes(30)).await);
        assert!(!claim(start + chrono::Duration::minutes(59)).await);
        assert!(
            claim(start + hour).await,
            "due a whole interval after the last start"
        );
        assert!(!claim(start + hour).await, "and only once");
        let other = store
            .claim_scheduled_run(&permit(), "another_task", start, hour)
            .await
            .unwrap();
        assert!(other, "each task keeps its own schedule");

        // Eight servers asking at the same moment: exactly one runs each pass. (The pool's
        // connections are opened first, so the claims overlap rather than queue for them.)
        futures::future::join_all((0..8).map(|_| store.ping())).await;
        for pass in 3..23 {
            let at = start + hour * pass;
            let claims = futures::future::join_all((0..8).map(|_| claim(at))).await;
            assert_eq!(
                claims.iter().filter(|c| **c).count(),
                1,
                "pass {pass}: {claims:?}"
            );
        }
    }
);

both_backends!(
    a_move_of_set_aside_keys_stopped_between_its_steps_is_finished_by_the_next_with_every_key_indexed_once,
    |store| {
        let (catalogue, ids) = with_catalogue(store).await;
        let children: Vec<_> = (0..12)
            .map(|seed| sample_child(&catalogue, &ids, 1_300 + seed))
            .collect();
        let expected = keys_written_at_once(store, &children).await;

        store
            .load_children_with_keys(&permit(), &children, SearchKeys::SetAside)
            .await
            .unwrap();
        // As a move on SQLite leaves things when stopped after its first steps: the index by
        // child dropped, the keys of the lower half of the key values moved and committed,
        // every key still set aside.
        execute_sql(store, "DROP INDEX child_search_keys_by_child")
            .await
            .unwrap();
        execute_sql(
            store,
            "INSERT INTO child_search_keys (key, child_id) \
             SELECT key, child_id FROM child_search_keys_set_aside WHERE key < 0",
        )
        .await
        .unwrap();
        let moved_before = search_keys(store).await.len();
        assert!(moved_before > 0 && moved_before < expected.len());

        // Steps of ten keys: dozens of committed steps on SQLite.
        let moved = store.index_set_aside_keys_in_steps_of(10).await.unwrap();
        assert_eq!(moved as usize, expected.len() - moved_before);
        assert_eq!(search_keys(store).await, expected, "nothing twice, nothing lost");
        assert!(
            index_exists(store, "child_search_keys_by_child").await,
            "the index by child is built again"
        );
        assert_eq!(store.index_set_aside_keys().await.unwrap(), 0, "nothing left aside");
        assert_eq!(search_keys(store).await, expected);
    }
);

both_backends!(a_key_both_set_aside_and_indexed_is_moved_once, |store| {
    let (catalogue, ids) = with_catalogue(store).await;
    let children: Vec<_> = (0..6)
        .map(|seed| sample_child(&catalogue, &ids, 700 + seed))
        .collect();
    store.load_children(&permit(), &children).await.unwrap();
    let expected = search_keys(store).await;
    // As if a stopped load had left the same keys aside as well.
    execute_sql(
        store,
        "INSERT INTO child_search_keys_set_aside (key, child_id) SELECT key, child_id FROM child_search_keys",
    )
    .await
    .unwrap();
    assert_eq!(store.index_set_aside_keys().await.unwrap(), 0);
    assert_eq!(
        search_keys(store).await,
        expected,
        "nothing twice, nothing lost"
    );
    store.migrate().await.unwrap();
    assert_eq!(search_keys(store).await, expected);
});
