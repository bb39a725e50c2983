//! `contactpoint bench search` on a tiny nation: it makes its database, runs every pass and
//! prints every section with numbers where the figures go. The benchmark itself is run by
//! hand at scale (docs/BENCHMARKS.md), never by the tests.

use std::process::Command;

fn bench(url: &str, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_contactpoint"))
        .args([
            "bench",
            "search",
            "--children",
            "300",
            "--queries",
            "40",
            "--database-url",
            url,
        ])
        .args(extra)
        .env("CONTACTPOINT_LOG", "warn")
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the report is text")
}

/// The percentage on the line that starts with `label`.
fn figure(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{report}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|f| f.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("no figure on {line:?}"))
}

#[test]
fn bench_search_reports_latency_views_and_quality_then_reuses_its_nation() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.sqlite3").display());

    let report = bench(&url, &["--count-candidates"]);
    for section in [
        "generated and loaded",
        "Search latency",
        "Audited views",
        "Search quality",
        "Target first by perturbation",
        "Searches not ranking their child first",
        "Children each search's keys reach",
    ] {
        assert!(report.contains(section), "no {section:?} in:\n{report}");
    }
    for label in [
        "target ranked first",
        "target anywhere in the results",
        "wrong child first with score >= 0.9",
        "too many matches (422)",
        "no results",
    ] {
        let value = figure(&report, label);
        assert!((0.0..=100.0).contains(&value), "{label}: {value}");
    }
    assert!(
        figure(&report, "target anywhere in the results") >= figure(&report, "target ranked first")
    );

    // A second run finds the nation already there, and can answer in JSON.
    let json: serde_json::Value = serde_json::from_str(&bench(&url, &["--json"])).unwrap();
    assert_eq!(json["nation"]["generated_seconds"], serde_json::Value::Null);
    assert_eq!(json["queries"], 40);
    assert!(json["quality_percent"]["target_first"].is_number());
    assert!(json["views"][1]["per_second"].is_number());
    assert_eq!(json["search_latency"].as_array().map(Vec::len), Some(2));
}

fn bench_supply(url: &str, files: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_contactpoint"))
        .args([
            "bench",
            "supply",
            "--children",
            "400",
            "--json",
            "--database-url",
            url,
        ])
        .arg("--files-dir")
        .arg(files)
        .args(extra)
        .env("CONTACTPOINT_LOG", "warn")
        .output()
        .expect("the binary runs")
}

/// What `command` printed, once it has run and succeeded.
fn succeeded(command: &mut Command) -> Vec<u8> {
    let output = command.output().expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// What a supply bench's report says of where the records went (without its timings).
fn placements(report: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let mut out = vec![("accuracy".to_owned(), report["accuracy"].clone())];
    for list in ["sources", "retried"] {
        for (at, entry) in report[list].as_array().unwrap().iter().enumerate() {
            for field in ["linked", "updated", "created", "exceptions", "rejected"] {
                out.push((format!("{list}[{at}].{field}"), entry[field].clone()));
            }
        }
    }
    out
}

#[test]
fn a_load_places_every_record_alike_whether_its_batches_are_scored_ahead_on_two_threads_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("supplied");
    let run = |name: &str, threads: &str| -> serde_json::Value {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        let mut command = Command::new(env!("CARGO_BIN_EXE_contactpoint"));
        command
            // Large enough that records of one batch change children later records of it
            // were scored against (at 400 children, reusing their first scores went unseen).
            .args(["bench", "supply", "--children", "3000"])
            .args(["--batch-size", "1000"])
            .args(["--json", "--database-url", &url, "--files-dir"])
            .arg(&files)
            .env("CONTACTPOINT_LOG", "warn")
            // One thread: each record is scored as it is placed; two: each batch ahead.
            .env("RAYON_NUM_THREADS", threads);
        serde_json::from_slice(&succeeded(&mut command)).unwrap()
    };
    let as_placed = run("as-placed.sqlite3", "1");
    let ahead = run("ahead.sqlite3", "2");
    assert!(as_placed["accuracy"]["precision"].as_f64().unwrap() > 0.9);
    assert_eq!(placements(&ahead), placements(&as_placed));
    // Record by record: the same status, and the same records together on one child.
    let links = |name: &str| {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        record_by_record(&url)
    };
    let (as_placed, ahead) = (links("as-placed.sqlite3"), links("ahead.sqlite3"));
    assert!(as_placed.len() > 9_000, "{} records", as_placed.len());
    assert_eq!(ahead, as_placed);
}

/// What became of every record of the four national sources (`supply links`), each child
/// named by the first record placed on it (ContactPoint IDs are drawn at random).
fn record_by_record(url: &str) -> Vec<String> {
    let mut first_on: std::collections::HashMap<String, String> = Default::default();
    let mut out = Vec::new();
    for source in [
        "birth_registration",
        "nhs_demographics",
        "schools_census",
        "child_benefit",
    ] {
        let stdout = succeeded(
            Command::new(env!("CARGO_BIN_EXE_contactpoint"))
                .args(["supply", "links", "--database-url", url, "--source", source])
                .env("CONTACTPOINT_LOG", "warn"),
        );
        for line in String::from_utf8(stdout).unwrap().lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let [source, record, child, status] = fields[..] else {
                panic!("a line of four fields: {line}");
            };
            let record = format!("{source}/{record}");
            let child = match child {
                "" => String::new(),
                id => first_on
                    .entry(id.to_owned())
                    .or_insert(record.clone())
                    .clone(),
            };
            out.push(format!("{record} {status} {child}"));
        }
    }
    out
}

