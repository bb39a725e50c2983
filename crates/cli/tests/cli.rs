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

/// One HTTP/1.1 exchange over a plain socket: status, headers (lower-cased names) and body.
fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let (host, path) = address
        .split_once('/')
        .map_or((address, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).expect("server accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn http_get(url: &str) -> (u16, String) {
    let (status, _, body) = http("GET", url, &[], "");
    (status, body)
}

fn set_cookie(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .find_map(|(_, v)| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
}

fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Signs in through the real sign-in form; returns the session cookie.
fn sign_in_on_the_web(
    url: &str,
    username: &str,
    password: &str,
    pin: &str,
    totp_secret: &str,
) -> String {
    let (status, headers, page) = http("GET", &format!("{url}/sign-in"), &[], "");
    assert_eq!(status, 200);
    let csrf_cookie = set_cookie(&headers, "cp_sign_in").expect("sign-in CSRF cookie");
    let csrf = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("CSRF field")
        .to_owned();
    #[allow(clippy::disallowed_methods)] // the real server's clock is the system clock
    let now = chrono::Utc::now();
    let code = contactpoint_auth::TotpSecret::from_base32(totp_secret)
        .unwrap()
        .code_at(now);
    let body = form_encode(&[
        ("csrf", &csrf),
        ("username", username),
        ("password", password),
        ("pin", pin),
        ("otp", &code),
    ]);
    let (status, headers, page) = http(
        "POST",
        &format!("{url}/sign-in"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &format!("cp_sign_in={csrf_cookie}")),
        ],
        &body,
    );
    assert_eq!(status, 303, "sign-in refused: {page}");
    set_cookie(&headers, "cp_session").expect("session cookie")
}

fn account_status(url: &str, session: &str) -> u16 {
    http(
        "GET",
        &format!("{url}/account"),
        &[("Cookie", &format!("cp_session={session}"))],
        "",
    )
    .0
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
    // The team's exceptions queue has records to decide: the census rows the matching could
    // not place, each listed as waiting by `supply links`.
    let census = lines
        .iter()
        .find(|l| l.contains("waiting in the exceptions queue"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    let waiting: usize = census
        .split(", ")
        .find_map(|part| part.strip_suffix(" waiting in the exceptions queue."))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{census}"));
    assert!(waiting > 0, "{census}");
    assert!(!data_dir.join("supplier-files").exists());
    let (status, body) = http_get(&format!("{url}/healthz"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""));
    let (status, page) = http_get(&url);
    assert_eq!(status, 200);
    assert!(page.contains("<html lang=\"en-GB\">"));

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

    let practitioner = &accounts[0];
    let field = |name: &str| practitioner[name].as_str().unwrap().to_owned();
    let session = sign_in_on_the_web(
        &url,
        &field("username"),
        &field("password"),
        &field("pin"),
        &field("totp_secret"),
    );
    assert_eq!(account_status(&url, &session), 200);
    drop(server);

    // A second run reuses the directory: nothing is generated again, the accounts stay, and
    // a session opened before the restart is still good.
    let (server, url, lines) = start(demo(), "ContactPoint demonstration:");
    assert_eq!(
        account_status(&url, &session),
        200,
        "the session survived the restart"
    );
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

    // The demonstration's database, for the other commands.
    let database_url = format!(
        "sqlite://{}",
        data_dir.join("contactpoint.sqlite3").display()
    );
    let stats = contactpoint()
        .args(["stats", "--database-url", &database_url])
        .output()
        .unwrap();
    let table = String::from_utf8(stats.stdout).unwrap();
    assert!(
        table.contains("Bedford") && table.contains("20000"),
        "{table}"
    );
    let links = contactpoint()
        .args([
            "supply",
            "links",
            "--source",
            "schools_census",
            "--database-url",
            &database_url,
        ])
        .output()
        .unwrap();
    let links = String::from_utf8(links.stdout).unwrap();
    assert_eq!(
        links.lines().filter(|l| l.ends_with(",exception")).count(),
        waiting,
        "{links}"
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

/// A user on `url`'s database, with every factor known: an accredited organisation in a
/// local authority and one practitioner.
fn seed_a_practitioner(url: &str) -> (String, String, String, String) {
    use contactpoint_domain::*;
    use contactpoint_storage::*;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::connect(url).await.unwrap();
        let permit = Permit::system_bypass(SystemTask::TestFixture);
        #[allow(clippy::disallowed_methods)] // the servers under test run on the system clock
        let now = chrono::Utc::now();
        let la = LocalAuthorityCode::parse("E06000055").unwrap();
        let authority = LocalAuthority {
            code: la.clone(),
            name: "Bedford".into(),
            team_email: EmailAddress::parse("contactpoint@bedford.example.org").unwrap(),
            team_telephone: Telephone::parse("01632 960001").unwrap(),
        };
        store
            .load_local_authorities(&permit, &[authority])
            .await
            .unwrap();
        let catalogue = Catalogue {
            organisations: vec![NewOrganisation {
                kind: OrganisationKind::School,
                name: "Castle Lower School".into(),
                local_authority: la,
                address: None,
                telephone: None,
                email: None,
                services: vec![],
            }],
        };
        let ids = store.load_catalogue(&permit, &catalogue).await.unwrap();
        let audit = AuditEvent::new(
            now,
            AccessRoute::System,
            "accreditation_changed",
            Outcome::Success,
        );
        store
            .set_accreditation(
                &permit,
                ids.first_organisation,
                Accreditation::Accredited,
                true,
                false,
                &audit,
            )
            .await
            .unwrap();
        let hasher = contactpoint_auth::SecretHasher::default();
        let totp = contactpoint_auth::TotpSecret::generate();
        let today = now.date_naive();
        let user = NewUser {
            username: Username::parse("two.servers").unwrap(),
            organisation_id: ids.first_organisation,
            given_name: "Two".into(),
            family_name: "Servers".into(),
            email: None,
            role: Role::Practitioner,
            duties: vec![],
            shield_override: false,
            vetting: Vetting {
                criminal_records_checked_on: today.pred_opt(),
                training_completed_on: today.pred_opt(),
                agreement_accepted_on: today.pred_opt(),
            },
            password_hash: hasher.hash("harbour willow quarry"),
            pin_hash: hasher.hash("482915"),
            totp_secret: Some(totp.to_base32()),
            demo: false,
        };
        let audit = AuditEvent::new(now, AccessRoute::System, "user_created", Outcome::Success);
        store
            .create_user(&permit, &user, now, &audit)
            .await
            .unwrap();
        store.close().await;
        (
            "two.servers".into(),
            "harbour willow quarry".into(),
            "482915".into(),
            totp.to_base32(),
        )
    })
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
    let serve = || {
        let mut command = contactpoint();
        command.args(["serve", "--listen", "127.0.0.1:0", "--database-url", &own]);
        command
    };
    let (server_a, address_a, _) = start(serve(), "ContactPoint is serving at");
    let (server_b, address_b, _) = start(serve(), "ContactPoint is serving at");
    let (status, body) = http_get(&format!("{address_a}/healthz"));
    assert_eq!(status, 200);
    assert!(body.contains("\"database\":\"postgres\""));

    // Two processes share one PostgreSQL: a session opened on one works on the other, and
    // survives a restart.
    let (username, password, pin, secret) = seed_a_practitioner(&own);
    let session = sign_in_on_the_web(&address_a, &username, &password, &pin, &secret);
    assert_eq!(account_status(&address_a, &session), 200);
    assert_eq!(
        account_status(&address_b, &session),
        200,
        "the other process knows the session"
    );
    drop(server_a);
    let (server_a, address_a, _) = start(serve(), "ContactPoint is serving at");
    assert_eq!(
        account_status(&address_a, &session),
        200,
        "the session survived a restart"
    );
    assert_eq!(account_status(&address_a, "forged-token"), 401);
    drop(server_a);
    drop(server_b);
    let _ = Command::new("psql")
        .args([&url, "-qc", &format!("DROP DATABASE IF EXISTS {name}")])
        .status();
}

#[test]
fn audit_verify_prints_the_head_hash_and_names_the_first_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trail.sqlite3");
    let url = format!("sqlite://{}", path.display());
    let migrate = contactpoint()
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(migrate.status.success());
    // Sign-in failures are audited: a few of them make a trail.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use contactpoint_domain::{AccessRoute, AuditEvent, Outcome};
        let store = contactpoint_storage::Store::connect(&url).await.unwrap();
        #[allow(clippy::disallowed_methods)] // any moment will do for these entries
        let now = chrono::Utc::now();
        for n in 0..4 {
            store
                .record_audit(
                    &AuditEvent::new(now, AccessRoute::Web, "sign_in", Outcome::Failure)
                        .with("attempt", n),
                )
                .await
                .unwrap();
        }
        store.close().await;
    });
    let verify = contactpoint()
        .args(["audit", "verify", "--database-url", &url])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert!(verify.status.success(), "{out}");
    assert!(out.contains("intact: 4 entries"), "{out}");
    let head = out
        .lines()
        .find_map(|l| l.strip_prefix("Head hash: "))
        .unwrap();
    assert_eq!(head.len(), 64);
    let anchored = contactpoint()
        .args([
            "audit",
            "verify",
            "--database-url",
            &url,
            "--expect-head",
            head,
        ])
        .output()
        .unwrap();
    assert!(anchored.status.success());
    let unknown = contactpoint()
        .args([
            "audit",
            "verify",
            "--database-url",
            &url,
            "--expect-head",
            &"0".repeat(64),
        ])
        .output()
        .unwrap();
    assert!(
        !unknown.status.success(),
        "an anchor the trail does not contain fails"
    );

    // Someone with the database in hand drops the triggers and edits, deletes or inserts
    // an entry: each is caught, and the first bad entry named.
    for (tamper, statements, first_bad) in [
        ("edited", &["UPDATE audit_events SET outcome = 'success' WHERE id = 2"][..], 2),
        ("deleted", &["DELETE FROM audit_events WHERE id = 2"], 3),
        (
            "inserted",
            &["INSERT INTO audit_events (id, at, route, actor_user_id, on_behalf_of_user_id, api_client_id, action, outcome, subject_kind, subject_id, local_authority, details, previous_hash, hash) \
               SELECT 5, at, route, actor_user_id, on_behalf_of_user_id, api_client_id, 'child_viewed', outcome, 'child', '123456789012', local_authority, details, hash, lower(hex(randomblob(32))) FROM audit_events WHERE id = 4"],
            5,
        ),
    ] {
        let copy = dir.path().join(format!("{tamper}.sqlite3"));
        std::fs::copy(&path, &copy).unwrap();
        let copy_url = format!("sqlite://{}", copy.display());
        runtime.block_on(async {
            let store = contactpoint_storage::Store::connect(&copy_url).await.unwrap();
            if let contactpoint_storage::Store::Sqlite(pool) = &store {
                for trigger in ["audit_events_are_never_updated", "audit_events_are_never_deleted"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER IF EXISTS {trigger}")))
                        .execute(pool)
                        .await
                        .unwrap();
                }
                for statement in statements {
                    let changed = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                        .execute(pool)
                        .await
                        .unwrap()
                        .rows_affected();
                    assert_eq!(changed, 1, "{tamper}");
                }
            }
            store.close().await;
        });
        let verify = contactpoint()
            .args(["audit", "verify", "--database-url", &copy_url])
            .output()
            .unwrap();
        assert!(!verify.status.success(), "{tamper} entry not caught");
        let err = String::from_utf8_lossy(&verify.stderr);
        assert!(
            err.contains(&format!("broken at entry {first_bad}")),
            "{tamper}: {err}"
        );
    }
}

