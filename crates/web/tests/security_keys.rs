//! Security keys: privileged users enrol one on first sign-in and must use it after; the
//! browser's part is played by a software authenticator.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use contactpoint_domain::{Duty, Role};
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::WebauthnAuthenticator;

const ORIGIN: &str = "http://localhost:8080";

fn origin() -> webauthn_rs::prelude::Url {
    ORIGIN.parse().unwrap()
}

/// Registers a key for the user signed in with `cookie` (an enrolment-only or full session).
async fn enrol(app: &TestApp, cookie: &str, pin: &str, token: &mut SoftToken) -> Reply {
    let page = app.get("/account/security-key", Some(cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.hidden("csrf").unwrap();
    let request = Request::post("/account/security-key/challenge")
        .header(header::COOKIE, format!("cp_session={cookie}"))
        .header("x-csrf-token", &csrf)
        .body(Body::empty())
        .unwrap();
    let challenge = app.send(request).await;
    assert_eq!(challenge.status, StatusCode::OK, "{}", challenge.body);
    let challenge = challenge.json();
    let options = serde_json::from_value(challenge["options"].clone()).unwrap();
    let response = token.do_registration(origin(), options).unwrap();
    app.post_form(
        "/account/security-key",
        &format!("cp_session={cookie}"),
        &[
            ("csrf", &csrf),
            ("ceremony_id", challenge["ceremony_id"].as_str().unwrap()),
            ("response", &serde_json::to_string(&response).unwrap()),
            ("pin", pin),
        ],
    )
    .await
}

/// Asks for a sign-in challenge and has the key answer it: (ceremony id, answer JSON).
async fn key_answer(app: &TestApp, username: &str, token: &mut SoftToken) -> (String, String) {
    let challenge = app
        .api(
            "POST",
            "/sign-in/security-key-challenge",
            None,
            Some(serde_json::json!({"username": username})),
        )
        .await;
    assert_eq!(challenge.status, StatusCode::OK);
    let challenge = challenge.json();
    let options = serde_json::from_value(challenge["options"].clone()).unwrap();
    let answer = token.do_authentication(origin(), options).unwrap();
    (
        challenge["ceremony_id"].as_str().unwrap().to_owned(),
        serde_json::to_string(&answer).unwrap(),
    )
}

async fn sign_in_with_key(app: &TestApp, user: &TestUser, ceremony: &str, answer: &str) -> Reply {
    let form = app.get("/sign-in", None).await;
    let csrf_cookie = form.cookie("cp_sign_in").unwrap();
    app.post_form(
        "/sign-in",
        &format!("cp_sign_in={csrf_cookie}"),
        &[
            ("csrf", &form.hidden("csrf").unwrap()),
            ("username", &user.username),
            ("password", &user.password),
            ("pin", &user.pin),
            ("otp", ""),
            ("security_key_ceremony", ceremony),
            ("security_key_response", answer),
        ],
    )
    .await
}

on_both_backends!(
    a_privileged_user_enrols_a_key_at_first_sign_in_and_must_use_it_after,
    |app| {
        let team = app
            .user("key.team", Role::LocalTeam, &[Duty::UserAdministration], 1)
            .await;
        let (mut token, _) = SoftToken::new(false).unwrap();

        // First sign-in with a code opens a session good for enrolling a key and nothing else.
        let enrolling = app.web_sign_in(&team).await;
        assert_eq!(
            app.get("/account", Some(&enrolling)).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.get("/admin/users", Some(&enrolling)).await.status,
            StatusCode::UNAUTHORIZED
        );
        let registered = enrol(app, &enrolling, &team.pin, &mut token).await;
        assert!(
            registered.body.contains("security key is registered"),
            "{}",
            registered.body
        );
        assert_eq!(
            app.get("/account/security-key", Some(&enrolling))
                .await
                .status,
            StatusCode::UNAUTHORIZED,
            "that session is over"
        );
        let events = app.audited().await;
        assert!(
            events.contains(&("security_key_enrolled".into(), "success".into())),
            "{events:?}"
        );

        // Now the key signs in, fully.
        let (ceremony, answer) = key_answer(app, &team.username, &mut token).await;
        let reply = sign_in_with_key(app, &team, &ceremony, &answer).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let cookie = reply.cookie("cp_session").unwrap();
        assert_eq!(
            app.get("/admin/users", Some(&cookie)).await.status,
            StatusCode::OK
        );
        let sign_in = app
            .audit_since_last_look()
            .await
            .into_iter()
            .find(|e| e.action == "sign_in")
            .unwrap();
        assert!(
            sign_in.details.contains("security_key"),
            "{}",
            sign_in.details
        );

        // The same answer a second time is refused: its challenge was used up.
        let replay = sign_in_with_key(app, &team, &ceremony, &answer).await;
        assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

        // And a code alone no longer does for this user.
        app.next_step();
        let code_only = app
            .web_sign_in_with(&team.username, &team.password, &team.pin, &app.code(&team))
            .await;
        assert_eq!(code_only.status, StatusCode::UNAUTHORIZED);
    }
);

on_both_backends!(a_key_answer_needs_the_password_and_pin_too, |app| {
    let team = app.user("key.team2", Role::Auditor, &[], 1).await;
    let (mut token, _) = SoftToken::new(false).unwrap();
    let enrolling = app.web_sign_in(&team).await;
    enrol(app, &enrolling, &team.pin, &mut token).await;
    let (ceremony, answer) = key_answer(app, &team.username, &mut token).await;
    let mut wrong = team.clone();
    wrong.pin = "918273".into();
    assert_eq!(
        sign_in_with_key(app, &wrong, &ceremony, &answer)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let (ceremony, answer) = key_answer(app, &team.username, &mut token).await;
    let other = app.user("key.other", Role::Practitioner, &[], 0).await;
    assert_eq!(
        sign_in_with_key(app, &other, &ceremony, &answer)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "another user's challenge"
    );
});

on_both_backends!(
    a_challenge_for_an_unknown_user_looks_like_a_real_one,
    |app| {
        let team = app
            .user("key.team3", Role::LocalTeam, &[Duty::Helpdesk], 1)
            .await;
        let (mut token, _) = SoftToken::new(false).unwrap();
        let enrolling = app.web_sign_in(&team).await;
        enrol(app, &enrolling, &team.pin, &mut token).await;
        let real = app
            .api(
                "POST",
                "/sign-in/security-key-challenge",
                None,
                Some(serde_json::json!({"username": "key.team3"})),
            )
            .await
            .json();
        let decoy = app
            .api(
                "POST",
                "/sign-in/security-key-challenge",
                None,
                Some(serde_json::json!({"username": "nobody.at.all"})),
            )
            .await
            .json();
        // Same fields at every level, same kinds of value: nothing tells a real user from a stranger.
        fn shape(v: &serde_json::Value) -> serde_json::Value {
            match v {
                serde_json::Value::Object(map) => {
                    map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()
                }
                serde_json::Value::Array(items) => items.iter().map(shape).collect(),
                serde_json::Value::String(_) => "string".into(),
                other => other.clone(),
            }
        }
        assert_eq!(shape(&real["options"]), shape(&decoy["options"]));
        assert_eq!(
            decoy["options"]["publicKey"]["allowCredentials"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let again = app
            .api(
                "POST",
                "/sign-in/security-key-challenge",
                None,
                Some(serde_json::json!({"username": "nobody.at.all"})),
            )
            .await
            .json();
        assert_eq!(
            decoy["options"]["publicKey"]["allowCredentials"],
            again["options"]["publicKey"]["allowCredentials"]
        );
    }
);

on_both_backends!(a_practitioner_may_use_a_key_or_a_code, |app| {
    let user = app
        .user("key.practitioner", Role::Practitioner, &[], 0)
        .await;
    let (mut token, _) = SoftToken::new(false).unwrap();
    let cookie = app.web_sign_in(&user).await;
    let registered = enrol(app, &cookie, &user.pin, &mut token).await;
    assert!(
        registered.body.contains("Back to your account"),
        "a full session stays open"
    );
    let (ceremony, answer) = key_answer(app, &user.username, &mut token).await;
    assert_eq!(
        sign_in_with_key(app, &user, &ceremony, &answer)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    app.next_step();
    let code = app
        .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
        .await;
    assert_eq!(code.status, StatusCode::SEE_OTHER);
});
