//! Signing in and out as a person does: Debian's Chromium, headless, driven through
//! chromedriver over WebDriver, against the real server listening on a real socket.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian's `chromium` and
//! `chromium-driver`). Without them the test is skipped, except under CI=true, where it fails.

mod common;

use common::*;
use contactpoint_domain::Role;
use contactpoint_storage::Backend;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The most the whole browser journey may take before the test fails rather than hangs.
const JOURNEY_LIMIT: Duration = Duration::from_secs(120);

/// How long a page may take to show what a step waits for.
const PAGE_LIMIT: Duration = Duration::from_secs(15);

/// A chromedriver child process on a free local port. Dropping it asks chromedriver to shut
/// down, which quits any browser it started (killing chromedriver alone would leave Chromium
/// running), and kills it if it does not go.
struct Chromedriver {
    child: Child,
    port: u16,
    /// Holds the browser profile and chromedriver's log; removed after the process ends.
    dir: tempfile::TempDir,
}

impl Chromedriver {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = free_port();
        let log = File::create(dir.path().join("chromedriver.log")).expect("chromedriver's log");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("chromedriver's log"))
            .stderr(log)
            .spawn()
            .expect("chromedriver starts");
        let mut driver = Self { child, port, dir };
        driver.wait_until_ready();
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn profile(&self) -> PathBuf {
        self.dir.path().join("profile")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default()
    }

    /// Polls `GET /status` until chromedriver says it is ready for new sessions.
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "chromedriver exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            if http_get(self.port, "/status").is_some_and(|reply| reply.contains(r#""ready":true"#))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {} within 20 seconds:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = http_get(self.port, "/shutdown");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// A plain HTTP/1.1 GET to 127.0.0.1; the whole reply, or None if nothing answered.
/// chromedriver answers `Connection: close` yet keeps the socket open, so the reply ends
/// where its Content-Length says, not at the end of the stream.
fn http_get(port: u16, path: &str) -> Option<String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut reply = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            break;
        }
        reply.extend_from_slice(&buffer[..read]);
        if reply_is_complete(&reply) {
            break;
        }
    }
    Some(String::from_utf8_lossy(&reply).into_owned())
}

/// Whether an HTTP reply has its headers and as much body as its Content-Length says.
fn reply_is_complete(reply: &[u8]) -> bool {
    let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&reply[..end]);
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    length.is_some_and(|length| reply.len() >= end + 4 + length)
}

/// A WebDriver session in headless Chromium with a fresh profile, kept off the network.
async fn open_browser(driver: &Chromedriver) -> Client {
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        format!("--user-data-dir={}", driver.profile().display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": CHROMIUM, "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "chromedriver opens a headless Chromium session: {e}\n{}",
                driver.log()
            )
        })
}

/// True when this machine has the browser and its driver; otherwise says why the test is
/// skipped, or fails under CI, where they must be installed.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "chromium-driver is required under CI=true: {} missing (apt-get install chromium chromium-driver)",
            missing.join(" and ")
        );
    }
    eprintln!(
        "skipped: {} missing; install Debian's chromium and chromium-driver to run the browser test",
        missing.join(" and ")
    );
    false
}

/// The visible text of the first element `locator` finds on the page.
async fn text_of(browser: &Client, locator: Locator<'_>) -> String {
    browser
        .find(locator)
        .await
        .unwrap_or_else(|e| panic!("the page has {locator:?}: {e}"))
        .text()
        .await
        .expect("the element's text")
}

/// Waits until the page shows what `locator` finds; fails showing the page if it never does.
async fn wait_for(browser: &Client, locator: Locator<'_>) -> Element {
    match browser
        .wait()
        .at_most(PAGE_LIMIT)
        .for_element(locator)
        .await
    {
        Ok(element) => element,
        Err(e) => {
            let shown = browser.source().await.unwrap_or_default();
            panic!("the page never showed {locator:?} ({e}); it showed:\n{shown}");
        }
    }
}

/// Waits until the page shows a level-one heading reading exactly `heading`.
async fn wait_for_heading(browser: &Client, heading: &str) {
    let xpath = format!("//h1[normalize-space()='{heading}']");
    wait_for(browser, Locator::XPath(&xpath)).await;
}

