//! The local team's data management through the real router: the exceptions queue (each
//! waiting record beside its candidates, resolved by linking or creating), merging and
//! unmerging, who may reach them, and the audit entries each leaves.

mod common;

use axum::http::StatusCode;
use common::*;
use contactpoint_domain::{Duty, Permit, Role, SourceCode, SystemTask};
use contactpoint_intake::{import_reader, ImportSettings};
use contactpoint_storage::supply::SupplyStatus;
use contactpoint_supply::Format;
use contactpoint_test_support::{execute_sql, test_now};
use serde_json::json;

const BIRTHS: &str = "\
source_record_id,given_name,middle_names,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-1,Amelia,Rose,Smith-Adeyemi,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD
GRO-2,Tobias,,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT
GRO-3,Oliver,,Brennan,2016-02-11,M,8 High Street,Bedford,MK40 1AB
";

/// A local system's records: Tobias with his birth date's day and month swapped (waits,
/// beside Tobias), a child nobody has supplied before (waits, no candidate), and one from a
/// postcode no authority is known for (waits in the national queue).
const LOCAL: &str = "\
source_record_id,given_name,family_name,date_of_birth,postcode
YS-5,Keziah,Ashworth-Mbeki,2012-01-19,MK40 2AA
YS-6,Tobias,Whitfield,2015-03-06,MK42 9QT
YS-7,Ifeoma,Castellano,2013-05-17,SW1A 1AA
";

async fn supply(app: &TestApp, source: &str, authoritative: bool, csv: &str) {
    let settings = ImportSettings::system(SourceCode::parse(source).unwrap(), authoritative);
    import_reader(
        &app.db.store,
        &Permit::system_bypass(SystemTask::TestFixture),
        &settings,
        "test.csv",
        csv.as_bytes(),
        Format::Csv,
        test_now(),
        &mut |_| {},
    )
    .await
    .unwrap();
}

/// Bedford's postcode districts, the births, then the local system's file.
async fn three_waiting(app: &TestApp) {
    execute_sql(
        &app.db.store,
        "INSERT INTO postcode_districts (district, local_authority) VALUES \
         ('MK40', 'E06000055'), ('MK41', 'E06000055'), ('MK42', 'E06000055')",
    )
    .await
    .unwrap();
    supply(app, "birth_registration", true, BIRTHS).await;
    supply(app, "local_systems", false, LOCAL).await;
    app.audit_since_last_look().await;
}

async fn contactpoint_id_of(app: &TestApp, source: &str, record: &str) -> String {
    link_of(app, source, record)
        .await
        .contactpoint_id
        .map(|id| id.as_digits())
        .unwrap_or_default()
}

async fn status_of(app: &TestApp, source: &str, record: &str) -> SupplyStatus {
    link_of(app, source, record).await.status
}

async fn data_manager(app: &TestApp, username: &str, organisation: usize) -> TestUser {
    app.user_with(
        username,
        Role::LocalTeam,
        &[Duty::DataManagement],
        organisation,
        true,
        |_| {},
    )
    .await
}

fn waiting_id(list: &serde_json::Value, record: &str) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["source_record_id"] == record)
        .unwrap_or_else(|| panic!("{record} waits: {list}"))["id"]
        .as_i64()
        .unwrap()
}