#[test]
fn bench_supply_loads_the_four_national_files_and_judges_every_record_against_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("supplied");
    let url = format!("sqlite://{}", dir.path().join("supply.sqlite3").display());

    let output = bench_supply(&url, &files, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let truth_rows = std::fs::read_to_string(files.join("truth.csv"))
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    assert_eq!(
        report["rows"].as_u64().unwrap(),
        truth_rows,
        "every supplied row is imported"
    );
    let sources: Vec<&str> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        [
            "birth_registration",
            "nhs_demographics",
            "schools_census",
            "child_benefit"
        ]
    );
    // The waiting records are tried again source by source, round after round until a round
    // places nothing (or the fourth).
    let rounds: Vec<(u64, u64)> = report["retried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let placed = s["linked"].as_u64().unwrap() + s["created"].as_u64().unwrap();
            (s["round"].as_u64().unwrap(), placed)
        })
        .collect();
    let last_round = rounds.last().unwrap().0;
    assert!((1..=4).contains(&last_round), "{rounds:?}");
    assert_eq!(
        rounds.len() as u64,
        4 * last_round,
        "every source each round: {rounds:?}"
    );
    for round in 1..=last_round {
        let placed: u64 = rounds.iter().filter(|r| r.0 == round).map(|r| r.1).sum();
        if round < last_round {
            assert!(placed > 0, "round {round} placed nothing, yet another came");
        } else if round < 4 {
            assert_eq!(placed, 0, "the rounds stop once one places nothing");
        }
    }
    let accuracy = &report["accuracy"];
    assert_eq!(
        accuracy["missing"], 0,
        "supply links accounts for every row"
    );
    assert_eq!(
        accuracy["wrongly_accepted"], 0,
        "every deliberately bad row is rejected"
    );
    for figure in ["precision", "recall", "f1"] {
        let value = accuracy[figure].as_f64().unwrap();
        assert!(value > 0.5 && value <= 1.0, "{figure}: {value}");
    }
    assert!(report["records_per_second"].as_f64().unwrap() > 0.0);
    assert!(report["peak_memory_mib"].as_f64().unwrap() > 0.0);
    assert!(
        report["files_seconds"].is_number(),
        "the files were written"
    );
    assert_eq!(report["lower_threshold"], 0.01, "the thresholds decided by");
    assert_eq!(report["upper_threshold"], 0.999);

    // Thresholds out of order are refused before anything is written, naming both flags.
    let crossed = bench_supply(
        &format!("sqlite://{}", dir.path().join("crossed.sqlite3").display()),
        &files,
        &["--lower-threshold", "0.5", "--upper-threshold", "0.2"],
    );
    assert!(!crossed.status.success());
    let refusal = String::from_utf8_lossy(&crossed.stderr);
    assert!(
        refusal.contains("--lower-threshold 0.5 and --upper-threshold 0.2")
            && refusal.contains("0 <= lower <= upper <= 1"),
        "{refusal}"
    );

    // An initial load needs an empty database: the second run refuses and says why, and the
    // files already written are kept for another database.
    let again = bench_supply(&url, &files, &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("needs an empty database"));
    let elsewhere = format!("sqlite://{}", dir.path().join("other.sqlite3").display());
    let reused: serde_json::Value = serde_json::from_slice(
        &bench_supply(&elsewhere, &files, &["--candidates-from-database"]).stdout,
    )
    .unwrap();
    assert!(reused["files_seconds"].is_null(), "the files were reused");
    assert_eq!(
        reused["accuracy"], report["accuracy"],
        "the same files load the same way, candidates read from memory or the database"
    );
    let outcomes = |report: &serde_json::Value| -> Vec<serde_json::Value> {
        let mut sources = report["sources"].as_array().unwrap().clone();
        sources.extend(report["retried"].as_array().unwrap().iter().cloned());
        for source in &mut sources {
            source
                .as_object_mut()
                .unwrap()
                .retain(|field, _| !field.contains("second") && !field.contains("memory"));
        }
        sources
    };
    assert_eq!(outcomes(&reused), outcomes(&report), "record for record");
}

#[tokio::test]
async fn bench_supply_places_every_record_alike_from_memory_or_the_database_on_postgres() {
    let backend = contactpoint_storage::Backend::Postgres;
    let (Some(memory), Some(database)) = (
        contactpoint_test_support::TestDatabase::new(backend).await,
        contactpoint_test_support::TestDatabase::new(backend).await,
    ) else {
        eprintln!("skipped on postgres: no test database configured");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("supplied");
    let report = |output: std::process::Output| -> serde_json::Value {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let from_memory = report(bench_supply(&memory.url, &files, &[]));
    let from_database = report(bench_supply(
        &database.url,
        &files,
        &["--candidates-from-database"],
    ));
    assert_eq!(from_memory["backend"], "postgresql");
    assert_eq!(from_memory["accuracy"], from_database["accuracy"]);
    let placed = |report: &serde_json::Value, field: &str| -> Vec<u64> {
        report["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[field].as_u64().unwrap())
            .collect()
    };
    for field in ["linked", "updated", "created", "exceptions", "rejected"] {
        assert_eq!(
            placed(&from_memory, field),
            placed(&from_database, field),
            "{field}"
        );
    }
    memory.drop_database().await;
    database.drop_database().await;
}
