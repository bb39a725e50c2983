//! Suppliers' systems send their records through the API with their own credential: imported
//! exactly as the command line imports a file, for the account's one source, audited per
//! batch, idempotent, with every rejected row reported; a wrong, revoked or missing
//! credential is refused and recorded.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use contactpoint_domain::{AccessRoute, AuditEvent, Outcome, Permit, SourceCode, SystemTask};
use contactpoint_storage::NewSupplierAccount;
use contactpoint_test_support::execute_sql;

const BIRTHS: &str = "\
source_record_id,given_name,middle_names,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-1,Amelia,Rose,Smith-Adeyemi,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD
GRO-2,Tobias,,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT
GRO-3,Oliver,,Brennan,2016-13-11,M,8 High Street,Bedford,MK40 1AB
";

/// Registers a system account for `source`; returns its client ID and secret.
async fn account(app: &TestApp, source: &str, authoritative: bool) -> (String, String) {
    let client_id = format!("supplier-{source}");
    let secret = format!("{source}-secret-of-the-system");
    execute_sql(
        &app.db.store,
        "INSERT INTO postcode_districts (district, local_authority) VALUES \
         ('MK40', 'E06000055'), ('MK41', 'E06000055') ON CONFLICT DO NOTHING",
    )
    .await
    .unwrap();
    let audit = AuditEvent::new(
        contactpoint_test_support::test_now(),
        AccessRoute::System,
        "supplier_account_registered",
        Outcome::Success,
    );
    app.db
        .store
        .register_supplier_account(
            &Permit::system_bypass(SystemTask::TestFixture),
            &NewSupplierAccount {
                source: SourceCode::parse(source).unwrap(),
                name: contactpoint_domain::SystemName::parse_field(
                    "name",
                    "General Register Office",
                )
                .unwrap(),
                client_id: client_id.clone(),
                secret_digest: contactpoint_auth::token_digest(&secret),
                authoritative,
            },
            &audit,
        )
        .await
        .unwrap();
    app.audit_since_last_look().await;
    (client_id, secret)
}

async fn send(
    app: &TestApp,
    path: &str,
    credential: Option<(&str, &str)>,
    content_type: &str,
    body: &str,
) -> Reply {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, content_type);
    if let Some((id, secret)) = credential {
        request = request.header(
            header::AUTHORIZATION,
            format!(
                "Basic {}",
                data_encoding::BASE64.encode(format!("{id}:{secret}").as_bytes())
            ),
        );
    }
    app.send(request.body(Body::from(body.to_owned())).unwrap())
        .await
}

