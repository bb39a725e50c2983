//! The local team and auditors review use: a child's access history (also on the record for
//! the responsible team), usage per organisation per day, and flags for likely misuse.

mod common;

use axum::http::StatusCode;
use common::*;
use contactpoint_domain::{ChildRecord, Duty, FamilyName, Role};
use serde_json::json;

async fn a_child(app: &TestApp) -> ChildRecord {
    load_sample_child(app, 5, |_| {}).await.0
}

async fn view(app: &TestApp, token: &str, id: &str, reason: serde_json::Value) {
    let reply = app
        .api(
            "POST",
            &format!("/api/children/{id}/view"),
            Some(token),
            Some(reason),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

on_both_backends!(
    the_team_sees_who_opened_a_record_usage_per_organisation_and_flags,
    demo_mode(),
    |app| {
        let child = a_child(app).await;
        let id = child.contactpoint_id.as_digits();
        // A Bedford school's practitioner, a Barking social worker (outside the child's
        // area), and a practitioner who shares the child's family name.
        let local = app
            .user("bedford.teacher", Role::Practitioner, &[], 0)
            .await;
        let barking = app.user("barking.worker", Role::Practitioner, &[], 2).await;
        let relative = app
            .user_with("a.adeyemi", Role::Practitioner, &[], 0, false, |u| {
                u.family_name = FamilyName::parse("Adeyemi").unwrap().as_str().to_owned()
            })
            .await;
        let local_token = app.api_sign_in(&local).await;
        view(
            app,
            &local_token,
            &id,
            json!({"reason": "coordinating_support"}),
        )
        .await;
        let search = app
            .api(
                "GET",
                "/api/children?given_name=Amelia&family_name=Smith-Adeyemi&date_of_birth=2014-06-30",
                Some(&local_token),
                None,
            )
            .await;
        assert_eq!(search.status, StatusCode::OK);
        app.next_step();
        let barking_token = app.api_sign_in(&barking).await;
        view(
            app,
            &barking_token,
            &id,
            json!({"reason": "other", "reason_text": "moved into our area last week"}),
        )
        .await;
        app.next_step();
        let relative_token = app.api_sign_in(&relative).await;
        view(app, &relative_token, &id, json!({"reason": "data_quality"})).await;
        app.audit_since_last_look().await;

        let team = app
            .user_with(
                "bedford.team",
                Role::LocalTeam,
                &[Duty::DataManagement],
                0,
                true,
                |_| {},
            )
            .await;
        app.next_step();
        let cookie = app.web_sign_in(&team).await;

        let history = app
            .get(&format!("/audit/children/{id}"), Some(&cookie))
            .await;
        assert_eq!(history.status, StatusCode::OK, "{}", history.body);
        for expected in [
            "bedford.teacher",
            "barking.worker",
            "Barking Children&#39;s Services",
            "moved into our area last week",
            "a.adeyemi",
            "data quality",
        ] {
            assert!(
                history.body.contains(expected),
                "{expected}: {}",
                history.body
            );
        }
        let events = app.audit_since_last_look().await;
        assert!(events
            .iter()
            .any(|e| e.action == "child_history_read"
                && e.subject_id.as_deref() == Some(id.as_str())));

        let usage = app.get("/audit/usage", Some(&cookie)).await;
        assert_eq!(usage.status, StatusCode::OK, "{}", usage.body);
        // Bedford's review counts its own organisations' sign-ins (the teacher, the relative
        // and the team member, all at the school here) and every use of its children, but
        // not Barking's sign-ins.
        for row in [
            "<td>2026-11-23</td><td>Castle Lower School</td><td>3</td><td>1</td><td>2</td>",
            "<td>2026-11-23</td><td>Barking Children&#39;s Services</td><td>0</td><td>0</td><td>1</td>",
        ] {
            assert!(usage.body.contains(row), "{row}: {}", usage.body);
        }
        assert!(usage.body.contains("OutsideArea") && usage.body.contains("barking.worker"));
        assert!(usage.body.contains("SharedFamilyName") && usage.body.contains("a.adeyemi"));
        assert_eq!(usage.body.matches("<td>OutsideArea</td>").count(), 1);
        assert!(
            !usage.body.contains("<td>OutOfHours</td>"),
            "10:30 on a Monday is working hours"
        );
        let events = app.audit_since_last_look().await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "usage_reviewed");

        // On the record itself, the responsible team sees the latest views.
        let ask = app.get(&format!("/children/{id}"), Some(&cookie)).await;
        let csrf = ask.hidden("csrf").unwrap();
        let record = app
            .post_form(
                &format!("/children/{id}/view"),
                &format!("cp_session={cookie}"),
                &[("csrf", &csrf), ("reason", "data_quality")],
            )
            .await;
        assert_eq!(record.status, StatusCode::OK, "{}", record.body);
        assert!(record.body.contains("Who has opened this record lately"));
        assert!(record.body.contains("barking.worker") && record.body.contains("bedford.teacher"));

        // Another authority's team cannot read this child's history.
        let other = app
            .user_with(
                "barking.team",
                Role::LocalTeam,
                &[Duty::DataManagement],
                2,
                true,
                |_| {},
            )
            .await;
        app.next_step();
        let other_cookie = app.web_sign_in(&other).await;
        let refused = app
            .get(&format!("/audit/children/{id}"), Some(&other_cookie))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        // A practitioner cannot read anyone's history.
        let denied = app
            .get("/audit/usage", Some(&app.web_sign_in(&local).await))
            .await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
    }
);

on_both_backends!(a_review_period_is_checked, demo_mode(), |app| {
    let team = app
        .user_with(
            "bedford.team2",
            Role::LocalTeam,
            &[Duty::Helpdesk],
            0,
            true,
            |_| {},
        )
        .await;
    let cookie = app.web_sign_in(&team).await;
    for query in [
        "from=2026-01-01&to=2026-11-23",
        "from=yesterday",
        "from=2026-11-23&to=2026-11-01",
    ] {
        let reply = app
            .get(&format!("/audit/usage?{query}"), Some(&cookie))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(reply.body.contains("from"), "{}", reply.body);
    }
});
