//! Data supply put together (docs/SUPPLY.md, docs/MATCHING.md): a supplier's file read as a
//! stream by `contactpoint-supply`, each record matched by `contactpoint-matching` against
//! the children the search index reaches, and placed: linked to a child with the values that
//! win by precedence, created as a new child (authoritative sources only), or queued for the
//! local team. Storage applies each batch in one transaction with its audit entry.

mod ahead;
mod batches;
pub mod companions;
pub mod compare;
pub mod import;
pub mod involvements;
pub mod place;
pub mod resolve;

pub use compare::{side_by_side, Agreement, ComparedField};
pub use import::{
    digest, import_file_keeping, import_reader, import_reader_keeping, retry_every_source,
    retry_waiting, retry_waiting_keeping, FileReport, ImportError, ImportSettings, LoadCopy,
};
pub use involvements::{import_involvements, InvolvementReport};
pub use place::{place, probe_keys, NormalisedCandidates, PlaceSettings};
pub use resolve::{resolution, Decision, ResolveError};
