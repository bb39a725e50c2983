//! How a store connects: a bulk load on SQLite reads the file through memory mapping, a
//! server does not.

use contactpoint_storage::Store;

async fn mapped_bytes(store: &Store) -> i64 {
    let Store::Sqlite(pool) = store else {
        panic!("an SQLite store")
    };
    sqlx::query_scalar("PRAGMA mmap_size")
        .fetch_one(pool)
        .await
        .expect("SQLite says how much of the file it maps")
}

#[tokio::test]
async fn a_bulk_load_on_sqlite_maps_the_file_and_a_server_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("load.sqlite3").display());
    let loading = Store::connect_for_loading(&url).await.unwrap();
    loading.migrate().await.unwrap();
    assert!(mapped_bytes(&loading).await > 0);
    loading.close().await;
    let serving = Store::connect(&url).await.unwrap();
    assert_eq!(mapped_bytes(&serving).await, 0);
    serving.close().await;
}
