//! Finding a child over the API: tolerance, proportionality, the cap, shielding (with a
//! differential test), archived records, and every search recorded with its criteria and
//! the IDs it returned.

mod common;

use axum::http::StatusCode;
use chrono::NaiveDate;
use common::*;
use contactpoint_domain::{
    ChildRecord, ContactPointId, FamilyName, GivenName, Permit, Role, SystemTask,
};
use contactpoint_storage::CatalogueIds;
use contactpoint_test_support::sample_child;
use rand::SeedableRng;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The directory a search runs over: Amelia Rose Smith-Adeyemi (born 2014-06-30, living at
/// MK40 3PD, earlier at MK41 7HT, once called Okafor) among children with other names.
struct Directory {
    amelia: ChildRecord,
    catalogue: contactpoint_storage::Catalogue,
    ids: CatalogueIds,
}

impl Directory {
    async fn load(app: &TestApp) -> Self {
        let (catalogue, ids) = load_sample_catalogue(app).await;
        let mut amelia = sample_child(&catalogue, &ids, 1);
        amelia.former_names[0].family_name = FamilyName::parse("Okafor").unwrap();
        let directory = Self {
            amelia,
            catalogue,
            ids,
        };
        let mut children = vec![directory.amelia.clone()];
        for (seed, given, family, born) in [
            (2, "Amelie", "Smithson", "2014-06-30"),
            (3, "Oliver", "Smith-Adeyemi", "2016-02-11"),
            (4, "Amelia", "Jones", "2014-06-30"),
            (5, "Chidi", "Okonkwo", "2013-01-09"),
        ] {
            children.push(directory.child(seed, given, family, born));
        }
        directory.store(app, &children).await;
        directory
    }

    /// A child like Amelia (same address and services) with other names and birthday.
    fn child(&self, seed: u64, given: &str, family: &str, born: &str) -> ChildRecord {
        let mut child = sample_child(&self.catalogue, &self.ids, seed);
        child.given_name = GivenName::parse(given).unwrap();
        child.middle_names = None;
        child.family_name = FamilyName::parse(family).unwrap();
        child.former_names.clear();
        child.date_of_birth = date(born);
        child
    }

    async fn store(&self, app: &TestApp, children: &[ChildRecord]) {
        load_children(app, children).await;
    }

    fn amelia_id(&self) -> String {
        self.amelia.contactpoint_id.as_digits()
    }
}

async fn search(app: &TestApp, token: &str, query: &str) -> Reply {
    app.api("GET", &format!("/api/children?{query}"), Some(token), None)
        .await
}

async fn practitioner(app: &TestApp) -> String {
    let user = app.user("search.user", Role::Practitioner, &[], 0).await;
    let token = app.api_sign_in(&user).await;
    app.audit_since_last_look().await;
    token
}

fn returned_ids(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["contactpoint_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The one audit entry a search left, checked to name its criteria and what it returned.
async fn assert_search_recorded(app: &TestApp, criteria: &str, returned: &[String]) {
    let events = app.audit_since_last_look().await;
    assert_eq!(events.len(), 1, "{events:?}");
    let entry = &events[0];
    assert_eq!(
        (entry.action.as_str(), entry.outcome.as_str()),
        ("children_searched", "success")
    );
    let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
    assert!(
        details["criteria"].as_str().unwrap().contains(criteria),
        "{details}"
    );
    assert_eq!(details["returned"].as_str().unwrap(), returned.join(","));
    assert!(
        entry.api_client_id.is_some(),
        "attributed to the system too"
    );
}

on_both_backends!(
    a_misspelt_name_finds_the_child_first_showing_only_what_picks_the_right_one,
    |app| {
        let directory = Directory::load(app).await;
        let token = practitioner(app).await;
        let reply = search(
            app,
            &token,
            "given_name=Amelya&family_name=Smyth-Adeyemi&date_of_birth=2014-06-30",
        )
        .await;
        let ids = returned_ids(&reply);
        assert_eq!(ids.first(), Some(&directory.amelia_id()), "{}", reply.body);
        let first = &reply.json()["results"][0];
        let mut fields: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "contactpoint_id",
                "date_of_birth",
                "family_name",
                "gender",
                "given_name",
                "score",
                "shielded",
                "town"
            ]
        );
        assert_eq!(
            (
                first["given_name"].as_str(),
                first["town"].as_str(),
                first["gender"].as_str()
            ),
            (Some("Amelia"), Some("Bedford"), Some("female"))
        );
        let score = first["score"].as_f64().unwrap();
        assert!((0.85..=1.0).contains(&score), "{score}");
        let scores: Vec<f64> = reply.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["score"].as_f64().unwrap())
            .collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "ranked: {scores:?}"
        );
        assert_search_recorded(app, "given_name=Amelya", &ids).await;
    }
);