#[test]
fn a_deployment_starts_with_a_national_administrator_who_must_register_a_security_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("new.sqlite3").display());
    let create = || {
        contactpoint()
            .args([
                "admin",
                "create-national-administrator",
                "--database-url",
                &url,
                "--username",
                "n.admin",
            ])
            .args([
                "--given-name",
                "Nadia",
                "--family-name",
                "Rahman",
                "--local-authority",
                "E06000055",
            ])
            .args([
                "--criminal-records-checked-on",
                "2026-01-05",
                "--training-completed-on",
                "2026-01-20",
            ])
            .output()
            .unwrap()
    };
    let created = create();
    let out = String::from_utf8_lossy(&created.stdout).into_owned();
    assert!(
        created.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let value = |label: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap()
            .trim()
            .to_owned()
    };
    let (password, pin, key) = (
        value("first password:"),
        value("PIN:"),
        value("security-token key (base32):"),
    );

    let mut serve = contactpoint();
    serve.args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url]);
    let (server, address, _) = start(serve, "ContactPoint is serving at");
    let session = sign_in_on_the_web(&address, "n.admin", &password, &pin, &key);
    assert_eq!(
        account_status(&address, &session),
        401,
        "a session only for registering a key"
    );
    let enrol = http(
        "GET",
        &format!("{address}/account/security-key"),
        &[("Cookie", &format!("cp_session={session}"))],
        "",
    );
    assert_eq!(enrol.0, 200);
    assert!(enrol.2.contains("Register a security key"));
    drop(server);

    let again = create();
    assert!(!again.status.success(), "a user name is taken once");
}

