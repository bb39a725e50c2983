//! TestApp: the real router on a fresh database of either backend, a fixed clock, and
//! users whose every factor the test knows.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use contactpoint_auth::{SecretHasher, TotpSecret};
use contactpoint_domain::{
    AccessRoute, Accreditation, AuditEvent, Duty, EmailAddress, LocalAuthorityCode,
    OrganisationKind, Outcome, Permit, Role, ServiceCategory, SystemTask, Telephone, Username,
    Vetting,
};
use contactpoint_storage::{
    Backend, Catalogue, LocalAuthority, NewOrganisation, NewService, NewUser, StoredAuditEvent,
};
use contactpoint_test_support::{test_now, TestDatabase};
use contactpoint_web::{router, AppState, WebSettings};
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

pub use contactpoint_domain::FixedClock;

pub const HOME_LA: &str = "E06000055";
pub const OTHER_LA: &str = "E09000002";

pub struct TestApp {
    pub db: TestDatabase,
    pub state: AppState,
    pub clock: FixedClock,
    /// Organisations: 0 a school and 1 the children's services in the home authority,
    /// 2 children's services in another authority.
    pub organisations: Vec<i64>,
    pub client_id: String,
    pub client_secret: String,
    audit_seen: std::sync::atomic::AtomicI64,
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub pin: String,
    pub totp: TotpSecret,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix(&format!("{name}="))
                    .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
            })
    }

    /// The value of a hidden form field on the page.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!(r#"name="{name}" value=""#);
        let start = self.body.find(&marker)? + marker.len();
        Some(self.body[start..].split('"').next()?.to_owned())
    }
}

fn authority(code: &str, name: &str) -> LocalAuthority {
    LocalAuthority {
        code: LocalAuthorityCode::parse(code).unwrap(),
        name: name.into(),
        team_email: EmailAddress::parse(&format!(
            "contactpoint@{}.example.org",
            name.to_lowercase()
        ))
        .unwrap(),
        team_telephone: Telephone::parse("01632 960001").unwrap(),
    }
}