on_both_backends!(each_kind_of_tolerance_finds_the_child, |app| {
    let directory = Directory::load(app).await;
    let mut transposed = directory.child(9, "Tobias", "Whitfield", "2015-06-03");
    transposed.former_names.clear();
    directory
        .store(app, std::slice::from_ref(&transposed))
        .await;
    let token = practitioner(app).await;
    let amelia = directory.amelia_id();
    let tobias = transposed.contactpoint_id.as_digits();
    for (what, query, expected) in [
        (
            "sound-alike",
            "given_name=Emilia&family_name=Smyth-Adeyemi&date_of_birth=2014-06-30",
            &amelia,
        ),
        (
            "nickname",
            "given_name=Millie&family_name=Smith-Adeyemi&date_of_birth=2014-06-30",
            &amelia,
        ),
        (
            "one part of a double-barrelled name",
            "given_name=Amelia&family_name=Adeyemi&date_of_birth=2014-06-30",
            &amelia,
        ),
        (
            "the other part",
            "given_name=Amelia&family_name=Smith&postcode=MK40%203PD",
            &amelia,
        ),
        (
            "names swapped",
            "given_name=Smith-Adeyemi&family_name=Amelia&date_of_birth=2014-06-30",
            &amelia,
        ),
        (
            "former family name",
            "given_name=Amelia&family_name=Okafor&date_of_birth=2014-06-30",
            &amelia,
        ),
        (
            "middle name used as given name",
            "given_name=Rose&family_name=Smith-Adeyemi&date_of_birth=2014-06-30",
            &amelia,
        ),
        (
            "day and month transposed",
            "given_name=Tobias&family_name=Whitfield&date_of_birth=2015-03-06",
            &tobias,
        ),
        (
            "one digit wrong in the day",
            "given_name=Amelia&family_name=Smith-Adeyemi&date_of_birth=2014-06-20",
            &amelia,
        ),
        (
            "one digit wrong in the year",
            "given_name=Amelia&family_name=Smith-Adeyemi&date_of_birth=2016-06-30",
            &amelia,
        ),
        (
            "an age range",
            "given_name=Amelia&family_name=Smith-Adeyemi&age_from=11&age_to=13",
            &amelia,
        ),
        (
            "a partial postcode",
            "given_name=Amelia&family_name=Smith-Adeyemi&postcode=MK40",
            &amelia,
        ),
        (
            "an old postcode",
            "given_name=Amelia&family_name=Smith-Adeyemi&postcode=MK41%207HT",
            &amelia,
        ),
        (
            "a ContactPoint ID",
            &format!("contactpoint_id={amelia}"),
            &amelia,
        ),
    ] {
        let reply = search(app, &token, query).await;
        let ids = returned_ids(&reply);
        assert_eq!(ids.first(), Some(expected), "{what}: {}", reply.body);
        assert!(
            reply.json()["results"][0]["score"].as_f64().unwrap() >= 0.85,
            "{what}: a good match: {}",
            reply.body
        );
        assert_search_recorded(app, "", &ids).await;
    }
});

on_both_backends!(
    a_search_too_vague_is_refused_saying_what_to_add_and_is_recorded,
    |app| {
        Directory::load(app).await;
        let token = practitioner(app).await;
        for query in [
            "family_name=Smith",
            "family_name=Smith&given_name=Amelia",
            "date_of_birth=2014-06-30&postcode=MK40",
            "family_name=Smith&gender=F&date_of_birth=2014-06-30",
        ] {
            let reply = search(app, &token, query).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
            let error = &reply.json()["error"];
            assert_eq!(error["code"], "search_too_vague", "{query}");
            assert!(
                error["message"].as_str().unwrap().contains("Add"),
                "{error}"
            );
            let events = app.audit_since_last_look().await;
            assert_eq!(events.len(), 1);
            assert_eq!(
                (events[0].action.as_str(), events[0].outcome.as_str()),
                ("children_searched", "denied")
            );
            assert!(events[0].details.contains("too_vague"));
        }
        let unreadable = search(
            app,
            &token,
            "family_name=Smith&given_name=Amelia&date_of_birth=30/06/2014",
        )
        .await;
        assert_eq!(unreadable.status, StatusCode::BAD_REQUEST);
        assert_eq!(unreadable.json()["error"]["code"], "invalid_input");
        assert!(unreadable.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("date_of_birth"));
        assert!(app.audit_since_last_look().await.is_empty());
    }
);

