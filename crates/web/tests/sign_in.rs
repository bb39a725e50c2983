//! Signing in with user name, password, PIN and security token, on the web and over the API.

mod common;

use axum::http::StatusCode;
use common::*;
use contactpoint_domain::{AccountState, Accreditation, Duty, Role};

on_both_backends!(
    all_four_factors_open_a_session_and_the_account_page,
    |app| {
        let user = app.user("a.practitioner", Role::Practitioner, &[], 0).await;
        let cookie = app.web_sign_in(&user).await;
        assert_eq!(app.audited().await, [("sign_in".into(), "success".into())]);
        let page = app.get("/account", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("a.practitioner") && page.body.contains("Castle Lower School"));
    }
);

on_both_backends!(
    sign_in_without_any_one_factor_fails_with_the_same_answer,
    |app| {
        let user = app.user("b.practitioner", Role::Practitioner, &[], 0).await;
        let code = app.code(&user);
        let attempts = [
            ("", user.password.as_str(), user.pin.as_str(), code.as_str()),
            (user.username.as_str(), "", user.pin.as_str(), code.as_str()),
            (
                user.username.as_str(),
                user.password.as_str(),
                "",
                code.as_str(),
            ),
            (
                user.username.as_str(),
                user.password.as_str(),
                user.pin.as_str(),
                "",
            ),
            (
                user.username.as_str(),
                "wrong password here",
                user.pin.as_str(),
                code.as_str(),
            ),
            (
                user.username.as_str(),
                user.password.as_str(),
                "918273",
                code.as_str(),
            ),
            (
                user.username.as_str(),
                user.password.as_str(),
                user.pin.as_str(),
                "000000",
            ),
        ];
        let mut answers = Vec::new();
        for (username, password, pin, otp) in attempts {
            let reply = app.web_sign_in_with(username, password, pin, otp).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            assert!(reply.cookie("cp_session").is_none());
            answers.push(reply.body.split("<h1>").next().unwrap().to_owned());
        }
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "every failure reads the same"
        );
        assert!(answers[0].contains("did not let you in"));
        // Four of the seven named the account (the first had no user name), so it is locked now.
        let events = app.audited().await;
        assert_eq!(
            events
                .iter()
                .filter(|(a, o)| a == "sign_in" && o == "failure")
                .count(),
            7
        );
        assert!(events.contains(&("account_locked".into(), "success".into())));
    }
);

on_both_backends!(
    an_unknown_user_gets_exactly_the_answer_of_a_wrong_password,
    |app| {
        let user = app.user("c.practitioner", Role::Practitioner, &[], 0).await;
        let wrong = app.api_sign_in_with(Some((&app.client_id, &app.client_secret)), serde_json::json!({
        "username": user.username, "password": "not the password", "pin": user.pin, "otp": app.code(&user)
    })).await;
        let unknown = app.api_sign_in_with(Some((&app.client_id, &app.client_secret)), serde_json::json!({
        "username": "nobody.here", "password": "not the password", "pin": user.pin, "otp": app.code(&user)
    })).await;
        assert_eq!(
            (wrong.status, unknown.status),
            (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
        );
        assert_eq!(wrong.body, unknown.body);
        assert_eq!(wrong.json()["error"]["code"], "sign_in_failed");
        let web_wrong = app
            .web_sign_in_with(
                &user.username,
                "not the password",
                &user.pin,
                &app.code(&user),
            )
            .await;
        let web_unknown = app
            .web_sign_in_with(
                "nobody.here",
                "not the password",
                &user.pin,
                &app.code(&user),
            )
            .await;
        let strip = |b: &str| {
            b.replace(&web_wrong.hidden("csrf").unwrap(), "")
                .replace(&web_unknown.hidden("csrf").unwrap(), "")
        };
        assert_eq!(strip(&web_wrong.body), strip(&web_unknown.body));
    }
);

on_both_backends!(a_security_code_is_never_accepted_twice, |app| {
    let user = app.user("d.practitioner", Role::Practitioner, &[], 0).await;
    let code = app.code(&user);
    let first = app
        .web_sign_in_with(&user.username, &user.password, &user.pin, &code)
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let again = app
        .web_sign_in_with(&user.username, &user.password, &user.pin, &code)
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "the same code a second time"
    );
    app.next_step();
    let next = app
        .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
        .await;
    assert_eq!(next.status, StatusCode::SEE_OTHER, "a new code works");
});

