//! Finding a child and opening the record on the web pages, and the shield override: its
//! warning, fresh factors, the alert to the responsible team, and hidden details shown for
//! that one view.

mod common;

use axum::http::StatusCode;
use common::*;
use contactpoint_domain::{ChildRecord, Duty, Role};

async fn a_child(app: &TestApp, shielded: bool) -> ChildRecord {
    load_sample_child(app, 41, |c| c.shielded = shielded)
        .await
        .0
}

fn session(cookie: &str) -> String {
    format!("cp_session={cookie}")
}

on_both_backends!(
    a_practitioner_searches_with_a_misspelling_gives_a_reason_and_sees_the_record_masked,
    |app| {
        let child = a_child(app, false).await;
        let id = child.contactpoint_id.as_digits();
        let user = app
            .user("page.practitioner", Role::Practitioner, &[], 0)
            .await;
        let cookie = app.web_sign_in(&user).await;
        app.audit_since_last_look().await;

        let results = app
            .get(
                "/children?given_name=Amelya&family_name=Smyth-Adeyemi&date_of_birth=2014-06-30",
                Some(&cookie),
            )
            .await;
        assert_eq!(results.status, StatusCode::OK);
        assert!(
            results.body.contains(&format!("/children/{id}")) && results.body.contains("Bedford"),
            "{}",
            results.body
        );
        let events = app.audit_since_last_look().await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "children_searched");
        assert!(events[0].details.contains(&id));

        let ask = app.get(&format!("/children/{id}"), Some(&cookie)).await;
        assert_eq!(ask.status, StatusCode::OK);
        assert!(ask.body.contains("Why are you opening this record?"));
        assert!(
            !ask.body.contains("Smith-Adeyemi") && !ask.body.contains("Castle Road"),
            "nothing of the record before the reason"
        );
        assert!(
            !ask.body.contains("Shield override"),
            "offered only to those granted it"
        );
        assert!(app.audit_since_last_look().await.is_empty());

        let csrf = ask.hidden("csrf").unwrap();
        let missing = app
            .post_form(
                &format!("/children/{id}/view"),
                &session(&cookie),
                &[("csrf", &csrf), ("reason", "")],
            )
            .await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert!(!missing.body.contains("Castle Road"));

        let record = app
            .post_form(
                &format!("/children/{id}/view"),
                &session(&cookie),
                &[("csrf", &csrf), ("reason", "coordinating_support")],
            )
            .await;
        assert_eq!(record.status, StatusCode::OK, "{}", record.body);
        assert!(record.body.contains("Smith-Adeyemi") && record.body.contains("Castle Road"));
        assert!(record
            .body
            .contains("One or more sensitive services are involved"));
        assert!(record.body.contains("Castle Lower School") || record.body.contains("school"));
        assert!(
            !record.body.contains("Adolescent Mental Health"),
            "the sensitive service is masked"
        );
        assert!(record.body.contains("Last updated"));
        let events = app.audit_since_last_look().await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "child_viewed");
        assert!(events[0].details.contains("\"projection\":\"full\""));
    }
);

on_both_backends!(
    children_a_search_cannot_tell_apart_are_shown_with_a_note_saying_what_to_add,
    |app| {
        let (catalogue, ids) = load_sample_catalogue(app).await;
        let amelia = contactpoint_test_support::sample_child(&catalogue, &ids, 41);
        // Another child with her names and date of birth, living elsewhere.
        let mut namesake = contactpoint_test_support::sample_child(&catalogue, &ids, 42);
        namesake.given_name = amelia.given_name.clone();
        namesake.family_name = amelia.family_name.clone();
        namesake.date_of_birth = amelia.date_of_birth;
        assert_ne!(amelia.contactpoint_id, namesake.contactpoint_id);
        load_children(app, &[amelia.clone(), namesake.clone()]).await;
        let user = app.user("page.twins", Role::Practitioner, &[], 0).await;
        let cookie = app.web_sign_in(&user).await;
        app.audit_since_last_look().await;

        let results = app
            .get(
                "/children?given_name=Amelia&family_name=Smith-Adeyemi&date_of_birth=2014-06-30",
                Some(&cookie),
            )
            .await;
        assert_eq!(results.status, StatusCode::OK);
        for child in [&amelia, &namesake] {
            let id = child.contactpoint_id.as_digits();
            assert!(results.body.contains(&format!("/children/{id}")), "{id}");
        }
        assert!(
            results
                .body
                .contains("The first 2 children fit what you gave equally well"),
            "{}",
            results.body
        );
        assert!(results.body.contains("<td>50%</td>"), "{}", results.body);
        let events = app.audit_since_last_look().await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "children_searched");
    }
);