on_both_backends!(
    more_good_matches_than_ten_is_too_many_and_says_what_to_add,
    |app| {
        let directory = Directory::load(app).await;
        let namesakes: Vec<_> = (100..110)
            .map(|seed| directory.child(seed, "Amelia", "Smith-Adeyemi", "2014-06-30"))
            .collect();
        directory.store(app, &namesakes).await;
        let token = practitioner(app).await;
        let query = "given_name=Amelia&family_name=Smith-Adeyemi&date_of_birth=2014-06-30";
        let reply = search(app, &token, query).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        let error = &reply.json()["error"];
        assert_eq!(error["code"], "too_many_matches");
        assert!(error["message"].as_str().unwrap().contains("postcode"));
        let events = app.audit_since_last_look().await;
        assert_eq!(events.len(), 1);
        assert!(events[0].details.contains("too_many_matches"));
        assert!(
            !events[0].details.contains("\"returned\""),
            "nothing returned"
        );
    }
);

on_both_backends!(
    shielded_children_never_change_what_a_postcode_search_shows,
    |app| {
        let directory = Directory::load(app).await;
        // Five open namesakes: with Amelia and her lookalikes, under the cap.
        let open: Vec<_> = (200..205)
            .map(|seed| directory.child(seed, "Amelia", "Smith-Adeyemi", "2014-06-30"))
            .collect();
        directory.store(app, &open).await;
        let token = practitioner(app).await;
        let postcode_searches = [
            "given_name=Amelia&family_name=Smith-Adeyemi&postcode=MK40%203PD",
            "given_name=Amelia&family_name=Smith-Adeyemi&postcode=MK40",
            "family_name=Smith-Adeyemi&date_of_birth=2014-06-30&postcode=MK40%203PD",
            "given_name=Amelia&date_of_birth=2014-06-30&postcode=MK41%207HT&gender=F",
        ];
        let mut before = Vec::new();
        for query in postcode_searches {
            let reply = search(app, &token, query).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
            before.push((reply.status, reply.body));
        }
        // Shielded lookalikes at the same address: enough to tip any count over the cap.
        let shielded: Vec<_> = (300..305)
            .map(|seed| {
                let mut child = directory.child(seed, "Amelia", "Smith-Adeyemi", "2014-06-30");
                child.shielded = true;
                child
            })
            .collect();
        directory.store(app, &shielded).await;
        app.audit_since_last_look().await;
        for (query, (status, body)) in postcode_searches.iter().zip(&before) {
            let reply = search(app, &token, query).await;
            assert_eq!((&reply.status, &reply.body), (status, body), "{query}");
        }
        let events = app.audit_since_last_look().await;
        assert_eq!(events.len(), postcode_searches.len());
        for shielded_id in shielded.iter().map(|c| c.contactpoint_id.as_digits()) {
            assert!(events.iter().all(|e| !e.details.contains(&shielded_id)));
        }
        // By its visible fields alone a shielded child is found, marked, its town hidden.
        let shielded_one = &shielded[0];
        let reply = search(
            app,
            &token,
            &format!(
                "contactpoint_id={}",
                shielded_one.contactpoint_id.as_digits()
            ),
        )
        .await;
        assert_eq!(
            returned_ids(&reply),
            [shielded_one.contactpoint_id.as_digits()]
        );
        let result = &reply.json()["results"][0];
        assert_eq!(
            (result["shielded"].as_bool(), result["town"].as_str()),
            (Some(true), None)
        );
        app.audit_since_last_look().await;
    }
);

on_both_backends!(archived_records_are_never_found_or_opened, |app| {
    let directory = Directory::load(app).await;
    let token = practitioner(app).await;
    let permit = Permit::system_bypass(SystemTask::TestFixture);
    app.db
        .store
        .archive_child(
            &permit,
            &directory.amelia.contactpoint_id,
            date("2026-11-01"),
        )
        .await
        .unwrap();
    let id = directory.amelia_id();
    for query in [
        "given_name=Amelia&family_name=Smith-Adeyemi&date_of_birth=2014-06-30".to_owned(),
        format!("contactpoint_id={id}"),
    ] {
        let ids = returned_ids(&search(app, &token, &query).await);
        assert!(!ids.contains(&id), "{query}");
        assert_search_recorded(app, "", &ids).await;
    }
    let view = app
        .api(
            "POST",
            &format!("/api/children/{id}/view"),
            Some(&token),
            Some(serde_json::json!({"reason": "coordinating_support"})),
        )
        .await;
    assert_eq!(view.status, StatusCode::NOT_FOUND);
    assert!(app.audit_since_last_look().await.is_empty());
});

