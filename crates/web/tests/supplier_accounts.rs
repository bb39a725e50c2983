//! National administrators register and revoke suppliers' system accounts on the pages and
//! over the API: the secret is shown once and never kept, the credential works at once and
//! is refused once revoked, each change needs the PIN and a new code and is audited, and
//! nobody else reaches any of it.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use contactpoint_domain::{Duty, Permit, Role, SystemTask};
use serde_json::json;

const BIRTHS: &str = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-1,Amelia,Smith-Adeyemi,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD
";

/// A national administrator; a demonstration account, so a code from the token stands in for
/// the security key the role signs in with.
async fn national_admin(app: &TestApp) -> TestUser {
    app.user_with(
        "national.admin",
        Role::NationalAdministrator,
        &[],
        1,
        true,
        |_| {},
    )
    .await
}

/// Sends the births file as the supplier's system with this credential.
async fn supply_births(app: &TestApp, client_id: &str, secret: &str) -> Reply {
    let credential = data_encoding::BASE64.encode(format!("{client_id}:{secret}").as_bytes());
    let request = Request::post("/api/supply/children")
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::AUTHORIZATION, format!("Basic {credential}"))
        .body(Body::from(BIRTHS))
        .unwrap();
    app.send(request).await
}

/// The text of the element with this id (`<code id="...">text</code>`).
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!(r#"id="{id}">"#))? + id.len() + 6;
    let end = html[start..].find('<')? + start;
    Some(html[start..end].to_owned())
}

async fn accounts_listed(app: &TestApp) -> Vec<contactpoint_storage::SupplierAccountListing> {
    app.db
        .store
        .supplier_accounts(&Permit::system_bypass(SystemTask::TestFixture))
        .await
        .unwrap()
}