on_both_backends!(
    a_suppliers_system_sends_a_file_and_hears_what_became_of_every_row,
    |app| {
        let (id, secret) = account(app, "birth_registration", true).await;
        let reply = send(
            app,
            "/api/supply/children",
            Some((&id, &secret)),
            "text/csv",
            BIRTHS,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let report = reply.json();
        assert_eq!(report["source"], "birth_registration");
        assert_eq!(
            (report["rows"].as_u64(), report["created"].as_u64()),
            (Some(3), Some(2))
        );
        let rejected = &report["rejected"][0];
        assert_eq!(
            (rejected["line"].as_u64(), rejected["field"].as_str()),
            (Some(4), Some("date_of_birth"))
        );
        assert_eq!(rejected["source_record_id"], "GRO-3");
        // Birth registration names no school or GP practice.
        assert_eq!(
            (
                report["services_started"].as_u64(),
                report["services_unknown"].as_u64()
            ),
            (Some(0), Some(0))
        );

        let entries = app.audit_since_last_look().await;
        let batch = entries
            .iter()
            .find(|e| e.action == "supply_batch_imported")
            .expect("the batch is audited");
        assert_eq!(batch.route, "api");
        let details: serde_json::Value = serde_json::from_str(&batch.details).unwrap();
        assert_eq!(details["source"], "birth_registration");
        assert!(
            details["supplier_account"].is_string() || details["supplier_account"].is_number(),
            "{details}"
        );
        assert!(
            !batch.details.contains("Amelia"),
            "no child is named on the trail"
        );

        let again = send(
            app,
            "/api/supply/children",
            Some((&id, &secret)),
            "text/csv",
            BIRTHS,
        )
        .await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(
            (
                again.json()["unchanged"].as_u64(),
                again.json()["created"].as_u64()
            ),
            (Some(2), Some(0)),
            "the same file again changes nothing"
        );
        assert!(
            !app.audited()
                .await
                .iter()
                .any(|(a, _)| a == "supply_batch_imported"),
            "a batch that changed nothing leaves no entry"
        );

        let lines = r#"{"source_record_id": "GRO-4", "given_name": "Keziah", "family_name": "Ashworth-Mbeki", "date_of_birth": "2012-01-19", "gender": "F", "postcode": "MK40 2AA"}"#;
        let json = send(
            app,
            "/api/supply/children",
            Some((&id, &secret)),
            "application/x-ndjson",
            lines,
        )
        .await;
        assert_eq!(json.status, StatusCode::OK, "{}", json.body);
        assert_eq!(json.json()["created"], 1);
    }
);

on_both_backends!(
    a_wrong_revoked_or_missing_credential_is_refused_and_recorded,
    |app| {
        let (id, secret) = account(app, "schools_census", false).await;
        for credential in [
            Some((id.as_str(), "not-the-secret")),
            Some(("supplier-nobody", secret.as_str())),
        ] {
            let reply = send(app, "/api/supply/children", credential, "text/csv", BIRTHS).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
            assert_eq!(reply.json()["error"]["code"], "supplier_credential_refused");
            let entries = app.audit_since_last_look().await;
            assert_eq!(entries.len(), 1, "the refusal is recorded");
            assert_eq!(
                (entries[0].action.as_str(), entries[0].outcome.as_str()),
                ("supply_refused", "failure")
            );
            assert!(
                !entries[0].details.contains("secret"),
                "the secret is never written down"
            );
        }
        let missing = send(app, "/api/supply/children", None, "text/csv", BIRTHS).await;
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);

        let audit = AuditEvent::new(
            contactpoint_test_support::test_now(),
            AccessRoute::System,
            "supplier_account_revoked",
            Outcome::Success,
        );
        app.db
            .store
            .revoke_supplier_account(&Permit::system_bypass(SystemTask::TestFixture), &id, &audit)
            .await
            .unwrap();
        let revoked = send(
            app,
            "/api/supply/children",
            Some((&id, &secret)),
            "text/csv",
            BIRTHS,
        )
        .await;
        assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
        let links = app
            .db
            .store
            .supply_links(
                &Permit::system_bypass(SystemTask::TestFixture),
                &SourceCode::parse("schools_census").unwrap(),
                None,
                10,
            )
            .await
            .unwrap();
        assert!(links.is_empty(), "nothing refused was imported");
    }
);