on_both_backends!(
    five_failures_lock_the_account_until_the_local_team_unlocks_it,
    demo_mode(),
    |app| {
        let user = app.user("e.practitioner", Role::Practitioner, &[], 0).await;
        let admin = team_admin(app, "team.admin", 1).await;
        for _ in 0..5 {
            let r = app
                .web_sign_in_with(
                    &user.username,
                    "wrong password here",
                    &user.pin,
                    &app.code(&user),
                )
                .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let events = app.audited().await;
        assert_eq!(
            events.last().unwrap(),
            &("account_locked".to_owned(), "success".to_owned())
        );
        let right = app
            .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
            .await;
        assert_eq!(
            right.status,
            StatusCode::UNAUTHORIZED,
            "locked: even the right factors are refused"
        );
        assert!(
            !right.body.contains("locked</"),
            "the answer does not say the account exists"
        );

        // The local team unlocks it, with fresh factors of their own.
        let token = app.api_sign_in(&admin).await;
        app.next_step();
        let unlock = app
            .api(
                "POST",
                &format!("/api/users/{}/state", user.id),
                Some(&token),
                Some(serde_json::json!({
                    "state": "active", "pin": admin.pin, "otp": app.code(&admin)
                })),
            )
            .await;
        assert_eq!(unlock.status, StatusCode::NO_CONTENT, "{}", unlock.body);
        let events = app.audited().await;
        assert!(
            events.contains(&("account_unlocked".into(), "success".into())),
            "{events:?}"
        );
        let after = app
            .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
            .await;
        assert_eq!(after.status, StatusCode::SEE_OTHER);
    }
);

on_both_backends!(
    a_lapsed_criminal_records_check_or_training_stops_sign_in_and_says_so,
    |app| {
        let old_check = app
            .user_with("f.practitioner", Role::Practitioner, &[], 0, false, |u| {
                u.vetting.criminal_records_checked_on =
                    chrono::NaiveDate::from_ymd_opt(2023, 11, 23);
            })
            .await;
        let reply = app
            .web_sign_in_with(
                &old_check.username,
                &old_check.password,
                &old_check.pin,
                &app.code(&old_check),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(
            reply.body.contains("criminal records check"),
            "{}",
            reply.body
        );
        assert!(
            reply.body.contains("contactpoint@bedford.example.org"),
            "names whom to contact"
        );

        assert_eq!(app.audited().await, [("sign_in".into(), "denied".into())]);

        let untrained = app
            .user_with("g.practitioner", Role::Practitioner, &[], 0, false, |u| {
                u.vetting.training_completed_on = None
            })
            .await;
        let reply = app
            .web_sign_in_with(
                &untrained.username,
                &untrained.password,
                &untrained.pin,
                &app.code(&untrained),
            )
            .await;
        assert!(reply.body.contains("training"), "{}", reply.body);
        assert_eq!(app.audited().await, [("sign_in".into(), "denied".into())]);
    }
);

on_both_backends!(a_check_that_lapses_during_a_session_ends_it, |app| {
    let user = app
        .user_with("h.practitioner", Role::Practitioner, &[], 0, false, |u| {
            u.vetting.criminal_records_checked_on = chrono::NaiveDate::from_ymd_opt(2023, 11, 24);
        })
        .await;
    let cookie = app.web_sign_in(&user).await;
    assert_eq!(
        app.get("/account", Some(&cookie)).await.status,
        StatusCode::OK
    );
    app.clock.advance(chrono::Duration::hours(14));
    let fresh = app
        .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
        .await;
    assert_eq!(
        fresh.status,
        StatusCode::UNAUTHORIZED,
        "the check is three years old today"
    );
});

on_both_backends!(
    users_of_an_organisation_that_loses_accreditation_cannot_sign_in_or_go_on,
    |app| {
        let user = app.user("i.practitioner", Role::Practitioner, &[], 0).await;
        let cookie = app.web_sign_in(&user).await;
        app.accredit(app.organisations[0], Accreditation::Suspended, true, true)
            .await;
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::UNAUTHORIZED
        );
        app.next_step();
        let reply = app
            .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.body.contains("not accredited"));
        app.accredit(app.organisations[0], Accreditation::Accredited, false, true)
            .await;
        app.next_step();
        let mediated_only = app
            .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
            .await;
        assert!(
            mediated_only.body.contains("not accredited"),
            "no web access: mediated access only"
        );
    }
);

