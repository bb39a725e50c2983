//! Supplied records as suppliers send them (docs/SUPPLY.md): CSV with a header row, or JSON
//! lines, read one row at a time so a file of any size needs constant memory. Each row is
//! checked once: it becomes a [`SuppliedChild`] or a [`Rejected`] that names its line, the
//! field and what would have been accepted. Nothing here matches or stores; it only reads.

mod child;
mod involvement;
mod read;

pub use child::{SuppliedChild, SuppliedParent, CHILD_COLUMNS};
pub use involvement::{ChildReference, SuppliedInvolvement, INVOLVEMENT_COLUMNS};
pub use read::{
    child_from_json, read_children, read_involvements, Format, Rejected, SupplyFileError,
};