/// Types into each named field of the sign-in form, then presses its button.
async fn sign_in_with(browser: &Client, base: &str, fields: [(&str, &str); 4]) {
    browser
        .goto(&format!("{base}/sign-in"))
        .await
        .expect("the sign-in page opens");
    wait_for_heading(browser, "Sign in to ContactPoint").await;
    for (id, value) in fields {
        let input = browser
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("the sign-in form has a {id} field: {e}"));
        input.clear().await.expect("the field clears");
        input
            .send_keys(value)
            .await
            .expect("the field takes typing");
    }
    browser
        .find(Locator::XPath(
            "//main//form[@action='/sign-in']//button[normalize-space()='Sign in']",
        ))
        .await
        .expect("the sign-in form has its button")
        .click()
        .await
        .expect("the button can be pressed");
}

/// Whether the browser holds a session cookie for the server.
async fn has_session_cookie(browser: &Client) -> bool {
    browser
        .get_all_cookies()
        .await
        .expect("the browser's cookies")
        .iter()
        .any(|c| c.name() == "cp_session" && !c.value().is_empty())
}

/// Opens /account and checks that it asks the browser to sign in instead of showing it.
async fn assert_account_asks_to_sign_in(browser: &Client, base: &str, when: &str) {
    browser
        .goto(&format!("{base}/account"))
        .await
        .expect("/account opens");
    wait_for_heading(browser, "Sign in to ContactPoint").await;
    let main = text_of(browser, Locator::Css("main")).await;
    assert!(
        main.contains("You need to sign in to see this page."),
        "{when}, /account asks to sign in; it showed: {main}"
    );
    assert!(
        !main.contains("Your account"),
        "{when}, /account shows no account; it showed: {main}"
    );
}

/// The sample child (Amelia Smith-Adeyemi, born 30 June 2014), whose services include a
/// child and adolescent mental health service.
async fn a_child_with_a_sensitive_service(app: &TestApp) -> contactpoint_domain::ChildRecord {
    load_sample_child(app, 3, |_| {}).await.0
}