fn organisation(
    kind: OrganisationKind,
    name: &str,
    la: &str,
    category: ServiceCategory,
) -> NewOrganisation {
    NewOrganisation {
        kind,
        name: name.into(),
        local_authority: LocalAuthorityCode::parse(la).unwrap(),
        address: None,
        telephone: None,
        email: None,
        services: vec![NewService {
            name: name.into(),
            category,
            reference: None,
            address: None,
            telephone: None,
            email: None,
            practitioners: vec![],
        }],
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> Option<Self> {
        Self::with_settings(backend, WebSettings::default()).await
    }

    pub async fn with_settings(backend: Backend, settings: WebSettings) -> Option<Self> {
        let db = TestDatabase::new(backend).await?;
        let clock = FixedClock::at(test_now());
        let permit = Permit::system_bypass(SystemTask::TestFixture);
        db.store
            .load_local_authorities(
                &permit,
                &[
                    authority(HOME_LA, "Bedford"),
                    authority(OTHER_LA, "Barking"),
                ],
            )
            .await
            .unwrap();
        let catalogue = Catalogue {
            organisations: vec![
                organisation(
                    OrganisationKind::School,
                    "Castle Lower School",
                    HOME_LA,
                    ServiceCategory::PrimarySchool,
                ),
                organisation(
                    OrganisationKind::LocalAuthorityChildrensServices,
                    "Bedford Children's Services",
                    HOME_LA,
                    ServiceCategory::SocialCare,
                ),
                organisation(
                    OrganisationKind::LocalAuthorityChildrensServices,
                    "Barking Children's Services",
                    OTHER_LA,
                    ServiceCategory::SocialCare,
                ),
            ],
        };
        let ids = db.store.load_catalogue(&permit, &catalogue).await.unwrap();
        let organisations: Vec<i64> = (0..3).map(|i| ids.first_organisation + i).collect();
        let state = AppState::new(db.store.clone(), Arc::new(clock.clone()), settings);
        let app = Self {
            db,
            state,
            clock,
            organisations,
            client_id: "case-system-1".into(),
            client_secret: contactpoint_auth::new_token(),
            audit_seen: std::sync::atomic::AtomicI64::new(0),
        };
        for &id in &app.organisations {
            app.accredit(id, Accreditation::Accredited, true, true)
                .await;
        }
        let audit = AuditEvent::new(
            test_now(),
            AccessRoute::System,
            "api_client_created",
            Outcome::Success,
        );
        app.db
            .store
            .create_api_client(
                &permit,
                app.organisations[0],
                "Case system",
                &app.client_id,
                &contactpoint_auth::token_digest(&app.client_secret),
                &audit,
            )
            .await
            .unwrap();
        app.audit_since_last_look().await;
        Some(app)
    }

    pub async fn accredit(
        &self,
        organisation_id: i64,
        accreditation: Accreditation,
        web: bool,
        integration: bool,
    ) {
        let permit = Permit::system_bypass(SystemTask::TestFixture);
        let audit = AuditEvent::new(
            self.clock.now_value(),
            AccessRoute::System,
            "accreditation_changed",
            Outcome::Success,
        );
        self.db
            .store
            .set_accreditation(
                &permit,
                organisation_id,
                accreditation,
                web,
                integration,
                &audit,
            )
            .await
            .unwrap();
    }

    /// A vetted, active user in `organisation` (an index into `organisations`).
    pub async fn user(
        &self,
        username: &str,
        role: Role,
        duties: &[Duty],
        organisation: usize,
    ) -> TestUser {
        self.user_with(username, role, duties, organisation, false, |_| {})
            .await
    }

    pub async fn user_with(
        &self,
        username: &str,
        role: Role,
        duties: &[Duty],
        organisation: usize,
        demo: bool,
        adjust: impl FnOnce(&mut NewUser),
    ) -> TestUser {
        let password = format!("{username} lantern meadow");
        let pin = "482915".to_owned();
        let totp = TotpSecret::generate();
        let today = test_now().date_naive();
        let hasher = SecretHasher::default();
        let mut user = NewUser {
            username: Username::parse(username).unwrap(),
            organisation_id: self.organisations[organisation],
            given_name: "Test".into(),
            family_name: "User".into(),
            email: None,
            role,
            duties: duties.to_vec(),
            shield_override: false,
            vetting: Vetting {
                criminal_records_checked_on: today.checked_sub_days(chrono::Days::new(100)),
                training_completed_on: today.checked_sub_days(chrono::Days::new(90)),
                agreement_accepted_on: today.checked_sub_days(chrono::Days::new(90)),
            },
            password_hash: hasher.hash(&password),
            pin_hash: hasher.hash(&pin),
            totp_secret: Some(totp.to_base32()),
            demo,
        };
        adjust(&mut user);
        let permit = Permit::system_bypass(SystemTask::TestFixture);
        let audit = AuditEvent::new(
            self.clock.now_value(),
            AccessRoute::System,
            "user_created",
            Outcome::Success,
        );
        let id = self
            .db
            .store
            .create_user(&permit, &user, self.clock.now_value(), &audit)
            .await
            .unwrap();
        self.audit_since_last_look().await;
        TestUser {
            id,
            username: username.into(),
            password,
            pin,
            totp,
        }
    }

    /// The code the user's token shows now.
    pub fn code(&self, user: &TestUser) -> String {
        user.totp.code_at(self.clock.now_value())
    }

    /// Moves to the next 30-second step, so a new code can be used.
    pub fn next_step(&self) {
        self.clock.advance(chrono::Duration::seconds(30));
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let mut request = request;
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut r = Request::get(path);
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, format!("cp_session={c}"));
        }
        self.send(r.body(Body::empty()).unwrap()).await
    }

    pub async fn post_form(&self, path: &str, cookies: &str, form: &[(&str, &str)]) -> Reply {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookies)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    pub async fn api(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut r = Request::builder().method(method).uri(path);
        if let Some(token) = bearer {
            r = r.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                r = r.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(r.body(body).unwrap()).await
    }

    /// Posts the sign-in form with the given factors; returns the reply.
    pub async fn web_sign_in_with(
        &self,
        username: &str,
        password: &str,
        pin: &str,
        otp: &str,
    ) -> Reply {
        let form = self.get("/sign-in", None).await;
        let csrf_cookie = form
            .cookie("cp_sign_in")
            .expect("the form sets its CSRF cookie");
        let csrf = form
            .hidden("csrf")
            .expect("the form carries its CSRF field");
        self.post_form(
            "/sign-in",
            &format!("cp_sign_in={csrf_cookie}"),
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
                ("pin", pin),
                ("otp", otp),
            ],
        )
        .await
    }

    /// Signs in on the web with every factor right; returns the session cookie's value.
    pub async fn web_sign_in(&self, user: &TestUser) -> String {
        let reply = self
            .web_sign_in_with(&user.username, &user.password, &user.pin, &self.code(user))
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        reply.cookie("cp_session").expect("a session cookie")
    }

    pub async fn api_sign_in_with(
        &self,
        client: Option<(&str, &str)>,
        body: serde_json::Value,
    ) -> Reply {
        let mut r = Request::post("/api/sessions").header(header::CONTENT_TYPE, "application/json");
        if let Some((id, secret)) = client {
            r = r.header(
                header::AUTHORIZATION,
                format!(
                    "Basic {}",
                    data_encoding::BASE64.encode(format!("{id}:{secret}").as_bytes())
                ),
            );
        }
        self.send(r.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// Signs in over the API through the test's case-management client; returns the bearer token.
    pub async fn api_sign_in(&self, user: &TestUser) -> String {
        let body = serde_json::json!({"username": user.username, "password": user.password, "pin": user.pin, "otp": self.code(user)});
        let reply = self
            .api_sign_in_with(Some((&self.client_id, &self.client_secret)), body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.json()["token"].as_str().unwrap().to_owned()
    }

    /// The audit entries written since the last call.
    pub async fn audit_since_last_look(&self) -> Vec<StoredAuditEvent> {
        let permit = Permit::system_bypass(SystemTask::TestFixture);
        let after = self.audit_seen.load(std::sync::atomic::Ordering::SeqCst);
        let events = self.db.store.audit_events(&permit, after).await.unwrap();
        // Whatever the test did, the trail is still one unbroken chain.
        self.db
            .store
            .verify_audit_chain()
            .await
            .unwrap()
            .expect("the audit chain verifies");
        if let Some(last) = events.last() {
            self.audit_seen
                .store(last.id, std::sync::atomic::Ordering::SeqCst);
        }
        events
    }

    /// The actions and outcomes of the audit entries since the last look.
    pub async fn audited(&self) -> Vec<(String, String)> {
        self.audit_since_last_look()
            .await
            .into_iter()
            .map(|e| (e.action, e.outcome))
            .collect()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

trait NowValue {
    fn now_value(&self) -> chrono::DateTime<chrono::Utc>;
}

impl NowValue for FixedClock {
    fn now_value(&self) -> chrono::DateTime<chrono::Utc> {
        contactpoint_domain::Clock::now(self)
    }
}

/// Demonstration mode, where privileged demo accounts may use a security code: the only way
/// the local team can sign in until security keys arrive.
pub fn demo_mode() -> contactpoint_web::WebSettings {
    contactpoint_web::WebSettings {
        demo_mode: true,
        ..Default::default()
    }
}

/// A local team member with user administration, as a demo account.
pub async fn team_admin(app: &TestApp, username: &str, organisation: usize) -> TestUser {
    app.user_with(
        username,
        contactpoint_domain::Role::LocalTeam,
        &[contactpoint_domain::Duty::UserAdministration],
        organisation,
        true,
        |_| {},
    )
    .await
}

/// Runs a test body on both backends as `NAME::on_sqlite` and `NAME::on_postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        $crate::on_both_backends!($name, contactpoint_web::WebSettings::default(), |$app| $body);
    };
    ($name:ident, $settings:expr, |$app:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($app: &TestApp) $body

            async fn on(backend: contactpoint_storage::Backend) {
                let Some(app) = TestApp::with_settings(backend, $settings).await else {
                    eprintln!("skipped on {}: no test database configured", backend.name());
                    return;
                };
                run(&app).await;
                app.db.drop_database().await;
            }

            #[tokio::test]
            async fn on_sqlite() {
                on(contactpoint_storage::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                on(contactpoint_storage::Backend::Postgres).await;
            }
        }
    };
}

/// The sample catalogue (a school, a GP practice, an NHS trust with a child and adolescent
/// mental health service), loaded.
pub async fn load_sample_catalogue(
    app: &TestApp,
) -> (
    contactpoint_storage::Catalogue,
    contactpoint_storage::CatalogueIds,
) {
    let permit = Permit::system_bypass(SystemTask::TestFixture);
    let catalogue = contactpoint_test_support::sample_catalogue();
    let ids = app
        .db
        .store
        .load_catalogue(&permit, &catalogue)
        .await
        .unwrap();
    (catalogue, ids)
}

/// What became of a supplied record, as `supply links` reports it.
pub async fn link_of(
    app: &TestApp,
    source: &str,
    record: &str,
) -> contactpoint_storage::supply::SupplyLink {
    app.db
        .store
        .supply_links(
            &Permit::system_bypass(SystemTask::TestFixture),
            &contactpoint_domain::SourceCode::parse(source).unwrap(),
            None,
            100,
        )
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.source_record_id == record)
        .unwrap_or_else(|| panic!("{record} is listed"))
}

/// Stores children whose services are already loaded.
pub async fn load_children(app: &TestApp, children: &[contactpoint_domain::ChildRecord]) {
    let permit = Permit::system_bypass(SystemTask::TestFixture);
    app.db.store.load_children(&permit, children).await.unwrap();
}

/// Amelia Smith-Adeyemi (born 30 June 2014, with a sensitive service among her services;
/// see `contactpoint_test_support::sample_child`), changed by `adjust` and loaded with the
/// sample catalogue. `seed` varies her ContactPoint ID.
pub async fn load_sample_child(
    app: &TestApp,
    seed: u64,
    adjust: impl FnOnce(&mut contactpoint_domain::ChildRecord),
) -> (
    contactpoint_domain::ChildRecord,
    contactpoint_storage::CatalogueIds,
) {
    let (catalogue, ids) = load_sample_catalogue(app).await;
    let mut child = contactpoint_test_support::sample_child(&catalogue, &ids, seed);
    adjust(&mut child);
    load_children(app, std::slice::from_ref(&child)).await;
    (child, ids)
}