on_both_backends!(
    sessions_expire_after_fifteen_idle_minutes_and_twelve_hours_in_all,
    |app| {
        let user = app.user("j.practitioner", Role::Practitioner, &[], 0).await;
        let cookie = app.web_sign_in(&user).await;
        app.clock.advance(chrono::Duration::minutes(14));
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::OK
        );
        app.clock.advance(chrono::Duration::minutes(15));
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::UNAUTHORIZED,
            "idle 15 minutes"
        );

        app.next_step();
        let cookie = app.web_sign_in(&user).await;
        for _ in 0..(12 * 6) {
            app.clock.advance(chrono::Duration::minutes(10));
            if app.get("/account", Some(&cookie)).await.status != StatusCode::OK {
                break;
            }
        }
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
);

on_both_backends!(
    the_last_seen_time_is_written_at_most_once_a_minute_and_never_stretches_the_idle_rule,
    |app| {
        let user = app
            .user("j2.practitioner", Role::Practitioner, &[], 0)
            .await;
        let cookie = app.web_sign_in(&user).await;
        let digest = contactpoint_auth::token_digest(&cookie);
        let last_seen = || async { app.db.store.session(&digest).await.unwrap().last_seen_at };
        let signed_in_at = last_seen().await;
        app.clock.advance(chrono::Duration::seconds(30));
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            last_seen().await,
            signed_in_at,
            "not written within the minute"
        );
        // Idle is counted from the last time written: 15 minutes after it, the session has
        // ended, though the last request was only 14 minutes 30 seconds before.
        app.clock.advance(chrono::Duration::seconds(14 * 60 + 30));
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::UNAUTHORIZED,
            "idle 15 minutes since the last-seen time was written"
        );

        app.next_step();
        let cookie = app.web_sign_in(&user).await;
        let digest = contactpoint_auth::token_digest(&cookie);
        let signed_in_at = app.db.store.session(&digest).await.unwrap().last_seen_at;
        app.clock.advance(chrono::Duration::seconds(61));
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::OK
        );
        let touched = app.db.store.session(&digest).await.unwrap().last_seen_at;
        assert_eq!(
            touched - signed_in_at,
            chrono::Duration::seconds(61),
            "written after a minute"
        );
        app.clock.advance(chrono::Duration::minutes(14));
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::OK,
            "14 minutes after the last write"
        );
    }
);

