//! Viewing a record: a reason first, the projection for this viewer, and the view audited.

mod common;

use axum::http::StatusCode;
use common::*;
use contactpoint_domain::{Accreditation, ChildRecord, Role};
use contactpoint_storage::CatalogueIds;
use serde_json::json;

/// The sample child with its catalogue, optionally shielded.
async fn a_child(app: &TestApp, shielded: bool) -> (ChildRecord, CatalogueIds) {
    load_sample_child(app, 77, |c| c.shielded = shielded).await
}

async fn view(app: &TestApp, token: &str, id: &str, body: serde_json::Value) -> Reply {
    app.api(
        "POST",
        &format!("/api/children/{id}/view"),
        Some(token),
        Some(body),
    )
    .await
}

on_both_backends!(
    a_practitioner_gives_a_reason_and_sees_the_record_with_the_sensitive_service_masked,
    |app| {
        let (child, _) = a_child(app, false).await;
        let user = app
            .user("view.practitioner", Role::Practitioner, &[], 0)
            .await;
        let token = app.api_sign_in(&user).await;
        app.audit_since_last_look().await;
        let reply = view(
            app,
            &token,
            &child.contactpoint_id.as_digits(),
            json!({"reason": "coordinating_support"}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let shown = reply.json();
        assert_eq!(shown["projection"], "full");
        assert_eq!(shown["family_name"], "Smith-Adeyemi");
        assert_eq!(shown["sensitive_services_involved"], true);
        let categories: Vec<_> = shown["involvements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["service"]["category"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            categories.contains(&"primary_school".to_owned())
                && !categories.contains(&"mental_health".to_owned()),
            "{categories:?}"
        );
        assert!(
            !reply.body.contains("Adolescent Mental Health"),
            "not a word of the sensitive service"
        );
        let events = app.audit_since_last_look().await;
        assert_eq!(events.len(), 1);
        let viewed = &events[0];
        assert_eq!(
            (viewed.action.as_str(), viewed.subject_id.as_deref()),
            (
                "child_viewed",
                Some(child.contactpoint_id.as_digits().as_str())
            )
        );
        assert!(
            viewed
                .details
                .contains("\"reason\":\"coordinating_support\"")
                && viewed.details.contains("\"projection\":\"full\"")
        );
        assert!(
            viewed.api_client_id.is_some(),
            "attributed to the case-management system too"
        );
    }
);

on_both_backends!(
    without_a_proper_reason_nothing_is_shown_or_recorded_as_viewed,
    |app| {
        let (child, _) = a_child(app, false).await;
        let user = app.user("view.b", Role::Practitioner, &[], 0).await;
        let token = app.api_sign_in(&user).await;
        let id = child.contactpoint_id.as_digits();
        for (body, field) in [
            (json!({}), "reason"),
            (json!({"reason": "curiosity"}), "reason"),
            (json!({"reason": "other"}), "reason_text"),
            (
                json!({"reason": "other", "reason_text": "why"}),
                "reason_text",
            ),
        ] {
            let reply = view(app, &token, &id, body).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST);
            assert!(
                reply.json()["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(field),
                "{}",
                reply.body
            );
            assert!(!reply.body.contains("Smith-Adeyemi"));
        }
        let other = view(
            app,
            &token,
            &id,
            json!({"reason": "other", "reason_text": "Arranging a team around the child meeting"}),
        )
        .await;
        assert_eq!(other.status, StatusCode::OK);
        let events = app.audit_since_last_look().await;
        let views: Vec<_> = events
            .iter()
            .filter(|e| e.action == "child_viewed")
            .collect();
        assert_eq!(views.len(), 1, "only the view with a reason");
        assert!(views[0].details.contains("team around the child"));
    }
);

on_both_backends!(
    an_unknown_or_mistyped_id_is_told_apart_and_shows_nothing,
    |app| {
        a_child(app, false).await;
        let user = app.user("view.c", Role::Practitioner, &[], 0).await;
        let token = app.api_sign_in(&user).await;
        let unknown = contactpoint_domain::ContactPointId::random(&mut rand::rng());
        let reply = view(
            app,
            &token,
            &unknown.as_digits(),
            json!({"reason": "coordinating_support"}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let reply = view(
            app,
            &token,
            "12345678901X",
            json!({"reason": "coordinating_support"}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("contactpoint_id"));
        assert!(!app.audited().await.iter().any(|(a, _)| a == "child_viewed"));
    }
);

on_both_backends!(a_shielded_child_shows_only_what_shielding_allows, |app| {
    let (child, _) = a_child(app, true).await;
    let user = app.user("view.d", Role::Practitioner, &[], 0).await;
    let token = app.api_sign_in(&user).await;
    let reply = view(
        app,
        &token,
        &child.contactpoint_id.as_digits(),
        json!({"reason": "safeguarding_concern"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let shown = reply.json();
    assert_eq!(shown["projection"], "shielded");
    assert!(shown["address"].is_null() && shown["involvements"].as_array().unwrap().is_empty());
    assert!(shown["shielded_contact"]
        .as_str()
        .unwrap()
        .contains("contactpoint@bedford.example.org"));
    assert!(!reply.body.contains("Castle Road"), "no address anywhere");
    assert_eq!(shown["parents_carers"][0]["family_name"], "Adeyemi");
    let events = app.audit_since_last_look().await;
    assert!(events
        .iter()
        .any(|e| e.action == "child_viewed" && e.details.contains("\"projection\":\"shielded\"")));
});

on_both_backends!(the_sensitive_service_sees_its_own_involvement, |app| {
    let (child, ids) = a_child(app, false).await;
    let trust = ids.first_organisation + 2;
    app.accredit(trust, Accreditation::Accredited, true, true)
        .await;
    let camhs = app
        .user_with("view.camhs", Role::Practitioner, &[], 0, false, |u| {
            u.organisation_id = trust
        })
        .await;
    let token = app.api_sign_in(&camhs).await;
    let reply = view(
        app,
        &token,
        &child.contactpoint_id.as_digits(),
        json!({"reason": "contacting_involved_services"}),
    )
    .await;
    let shown = reply.json();
    assert!(reply.body.contains("mental_health"), "{}", reply.body);
    assert_eq!(shown["sensitive_services_involved"], false);
});

on_both_backends!(an_auditor_cannot_open_a_record, demo_mode(), |app| {
    let (child, _) = a_child(app, false).await;
    let auditor = app
        .user_with("view.auditor", Role::Auditor, &[], 1, true, |_| {})
        .await;
    let token = app.api_sign_in(&auditor).await;
    let reply = view(
        app,
        &token,
        &child.contactpoint_id.as_digits(),
        json!({"reason": "data_quality"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
});
