//! `contactpoint supply import` and `supply links` as an operator runs them: real processes
//! on real databases, killed with SIGKILL part-way and run again.

use contactpoint_domain::{Permit, SystemTask};
use contactpoint_storage::{Backend, Store};
use contactpoint_test_support::{count_rows, execute_sql, sample_local_authority, TestDatabase};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn contactpoint() -> Command {
    Command::new(env!("CARGO_BIN_EXE_contactpoint"))
}

fn permit() -> Permit {
    Permit::system_bypass(SystemTask::TestFixture)
}

async fn prepared(backend: Backend) -> Option<TestDatabase> {
    let db = TestDatabase::new(backend).await?;
    db.store
        .load_local_authorities(&permit(), &[sample_local_authority()])
        .await
        .unwrap();
    execute_sql(
        &db.store,
        "INSERT INTO postcode_districts (district, local_authority) VALUES \
         ('MK40', 'E06000055'), ('MK41', 'E06000055'), ('MK42', 'E06000055')",
    )
    .await
    .unwrap();
    Some(db)
}

const GIVEN: [&str; 12] = [
    "Amelia", "Oliver", "Isla", "Noah", "Ava", "Muhammad", "Freya", "Leo", "Zara", "Theo", "Maya",
    "Arthur",
];
const FAMILY: [&str; 10] = [
    "Smith",
    "Okafor",
    "Patel",
    "Nowak",
    "Jones",
    "Brennan",
    "Khan",
    "Taylor",
    "Whitfield",
    "Adeyemi",
];

/// An NHS demographics file of `children` distinct children (every fifth sent twice, under a
/// second identifier, as that register now and then holds one child twice), with a few rows
/// that must be rejected.
fn births_file(dir: &Path, children: usize) -> std::path::PathBuf {
    let mut csv = String::from(
        "source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode\n",
    );
    for n in 0..children {
        let given = GIVEN[n % GIVEN.len()];
        let family = FAMILY[(n / GIVEN.len()) % FAMILY.len()];
        let born = chrono::NaiveDate::from_ymd_opt(2009, 1, 1).unwrap()
            + chrono::Days::new((n as u64 * 7919) % 5800);
        let gender = if n % 2 == 0 { "F" } else { "M" };
        let district = 40 + n % 3;
        let line = format!("{} Station Road", 1 + n % 180);
        csv.push_str(&format!(
            "GRO-{n:05},{given},{family},{born},{gender},{line},Bedford,MK{district} {}AB\n",
            n % 10
        ));
        if n % 5 == 0 {
            csv.push_str(&format!(
                "GRO-{n:05}-R,{given},{family},{born},{gender},{line},Bedford,MK{district} {}AB\n",
                n % 10
            ));
        }
        if n % 97 == 0 {
            csv.push_str(&format!(
                "GRO-{n:05}-X,{given},{family},2099-01-01,{gender},,,\n"
            ));
        }
    }
    let path = dir.join("births.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// How the import finds each record's candidates.
#[derive(Debug, Clone, Copy)]
enum Candidates {
    FromTheDatabase,
    /// `--candidates-in-memory`: the children it makes have their search keys set aside until
    /// the load ends.
    InMemory,
}

fn import_command(url: &str, file: &Path, candidates: Candidates) -> Command {
    let mut command = contactpoint();
    command.args([
        "supply",
        "import",
        "--database-url",
        url,
        "--source",
        "nhs_demographics",
        "--authoritative",
        "--batch-size",
        "50",
    ]);
    if let Candidates::InMemory = candidates {
        command.arg("--candidates-in-memory");
    }
    command.arg(file);
    command
}

fn run_to_end(url: &str, file: &Path, candidates: Candidates) -> Output {
    let output = import_command(url, file, candidates).output().unwrap();
    assert!(
        output.status.success(),
        "the import succeeds: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// How many records the import has committed so far (a plain read, which never waits for
/// the importer's write lock).
async fn supplied_count(store: &Store) -> u64 {
    let sql = "SELECT COUNT(*) FROM supplied_records";
    let count: i64 = match store {
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    };
    count as u64
}

/// `supply links` for the NHS register as CSV lines (without the header).
fn links(url: &str) -> Vec<String> {
    links_of(url, "nhs_demographics")
}

fn links_of(url: &str, source: &str) -> Vec<String> {
    let output = contactpoint()
        .args(["supply", "links", "--database-url", url, "--source", source])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("source,source_record_id,contactpoint_id,status")
    );
    lines.map(str::to_owned).collect()
}

/// What an import made, free of the random ContactPoint IDs: each record's status, which
/// records share a child, and the batches the audit trail records.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    statuses: BTreeMap<String, String>,
    children: BTreeSet<Vec<String>>,
    batches: BTreeSet<String>,
    /// Search keys in the index, and set aside (none, once an import has ended).
    keys: (i64, i64),
}

async fn outcome(store: &Store, url: &str) -> Outcome {
    let mut statuses = BTreeMap::new();
    let mut by_child: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in links(url) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 4, "{line}");
        statuses.insert(fields[1].to_owned(), fields[3].to_owned());
        if !fields[2].is_empty() {
            by_child
                .entry(fields[2].to_owned())
                .or_default()
                .push(fields[1].to_owned());
        }
    }
    let batches = store
        .audit_events(&permit(), 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "supply_batch_imported")
        .map(|e| e.details)
        .collect();
    Outcome {
        statuses,
        children: by_child.into_values().collect(),
        batches,
        keys: (
            count_rows(store, "child_search_keys").await,
            count_rows(store, "child_search_keys_set_aside").await,
        ),
    }
}

