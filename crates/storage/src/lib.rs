//! ContactPoint's storage. One schema, two backends: SQLite (embedded, the default) and
//! PostgreSQL (production), picked by the database URL.
//!
//! Each query is written once, in `src/queries/`, and compiled for each backend: the files
//! there are included into `backend::sqlite` and `backend::postgres`, where the alias `Db`
//! names the concrete driver. A dialect branch is written only where the SQL really differs.
//! Methods that read protected data or write take a [`Permit`](contactpoint_domain::Permit).

pub mod audit_chain;
mod backend;
mod candidate_cache;
mod catalogue;
mod data_management;
mod error;
mod id_set;
mod identity;
mod rows;
mod search_index;
mod shield_alerts;
mod store;
mod store_identity;
mod supplier_accounts;
pub mod supply;

pub use candidate_cache::{CandidateCache, ChosenAhead};
pub use catalogue::{
    Catalogue, CatalogueIds, LocalAuthority, NewOrganisation, NewPractitioner, NewService,
};
pub use data_management::{ExceptionQueue, MergeOutcome, MergeRecord, MergeRequestRecord};
pub use error::StorageError;
pub use identity::{
    ApiClientRecord, NewSession, NewUser, OrganisationRecord, RegisteredKeyRow, SessionRecord,
    SignInRecord, StoredAuditEvent, UserRecord,
};
pub use search_index::{findable, CandidateLookup, FoundChild, SearchDecision};
pub use shield_alerts::{ChildAccess, NewShieldAlert, ShieldAlertRecord};
pub use store::{Backend, LoadReport, LocalAuthorityStats, SearchKeys, Store};
pub use supplier_accounts::{NewSupplierAccount, SupplierAccountListing, SupplierAccountRecord};

/// Migration file names per backend, for the test that keeps the two listings equal.
pub fn migration_names(backend: Backend) -> Vec<String> {
    let migrator = match backend {
        Backend::Sqlite => &backend::sqlite::MIGRATOR,
        Backend::Postgres => &backend::postgres::MIGRATOR,
    };
    migrator
        .iter()
        .map(|m| format!("{:04}_{}", m.version, m.description))
        .collect()
}