#[test]
fn serve_reads_its_settings_from_a_toml_file_and_names_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("configured.sqlite3").display()
    );
    let config = dir.path().join("contactpoint.toml");
    std::fs::write(
        &config,
        format!("database_url = \"{url}\"\nlisten = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    let mut serve = contactpoint();
    serve.arg("serve").arg("--config").arg(&config);
    let (server, address, _) = start(serve, "ContactPoint is serving at");
    assert_eq!(http_get(&format!("{address}/healthz")).0, 200);
    drop(server);

    std::fs::write(&config, "databse_url = \"sqlite://x\"\n").unwrap();
    let output = contactpoint()
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("databse_url") && err.contains("contactpoint.toml"),
        "{err}"
    );
}

/// How many cores a process may run on, from its `Cpus_allowed_list` ("0-1", "0,2", "1").
fn cores_allowed(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .expect("Linux lists the cores a process may use")
        .trim();
    list.split(',')
        .map(|part| match part.split_once('-') {
            Some((from, to)) => to.parse::<usize>().unwrap() - from.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

#[test]
fn a_server_on_the_embedded_database_keeps_to_one_core_unless_told_to_use_them_all() {
    let available = cores_allowed(std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cores.sqlite3").display());
    let serve = |all_cores: bool| {
        let mut command = contactpoint();
        if all_cores {
            command.arg("--all-cores");
        }
        command.args(["serve", "--database-url", &url, "--listen", "127.0.0.1:0"]);
        let (running, _, _) = start(command, "ContactPoint is serving at");
        cores_allowed(running.0.id())
    };
    assert_eq!(serve(false), 1.min(available));
    assert_eq!(serve(true), available);
}