on_both_backends!(
    the_team_sees_a_waiting_record_beside_its_candidates_and_links_it_to_the_right_child,
    demo_mode(),
    |app| {
        three_waiting(app).await;
        let team = data_manager(app, "data.manager", 1).await;
        let token = app.api_sign_in(&team).await;
        app.audit_since_last_look().await;

        let list = app
            .api("GET", "/api/supply-exceptions", Some(&token), None)
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let records: Vec<String> = list
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["source_record_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            records,
            ["YS-5", "YS-6"],
            "Bedford's queue holds Bedford's records only"
        );

        let id = waiting_id(&list.json(), "YS-6");
        let one = app
            .api(
                "GET",
                &format!("/api/supply-exceptions/{id}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.body);
        let shown = one.json();
        let tobias = contactpoint_id_of(app, "birth_registration", "GRO-2").await;
        assert_eq!(shown["candidates"][0]["child"]["contactpoint_id"], tobias);
        let score = shown["candidates"][0]["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score), "{score}");
        let agreement = |field: &str| {
            shown["comparison"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["field"] == field)
                .map(|f| f["candidates"][0]["agreement"].as_str().unwrap().to_owned())
                .unwrap()
        };
        assert_eq!(agreement("given_name"), "agrees");
        assert_eq!(agreement("family_name"), "agrees");
        assert_eq!(agreement("date_of_birth"), "differs");
        assert_eq!(agreement("postcode"), "differs");

        let resolved = app
            .api(
                "POST",
                &format!("/api/supply-exceptions/{id}/resolve"),
                Some(&token),
                Some(json!({"decision": "link", "contactpoint_id": tobias})),
            )
            .await;
        assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.body);
        assert_eq!(resolved.json()["contactpoint_id"], tobias);
        assert_eq!(
            status_of(app, "local_systems", "YS-6").await,
            SupplyStatus::Linked
        );
        assert_eq!(
            contactpoint_id_of(app, "local_systems", "YS-6").await,
            tobias
        );

        let again = app
            .api(
                "POST",
                &format!("/api/supply-exceptions/{id}/resolve"),
                Some(&token),
                Some(json!({"decision": "create"})),
            )
            .await;
        assert_eq!(
            again.status,
            StatusCode::NOT_FOUND,
            "a decided exception is decided once"
        );

        let actions: Vec<String> = app.audited().await.into_iter().map(|(a, _)| a).collect();
        assert_eq!(
            actions,
            [
                "supply_exceptions_read",
                "supply_exception_read",
                "supply_exception_read",
                "supply_exception_resolved",
                "supply_exception_read",
            ],
            "each look and the decision are on the trail; the refused second decision only looked"
        );
    }
);

on_both_backends!(
    a_decision_names_the_field_that_cannot_be_applied,
    demo_mode(),
    |app| {
        three_waiting(app).await;
        let team = data_manager(app, "data.fields", 1).await;
        let token = app.api_sign_in(&team).await;
        let list = app
            .api("GET", "/api/supply-exceptions", Some(&token), None)
            .await;
        let id = waiting_id(&list.json(), "YS-6");
        let amelia = contactpoint_id_of(app, "birth_registration", "GRO-1").await;
        for (body, field) in [
            (json!({"decision": "maybe"}), "decision"),
            (json!({"decision": "link"}), "contactpoint_id"),
            (
                json!({"decision": "link", "contactpoint_id": "12"}),
                "contactpoint_id",
            ),
            (
                json!({"decision": "link", "contactpoint_id": amelia}),
                "contactpoint_id",
            ),
        ] {
            let reply = app
                .api(
                    "POST",
                    &format!("/api/supply-exceptions/{id}/resolve"),
                    Some(&token),
                    Some(body.clone()),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{body}: {}",
                reply.body
            );
            assert!(
                reply.json()["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(field),
                "{body}: {}",
                reply.body
            );
        }
        assert_eq!(
            status_of(app, "local_systems", "YS-6").await,
            SupplyStatus::Exception,
            "nothing was applied"
        );

        // A stored record that no longer reads back says why there is no comparison.
        execute_sql(
            &app.db.store,
            &format!("UPDATE supply_exceptions SET record = '{{\"source_record_id\": \"YS-6\", \"date_of_birth\": \"2015-02-30\"}}' WHERE id = {id}"),
        )
        .await
        .unwrap();
        let read = app
            .api(
                "GET",
                &format!("/api/supply-exceptions/{id}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        assert_eq!(read.json()["comparison"], json!([]));
        let problem = read.json()["comparison_problem"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(problem.starts_with("date_of_birth"), "{}", read.body);
    }
);

on_both_backends!(
    on_the_pages_the_team_compares_a_record_field_by_field_and_creates_a_child_from_it,
    demo_mode(),
    |app| {
        three_waiting(app).await;
        let team = data_manager(app, "page.manager", 1).await;
        let cookie = app.web_sign_in(&team).await;
        let queue = app.get("/admin/exceptions", Some(&cookie)).await;
        assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
        assert!(queue.body.contains("2 waiting."), "{}", queue.body);
        assert!(queue.body.contains("Keziah Ashworth-Mbeki"));
        assert!(
            !queue.body.contains("Castellano"),
            "another queue's record is not shown"
        );

        app.next_step();
        let token = app.api_sign_in(&team).await;
        let list = app
            .api("GET", "/api/supply-exceptions", Some(&token), None)
            .await;
        let keziah = waiting_id(&list.json(), "YS-5");
        let tobias = waiting_id(&list.json(), "YS-6");
        let page = app
            .get(&format!("/admin/exceptions/{tobias}"), Some(&cookie))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains("(agrees)") && page.body.contains("(differs)"),
            "{}",
            page.body
        );
        assert!(page.body.contains("create a new child"));

        let csrf = page.hidden("csrf").unwrap();
        let created = app
            .post_form(
                &format!("/admin/exceptions/{keziah}/resolve"),
                &format!("cp_session={cookie}"),
                &[("csrf", &csrf), ("decision", "create")],
            )
            .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        assert_eq!(
            status_of(app, "local_systems", "YS-5").await,
            SupplyStatus::Created
        );
        let child = contactpoint_id_of(app, "local_systems", "YS-5").await;
        let record = app
            .db
            .store
            .child_record(
                &Permit::system_bypass(SystemTask::TestFixture),
                &contactpoint_domain::ContactPointId::parse(&child).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(record.family_name.as_str(), "Ashworth-Mbeki");
        assert_eq!(record.local_authority.as_str(), HOME_LA);

        let forged = app
            .post_form(
                &format!("/admin/exceptions/{tobias}/resolve"),
                &format!("cp_session={cookie}"),
                &[("csrf", "not-the-token"), ("decision", "create")],
            )
            .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            status_of(app, "local_systems", "YS-6").await,
            SupplyStatus::Exception
        );
        let after = app.get("/admin/exceptions", Some(&cookie)).await;
        assert!(after.body.contains("1 waiting."), "{}", after.body);
    }
);

on_both_backends!(
    only_a_data_manager_of_the_records_authority_reaches_its_queue,
    demo_mode(),
    |app| {
        three_waiting(app).await;
        let home = data_manager(app, "home.manager", 1).await;
        let home_token = app.api_sign_in(&home).await;
        let list = app
            .api("GET", "/api/supply-exceptions", Some(&home_token), None)
            .await;
        let id = waiting_id(&list.json(), "YS-6");

        let elsewhere = data_manager(app, "barking.manager", 2).await;
        let token = app.api_sign_in(&elsewhere).await;
        let theirs = app
            .api("GET", "/api/supply-exceptions", Some(&token), None)
            .await;
        assert_eq!(theirs.status, StatusCode::OK);
        assert_eq!(
            theirs.json(),
            json!([]),
            "another authority's queue is empty"
        );
        let one = app
            .api(
                "GET",
                &format!("/api/supply-exceptions/{id}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(one.status, StatusCode::NOT_FOUND);
        let decide = app
            .api(
                "POST",
                &format!("/api/supply-exceptions/{id}/resolve"),
                Some(&token),
                Some(json!({"decision": "create"})),
            )
            .await;
        assert_eq!(decide.status, StatusCode::NOT_FOUND);

        let administrator = app
            .user_with(
                "users.only",
                Role::LocalTeam,
                &[Duty::UserAdministration],
                1,
                true,
                |_| {},
            )
            .await;
        let practitioner = app.user("a.practitioner", Role::Practitioner, &[], 0).await;
        for user in [&administrator, &practitioner] {
            let token = app.api_sign_in(user).await;
            for (method, path, body) in [
                ("GET", "/api/supply-exceptions".to_owned(), None),
                ("GET", format!("/api/supply-exceptions/{id}"), None),
                (
                    "POST",
                    format!("/api/supply-exceptions/{id}/resolve"),
                    Some(json!({"decision": "create"})),
                ),
                ("GET", "/api/merges".to_owned(), None),
            ] {
                let reply = app.api(method, &path, Some(&token), body).await;
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{} {method} {path}",
                    user.username
                );
            }
        }
        assert_eq!(
            status_of(app, "local_systems", "YS-6").await,
            SupplyStatus::Exception
        );
    }
);

on_both_backends!(
    a_record_no_authority_is_found_for_waits_for_the_national_administrators,
    demo_mode(),
    |app| {
        three_waiting(app).await;
        let national = app
            .user_with(
                "national.admin",
                Role::NationalAdministrator,
                &[],
                1,
                true,
                |_| {},
            )
            .await;
        let token = app.api_sign_in(&national).await;
        let list = app
            .api("GET", "/api/supply-exceptions", Some(&token), None)
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let records: Vec<String> = list
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["source_record_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(records, ["YS-7"]);
        assert_eq!(list.json()[0]["local_authority"], serde_json::Value::Null);
        let id = waiting_id(&list.json(), "YS-7");
        let create = app
            .api(
                "POST",
                &format!("/api/supply-exceptions/{id}/resolve"),
                Some(&token),
                Some(json!({"decision": "create"})),
            )
            .await;
        assert_eq!(
            create.status,
            StatusCode::BAD_REQUEST,
            "a child needs an authority: {}",
            create.body
        );
        assert!(create.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("decision"));
    }
);

/// Two records of Amelia, as two suppliers might have made them, each with a service.
async fn two_records_of_one_child(app: &TestApp) -> (String, String) {
    let (catalogue, ids) = load_sample_catalogue(app).await;
    let first = contactpoint_test_support::sample_child(&catalogue, &ids, 1);
    let mut second = contactpoint_test_support::sample_child(&catalogue, &ids, 2);
    second.given_name = contactpoint_domain::GivenName::parse("Amy").unwrap();
    load_children(app, &[first.clone(), second.clone()]).await;
    app.audit_since_last_look().await;
    (
        first.contactpoint_id.as_digits(),
        second.contactpoint_id.as_digits(),
    )
}

on_both_backends!(
    a_merge_needs_fresh_factors_leads_the_retired_id_to_the_survivor_and_can_be_undone,
    demo_mode(),
    |app| {
        let (survivor, retired) = two_records_of_one_child(app).await;
        let team = data_manager(app, "merge.manager", 1).await;
        let token = app.api_sign_in(&team).await;
        app.audit_since_last_look().await;
        let compared = app
            .api(
                "GET",
                &format!("/api/merges/compare?survivor={survivor}&retired={retired}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(compared.status, StatusCode::OK, "{}", compared.body);
        assert_eq!(compared.json()["retired"]["given_name"], "Amy");
        let itself = app
            .api(
                "GET",
                &format!("/api/merges/compare?survivor={survivor}&retired={survivor}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(itself.status, StatusCode::BAD_REQUEST, "{}", itself.body);
        assert!(itself.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("retired"));

        app.next_step();
        let wrong = app
            .api("POST", "/api/merges", Some(&token), Some(json!({"survivor": survivor, "retired": retired, "pin": "000000", "otp": app.code(&team)})))
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
        app.next_step();
        let merged = app
            .api("POST", "/api/merges", Some(&token), Some(json!({"survivor": survivor, "retired": retired, "pin": team.pin, "otp": app.code(&team)})))
            .await;
        assert_eq!(merged.status, StatusCode::CREATED, "{}", merged.body);
        let merge_id = merged.json()["id"].as_i64().unwrap();
        let actions: Vec<String> = app.audited().await.into_iter().map(|(a, _)| a).collect();
        assert_eq!(
            actions,
            [
                "children_compared",
                "fresh_authentication",
                "children_merged"
            ],
            "the look, the wrong PIN and the merge are each recorded"
        );

        let practitioner = app.user("merge.viewer", Role::Practitioner, &[], 0).await;
        let viewer = app.api_sign_in(&practitioner).await;
        app.audit_since_last_look().await;
        let shown = app
            .api(
                "POST",
                &format!("/api/children/{retired}/view"),
                Some(&viewer),
                Some(json!({"reason": "coordinating_support"})),
            )
            .await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert_eq!(
            shown.json()["contactpoint_id"],
            survivor,
            "the retired ID leads to the survivor"
        );
        let viewed = app.audit_since_last_look().await;
        let details: serde_json::Value = serde_json::from_str(&viewed[0].details).unwrap();
        assert_eq!(viewed[0].action, "child_viewed");
        assert_eq!(viewed[0].subject_id.as_deref(), Some(survivor.as_str()));
        assert_eq!(
            details["asked_for"], retired,
            "the view records the ID asked for"
        );

        let listed = app.api("GET", "/api/merges", Some(&token), None).await;
        assert_eq!(listed.json()[0]["id"], merge_id);
        assert_eq!(listed.json()[0]["retired"], retired);
        app.next_step();
        let undone = app
            .api(
                "POST",
                &format!("/api/merges/{merge_id}/unmerge"),
                Some(&token),
                Some(json!({"pin": team.pin, "otp": app.code(&team)})),
            )
            .await;
        assert_eq!(undone.status, StatusCode::NO_CONTENT, "{}", undone.body);
        let shown = app
            .api(
                "POST",
                &format!("/api/children/{retired}/view"),
                Some(&viewer),
                Some(json!({"reason": "coordinating_support"})),
            )
            .await;
        assert_eq!(
            shown.json()["contactpoint_id"],
            retired,
            "after the unmerge the record is itself again"
        );
        assert_eq!(shown.json()["given_name"], "Amy");
        app.next_step();
        let twice = app
            .api(
                "POST",
                &format!("/api/merges/{merge_id}/unmerge"),
                Some(&token),
                Some(json!({"pin": team.pin, "otp": app.code(&team)})),
            )
            .await;
        assert_eq!(twice.status, StatusCode::NOT_FOUND);
    }
);

on_both_backends!(
    a_team_merges_only_its_own_authoritys_children,
    demo_mode(),
    |app| {
        let (survivor, retired) = two_records_of_one_child(app).await;
        let elsewhere = data_manager(app, "barking.merger", 2).await;
        let token = app.api_sign_in(&elsewhere).await;
        let compared = app
            .api(
                "GET",
                &format!("/api/merges/compare?survivor={survivor}&retired={retired}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(
            compared.status,
            StatusCode::BAD_REQUEST,
            "{}",
            compared.body
        );
        assert!(compared.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("survivor"));
        app.next_step();
        let merged = app
            .api("POST", "/api/merges", Some(&token), Some(json!({"survivor": survivor, "retired": retired, "pin": elsewhere.pin, "otp": app.code(&elsewhere)})))
            .await;
        assert_eq!(merged.status, StatusCode::BAD_REQUEST, "{}", merged.body);
        let same = app
            .api(
                "GET",
                &format!("/api/merges/compare?survivor={survivor}&retired={survivor}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(same.status, StatusCode::BAD_REQUEST);
    }
);

on_both_backends!(
    on_the_pages_the_team_compares_two_records_merges_them_and_undoes_it,
    demo_mode(),
    |app| {
        let (survivor, retired) = two_records_of_one_child(app).await;
        let team = data_manager(app, "merge.pages", 1).await;
        let cookie = app.web_sign_in(&team).await;
        let account = app.get("/account", Some(&cookie)).await;
        assert!(
            account.body.contains(r#"href="/admin/merges""#),
            "the account page leads there"
        );
        let compare = app
            .get(
                &format!("/admin/merges/compare?survivor={survivor}&retired={retired}"),
                Some(&cookie),
            )
            .await;
        assert_eq!(compare.status, StatusCode::OK, "{}", compare.body);
        assert!(compare.body.contains("Amy") && compare.body.contains("(differs)"));
        let csrf = compare.hidden("csrf").unwrap();
        app.next_step();
        let merged = app
            .post_form(
                "/admin/merges",
                &format!("cp_session={cookie}"),
                &[
                    ("csrf", &csrf),
                    ("survivor", &survivor),
                    ("retired", &retired),
                    ("pin", &team.pin),
                    ("otp", &app.code(&team)),
                ],
            )
            .await;
        assert_eq!(merged.status, StatusCode::SEE_OTHER, "{}", merged.body);
        let list = app.get("/admin/merges", Some(&cookie)).await;
        assert!(
            list.body.contains(&retired) && list.body.contains("Undo the merge"),
            "{}",
            list.body
        );
        let merge_id = list
            .body
            .split("/admin/merges/")
            .find_map(|s| s.split_once("/unmerge").map(|(id, _)| id.to_owned()))
            .unwrap();
        app.next_step();
        let undone = app
            .post_form(
                &format!("/admin/merges/{merge_id}/unmerge"),
                &format!("cp_session={cookie}"),
                &[
                    ("csrf", &csrf),
                    ("pin", &team.pin),
                    ("otp", &app.code(&team)),
                ],
            )
            .await;
        assert_eq!(undone.status, StatusCode::SEE_OTHER, "{}", undone.body);
        let list = app.get("/admin/merges", Some(&cookie)).await;
        assert!(list.body.contains("Undone"), "{}", list.body);
    }
);

/// One child held twice: by Bedford (the first) and by Barking (the second, shielded when
/// asked).
async fn one_child_held_by_two_authorities(app: &TestApp) -> (String, String) {
    one_child_held_by_two(app, false).await
}

async fn one_child_held_by_two(app: &TestApp, shielded_in_barking: bool) -> (String, String) {
    let (catalogue, ids) = load_sample_catalogue(app).await;
    let bedford = contactpoint_test_support::sample_child(&catalogue, &ids, 1);
    let mut barking = contactpoint_test_support::sample_child(&catalogue, &ids, 2);
    barking.given_name = contactpoint_domain::GivenName::parse("Amy").unwrap();
    barking.local_authority = contactpoint_domain::LocalAuthorityCode::parse(OTHER_LA).unwrap();
    barking.shielded = shielded_in_barking;
    load_children(app, &[bedford.clone(), barking.clone()]).await;
    app.audit_since_last_look().await;
    (
        bedford.contactpoint_id.as_digits(),
        barking.contactpoint_id.as_digits(),
    )
}

/// The one audit entry written since the last look: `action` by `actor`, about the child
/// `child`; returns its details.
async fn only_entry_about(
    app: &TestApp,
    action: &str,
    actor: i64,
    child: &str,
) -> serde_json::Value {
    let entries = app.audit_since_last_look().await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        (entries[0].action.as_str(), entries[0].actor_user_id),
        (action, Some(actor))
    );
    assert_eq!(
        entries[0].subject_id.as_deref(),
        Some(child),
        "the entry names the child"
    );
    serde_json::from_str(&entries[0].details).unwrap()
}

/// Where a ContactPoint ID leads now.
async fn leads_to(app: &TestApp, id: &str) -> String {
    app.db
        .store
        .current_contactpoint_id(&contactpoint_domain::ContactPointId::parse(id).unwrap())
        .await
        .unwrap()
        .as_digits()
}

on_both_backends!(
    a_merge_across_authorities_waits_for_the_other_team_and_happens_when_it_agrees,
    demo_mode(),
    |app| {
        let (ours, theirs) = one_child_held_by_two_authorities(app).await;
        let bedford = data_manager(app, "bedford.merger", 1).await;
        let barking = data_manager(app, "barking.merger", 2).await;
        let bedford_token = app.api_sign_in(&bedford).await;
        let barking_token = app.api_sign_in(&barking).await;
        app.audit_since_last_look().await;

        app.next_step();
        let asked = app
            .api("POST", "/api/merges", Some(&bedford_token), Some(json!({"survivor": ours, "retired": theirs, "pin": bedford.pin, "otp": app.code(&bedford)})))
            .await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
        assert_eq!(asked.json()["awaiting_authority"], OTHER_LA);
        let request_id = asked.json()["merge_request_id"].as_i64().unwrap();
        assert_eq!(
            app.audited().await,
            vec![("merge_requested".to_owned(), "success".to_owned())]
        );
        assert_eq!(leads_to(app, &theirs).await, theirs, "nothing moves yet");

        app.next_step();
        let again = app
            .api("POST", "/api/merges", Some(&bedford_token), Some(json!({"survivor": theirs, "retired": ours, "pin": bedford.pin, "otp": app.code(&bedford)})))
            .await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
        assert!(again.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("retired"));

        for token in [&bedford_token, &barking_token] {
            let listed = app
                .api("GET", "/api/merge-requests", Some(token), None)
                .await;
            assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
            let listed = listed.json();
            assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
            assert_eq!(listed[0]["id"], request_id);
            assert_eq!(listed[0]["survivor"], ours.as_str());
            assert_eq!(listed[0]["retired_authority"], OTHER_LA);
            assert_eq!(listed[0]["awaiting_authority"], OTHER_LA);
        }
        app.audit_since_last_look().await;

        // Only the team asked decides.
        app.next_step();
        let own_request = app
            .api(
                "POST",
                &format!("/api/merge-requests/{request_id}/decision"),
                Some(&bedford_token),
                Some(json!({"decision": "merge", "pin": bedford.pin, "otp": app.code(&bedford)})),
            )
            .await;
        assert_eq!(
            own_request.status,
            StatusCode::NOT_FOUND,
            "{}",
            own_request.body
        );
        let unclear = app
            .api(
                "POST",
                &format!("/api/merge-requests/{request_id}/decision"),
                Some(&barking_token),
                Some(json!({"decision": "perhaps"})),
            )
            .await;
        assert_eq!(unclear.status, StatusCode::BAD_REQUEST);
        assert!(unclear.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("decision"));
        let wrong_pin = app
            .api(
                "POST",
                &format!("/api/merge-requests/{request_id}/decision"),
                Some(&barking_token),
                Some(json!({"decision": "merge", "pin": "000000", "otp": app.code(&barking)})),
            )
            .await;
        assert_eq!(wrong_pin.status, StatusCode::UNAUTHORIZED);
        assert_eq!(leads_to(app, &theirs).await, theirs);
        app.audit_since_last_look().await;

        app.next_step();
        let agreed = app
            .api(
                "POST",
                &format!("/api/merge-requests/{request_id}/decision"),
                Some(&barking_token),
                Some(json!({"decision": "merge", "pin": barking.pin, "otp": app.code(&barking)})),
            )
            .await;
        assert_eq!(agreed.status, StatusCode::OK, "{}", agreed.body);
        assert_eq!(agreed.json()["decision"], "merged");
        let merge_id = agreed.json()["merge_id"].as_i64().unwrap();
        // The entry names the child that stays.
        let details = only_entry_about(app, "children_merged", barking.id, &ours).await;
        assert_eq!(details["retired"], theirs.as_str());
        assert_eq!(details["merge"], merge_id.to_string());
        assert_eq!(
            leads_to(app, &theirs).await,
            ours,
            "the retired ID leads to the survivor"
        );
        let listed = app
            .api("GET", "/api/merge-requests", Some(&barking_token), None)
            .await;
        assert_eq!(listed.json().as_array().unwrap().len(), 0);

        // The survivor's team can undo it, as any merge of its children.
        app.next_step();
        let undone = app
            .api(
                "POST",
                &format!("/api/merges/{merge_id}/unmerge"),
                Some(&bedford_token),
                Some(json!({"pin": bedford.pin, "otp": app.code(&bedford)})),
            )
            .await;
        assert_eq!(undone.status, StatusCode::NO_CONTENT, "{}", undone.body);
        assert_eq!(leads_to(app, &theirs).await, theirs);
        app.audit_since_last_look().await;
    }
);

on_both_backends!(
    on_the_pages_a_team_asks_another_to_merge_and_a_declined_merge_moves_nothing,
    demo_mode(),
    |app| {
        let (ours, theirs) = one_child_held_by_two_authorities(app).await;
        let bedford = data_manager(app, "bedford.pages", 1).await;
        let barking = data_manager(app, "barking.pages", 2).await;
        let bedford_cookie = app.web_sign_in(&bedford).await;
        app.next_step();
        let barking_cookie = app.web_sign_in(&barking).await;
        let page = app.get("/admin/merges", Some(&bedford_cookie)).await;
        assert!(page
            .body
            .contains("One of the records is held by another authority"));
        let csrf = page.hidden("csrf").unwrap();
        app.audit_since_last_look().await;

        // A request the directory refuses is told why, field by field, not "try again later".
        app.next_step();
        let same = app
            .post_form(
                "/admin/merges",
                &format!("cp_session={bedford_cookie}"),
                &[
                    ("csrf", &csrf),
                    ("survivor", &theirs),
                    ("retired", &theirs),
                    ("pin", &bedford.pin),
                    ("otp", &app.code(&bedford)),
                ],
            )
            .await;
        assert_eq!(same.status, StatusCode::BAD_REQUEST, "{}", same.body);
        assert!(
            same.body.contains("retired: a different child"),
            "{}",
            same.body
        );
        app.next_step();
        let asked = app
            .post_form(
                "/admin/merges",
                &format!("cp_session={bedford_cookie}"),
                &[
                    ("csrf", &csrf),
                    ("survivor", &theirs),
                    ("retired", &ours),
                    ("pin", &bedford.pin),
                    ("otp", &app.code(&bedford)),
                ],
            )
            .await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        assert!(
            asked
                .body
                .contains(&format!("Merge asked of the team of {OTHER_LA}")),
            "{}",
            asked.body
        );
        let bedford_page = app.get("/admin/merges", Some(&bedford_cookie)).await;
        assert!(bedford_page
            .body
            .contains(&format!("waiting for the team of {OTHER_LA}")));

        let barking_page = app.get("/admin/merges", Some(&barking_cookie)).await;
        assert!(
            barking_page.body.contains("Agree and merge"),
            "{}",
            barking_page.body
        );
        let request_id = barking_page
            .body
            .split("/admin/merge-requests/")
            .nth(1)
            .and_then(|s| s.split_once("/decision"))
            .map(|(id, _)| id.to_owned())
            .unwrap();
        let barking_csrf = barking_page.hidden("csrf").unwrap();
        app.audit_since_last_look().await;
        let declined = app
            .post_form(
                &format!("/admin/merge-requests/{request_id}/decision"),
                &format!("cp_session={barking_cookie}"),
                &[("csrf", &barking_csrf), ("decision", "decline")],
            )
            .await;
        assert_eq!(declined.status, StatusCode::SEE_OTHER, "{}", declined.body);
        let audited = app.audited().await;
        assert!(
            audited.contains(&("merge_request_declined".to_owned(), "success".to_owned())),
            "{audited:?}"
        );
        assert_eq!(
            leads_to(app, &ours).await,
            ours,
            "a declined merge moves nothing"
        );
        assert_eq!(leads_to(app, &theirs).await, theirs);
        let barking_page = app.get("/admin/merges", Some(&barking_cookie)).await;
        assert!(!barking_page.body.contains("Agree and merge"));
        app.audit_since_last_look().await;
    }
);

on_both_backends!(
    a_shielded_childs_record_held_by_another_authority_is_never_retired_into_another_authoritys,
    demo_mode(),
    |app| {
        let (ours, theirs) = one_child_held_by_two(app, true).await;
        let bedford = data_manager(app, "bedford.shielded", 1).await;
        let token = app.api_sign_in(&bedford).await;
        app.next_step();
        let refused = app
            .api("POST", "/api/merges", Some(&token), Some(json!({"survivor": ours, "retired": theirs, "pin": bedford.pin, "otp": app.code(&bedford)})))
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        let message = refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.starts_with("retired") && message.contains("shielded"),
            "{message}"
        );
        // The shielded record may stay, with the team responsible for it.
        app.next_step();
        let asked = app
            .api("POST", "/api/merges", Some(&token), Some(json!({"survivor": theirs, "retired": ours, "pin": bedford.pin, "otp": app.code(&bedford)})))
            .await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
        assert_eq!(asked.json()["awaiting_authority"], OTHER_LA);
        app.audit_since_last_look().await;
    }
);

on_both_backends!(
    the_asking_team_withdraws_a_merge_request_that_still_waits_and_nothing_moves,
    demo_mode(),
    |app| {
        let (ours, theirs) = one_child_held_by_two_authorities(app).await;
        let bedford = data_manager(app, "bedford.withdraws", 1).await;
        let barking = data_manager(app, "barking.withdraws", 2).await;
        let bedford_token = app.api_sign_in(&bedford).await;
        let barking_token = app.api_sign_in(&barking).await;
        app.next_step();
        let ask = |token: String| {
            let body = json!({"survivor": ours, "retired": theirs, "pin": bedford.pin, "otp": app.code(&bedford)});
            async move {
                app.api("POST", "/api/merges", Some(&token), Some(body))
                    .await
            }
        };
        let asked = ask(bedford_token.clone()).await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
        let request_id = asked.json()["merge_request_id"].as_i64().unwrap();
        let withdraw = format!("/api/merge-requests/{request_id}/withdraw");
        app.audit_since_last_look().await;

        // Only the team that asked may withdraw.
        let not_theirs = app.api("POST", &withdraw, Some(&barking_token), None).await;
        assert_eq!(
            not_theirs.status,
            StatusCode::NOT_FOUND,
            "{}",
            not_theirs.body
        );
        let unknown = app
            .api(
                "POST",
                "/api/merge-requests/999999/withdraw",
                Some(&bedford_token),
                None,
            )
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        app.audit_since_last_look().await;

        let withdrawn = app.api("POST", &withdraw, Some(&bedford_token), None).await;
        assert_eq!(
            withdrawn.status,
            StatusCode::NO_CONTENT,
            "{}",
            withdrawn.body
        );
        // The entry names the child that would have stayed.
        let details = only_entry_about(app, "merge_request_withdrawn", bedford.id, &ours).await;
        assert_eq!(details["retired"], theirs.as_str());
        assert_eq!(details["merge_request"], request_id.to_string());
        assert_eq!(details["awaiting"], OTHER_LA);
        assert_eq!(leads_to(app, &theirs).await, theirs, "nothing moved");
        assert_eq!(leads_to(app, &ours).await, ours);

        // Withdrawn, it waits for no one: the other team cannot agree to it any more, and it
        // cannot be withdrawn twice.
        for token in [&bedford_token, &barking_token] {
            let listed = app
                .api("GET", "/api/merge-requests", Some(token), None)
                .await;
            assert_eq!(
                listed.json().as_array().unwrap().len(),
                0,
                "{}",
                listed.body
            );
        }
        let too_late = app
            .api(
                "POST",
                &format!("/api/merge-requests/{request_id}/decision"),
                Some(&barking_token),
                Some(json!({"decision": "merge", "pin": barking.pin, "otp": app.code(&barking)})),
            )
            .await;
        assert_eq!(too_late.status, StatusCode::NOT_FOUND, "{}", too_late.body);
        let twice = app.api("POST", &withdraw, Some(&bedford_token), None).await;
        assert_eq!(twice.status, StatusCode::NOT_FOUND);
        assert_eq!(leads_to(app, &theirs).await, theirs);
        app.audit_since_last_look().await;

        // The pair may be asked for again, and withdrawn on the page.
        app.next_step();
        let again = ask(bedford_token.clone()).await;
        assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
        let again_id = again.json()["merge_request_id"].as_i64().unwrap();
        app.next_step();
        let cookie = app.web_sign_in(&bedford).await;
        let page = app.get("/admin/merges", Some(&cookie)).await;
        let form = format!("/admin/merge-requests/{again_id}/withdraw");
        assert!(page.body.contains(&form), "{}", page.body);
        let csrf = page.hidden("csrf").unwrap();
        app.audit_since_last_look().await;
        let posted = app
            .post_form(&form, &format!("cp_session={cookie}"), &[("csrf", &csrf)])
            .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
        let audited = app.audited().await;
        assert!(
            audited.contains(&("merge_request_withdrawn".to_owned(), "success".to_owned())),
            "{audited:?}"
        );
        let page = app.get("/admin/merges", Some(&cookie)).await;
        assert!(
            !page.body.contains("waiting for the team of"),
            "{}",
            page.body
        );
        assert_eq!(leads_to(app, &theirs).await, theirs);
        app.audit_since_last_look().await;
    }
);
