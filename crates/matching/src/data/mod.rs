//! Name-variant tables: short forms and nicknames, and spellings people interchange.
mod variants;
pub use variants::{NICKNAMES, SPELLING_VARIANTS};
