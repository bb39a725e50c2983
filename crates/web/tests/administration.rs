//! The local ContactPoint team's administration of users and accreditation, by API and page.

mod common;

use axum::http::StatusCode;
use common::*;
use contactpoint_auth::TotpSecret;
use contactpoint_domain::Role;
use serde_json::json;

fn new_user(app: &TestApp, admin: &TestUser, username: &str) -> serde_json::Value {
    json!({
        "username": username, "given_name": "Priya", "family_name": "Shah", "organisation_id": app.organisations[0],
        "role": "practitioner", "criminal_records_checked_on": "2026-01-10", "training_completed_on": "2026-02-01",
        "agreement_accepted_on": "2026-02-01", "password": "orchard beacon willow", "user_pin": "739146",
        "pin": admin.pin, "otp": app.code(admin)
    })
}

on_both_backends!(
    the_local_team_adds_a_user_who_can_then_sign_in_with_the_token_issued,
    demo_mode(),
    |app| {
        let admin = team_admin(app, "team.admin", 1).await;
        let token = app.api_sign_in(&admin).await;
        app.next_step();
        let created = app
            .api(
                "POST",
                "/api/users",
                Some(&token),
                Some(new_user(app, &admin, "p.shah")),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let body = created.json();
        assert!(body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/ContactPoint:p.shah"));
        let events = app.audit_since_last_look().await;
        let audit = events.iter().find(|e| e.action == "user_created").unwrap();
        assert_eq!(audit.actor_user_id, Some(admin.id));
        assert_eq!(
            audit.subject_id.as_deref(),
            Some(body["id"].to_string().as_str())
        );
        assert!(!audit.details.contains("orchard"), "no secret in the trail");

        let secret = TotpSecret::from_base32(body["totp_secret"].as_str().unwrap()).unwrap();
        let code = secret.code_at(contactpoint_domain::Clock::now(&app.clock));
        let reply = app
            .web_sign_in_with("p.shah", "orchard beacon willow", "739146", &code)
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);

        let listed = app.api("GET", "/api/users", Some(&token), None).await;
        assert!(listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "p.shah"));
    }
);

on_both_backends!(
    an_administrative_change_needs_fresh_factors,
    demo_mode(),
    |app| {
        let admin = team_admin(app, "team.admin2", 1).await;
        let token = app.api_sign_in(&admin).await;
        let mut request = new_user(app, &admin, "q.shah");
        request["otp"] = json!(app.code(&admin));
        let reused = app
            .api("POST", "/api/users", Some(&token), Some(request))
            .await;
        assert_eq!(
            reused.status,
            StatusCode::UNAUTHORIZED,
            "the code used to sign in cannot authorise a change"
        );
        assert_eq!(
            reused.json()["error"]["code"],
            "fresh_authentication_failed"
        );
        app.next_step();
        let mut wrong_pin = new_user(app, &admin, "q.shah");
        wrong_pin["pin"] = json!("918273");
        assert_eq!(
            app.api("POST", "/api/users", Some(&token), Some(wrong_pin))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
        let events = app.audited().await;
        assert_eq!(
            events
                .iter()
                .filter(|(a, o)| a == "fresh_authentication" && o == "failure")
                .count(),
            2
        );
        assert!(!events.iter().any(|(a, _)| a == "user_created"));
    }
);

on_both_backends!(bad_input_is_refused_naming_the_field, demo_mode(), |app| {
    let admin = team_admin(app, "team.admin3", 1).await;
    let token = app.api_sign_in(&admin).await;
    for (field, value, named) in [
        ("username", json!("x"), "username"),
        ("password", json!("short"), "password"),
        ("password", json!("password123456"), "password"),
        ("user_pin", json!("123456"), "user_pin"),
        ("role", json!("superuser"), "role"),
        (
            "criminal_records_checked_on",
            json!("10/01/2026"),
            "criminal_records_checked_on",
        ),
        ("organisation_id", json!(999999), "organisation_id"),
    ] {
        app.next_step();
        let mut request = new_user(app, &admin, "r.shah");
        request[field] = value;
        let reply = app
            .api("POST", "/api/users", Some(&token), Some(request))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            reply.body
        );
        assert_eq!(reply.json()["error"]["code"], "invalid_input");
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(named),
            "{}",
            reply.body
        );
    }
    let nothing_written = app.api("GET", "/api/users", Some(&token), None).await;
    assert!(!nothing_written.body.contains("r.shah"));
});