async fn journey(app: &TestApp, browser: &Client, base: &str) {
    let user = app.user("e.practitioner", Role::Practitioner, &[], 0).await;

    // (a) Every factor right but the PIN: refused, with the one answer every failure gets.
    let code = app.code(&user);
    sign_in_with(
        browser,
        base,
        [
            ("username", &user.username),
            ("password", &user.password),
            ("pin", "918273"),
            ("otp", &code),
        ],
    )
    .await;
    let problem = wait_for(browser, Locator::Css(".error-summary"))
        .await
        .text()
        .await
        .expect("the error summary's text");
    assert!(
        problem.contains("The details you entered did not let you in."),
        "the refusal says the details did not let the user in: {problem}"
    );
    let url = browser.current_url().await.expect("the page's address");
    assert_eq!(
        url.path(),
        "/sign-in",
        "a refused sign-in stays on the form"
    );
    assert!(
        !has_session_cookie(browser).await,
        "a refused sign-in leaves no session cookie"
    );
    assert_account_asks_to_sign_in(browser, base, "after a refused sign-in").await;
    assert_eq!(app.audited().await, [("sign_in".into(), "failure".into())]);

    // (b) A new 30-second step, so a fresh code, and all four factors right.
    app.next_step();
    let code = app.code(&user);
    sign_in_with(
        browser,
        base,
        [
            ("username", &user.username),
            ("password", &user.password),
            ("pin", &user.pin),
            ("otp", &code),
        ],
    )
    .await;
    wait_for_heading(browser, "Your account").await;
    let url = browser.current_url().await.expect("the page's address");
    assert_eq!(
        url.path(),
        "/account",
        "a sign-in lands on the account page"
    );
    let shown_username = text_of(
        browser,
        Locator::XPath("//main//tr[th[normalize-space()='User name']]/td"),
    )
    .await;
    assert_eq!(
        shown_username, user.username,
        "the account page shows the user name"
    );
    let header = text_of(browser, Locator::Css("header")).await;
    assert!(
        header.contains("Test User") && header.contains("Sign out"),
        "the header names the user and offers to sign out: {header}"
    );
    assert!(
        has_session_cookie(browser).await,
        "a sign-in leaves a session cookie"
    );
    assert_eq!(app.audited().await, [("sign_in".into(), "success".into())]);

    // (c) Find a child with a misspelt name, give a reason, and see the record with the
    // sensitive service masked.
    let child = a_child_with_a_sensitive_service(app).await;
    browser
        .goto(&format!("{base}/children"))
        .await
        .expect("the search page opens");
    wait_for_heading(browser, "Find a child").await;
    for (id, value) in [
        ("given_name", "Amelya"),
        ("family_name", "Smyth-Adeyemi"),
        ("date_of_birth", "2014-06-30"),
    ] {
        browser
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("the search form has a {id} field: {e}"))
            .send_keys(value)
            .await
            .expect("the field takes typing");
    }
    browser
        .find(Locator::XPath(
            "//main//form[@action='/children']//button[normalize-space()='Search']",
        ))
        .await
        .expect("the search form has its button")
        .click()
        .await
        .expect("Search can be pressed");
    let link = format!("/children/{}", child.contactpoint_id.as_digits());
    wait_for(browser, Locator::XPath(&format!("//a[@href='{link}']")))
        .await
        .click()
        .await
        .expect("the result can be opened");
    wait_for_heading(
        browser,
        &format!(
            "Open the record of ContactPoint ID {}",
            child.contactpoint_id.as_digits()
        ),
    )
    .await;
    let before = text_of(browser, Locator::Css("main")).await;
    assert!(
        !before.contains("Castle Road"),
        "nothing shown before a reason: {before}"
    );
    browser
        .find(Locator::Css("#reason option[value='coordinating_support']"))
        .await
        .expect("the reasons are listed")
        .click()
        .await
        .expect("a reason can be chosen");
    browser
        .find(Locator::XPath(
            "//main//button[normalize-space()='Open the record']",
        ))
        .await
        .expect("the reason form has its button")
        .click()
        .await
        .expect("Open the record can be pressed");
    wait_for(
        browser,
        Locator::XPath("//h1[contains(., 'Smith-Adeyemi')]"),
    )
    .await;
    let record = text_of(browser, Locator::Css("main")).await;
    assert!(
        record.contains("One or more sensitive services are involved")
            && record.contains("Castle Road"),
        "the record, with the sensitive service masked: {record}"
    );
    assert!(
        !record.contains("Adolescent Mental Health"),
        "not a word of the sensitive service: {record}"
    );
    assert_eq!(
        app.audited().await,
        [
            ("children_searched".into(), "success".into()),
            ("child_viewed".into(), "success".into())
        ]
    );

    // (d) Sign out from the header: the session ends and /account asks to sign in again.
    browser
        .find(Locator::XPath(
            "//header//form[@action='/sign-out']//button[normalize-space()='Sign out']",
        ))
        .await
        .expect("the header has a Sign out button")
        .click()
        .await
        .expect("Sign out can be pressed");
    wait_for_heading(browser, "You have signed out").await;
    let main = text_of(browser, Locator::Css("main")).await;
    assert!(
        main.contains("Sign in again"),
        "the signed-out page offers to sign in again: {main}"
    );
    assert!(
        !has_session_cookie(browser).await,
        "signing out removes the session cookie"
    );
    assert_account_asks_to_sign_in(browser, base, "after signing out").await;
    assert_eq!(app.audited().await, [("sign_out".into(), "success".into())]);
}

#[tokio::test]
async fn in_a_browser_a_wrong_pin_is_refused_then_a_practitioner_finds_a_misspelt_child_gives_a_reason_sees_the_record_masked_and_signs_out(
) {
    if !browser_available() {
        return;
    }
    let started = Instant::now();
    let app = TestApp::new(Backend::Sqlite)
        .await
        .expect("SQLite needs no configuration");
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("a local port for the server");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    let server = tokio::spawn(contactpoint_web::serve(
        listener,
        app.state.clone(),
        std::future::pending(),
    ));

    let driver = tokio::task::spawn_blocking(Chromedriver::start)
        .await
        .expect("chromedriver starts and answers");
    let browser = open_browser(&driver).await;
    tokio::time::timeout(JOURNEY_LIMIT, journey(&app, &browser, &base))
        .await
        .unwrap_or_else(|_| panic!("the browser journey finished within {JOURNEY_LIMIT:?}"));
    browser.close().await.expect("the browser session closes");
    drop(driver);

    server.abort();
    let _ = server.await;
    app.db.drop_database().await;
    eprintln!("browser journey took {:?}", started.elapsed());
}
