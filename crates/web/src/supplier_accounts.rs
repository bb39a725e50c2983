//! Suppliers' system accounts, for the national administrators, shared by the pages and the
//! API: the list, registering an account (its secret shown once, only its digest kept) and
//! revoking one. A supplier's credential lets a system change children's records anywhere in
//! the country, so the one policy keeps this to national administrators, every change needs
//! the PIN and a new code, and each is recorded in the same transaction as the change.

use crate::identity_service::{event, require_fresh, FreshFactors, ServiceError};
use crate::session::SignedIn;
use crate::AppState;
use contactpoint_domain::{authorize, Action, FieldError, Permit, SourceCode, SystemName, Target};
use contactpoint_storage::{NewSupplierAccount, StorageError, SupplierAccountListing};

/// What registering an account takes.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SupplierRegistration {
    /// The source the system sends records for, one of the directory's suppliers.
    pub source: String,
    /// Who the system belongs to, e.g. "General Register Office".
    pub name: String,
    /// A record from this source that matches no child creates one (otherwise it waits for
    /// the local team).
    pub authoritative: bool,
    pub pin: String,
    pub otp: String,
}

/// A new account's credential: the secret is given here once and never again.
#[derive(Debug)]
pub struct RegisteredSupplier {
    pub id: i64,
    pub source: SourceCode,
    pub client_id: String,
    pub client_secret: String,
}

fn permit(who: &SignedIn) -> Result<Permit, ServiceError> {
    Ok(authorize(
        &who.actor(),
        Action::ManageSupplierAccounts,
        &Target::NoLocalAuthority,
    )?)
}

/// Every supplier's system account, standing ones first.
pub async fn accounts(
    state: &AppState,
    who: &SignedIn,
) -> Result<Vec<SupplierAccountListing>, ServiceError> {
    let permit = permit(who)?;
    Ok(state.store.supplier_accounts(&permit).await?)
}

/// Registers a system account for one source, after the PIN and a new code.
pub async fn register(
    state: &AppState,
    who: &SignedIn,
    request: &SupplierRegistration,
) -> Result<RegisteredSupplier, ServiceError> {
    let permit = permit(who)?;
    let source = state.store.known_source("source", &request.source).await?;
    let name = SystemName::parse_field("name", &request.name)?;
    require_fresh(
        state,
        who,
        &request.pin,
        &request.otp,
        "supplier_account_registered",
    )
    .await?;
    let client_id = contactpoint_auth::new_client_id("supplier");
    let client_secret = contactpoint_auth::new_token();
    let audit = event(state, who, "supplier_account_registered")
        .with("source", source.as_str())
        .with("client_id", &client_id)
        .with("name", name.as_str())
        .with("authoritative", request.authoritative);
    let id = state
        .store
        .register_supplier_account(
            &permit,
            &NewSupplierAccount {
                source: source.clone(),
                name,
                client_id: client_id.clone(),
                secret_digest: contactpoint_auth::token_digest(&client_secret),
                authoritative: request.authoritative,
            },
            &audit,
        )
        .await?;
    Ok(RegisteredSupplier {
        id,
        source,
        client_id,
        client_secret,
    })
}

/// Revokes a standing account, after the PIN and a new code: its credential is refused from
/// then on. An unknown or already revoked client ID is refused naming `client_id`.
pub async fn revoke(
    state: &AppState,
    who: &SignedIn,
    client_id: &str,
    factors: &FreshFactors,
) -> Result<(), ServiceError> {
    let permit = permit(who)?;
    let not_standing = || {
        FieldError::new(
            "client_id",
            "the client ID of a supplier's system account that is still standing",
        )
    };
    // Named before the code is spent.
    match state.store.supplier_account(client_id).await {
        Ok(account) if !account.revoked => {}
        Ok(_) | Err(StorageError::NotFound { .. }) => return Err(not_standing().into()),
        Err(other) => return Err(other.into()),
    }
    require_fresh(
        state,
        who,
        &factors.pin,
        &factors.otp,
        "supplier_account_revoked",
    )
    .await?;
    let audit = event(state, who, "supplier_account_revoked").with("client_id", client_id);
    match state
        .store
        .revoke_supplier_account(&permit, client_id, &audit)
        .await
    {
        Err(StorageError::NotFound { .. }) => Err(not_standing().into()),
        other => Ok(other?),
    }
}