on_both_backends!(a_team_manages_only_its_own_authority, demo_mode(), |app| {
    let other_team = team_admin(app, "other.admin", 2).await;
    let token = app.api_sign_in(&other_team).await;
    app.next_step();
    let reply = app
        .api(
            "POST",
            "/api/users",
            Some(&token),
            Some(new_user(app, &other_team, "s.shah")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let listed = app
        .api(
            "GET",
            &format!("/api/users?local_authority={HOME_LA}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::FORBIDDEN);
    let own = app
        .api("GET", "/api/organisations", Some(&token), None)
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.json().as_array().unwrap().len(), 1);
});

on_both_backends!(
    suspending_an_organisation_stops_its_users_and_is_audited,
    demo_mode(),
    |app| {
        let admin = team_admin(app, "team.admin4", 1).await;
        let user = app.user("t.practitioner", Role::Practitioner, &[], 0).await;
        let practitioner_cookie = app.web_sign_in(&user).await;
        let token = app.api_sign_in(&admin).await;
        app.next_step();
        let reply = app
        .api("PUT", &format!("/api/organisations/{}/accreditation", app.organisations[0]), Some(&token), Some(json!({
            "accreditation": "suspended", "web_access": true, "integration_access": true, "pin": admin.pin, "otp": app.code(&admin)
        })))
        .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
        assert_eq!(
            app.get("/account", Some(&practitioner_cookie)).await.status,
            StatusCode::UNAUTHORIZED
        );
        let events = app.audit_since_last_look().await;
        let change = events
            .iter()
            .find(|e| e.action == "accreditation_changed")
            .unwrap();
        assert!(
            change.details.contains("\"to\":\"suspended\"")
                && change.details.contains("\"from\":\"accredited\""),
            "{}",
            change.details
        );
    }
);

on_both_backends!(
    the_team_adds_a_user_through_the_pages_too,
    demo_mode(),
    |app| {
        let admin = team_admin(app, "team.admin5", 1).await;
        let cookie = app.web_sign_in(&admin).await;
        let page = app.get("/admin/users", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page.hidden("csrf").unwrap();
        app.next_step();
        let organisation = app.organisations[0].to_string();
        let code = app.code(&admin);
        let reply = app
            .post_form(
                "/admin/users",
                &format!("cp_session={cookie}"),
                &[
                    ("csrf", &csrf),
                    ("username", "u.page"),
                    ("given_name", "Ada"),
                    ("family_name", "Okafor"),
                    ("organisation_id", &organisation),
                    ("role", "mediator"),
                    ("criminal_records_checked_on", "2026-03-01"),
                    ("training_completed_on", "2026-03-02"),
                    ("agreement_accepted_on", "2026-03-02"),
                    ("password", "falcon copper thistle"),
                    ("user_pin", "508127"),
                    ("pin", &admin.pin),
                    ("otp", &code),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(reply.body.contains("User u.page added") && reply.body.contains("<svg"));
        let listing = app.get("/admin/users", Some(&cookie)).await;
        assert!(listing.body.contains("u.page"));
        app.next_step();
        let bad = app
            .post_form(
                "/admin/users",
                &format!("cp_session={cookie}"),
                &[
                    ("csrf", &csrf),
                    ("username", "v.page"),
                    ("given_name", "4da"),
                    ("family_name", "Okafor"),
                    ("role", "mediator"),
                    ("password", "falcon copper thistle"),
                    ("user_pin", "508127"),
                    ("pin", &admin.pin),
                    ("otp", &app.code(&admin)),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("given_name"), "{}", bad.body);
    }
);

on_both_backends!(a_user_replaces_their_security_token, |app| {
    let user = app.user("w.practitioner", Role::Practitioner, &[], 0).await;
    let cookie = app.web_sign_in(&user).await;
    let page = app.get("/account/security-token", Some(&cookie)).await;
    assert!(page.body.contains("<svg"));
    let secret = page.hidden("secret").unwrap();
    let new_token = TotpSecret::from_base32(&secret).unwrap();
    app.next_step();
    let now = contactpoint_domain::Clock::now(&app.clock);
    let reply = app
        .post_form(
            "/account/security-token",
            &format!("cp_session={cookie}"),
            &[
                ("csrf", &page.hidden("csrf").unwrap()),
                ("secret", &secret),
                ("new_code", &new_token.code_at(now)),
                ("pin", &user.pin),
                ("otp", &app.code(&user)),
            ],
        )
        .await;
    assert!(
        reply.body.contains("new security token is set up"),
        "{}",
        reply.body
    );
    app.next_step();
    let old = app
        .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
        .await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "the old token no longer works"
    );
    let now = contactpoint_domain::Clock::now(&app.clock);
    let new = app
        .web_sign_in_with(
            &user.username,
            &user.password,
            &user.pin,
            &new_token.code_at(now),
        )
        .await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
    assert!(app
        .audited()
        .await
        .contains(&("security_token_enrolled".into(), "success".into())));
});

on_both_backends!(
    the_team_registers_a_case_management_client_and_revokes_it,
    demo_mode(),
    |app| {
        let admin = team_admin(app, "team.admin6", 1).await;
        let practitioner = app.user("x.practitioner", Role::Practitioner, &[], 0).await;
        let token = app.api_sign_in(&admin).await;
        app.next_step();
        let registered = app
        .api("POST", &format!("/api/organisations/{}/api-clients", app.organisations[0]), Some(&token), Some(json!({
            "name": "Children's social care case system", "pin": admin.pin, "otp": app.code(&admin)
        })))
        .await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}",
            registered.body
        );
        let client_id = registered.json()["client_id"].as_str().unwrap().to_owned();
        let client_secret = registered.json()["client_secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let events = app.audit_since_last_look().await;
        let audit = events
            .iter()
            .find(|e| e.action == "api_client_registered")
            .unwrap();
        assert!(
            !audit.details.contains(&client_secret),
            "the secret is never in the trail"
        );

        let signed_in = app
        .api_sign_in_with(Some((&client_id, &client_secret)), json!({
            "username": practitioner.username, "password": practitioner.password, "pin": practitioner.pin, "otp": app.code(&practitioner)
        }))
        .await;
        assert_eq!(signed_in.status, StatusCode::CREATED, "{}", signed_in.body);
        let bearer = signed_in.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(
            app.api("GET", "/api/me", Some(&bearer), None).await.status,
            StatusCode::OK
        );

        app.next_step();
        let revoked = app
            .api(
                "POST",
                &format!("/api/api-clients/{client_id}/revoke"),
                Some(&token),
                Some(json!({"pin": admin.pin, "otp": app.code(&admin)})),
            )
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
        assert_eq!(
            app.api("GET", "/api/me", Some(&bearer), None).await.status,
            StatusCode::UNAUTHORIZED,
            "its tokens end with it"
        );
        assert!(app
            .audited()
            .await
            .contains(&("api_client_revoked".into(), "success".into())));
    }
);

on_both_backends!(
    a_client_is_registered_only_to_an_organisation_accredited_for_integration,
    demo_mode(),
    |app| {
        let admin = app
            .user_with(
                "national.admin",
                Role::NationalAdministrator,
                &[],
                1,
                true,
                |_| {},
            )
            .await;
        app.accredit(
            app.organisations[2],
            contactpoint_domain::Accreditation::Accredited,
            true,
            false,
        )
        .await;
        let token = app.api_sign_in(&admin).await;
        app.next_step();
        let reply = app
            .api(
                "POST",
                &format!("/api/organisations/{}/api-clients", app.organisations[2]),
                Some(&token),
                Some(json!({
                    "name": "Case system", "pin": admin.pin, "otp": app.code(&admin)
                })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("organisation_id"));
        let empty_name = app
            .api(
                "POST",
                &format!("/api/organisations/{}/api-clients", app.organisations[1]),
                Some(&token),
                Some(json!({"name": "", "pin": admin.pin, "otp": app.code(&admin)})),
            )
            .await;
        assert!(empty_name.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("name"));
    }
);

on_both_backends!(
    the_team_cannot_make_a_national_administrator_or_give_the_override_beyond_practitioners,
    demo_mode(),
    |app| {
        let admin = team_admin(app, "team.admin8", 1).await;
        let token = app.api_sign_in(&admin).await;
        app.next_step();
        let mut national = new_user(app, &admin, "y.national");
        national["role"] = json!("national_administrator");
        assert_eq!(
            app.api("POST", "/api/users", Some(&token), Some(national))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        app.next_step();
        let mut mediator = new_user(app, &admin, "y.mediator");
        mediator["role"] = json!("mediator");
        mediator["shield_override"] = json!(true);
        let reply = app
            .api("POST", "/api/users", Some(&token), Some(mediator))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("shield_override"));
        app.next_step();
        let mut police = new_user(app, &admin, "y.police");
        police["shield_override"] = json!(true);
        let reply = app
            .api("POST", "/api/users", Some(&token), Some(police))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let events = app.audit_since_last_look().await;
        let created = events.iter().find(|e| e.action == "user_created").unwrap();
        assert!(
            created.details.contains("\"shield_override\":\"true\""),
            "the grant is on the trail: {}",
            created.details
        );
    }
);

on_both_backends!(
    nobody_renews_their_own_checks_and_only_national_administrators_change_each_other,
    demo_mode(),
    |app| {
        let admin = team_admin(app, "team.admin9", 1).await;
        let national = app
            .user_with(
                "z.national",
                Role::NationalAdministrator,
                &[],
                1,
                true,
                |_| {},
            )
            .await;
        let token = app.api_sign_in(&admin).await;
        app.next_step();
        let own = app
        .api("PUT", &format!("/api/users/{}/vetting", admin.id), Some(&token), Some(json!({
            "criminal_records_checked_on": "2026-11-01", "training_completed_on": "2026-11-01", "agreement_accepted_on": "2026-11-01",
            "pin": admin.pin, "otp": app.code(&admin)
        })))
        .await;
        assert_eq!(own.status, StatusCode::FORBIDDEN);
        app.next_step();
        let suspend = app
            .api(
                "POST",
                &format!("/api/users/{}/state", national.id),
                Some(&token),
                Some(json!({"state": "suspended", "pin": admin.pin, "otp": app.code(&admin)})),
            )
            .await;
        assert_eq!(suspend.status, StatusCode::FORBIDDEN);
    }
);

on_both_backends!(
    wrong_factors_for_a_sensitive_action_count_towards_the_lock,
    demo_mode(),
    |app| {
        let admin = team_admin(app, "team.admin10", 1).await;
        let token = app.api_sign_in(&admin).await;
        for _ in 0..5 {
            app.next_step();
            let mut request = new_user(app, &admin, "w.shah");
            request["pin"] = json!("918273");
            let reply = app
                .api("POST", "/api/users", Some(&token), Some(request))
                .await;
            assert!(reply.status == StatusCode::UNAUTHORIZED, "{}", reply.body);
        }
        assert_eq!(
            app.api("GET", "/api/me", Some(&token), None).await.status,
            StatusCode::UNAUTHORIZED,
            "locked: the session is over"
        );
        let events = app.audited().await;
        assert!(
            events.contains(&("account_locked".into(), "success".into())),
            "{events:?}"
        );
    }
);
