//! Suppliers' system accounts, as storage keeps them.

use chrono::{DateTime, Utc};
use contactpoint_domain::{SourceCode, SystemName};

/// A supplier's system account, looked up by its client ID to check its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierAccountRecord {
    pub id: i64,
    pub source: SourceCode,
    pub name: String,
    pub client_id: String,
    pub secret_digest: String,
    pub authoritative: bool,
    pub revoked: bool,
}

/// What registering an account stores.
#[derive(Debug, Clone)]
pub struct NewSupplierAccount {
    pub source: SourceCode,
    pub name: SystemName,
    pub client_id: String,
    pub secret_digest: String,
    pub authoritative: bool,
}

/// A supplier's system account as the national administrators see it in their list: never
/// its secret's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierAccountListing {
    pub id: i64,
    pub source: SourceCode,
    pub name: String,
    pub client_id: String,
    pub authoritative: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}
