//! `contactpoint supplier register` and `revoke` as an operator runs them: the secret is
//! printed once and only its digest kept, and a revoked account is refused.

use contactpoint_storage::Backend;
use contactpoint_test_support::TestDatabase;
use std::process::{Command, Output};

fn contactpoint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_contactpoint"))
        .args(args)
        .output()
        .unwrap()
}

fn printed(output: &Output, label: &str) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(label).map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("{label} is printed"))
}

async fn register_then_revoke(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        eprintln!("skipped on {}: no test database configured", backend.name());
        return;
    };
    let registered = contactpoint(&[
        "supplier",
        "register",
        "--database-url",
        &db.url,
        "--source",
        "schools_census",
        "--name",
        "Department for Education",
    ]);
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    let client_id = printed(&registered, "Client ID:");
    let secret = printed(&registered, "Secret:");
    let account = db.store.supplier_account(&client_id).await.unwrap();
    assert_eq!(account.source.as_str(), "schools_census");
    assert!(!account.authoritative && !account.revoked);
    assert_eq!(
        account.secret_digest,
        contactpoint_auth::token_digest(&secret)
    );
    assert_ne!(
        account.secret_digest, secret,
        "only a digest of the secret is kept"
    );

    let unknown = contactpoint(&[
        "supplier",
        "register",
        "--database-url",
        &db.url,
        "--source",
        "gossip",
        "--name",
        "Nobody at all",
    ]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--source"));

    let revoked = contactpoint(&[
        "supplier",
        "revoke",
        "--database-url",
        &db.url,
        "--client-id",
        &client_id,
    ]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert!(db.store.supplier_account(&client_id).await.unwrap().revoked);
    let again = contactpoint(&[
        "supplier",
        "revoke",
        "--database-url",
        &db.url,
        "--client-id",
        &client_id,
    ]);
    assert!(!again.status.success(), "an account is revoked once");
    assert!(String::from_utf8_lossy(&again.stderr).contains("--client-id"));
    let actions: Vec<String> = db
        .store
        .audit_events(
            &contactpoint_domain::Permit::system_bypass(
                contactpoint_domain::SystemTask::TestFixture,
            ),
            0,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["supplier_account_registered", "supplier_account_revoked"]
    );
    assert!(db.store.verify_audit_chain().await.unwrap().is_ok());
    db.drop_database().await;
}

#[tokio::test]
async fn an_operator_registers_a_suppliers_account_and_revokes_it_on_sqlite() {
    register_then_revoke(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_operator_registers_a_suppliers_account_and_revokes_it_on_postgres() {
    register_then_revoke(Backend::Postgres).await;
}