on_both_backends!(a_search_too_vague_on_the_page_says_what_to_add, |app| {
    a_child(app, false).await;
    let user = app.user("page.vague", Role::Practitioner, &[], 0).await;
    let cookie = app.web_sign_in(&user).await;
    app.audit_since_last_look().await;
    let reply = app.get("/children?family_name=Smith", Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.body.contains("There is a problem") && reply.body.contains("Add two of"),
        "{}",
        reply.body
    );
    let events = app.audit_since_last_look().await;
    assert_eq!((events.len(), events[0].outcome.as_str()), (1, "denied"));
});

on_both_backends!(
    a_shield_override_warns_needs_fresh_factors_alerts_the_team_and_lasts_one_view,
    demo_mode(),
    |app| {
        let child = a_child(app, true).await;
        let id = child.contactpoint_id.as_digits();
        let officer = app
            .user_with("police.officer", Role::Practitioner, &[], 1, true, |u| {
                u.shield_override = true
            })
            .await;
        let cookie = app.web_sign_in(&officer).await;
        app.audit_since_last_look().await;
        let ask = app.get(&format!("/children/{id}"), Some(&cookie)).await;
        assert!(
            ask.body.contains("starts an immediate investigation")
                && ask.body.contains("Override shielding"),
            "{}",
            ask.body
        );
        let csrf = ask.hidden("csrf").unwrap();
        let view = |fields: Vec<(&'static str, String)>| {
            let mut form = vec![
                ("csrf", csrf.clone()),
                ("reason", "safeguarding_concern".to_owned()),
            ];
            form.extend(fields);
            let path = format!("/children/{id}/view");
            let cookies = session(&cookie);
            async move {
                let borrowed: Vec<(&str, &str)> =
                    form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.post_form(&path, &cookies, &borrowed).await
            }
        };

        let plain = view(vec![]).await;
        assert_eq!(plain.status, StatusCode::OK);
        assert!(plain
            .body
            .contains("Shielded: contact the responsible local ContactPoint team"));
        assert!(!plain.body.contains("Castle Road"), "whereabouts hidden");
        app.audit_since_last_look().await;

        app.next_step();
        let unaccepted = view(vec![
            ("shield_override", "yes".into()),
            ("pin", officer.pin.clone()),
            ("otp", app.code(&officer)),
        ])
        .await;
        assert_eq!(unaccepted.status, StatusCode::BAD_REQUEST);
        assert!(unaccepted.body.contains("warning_accepted"));
        assert!(!unaccepted.body.contains("Castle Road"));

        app.next_step();
        let wrong_pin = view(vec![
            ("shield_override", "yes".into()),
            ("warning_accepted", "yes".into()),
            ("pin", "000000".into()),
            ("otp", app.code(&officer)),
        ])
        .await;
        assert_eq!(wrong_pin.status, StatusCode::BAD_REQUEST);
        assert!(!wrong_pin.body.contains("Castle Road"));
        let events = app.audit_since_last_look().await;
        assert!(
            events.iter().all(|e| e.action != "child_viewed"),
            "{events:?}"
        );

        app.next_step();
        let overridden = view(vec![
            ("shield_override", "yes".into()),
            ("warning_accepted", "yes".into()),
            ("pin", officer.pin.clone()),
            ("otp", app.code(&officer)),
        ])
        .await;
        assert_eq!(overridden.status, StatusCode::OK, "{}", overridden.body);
        assert!(overridden
            .body
            .contains("Shield override in force for this view only"));
        assert!(
            overridden.body.contains("Castle Road"),
            "hidden details shown"
        );
        let events = app.audit_since_last_look().await;
        let viewed: Vec<_> = events
            .iter()
            .filter(|e| e.action == "child_viewed")
            .collect();
        assert_eq!(viewed.len(), 1);
        assert!(viewed[0]
            .details
            .contains("\"projection\":\"shield_override\""));
        assert!(viewed[0]
            .details
            .contains("\"shield_override\":\"requested\""));

        let again = view(vec![]).await;
        assert!(!again.body.contains("Castle Road"), "for that view only");
        app.audit_since_last_look().await;

        // The responsible team sees the alert in its queue and acknowledges it.
        let team = app
            .user_with(
                "bedford.team",
                Role::LocalTeam,
                &[Duty::Helpdesk],
                0,
                true,
                |_| {},
            )
            .await;
        let team_cookie = app.web_sign_in(&team).await;
        let queue = app.get("/admin/shield-alerts", Some(&team_cookie)).await;
        assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
        assert!(queue.body.contains("1 to deal with"), "{}", queue.body);
        assert!(queue.body.contains(&id) && queue.body.contains("police.officer"));
        assert!(queue.body.contains("safeguarding_concern"));
        let action = queue
            .body
            .split("action=\"")
            .find_map(|rest| {
                rest.split('"')
                    .next()
                    .filter(|a| a.ends_with("/acknowledge"))
            })
            .unwrap()
            .to_owned();
        let team_csrf = queue.hidden("csrf").unwrap();
        let ack = app
            .post_form(&action, &session(&team_cookie), &[("csrf", &team_csrf)])
            .await;
        assert_eq!(ack.status, StatusCode::SEE_OTHER, "{}", ack.body);
        let after = app.get("/admin/shield-alerts", Some(&team_cookie)).await;
        assert!(after.body.contains("0 to deal with") && after.body.contains("Acknowledged"));
        let actions: Vec<String> = app
            .audit_since_last_look()
            .await
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(
            actions.contains(&"shield_alerts_read".to_owned())
                && actions.contains(&"shield_alert_acknowledged".to_owned()),
            "{actions:?}"
        );

        // Another authority's team sees nothing of it.
        let barking = app
            .user_with(
                "barking.team",
                Role::LocalTeam,
                &[Duty::Helpdesk],
                2,
                true,
                |_| {},
            )
            .await;
        let barking_cookie = app.web_sign_in(&barking).await;
        let theirs = app.get("/admin/shield-alerts", Some(&barking_cookie)).await;
        assert!(theirs.body.contains("0 to deal with") && !theirs.body.contains(&id));
    }
);

on_both_backends!(a_practitioner_without_the_override_cannot_use_it, |app| {
    let child = a_child(app, true).await;
    let id = child.contactpoint_id.as_digits();
    let user = app.user("no.override", Role::Practitioner, &[], 0).await;
    let cookie = app.web_sign_in(&user).await;
    let ask = app.get(&format!("/children/{id}"), Some(&cookie)).await;
    let csrf = ask.hidden("csrf").unwrap();
    app.audit_since_last_look().await;
    let reply = app
        .post_form(
            &format!("/children/{id}/view"),
            &session(&cookie),
            &[
                ("csrf", &csrf),
                ("reason", "safeguarding_concern"),
                ("shield_override", "yes"),
                ("warning_accepted", "yes"),
                ("pin", &user.pin),
                ("otp", "123456"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(!reply.body.contains("Castle Road"));
    assert!(app.audit_since_last_look().await.is_empty());
});
