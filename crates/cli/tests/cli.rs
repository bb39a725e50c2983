//! The binary as a person uses it: real processes, real sockets, real files.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn contactpoint() -> Command {
    Command::new(env!("CARGO_BIN_EXE_contactpoint"))
}

/// Kills the server when the test ends, whether it passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server command and waits for the line that names its URL. Its output keeps
/// being read afterwards, so the server never writes into a closed pipe.
fn start(mut command: Command, marker: &str) -> (Running, String, Vec<String>) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(300)) {
        lines.push(line.clone());
        if let Some(rest) = line.split(marker).nth(1) {
            return (running, rest.trim().to_owned(), lines);
        }
    }
    panic!("the server never said where it was listening: {lines:?}");
}

fn http_get(url: &str) -> (u16, String) {
    let address = url.trim_start_matches("http://");
    let (host, path) = address
        .split_once('/')
        .map_or((address, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).expect("server accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

#[test]
fn help_explains_every_command() {
    let output = contactpoint().arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["demo", "serve", "migrate", "generate", "stats"] {
        assert!(help.contains(command), "--help does not mention {command}");
    }
    let output = contactpoint()
        .args(["generate", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("--children") && help.contains("--seed") && help.contains("same seed"));
}

#[test]
fn the_demo_makes_its_data_once_serves_health_and_writes_the_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let demo = || {
        let mut command = contactpoint();
        command
            .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir);
        command
    };
    let (server, url, lines) = start(demo(), "ContactPoint demonstration:");
    assert!(
        lines.iter().any(|l| l.contains("20000 children")),
        "{lines:?}"
    );
    let (status, body) = http_get(&format!("{url}/healthz"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""));
    let (status, page) = http_get(&url);
    assert_eq!(status, 200);
    assert!(page.contains("<html lang=\"en-GB\">"));
    drop(server);

    let credentials: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir.join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    let accounts = credentials.as_array().expect("a JSON array");
    assert!(accounts.len() >= 6);
    for account in accounts {
        for field in [
            "username",
            "password",
            "pin",
            "totp_secret",
            "role",
            "organisation",
        ] {
            assert!(
                account[field].as_str().is_some_and(|v| !v.is_empty()),
                "{field} missing in {account}"
            );
        }
        let secret = account["totp_secret"].as_str().unwrap();
        assert!(data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .is_ok());
    }
    let roles: Vec<_> = accounts
        .iter()
        .map(|a| a["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles.iter().filter(|r| **r == "practitioner").count(), 2);
    for role in [
        "mediator",
        "local_team",
        "auditor",
        "national_administrator",
    ] {
        assert!(roles.contains(&role), "{role}");
    }

    // A second run reuses the directory: nothing is generated again, the accounts stay.
    let (server, url, lines) = start(demo(), "ContactPoint demonstration:");
    assert!(
        !lines.iter().any(|l| l.contains("20000 children")),
        "{lines:?}"
    );
    assert_eq!(http_get(&format!("{url}/healthz")).0, 200);
    drop(server);
    let again: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir.join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(again, credentials);

    let stats = contactpoint()
        .args([
            "stats",
            "--database-url",
            &format!(
                "sqlite://{}",
                data_dir.join("contactpoint.sqlite3").display()
            ),
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(stats.stdout).unwrap();
    assert!(
        table.contains("Bedford") && table.contains("20000"),
        "{table}"
    );
}

#[test]
fn generate_then_stats_counts_what_was_generated() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nation.sqlite3").display());
    let output = contactpoint()
        .args([
            "generate",
            "--children",
            "3000",
            "--seed",
            "5",
            "--as-of",
            "2026-11-23",
            "--database-url",
            &url,
        ])
        .args([
            "--local-authority",
            "Bedford",
            "--local-authority",
            "E09000002",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout)
        .contains("Generated and loaded 3000 children in 2 local authorities"));
    let stats = contactpoint()
        .args(["stats", "--database-url", &url])
        .output()
        .unwrap();
    let table = String::from_utf8(stats.stdout).unwrap();
    let total = table.lines().last().unwrap();
    assert!(
        total.contains("all 2 local authorities") && total.contains(" 3000 "),
        "{table}"
    );
}

#[test]
fn an_unknown_local_authority_or_database_scheme_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("n.sqlite3").display());
    let output = contactpoint()
        .args([
            "generate",
            "--children",
            "10",
            "--database-url",
            &url,
            "--local-authority",
            "Atlantis",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--local-authority"));
    let output = contactpoint()
        .args(["migrate", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sqlite://PATH or postgres://"));
}

#[test]
fn migrate_and_serve_work_on_postgres_when_it_is_configured() {
    let Some(url) = contactpoint_test_support::postgres_url() else {
        eprintln!("skipped on postgres: no test database configured");
        return;
    };
    // A database of its own, so this test never touches another's tables.
    let name = format!("cli_{}", std::process::id());
    let drop_it = format!("DROP DATABASE IF EXISTS {name}");
    let create_it = format!("CREATE DATABASE {name}");
    let admin = Command::new("psql")
        .args([url.as_str(), "-q", "-c", &drop_it, "-c", &create_it])
        .status();
    if !admin.is_ok_and(|s| s.success()) {
        panic!("psql could not create a database at {url}");
    }
    let base = url.rsplit_once('/').unwrap().0;
    let own = format!("{base}/{name}");
    let migrate = contactpoint()
        .args(["migrate", "--database-url", &own])
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let mut serve = contactpoint();
    serve.args(["serve", "--listen", "127.0.0.1:0", "--database-url", &own]);
    let (server, address, _) = start(serve, "ContactPoint is serving at");
    let (status, body) = http_get(&format!("{address}/healthz"));
    assert_eq!(status, 200);
    assert!(body.contains("\"database\":\"postgres\""));
    drop(server);
    let _ = Command::new("psql")
        .args([&url, "-qc", &format!("DROP DATABASE IF EXISTS {name}")])
        .status();
}