on_both_backends!(
    signing_out_ends_the_session_and_signing_out_everywhere_ends_them_all,
    |app| {
        let user = app.user("k.practitioner", Role::Practitioner, &[], 0).await;
        let first = app.web_sign_in(&user).await;
        app.next_step();
        let second = app.web_sign_in(&user).await;
        assert_ne!(first, second, "a new session id at every sign-in");
        let account = app.get("/account", Some(&first)).await;
        let csrf = account.hidden("csrf").unwrap();
        let out = app
            .post_form(
                "/sign-out",
                &format!("cp_session={first}"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(out.status, StatusCode::OK);
        assert_eq!(
            app.get("/account", Some(&first)).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.get("/account", Some(&second)).await.status,
            StatusCode::OK
        );
        let csrf = app
            .get("/account", Some(&second))
            .await
            .hidden("csrf")
            .unwrap();
        app.next_step();
        let third = app.web_sign_in(&user).await;
        let everywhere = app
            .post_form(
                "/account/sign-out-everywhere",
                &format!("cp_session={second}"),
                &[("csrf", &csrf)],
            )
            .await;
        assert!(
            everywhere.body.contains("2 sessions ended"),
            "{}",
            everywhere.body
        );
        assert_eq!(
            app.get("/account", Some(&third)).await.status,
            StatusCode::UNAUTHORIZED
        );
        let events = app.audited().await;
        assert!(events.contains(&("sign_out".into(), "success".into())));
        assert!(events.contains(&("sign_out_everywhere".into(), "success".into())));
    }
);

on_both_backends!(a_form_without_its_csrf_token_is_refused, |app| {
    let user = app.user("l.practitioner", Role::Practitioner, &[], 0).await;
    let cookie = app.web_sign_in(&user).await;
    let out = app
        .post_form(
            "/sign-out",
            &format!("cp_session={cookie}"),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/account", Some(&cookie)).await.status,
        StatusCode::OK,
        "still signed in"
    );
    let form = app.get("/sign-in", None).await;
    let no_cookie = app
        .post_form(
            "/sign-in",
            "",
            &[
                ("csrf", &form.hidden("csrf").unwrap()),
                ("username", &user.username),
            ],
        )
        .await;
    assert_eq!(no_cookie.status, StatusCode::BAD_REQUEST);
});

on_both_backends!(session_cookies_are_http_only_and_same_site_strict, |app| {
    let user = app.user("m.practitioner", Role::Practitioner, &[], 0).await;
    let reply = app
        .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
        .await;
    let set_cookie = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("cp_session="))
        .unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains("Secure"), "Secure only behind TLS");
});

/// A privileged user signing in with a code gets a session good only for enrolling a key.
async fn signs_in_only_to_enrol(app: &TestApp, user: &TestUser) {
    let reply = app
        .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(user))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let cookie = reply.cookie("cp_session").unwrap();
    assert_eq!(
        app.get("/account", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        user.username
    );
    assert_eq!(
        app.get("/account/security-key", Some(&cookie)).await.status,
        StatusCode::OK
    );
    let audit = app
        .audit_since_last_look()
        .await
        .into_iter()
        .find(|e| e.action == "sign_in")
        .unwrap();
    assert!(
        audit.details.contains("enrol_security_key"),
        "{}",
        audit.details
    );
}

on_both_backends!(
    privileged_users_without_a_key_may_only_enrol_one_outside_demonstrations,
    |app| {
        let team = app
            .user("n.team", Role::LocalTeam, &[Duty::Helpdesk], 1)
            .await;
        signs_in_only_to_enrol(app, &team).await;
        let overrider = app
            .user_with("o.police", Role::Practitioner, &[], 0, false, |u| {
                u.shield_override = true
            })
            .await;
        signs_in_only_to_enrol(app, &overrider).await;
        let demo_team = app
            .user_with(
                "p.team",
                Role::LocalTeam,
                &[Duty::Helpdesk],
                1,
                true,
                |_| {},
            )
            .await;
        signs_in_only_to_enrol(app, &demo_team).await;
        // Over the API there is no key to enrol: privileged users are refused, saying why.
        app.next_step();
        let reply = app
        .api_sign_in_with(Some((&app.client_id, &app.client_secret)), serde_json::json!({
            "username": team.username, "password": team.password, "pin": team.pin, "otp": app.code(&team)
        }))
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.body.contains("security key"), "{}", reply.body);
    }
);

