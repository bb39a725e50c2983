//! Tolerant matching of the details people give about a child: names folded to plain
//! letters, sound-alike keys (Double Metaphone), nickname and spelling-variant groups, date
//! of birth variants (day and month swapped, one digit wrong), postcode parts, and a
//! similarity score from 0 to 1. Pure: no I/O, no clock.

pub mod data;
mod dates;
pub mod linkage;
mod names;
mod postcodes;
pub mod search;

pub use dates::{date_variants, dates_similarity};
pub use names::{compact, fold, name_similarity, name_tokens, phonetic_keys, NameGroups};
pub use postcodes::{postcode_similarity, PostcodeParts};
