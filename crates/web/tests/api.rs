//! The API for case-management systems: a client credential plus a practitioner's full
//! sign-in gives a short-lived bearer token bound to both.

mod common;

use axum::http::StatusCode;
use common::*;
use contactpoint_domain::{AccessRoute, AuditEvent, Outcome, Permit, Role, SystemTask};
use serde_json::json;

on_both_backends!(
    a_case_management_system_signs_a_practitioner_in_and_every_call_names_both,
    |app| {
        let user = app
            .user("api.practitioner", Role::Practitioner, &[], 0)
            .await;
        let token = app.api_sign_in(&user).await;
        let me = app.api("GET", "/api/me", Some(&token), None).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json()["username"], "api.practitioner");
        let events = app.audit_since_last_look().await;
        let sign_in = events.iter().find(|e| e.action == "sign_in").unwrap();
        assert_eq!(sign_in.actor_user_id, Some(user.id));
        assert!(
            sign_in.api_client_id.is_some(),
            "attributed to the system too"
        );
        assert_eq!(sign_in.route, "api");

        let out = app.api("DELETE", "/api/sessions", Some(&token), None).await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        assert_eq!(
            app.api("GET", "/api/me", Some(&token), None).await.status,
            StatusCode::UNAUTHORIZED
        );
        let events = app.audit_since_last_look().await;
        assert!(events
            .iter()
            .any(|e| e.action == "sign_out" && e.api_client_id == sign_in.api_client_id));
    }
);

on_both_backends!(
    without_a_valid_client_credential_the_answer_is_that_of_any_failure,
    |app| {
        let user = app.user("api.b", Role::Practitioner, &[], 0).await;
        let factors = json!({"username": user.username, "password": user.password, "pin": user.pin, "otp": app.code(&user)});
        let no_client = app.api_sign_in_with(None, factors.clone()).await;
        let wrong_secret = app
            .api_sign_in_with(Some((&app.client_id, "not-the-secret")), factors.clone())
            .await;
        let wrong_password = app
        .api_sign_in_with(Some((&app.client_id, &app.client_secret)), json!({"username": user.username, "password": "x", "pin": user.pin, "otp": "123456"}))
        .await;
        for reply in [&no_client, &wrong_secret] {
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            assert_eq!(reply.body, wrong_password.body);
        }
        let missing_body = app
            .api_sign_in_with(Some((&app.client_id, &app.client_secret)), json!({}))
            .await;
        assert_eq!(missing_body.status, StatusCode::UNAUTHORIZED);
        assert_eq!(missing_body.body, wrong_password.body);
    }
);

on_both_backends!(
    a_web_session_is_no_bearer_token_and_a_bearer_token_no_cookie,
    |app| {
        let user = app.user("api.c", Role::Practitioner, &[], 0).await;
        let cookie = app.web_sign_in(&user).await;
        app.next_step();
        let token = app.api_sign_in(&user).await;
        assert_eq!(
            app.api("GET", "/api/me", Some(&cookie), None).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.get("/account", Some(&token)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
);

on_both_backends!(
    an_api_token_lasts_an_hour_at_most_and_revoking_the_client_ends_its_tokens,
    |app| {
        let user = app.user("api.d", Role::Practitioner, &[], 0).await;
        let token = app.api_sign_in(&user).await;
        for _ in 0..5 {
            app.clock.advance(chrono::Duration::minutes(10));
            assert_eq!(
                app.api("GET", "/api/me", Some(&token), None).await.status,
                StatusCode::OK
            );
        }
        app.clock.advance(chrono::Duration::minutes(10));
        assert_eq!(
            app.api("GET", "/api/me", Some(&token), None).await.status,
            StatusCode::UNAUTHORIZED,
            "an hour after sign-in"
        );

        app.next_step();
        let token = app.api_sign_in(&user).await;
        let client = app.db.store.api_client(&app.client_id).await.unwrap();
        let permit = Permit::system_bypass(SystemTask::TestFixture);
        let audit = AuditEvent::new(
            contactpoint_domain::Clock::now(&app.clock),
            AccessRoute::System,
            "api_client_revoked",
            Outcome::Success,
        );
        app.db
            .store
            .revoke_api_client(&permit, client.id, &audit)
            .await
            .unwrap();
        assert_eq!(
            app.api("GET", "/api/me", Some(&token), None).await.status,
            StatusCode::UNAUTHORIZED
        );
        app.next_step();
        let again = app
        .api_sign_in_with(Some((&app.client_id, &app.client_secret)), json!({"username": user.username, "password": user.password, "pin": user.pin, "otp": app.code(&user)}))
        .await;
        assert_eq!(
            again.status,
            StatusCode::UNAUTHORIZED,
            "a revoked credential signs nobody in"
        );
    }
);

on_both_backends!(
    a_token_stops_when_the_systems_organisation_loses_integration_accreditation,
    |app| {
        let user = app.user("api.e", Role::Practitioner, &[], 1).await;
        let token = app.api_sign_in(&user).await;
        assert_eq!(
            app.api("GET", "/api/me", Some(&token), None).await.status,
            StatusCode::OK
        );
        app.accredit(
            app.organisations[0],
            contactpoint_domain::Accreditation::Accredited,
            true,
            false,
        )
        .await;
        assert_eq!(
            app.api("GET", "/api/me", Some(&token), None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
);
