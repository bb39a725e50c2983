//! Reviewing the audit trail over the API.

mod common;

use axum::http::StatusCode;
use common::*;
use contactpoint_domain::Role;

on_both_backends!(
    an_auditor_reads_their_authoritys_trail_and_the_reading_is_recorded,
    demo_mode(),
    |app| {
        let auditor = app
            .user_with("trail.auditor", Role::Auditor, &[], 1, true, |_| {})
            .await;
        let practitioner = app
            .user("trail.practitioner", Role::Practitioner, &[], 0)
            .await;
        let elsewhere = app
            .user("trail.elsewhere", Role::Practitioner, &[], 2)
            .await;
        app.web_sign_in(&practitioner).await;
        app.web_sign_in(&elsewhere).await;
        let token = app.api_sign_in(&auditor).await;
        app.audit_since_last_look().await;

        let reply = app
            .api(
                "GET",
                &format!("/api/audit?user_id={}", practitioner.id),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let entries = reply.json();
        let entries = entries.as_array().unwrap();
        assert!(!entries.is_empty());
        assert!(entries
            .iter()
            .all(|e| e["actor_user_id"] == practitioner.id));
        assert!(entries
            .iter()
            .any(|e| e["action"] == "sign_in" && e["details"]["source_address"].is_string()));

        let theirs = app
            .api(
                "GET",
                &format!("/api/audit?user_id={}", elsewhere.id),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(
            theirs.json().as_array().unwrap().len(),
            0,
            "another authority's entries are not shown"
        );
        let other_la = app
            .api(
                "GET",
                &format!("/api/audit?local_authority={OTHER_LA}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(other_la.status, StatusCode::FORBIDDEN);

        let events = app.audit_since_last_look().await;
        let reviews: Vec<_> = events
            .iter()
            .filter(|e| e.action == "audit_reviewed")
            .collect();
        assert_eq!(reviews.len(), 2, "each reading is on the trail");
        assert_eq!(reviews[0].actor_user_id, Some(auditor.id));

        let half = app
            .api("GET", "/api/audit?subject_kind=user", Some(&token), None)
            .await;
        assert_eq!(half.status, StatusCode::BAD_REQUEST);
        assert!(half.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("subject_id"));
    }
);

on_both_backends!(
    the_trail_can_be_reviewed_on_a_page_too,
    demo_mode(),
    |app| {
        let auditor = app
            .user_with("page.auditor", Role::Auditor, &[], 1, true, |_| {})
            .await;
        let practitioner = app
            .user("page.practitioner", Role::Practitioner, &[], 0)
            .await;
        let practitioner_cookie = app.web_sign_in(&practitioner).await;
        let cookie = app.web_sign_in(&auditor).await;
        let account = app.get("/account", Some(&cookie)).await;
        assert!(
            account.body.contains("/audit"),
            "the account page links to the trail"
        );
        let page = app
            .get(
                &format!("/audit?user_id={}", practitioner.id),
                Some(&cookie),
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("sign_in") && page.body.contains("<table>"));
        assert_eq!(
            app.get("/audit", Some(&practitioner_cookie)).await.status,
            StatusCode::FORBIDDEN
        );
        let events = app.audit_since_last_look().await;
        assert!(events
            .iter()
            .any(|e| e.action == "audit_reviewed" && e.actor_user_id == Some(auditor.id)));
    }
);