#[tokio::test]
async fn in_demo_mode_a_privileged_demo_account_may_use_a_security_code() {
    let app = TestApp::with_settings(contactpoint_storage::Backend::Sqlite, demo_mode())
        .await
        .unwrap();
    let demo_team = app
        .user_with(
            "q.team",
            Role::LocalTeam,
            &[Duty::Helpdesk],
            1,
            true,
            |_| {},
        )
        .await;
    let cookie = app.web_sign_in(&demo_team).await;
    assert_eq!(
        app.get("/account", Some(&cookie)).await.status,
        StatusCode::OK
    );
    let real_team = app
        .user("r.team", Role::LocalTeam, &[Duty::Helpdesk], 1)
        .await;
    signs_in_only_to_enrol(&app, &real_team).await;
}

on_both_backends!(a_suspended_or_closed_account_cannot_sign_in, |app| {
    let user = app
        .user_with("s.practitioner", Role::Practitioner, &[], 0, false, |_| {})
        .await;
    let permit =
        contactpoint_domain::Permit::system_bypass(contactpoint_domain::SystemTask::TestFixture);
    let audit = contactpoint_domain::AuditEvent::new(
        contactpoint_test_support::test_now(),
        contactpoint_domain::AccessRoute::System,
        "user_state_changed",
        contactpoint_domain::Outcome::Success,
    );
    app.db
        .store
        .set_user_state(&permit, user.id, AccountState::Suspended, &audit)
        .await
        .unwrap();
    let reply = app
        .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
});

on_both_backends!(
    a_user_changes_their_password_and_pin_and_their_other_sessions_end,
    |app| {
        let user = app.user("z.practitioner", Role::Practitioner, &[], 0).await;
        let other = app.web_sign_in(&user).await;
        app.next_step();
        let cookie = app.web_sign_in(&user).await;
        let form = app.get("/account/password", Some(&cookie)).await;
        let csrf = form.hidden("csrf").unwrap();
        let change = |current: String, new: String, new_pin: String| {
            let cookie = cookie.clone();
            let csrf = csrf.clone();
            let user = user.clone();
            async move {
                app.next_step();
                let otp = app.code(&user);
                app.post_form(
                    "/account/password",
                    &format!("cp_session={cookie}"),
                    &[
                        ("csrf", &csrf),
                        ("current_password", &current),
                        ("new_password", &new),
                        ("new_pin", &new_pin),
                        ("pin", &user.pin),
                        ("otp", &otp),
                    ],
                )
                .await
            }
        };
        let short = change(user.password.clone(), "short".into(), String::new()).await;
        assert_eq!(short.status, StatusCode::BAD_REQUEST);
        assert!(short.body.contains("new_password"));
        let wrong_current = change(
            "not my password".into(),
            "willow copper falcon".into(),
            String::new(),
        )
        .await;
        assert!(
            wrong_current.body.contains("was not right"),
            "{}",
            wrong_current.body
        );
        let done = change(
            user.password.clone(),
            "willow copper falcon".into(),
            "604917".into(),
        )
        .await;
        assert!(
            done.body.contains("password has been changed"),
            "{}",
            done.body
        );
        assert_eq!(
            app.get("/account", Some(&other)).await.status,
            StatusCode::UNAUTHORIZED,
            "the other session ended"
        );
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::OK,
            "this one goes on"
        );
        app.next_step();
        let old = app
            .web_sign_in_with(&user.username, &user.password, &user.pin, &app.code(&user))
            .await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
        app.next_step();
        let new = app
            .web_sign_in_with(
                &user.username,
                "willow copper falcon",
                "604917",
                &app.code(&user),
            )
            .await;
        assert_eq!(new.status, StatusCode::SEE_OTHER);
        let events = app.audited().await;
        assert!(events.contains(&("password_changed".into(), "success".into())));
        assert!(events.contains(&("password_changed".into(), "failure".into())));
    }
);