on_both_backends!(an_unknown_contactpoint_id_finds_nothing, |app| {
    Directory::load(app).await;
    let token = practitioner(app).await;
    let absent = ContactPointId::random(&mut rand::rngs::StdRng::seed_from_u64(999_999));
    let reply = search(
        app,
        &token,
        &format!("contactpoint_id={}", absent.as_digits()),
    )
    .await;
    assert!(returned_ids(&reply).is_empty());
    assert_search_recorded(app, &absent.as_digits(), &[]).await;
});

/// Makes every audit write fail, as a full disk or a broken trail would.
async fn break_the_audit_trail(app: &TestApp, broken: bool) {
    use contactpoint_storage::Store;
    let statements: &[&str] = match (&app.db.store, broken) {
        (Store::Sqlite(_), true) => &["CREATE TRIGGER audit_refused BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END"],
        (Store::Sqlite(_), false) => &["DROP TRIGGER audit_refused"],
        (Store::Postgres(_), true) => &[
            "CREATE FUNCTION audit_refused() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
            "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_refused()",
        ],
        (Store::Postgres(_), false) => &["DROP TRIGGER audit_refused ON audit_events", "DROP FUNCTION audit_refused()"],
    };
    for statement in statements {
        contactpoint_test_support::execute_sql(&app.db.store, statement)
            .await
            .unwrap();
    }
}

on_both_backends!(
    when_the_audit_entry_cannot_be_written_nothing_is_returned,
    |app| {
        let directory = Directory::load(app).await;
        let token = practitioner(app).await;
        break_the_audit_trail(app, true).await;
        let search = search(
            app,
            &token,
            "given_name=Amelia&family_name=Smith-Adeyemi&date_of_birth=2014-06-30",
        )
        .await;
        assert_eq!(search.status, StatusCode::SERVICE_UNAVAILABLE);
        let id = directory.amelia_id();
        let view = app
            .api(
                "POST",
                &format!("/api/children/{id}/view"),
                Some(&token),
                Some(serde_json::json!({"reason": "coordinating_support"})),
            )
            .await;
        assert_eq!(view.status, StatusCode::SERVICE_UNAVAILABLE);
        for reply in [&search, &view] {
            assert!(
                !reply.body.contains(&id)
                    && !reply.body.contains("Amelia")
                    && !reply.body.contains("Bedford"),
                "no data without its audit entry: {}",
                reply.body
            );
        }
        break_the_audit_trail(app, false).await;
        assert!(app.audit_since_last_look().await.is_empty());
    }
);

on_both_backends!(
    searches_and_views_at_the_same_moment_all_succeed_and_are_all_recorded,
    |app| {
        let directory = Directory::load(app).await;
        let token = practitioner(app).await;
        // Sixteen callers at once, each searching then opening the record: every read is
        // followed by its audit entry in one transaction, so they contend for the trail.
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let router = contactpoint_web::router(app.state.clone());
            let (token, id) = (token.clone(), directory.amelia_id());
            callers.spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..4 {
                for request in [
                    axum::http::Request::get(
                        "/api/children?given_name=Amelia&family_name=Smith-Adeyemi&date_of_birth=2014-06-30",
                    )
                    .header("authorization", format!("Bearer {token}"))
                    .body(axum::body::Body::empty())
                    .unwrap(),
                    axum::http::Request::post(format!("/api/children/{id}/view"))
                        .header("authorization", format!("Bearer {token}"))
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from(r#"{"reason":"coordinating_support"}"#))
                        .unwrap(),
                ] {
                    let mut request = request;
                    request.extensions_mut().insert(axum::extract::ConnectInfo(
                        std::net::SocketAddr::from(([127, 0, 0, 1], 40000)),
                    ));
                    let response = tower::ServiceExt::oneshot(router.clone(), request)
                        .await
                        .unwrap();
                    statuses.push(response.status());
                }
            }
            statuses
        });
        }
        let statuses: Vec<StatusCode> = callers.join_all().await.into_iter().flatten().collect();
        assert_eq!(statuses.len(), 128);
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "{:?}",
            statuses
                .iter()
                .filter(|s| **s != StatusCode::OK)
                .collect::<Vec<_>>()
        );
        let recorded = app.audited().await;
        assert_eq!(recorded.len(), 128, "every search and view is on the trail");
    }
);
