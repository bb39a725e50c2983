//! Turning the local team's decision on an exception into what storage applies: the values
//! of the waiting record that win over the chosen child's, or a new child made from it
//! (shielded when the record was held because it may be a shielded child).

use crate::import::named_services;
use crate::place::{changes, new_child, PlaceSettings};
use contactpoint_storage::supply::{Resolution, SupplyExceptionRecord};
use contactpoint_supply::child_from_json;

/// What the team decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The record is this candidate (its database id).
    LinkTo(i64),
    /// The record is a child the directory does not have.
    Create,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("child: the child chosen must be one of the exception's candidates")]
    NotACandidate,
    #[error("decision: a child cannot be made from this record: it needs a given name, a family name and a date of birth; link it to a child instead")]
    CannotCreate,
    #[error("decision: the exception is already resolved")]
    AlreadyResolved,
    #[error("record: the waiting record no longer reads back ({0})")]
    Unreadable(String),
}

/// The resolution for `exception` (read with its candidates) under `decision`.
pub fn resolution(
    exception: &SupplyExceptionRecord,
    decision: Decision,
) -> Result<Resolution, ResolveError> {
    if exception.resolution.is_some() {
        return Err(ResolveError::AlreadyResolved);
    }
    // The values were supplied when the record arrived: precedence judges them as of then.
    let settings = PlaceSettings::new(exception.source.clone(), true, exception.raised_at);
    let record = child_from_json(&exception.record, exception.raised_at.date_naive())
        .map_err(|r| ResolveError::Unreadable(format!("{}: {}", r.field, r.reason)))?;
    match decision {
        Decision::LinkTo(child_id) => {
            let (candidate, _) = exception
                .candidates
                .iter()
                .find(|(c, _)| c.child_id == child_id)
                .ok_or(ResolveError::NotACandidate)?;
            Ok(Resolution::Link {
                child_id,
                changes: changes(&record, candidate, None, &settings),
                named_services: named_services(&record, &exception.source),
            })
        }
        Decision::Create => {
            let mut child = new_child(&record, exception.local_authority.as_ref(), &settings)
                .map_err(|_| ResolveError::CannotCreate)?;
            child.shielded = exception.shielding_hold;
            Ok(Resolution::Create {
                child: Box::new(child),
                named_services: named_services(&record, &exception.source),
            })
        }
    }
}