on_both_backends!(
    a_national_administrator_registers_a_suppliers_system_on_the_page_and_it_sends_records_until_revoked,
    demo_mode(),
    |app| {
        let admin = national_admin(app).await;
        let cookie = app.web_sign_in(&admin).await;
        let cookies = format!("cp_session={cookie}");
        let account = app.get("/account", Some(&cookie)).await;
        assert!(account.body.contains(r#"href="/admin/supplier-accounts""#));
        let list = app.get("/admin/supplier-accounts", Some(&cookie)).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert!(list.body.contains("No supplier's system has an account yet"));
        let csrf = list.hidden("csrf").unwrap();
        app.audit_since_last_look().await;

        app.next_step();
        let registered = app
            .post_form(
                "/admin/supplier-accounts",
                &cookies,
                &[
                    ("csrf", &csrf),
                    ("source", "birth_registration"),
                    ("name", "  General   Register Office "),
                    ("authoritative", "yes"),
                    ("pin", &admin.pin),
                    ("otp", &app.code(&admin)),
                ],
            )
            .await;
        assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);
        let client_id = element_text(&registered.body, "client-id").unwrap();
        let secret = element_text(&registered.body, "client-secret").unwrap();
        assert!(client_id.starts_with("supplier-"), "{client_id}");
        assert!(secret.len() >= 40);

        let entries = app.audit_since_last_look().await;
        let entry = entries
            .iter()
            .find(|e| e.action == "supplier_account_registered")
            .expect("the registration is audited");
        assert_eq!((entry.outcome.as_str(), entry.actor_user_id), ("success", Some(admin.id)));
        let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
        assert_eq!(details["source"], "birth_registration");
        assert_eq!(details["client_id"], client_id.as_str());
        assert_eq!(details["name"], "General Register Office");
        assert_eq!(details["authoritative"], "true");
        assert!(entries.iter().all(|e| !e.details.contains(&secret)));

        // The credential works at once, for its source.
        let sent = supply_births(app, &client_id, &secret).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        assert_eq!(sent.json()["source"], "birth_registration");
        app.audit_since_last_look().await;

        let list = app.get("/admin/supplier-accounts", Some(&cookie)).await;
        assert!(list.body.contains(&client_id));
        assert!(list.body.contains("General Register Office"));
        assert!(list.body.contains("standing"));
        assert!(!list.body.contains(&secret), "the secret is shown only once");

        app.next_step();
        let revoked = app
            .post_form(
                &format!("/admin/supplier-accounts/{client_id}/revoke"),
                &cookies,
                &[("csrf", &csrf), ("pin", &admin.pin), ("otp", &app.code(&admin))],
            )
            .await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
        let entries = app.audit_since_last_look().await;
        let entry = entries
            .iter()
            .find(|e| e.action == "supplier_account_revoked")
            .expect("the revocation is audited");
        assert!(entry.details.contains(&client_id));

        let refused = supply_births(app, &client_id, &secret).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
        let list = app.get("/admin/supplier-accounts", Some(&cookie)).await;
        assert!(list.body.contains("revoked"));
        assert!(!list.body.contains(&format!("/admin/supplier-accounts/{client_id}/revoke")));
    }
);

on_both_backends!(
    suppliers_accounts_are_for_national_administrators_only_and_each_change_needs_the_pin_and_a_new_code,
    demo_mode(),
    |app| {
        let team = app
            .user_with(
                "team.all.duties",
                Role::LocalTeam,
                &[Duty::UserAdministration, Duty::DataManagement],
                0,
                true,
                |_| {},
            )
            .await;
        let token = app.api_sign_in(&team).await;
        let list = app.api("GET", "/api/supplier-accounts", Some(&token), None).await;
        assert_eq!(list.status, StatusCode::FORBIDDEN);
        app.next_step();
        let body = json!({"source": "birth_registration", "name": "General Register Office", "authoritative": true, "pin": team.pin, "otp": app.code(&team)});
        let refused = app
            .api("POST", "/api/supplier-accounts", Some(&token), Some(body))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let page = app
            .get("/admin/supplier-accounts", Some(&app.web_sign_in(&team).await))
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(accounts_listed(app).await.is_empty());
        app.audit_since_last_look().await;

        let admin = national_admin(app).await;
        app.next_step();
        let token = app.api_sign_in(&admin).await;
        app.audit_since_last_look().await;
        let register = |source: &str, name: &str, pin: &str, otp: String| {
            json!({"source": source, "name": name, "authoritative": false, "pin": pin, "otp": otp})
        };
        // Bad fields are named, and refused before the factors are spent.
        for (source, name, field) in [
            ("the_post_office", "Royal Mail", "source"),
            ("", "Royal Mail", "source"),
            ("schools_census", "DfE <census>", "name"),
            ("schools_census", "Df", "name"),
        ] {
            let reply = app
                .api(
                    "POST",
                    "/api/supplier-accounts",
                    Some(&token),
                    Some(register(source, name, &admin.pin, app.code(&admin))),
                )
                .await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{source} {name}");
            let message = reply.json()["error"]["message"].as_str().unwrap().to_owned();
            assert!(message.starts_with(&format!("{field}: ")), "{message}");
        }
        let wrong_pin = app
            .api(
                "POST",
                "/api/supplier-accounts",
                Some(&token),
                Some(register("schools_census", "Department for Education", "000000", app.code(&admin))),
            )
            .await;
        assert_eq!(wrong_pin.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong_pin.json()["error"]["code"], "fresh_authentication_failed");
        assert!(accounts_listed(app).await.is_empty(), "nothing registered");
        let audited = app.audited().await;
        assert!(audited.contains(&("fresh_authentication".into(), "failure".into())), "{audited:?}");

        app.next_step();
        let created = app
            .api(
                "POST",
                "/api/supplier-accounts",
                Some(&token),
                Some(register("schools_census", "Department for Education", &admin.pin, app.code(&admin))),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let created = created.json();
        let client_id = created["client_id"].as_str().unwrap().to_owned();
        let secret = created["client_secret"].as_str().unwrap().to_owned();
        assert_eq!(created["source"], "schools_census");
        assert_eq!(
            app.audited().await,
            vec![("supplier_account_registered".to_owned(), "success".to_owned())]
        );

        let list = app.api("GET", "/api/supplier-accounts", Some(&token), None).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(!list.body.contains(&secret));
        assert!(!list.body.contains(&contactpoint_auth::token_digest(&secret)));
        let accounts = list.json()["accounts"].as_array().unwrap().clone();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0]["client_id"], client_id.as_str());
        assert_eq!(accounts[0]["name"], "Department for Education");
        assert_eq!(accounts[0]["authoritative"], false);
        assert!(accounts[0]["revoked_at"].is_null());

        app.next_step();
        let factors = json!({"pin": admin.pin, "otp": app.code(&admin)});
        let unknown = app
            .api("POST", "/api/supplier-accounts/supplier-nobody/revoke", Some(&token), Some(factors))
            .await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert!(unknown.json()["error"]["message"].as_str().unwrap().starts_with("client_id: "));

        app.next_step();
        let factors = json!({"pin": admin.pin, "otp": app.code(&admin)});
        let revoked = app
            .api("POST", &format!("/api/supplier-accounts/{client_id}/revoke"), Some(&token), Some(factors))
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
        assert_eq!(
            app.audited().await,
            vec![("supplier_account_revoked".to_owned(), "success".to_owned())]
        );
        let listed = accounts_listed(app).await;
        assert!(listed[0].revoked_at.is_some());
        let refused = supply_births(app, &client_id, &secret).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    }
);