async fn killed_part_way_and_run_again_ends_exactly_as_one_clean_run(
    backend: Backend,
    candidates: Candidates,
) {
    let (Some(clean), Some(killed)) = (prepared(backend).await, prepared(backend).await) else {
        eprintln!("skipped on {}: no test database configured", backend.name());
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = births_file(dir.path(), 2_000);

    let first = run_to_end(&clean.url, &file, candidates);
    let summary = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(summary.contains("rejected"), "{summary}");
    let expected = outcome(&clean.store, &clean.url).await;
    assert!(expected.statuses.values().any(|s| s == "created"));
    assert!(expected.statuses.values().any(|s| s == "linked"));
    assert!(expected.statuses.values().any(|s| s == "rejected"));
    assert!(
        expected.keys.0 > 0,
        "the children made are in the search index"
    );
    assert_eq!(expected.keys.1, 0, "no search key is left aside");

    // Kill the import with SIGKILL at a different point each time: after the first batch,
    // then further on, then run it to the end.
    let mut kills = 0;
    for stop_after in [1, 300, 700, 1_200] {
        let mut child = import_command(&killed.url, &file, candidates)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let before = supplied_count(&killed.store).await;
        loop {
            let now = supplied_count(&killed.store).await;
            if now >= before + stop_after || started.elapsed() > Duration::from_secs(120) {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let _ = child.wait();
    }
    assert!(kills >= 2, "the import was killed part-way at least twice");
    run_to_end(&killed.url, &file, candidates);

    assert_eq!(outcome(&killed.store, &killed.url).await, expected);
    assert!(killed.store.verify_audit_chain().await.unwrap().is_ok());

    // And a second full run changes nothing at all.
    let again = run_to_end(&killed.url, &file, candidates);
    assert!(String::from_utf8_lossy(&again.stdout).contains(" 0 created"));
    assert_eq!(outcome(&killed.store, &killed.url).await, expected);

    // Every rejected row is in the rejects file beside the input.
    let rejects = std::fs::read_to_string(dir.path().join("births.csv.rejects.csv")).unwrap();
    let rejected_rows = rejects.lines().count() - 1;
    let listed = expected
        .statuses
        .values()
        .filter(|s| *s == "rejected")
        .count();
    assert_eq!(rejected_rows, listed);
    assert!(rejects.contains("date_of_birth"));

    clean.drop_database().await;
    killed.drop_database().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_killed_part_way_and_run_again_ends_exactly_as_one_clean_run_on_sqlite() {
    killed_part_way_and_run_again_ends_exactly_as_one_clean_run(
        Backend::Sqlite,
        Candidates::FromTheDatabase,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_killed_part_way_and_run_again_ends_exactly_as_one_clean_run_on_postgres() {
    killed_part_way_and_run_again_ends_exactly_as_one_clean_run(
        Backend::Postgres,
        Candidates::FromTheDatabase,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_with_candidates_in_memory_killed_part_way_and_run_again_ends_as_one_clean_run_on_sqlite(
) {
    killed_part_way_and_run_again_ends_exactly_as_one_clean_run(
        Backend::Sqlite,
        Candidates::InMemory,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_with_candidates_in_memory_killed_part_way_and_run_again_ends_as_one_clean_run_on_postgres(
) {
    killed_part_way_and_run_again_ends_exactly_as_one_clean_run(
        Backend::Postgres,
        Candidates::InMemory,
    )
    .await;
}

#[tokio::test]
async fn an_unknown_source_is_refused_naming_the_known_ones() {
    let Some(db) = prepared(Backend::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = births_file(dir.path(), 3);
    let output = contactpoint()
        .args([
            "supply",
            "import",
            "--database-url",
            &db.url,
            "--source",
            "gossip",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--source") && stderr.contains("birth_registration"),
        "{stderr}"
    );
    assert_eq!(supplied_count(&db.store).await, 0);
}

/// Imports `csv` (written to a file in `dir`) as `source` from the command line.
fn import_csv(url: &str, dir: &Path, source: &str, authoritative: bool, csv: &str) {
    let file = dir.join(format!("{source}.csv"));
    std::fs::write(&file, csv).unwrap();
    let mut command = contactpoint();
    command.args([
        "supply",
        "import",
        "--database-url",
        url,
        "--source",
        source,
    ]);
    if authoritative {
        command.arg("--authoritative");
    }
    let output = command.arg(&file).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running server, killed when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_server_tries_the_waiting_records_again_on_its_schedule() {
    let Some(db) = prepared(Backend::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The census cannot create children: Nell waits until the register of births brings her
    // in, which it does after the census was imported.
    import_csv(
        &db.url,
        dir.path(),
        "schools_census",
        false,
        "source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode\n\
         A823456789012,Nell,Whitfield,2015-06-03,F,3 Mill Lane,Bedford,MK41 7HT\n",
    );
    import_csv(
        &db.url,
        dir.path(),
        "birth_registration",
        true,
        "source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode\n\
         GRO-7,Nell,Whitfield,2015-06-03,F,3 Mill Lane,Bedford,MK41 7HT\n",
    );
    let census = |url: &str| links_of(url, "schools_census").join("\n");
    assert!(
        census(&db.url).contains(",exception"),
        "{}",
        census(&db.url)
    );

    let _server = Server(
        contactpoint()
            .args([
                "serve",
                "--database-url",
                &db.url,
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--retry-waiting-minutes", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while !census(&db.url).contains(",linked") && started.elapsed() < Duration::from_secs(150) {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(
        census(&db.url).contains(",linked"),
        "linked within a minute or so: {}",
        census(&db.url)
    );
    let retried = db
        .store
        .audit_events(&permit(), 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "supply_batch_imported")
        .filter(|e| e.details.contains(contactpoint_intake::import::WAITING))
        .count();
    assert_eq!(retried, 1, "the pass's batch is audited");
    assert!(db.store.verify_audit_chain().await.unwrap().is_ok());
}