on_both_backends!(
    a_revoked_systems_waiting_records_are_linked_later_but_never_create_a_child,
    |app| {
        let store = &app.db.store;
        let fixture = Permit::system_bypass(SystemTask::TestFixture);
        // Two systems that may create children each send a child born in a district no
        // authority is known for yet: both records wait for somewhere to place the child.
        let (births, births_secret) = account(app, "birth_registration", true).await;
        let (nhs, nhs_secret) = account(app, "nhs_demographics", true).await;
        for (id, secret, row) in [
            (
                &births,
                &births_secret,
                "GRO-8,Ada,Quayle,2016-12-10,F,1 Quay Street,Poole,BH15 1HJ",
            ),
            (
                &nhs,
                &nhs_secret,
                "9434765919,Idris,Penhallow,2017-03-02,M,5 Quay Street,Poole,BH15 1HJ",
            ),
        ] {
            let body = format!(
                "source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode\n{row}\n"
            );
            let reply = send(
                app,
                "/api/supply/children",
                Some((id, secret)),
                "text/csv",
                &body,
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.json()["exceptions"], 1, "{}", reply.body);
        }
        let revoked = AuditEvent::new(
            contactpoint_test_support::test_now(),
            AccessRoute::System,
            "supplier_account_revoked",
            Outcome::Success,
        );
        store
            .revoke_supplier_account(&fixture, &nhs, &revoked)
            .await
            .unwrap();
        execute_sql(
            store,
            "INSERT INTO postcode_districts (district, local_authority) VALUES ('BH15', 'E06000055')",
        )
        .await
        .unwrap();

        let passes = contactpoint_intake::retry_every_source(
            store,
            &fixture,
            contactpoint_test_support::test_now(),
        )
        .await
        .unwrap();
        let of = |source: &str| {
            passes
                .iter()
                .find(|(s, _)| s.as_str() == source)
                .map(|(_, report)| (report.outcome.created, report.outcome.exceptions))
        };
        assert_eq!(
            of("birth_registration"),
            Some((1, 0)),
            "the register may still create: {passes:?}"
        );
        assert_eq!(
            of("nhs_demographics"),
            Some((0, 1)),
            "a revoked system may not: {passes:?}"
        );
        use contactpoint_storage::supply::{SupplyLink, SupplyStatus};
        // Its status, and whether it is on a child.
        let placed = |link: SupplyLink| (link.status, link.contactpoint_id.is_some());
        assert_eq!(
            placed(link_of(app, "birth_registration", "GRO-8").await),
            (SupplyStatus::Created, true)
        );
        assert_eq!(
            placed(link_of(app, "nhs_demographics", "9434765919").await),
            (SupplyStatus::Exception, false)
        );
        let waiting = store
            .supply_exceptions(
                &fixture,
                contactpoint_storage::ExceptionQueue::Every,
                false,
                &AuditEvent::new(
                    contactpoint_test_support::test_now(),
                    AccessRoute::System,
                    "supply_exceptions_read",
                    Outcome::Success,
                ),
            )
            .await
            .unwrap();
        assert_eq!(waiting.len(), 1, "{waiting:?}");
        assert_eq!(
            waiting[0].reason,
            contactpoint_storage::supply::ExceptionReason::NoMatchFromNonAuthoritativeSource,
            "the team sees why it waits on"
        );

        // Once the register brings Idris in, his waiting record is linked to him.
        let register = "source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode\n\
            GRO-9,Idris,Penhallow,2017-03-02,M,5 Quay Street,Poole,BH15 1HJ\n";
        let reply = send(
            app,
            "/api/supply/children",
            Some((&births, &births_secret)),
            "text/csv",
            register,
        )
        .await;
        assert_eq!(reply.json()["created"], 1, "{}", reply.body);
        contactpoint_intake::retry_every_source(
            store,
            &fixture,
            contactpoint_test_support::test_now(),
        )
        .await
        .unwrap();
        assert_eq!(
            placed(link_of(app, "nhs_demographics", "9434765919").await),
            (SupplyStatus::Linked, true)
        );
        assert!(store.verify_audit_chain().await.unwrap().is_ok());
    }
);

on_both_backends!(
    a_body_that_cannot_be_read_is_refused_whole_with_what_would_be_accepted,
    |app| {
        let (id, secret) = account(app, "nhs_demographics", true).await;
        let unknown_type = send(
            app,
            "/api/supply/children",
            Some((&id, &secret)),
            "application/pdf",
            BIRTHS,
        )
        .await;
        assert_eq!(unknown_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(unknown_type.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Content-Type"));
        let no_identifier = send(
            app,
            "/api/supply/children",
            Some((&id, &secret)),
            "text/csv",
            "given_name,family_name\nAmelia,Smith\n",
        )
        .await;
        assert_eq!(no_identifier.status, StatusCode::BAD_REQUEST);
        assert_eq!(no_identifier.json()["error"]["code"], "unreadable_file");
        assert!(no_identifier.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("source_record_id"));
        let links = app
            .db
            .store
            .supply_links(
                &Permit::system_bypass(SystemTask::TestFixture),
                &SourceCode::parse("nhs_demographics").unwrap(),
                None,
                10,
            )
            .await
            .unwrap();
        assert!(links.is_empty());
    }
);

on_both_backends!(
    a_local_system_sends_involvements_for_the_children_it_supplied,
    |app| {
        load_sample_catalogue(app).await;
        let (id, secret) = account(app, "local_systems", false).await;
        let births = send(
            app,
            "/api/supply/children",
            Some((&id, &secret)),
            "text/csv",
            BIRTHS,
        )
        .await;
        assert_eq!(births.status, StatusCode::OK, "{}", births.body);
        assert_eq!(
            births.json()["exceptions"],
            2,
            "a local system creates no child: {}",
            births.body
        );
        let involvements = "\
source_record_id,child_source_record_id,service_reference,started_on,lead_professional
INV-1,GRO-1,100001,2019-09-04,N
INV-2,GRO-9,100001,2019-09-04,N
";
        let reply = send(
            app,
            "/api/supply/involvements",
            Some((&id, &secret)),
            "text/csv",
            involvements,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let report = reply.json();
        assert_eq!(report["rows"], 2);
        assert_eq!(report["rejected"].as_array().unwrap().len(), 2, "{report}");
        assert!(report["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["field"] == "child_source_record_id"));
    }
);
