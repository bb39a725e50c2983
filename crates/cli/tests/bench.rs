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
