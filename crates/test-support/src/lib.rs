//! What tests share: a fresh database on either backend, a fixed clock and builders for
//! records that pass every rule.

mod backends;
mod database;
mod records;

/// The storage crate, for the paths [`both_backends!`] expands to.
#[doc(hidden)]
pub use contactpoint_storage as storage;

pub use database::{
    count_rows, execute_sql, indexed_search_keys, load_sample_catalogue, postgres_url, TestDatabase,
};
pub use records::{
    sample_catalogue, sample_child, sample_local_authority, test_now, test_today,
    SAMPLE_GP_PRACTICE_CODE, SAMPLE_SCHOOL_URN,
};
