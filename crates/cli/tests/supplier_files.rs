//! `contactpoint generate --supplier-files` and `--reference-data-only`, as a person runs them.

use std::process::Command;

fn contactpoint() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contactpoint"));
    command.env_remove("CONTACTPOINT_DATABASE_URL");
    command
}

fn succeeds(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn supplier_files_are_written_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("supplied");
    let out = succeeds(contactpoint().current_dir(dir.path()).args([
        "generate",
        "--children",
        "400",
        "--seed",
        "3",
        "--as-of",
        "2026-11-23",
        "--local-authority",
        "Bedford",
        "--supplier-files",
        files.to_str().unwrap(),
    ]));
    assert!(out.contains("of 400 children"), "{out}");
    for name in [
        "birth_registration.csv",
        "schools_census.csv",
        "child_benefit.csv",
        "nhs_demographics.csv",
        "truth.csv",
    ] {
        let text = std::fs::read_to_string(files.join(name)).unwrap();
        assert!(text.lines().count() > 100, "{name}");
    }
    // Nothing but the files: no database was made anywhere.
    let made: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(made, vec![std::ffi::OsString::from("supplied")]);
}

#[test]
fn generate_needs_a_database_or_a_directory() {
    let output = contactpoint()
        .args(["generate", "--children", "10"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--supplier-files"));
    let output = contactpoint()
        .args(["generate", "--children", "10", "--reference-data-only"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--database-url"));
}

#[test]
fn reference_data_only_loads_authorities_services_and_districts_but_no_children() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nation.sqlite3").display());
    let files = dir.path().join("supplied");
    let out = succeeds(contactpoint().args([
        "generate",
        "--children",
        "300",
        "--as-of",
        "2026-11-23",
        "--local-authority",
        "Bedford",
        "--reference-data-only",
        "--database-url",
        &url,
        "--supplier-files",
        files.to_str().unwrap(),
    ]));
    assert!(out.contains("no children"), "{out}");
    assert!(files.join("truth.csv").exists());
    let stats = succeeds(contactpoint().args(["stats", "--database-url", &url]));
    let bedford = stats.lines().find(|l| l.contains("Bedford")).unwrap();
    let numbers: Vec<i64> = bedford
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.first(), Some(&0), "{stats}");
    assert!(numbers.iter().skip(1).any(|n| *n > 0), "services: {stats}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = contactpoint_storage::Store::connect(&url).await.unwrap();
        let bedford = store.local_authority_of_district("MK40").await.unwrap();
        assert_eq!(bedford.unwrap().as_str(), "E06000055");
        assert_eq!(
            store.local_authority_of_district("SW1").await.unwrap(),
            None
        );
        store.close().await;
    });
}
