//! What a search reads: the keys a child is indexed under (derived from the record with
//! `contactpoint_matching::search`) and the candidates a lookup reaches.

use contactpoint_domain::search::SearchOutcome;
use contactpoint_domain::{AddressState, AuditEvent, ChildRecord, ContactPointId, Gender};
use contactpoint_matching::search::Findable;

/// How a search reaches its candidates.
#[derive(Debug, Clone)]
pub enum CandidateLookup {
    /// The one child with this ContactPoint ID.
    ById(ContactPointId),
    /// Every child indexed under any of these keys.
    ByKeys(Vec<i64>),
    /// The children with these database ids (to rebuild their keys).
    ByChildIds(Vec<i64>),
}

/// A child a lookup reached, with what a search scores and shows.
#[derive(Debug, Clone)]
pub struct FoundChild {
    pub contactpoint_id: ContactPointId,
    pub gender: Gender,
    pub date_of_birth: chrono::NaiveDate,
    /// The town of the current (or last known) address.
    pub town: Option<String>,
    pub shielded: bool,
    pub archived: bool,
    pub findable: Findable,
}

/// Turns the candidates into the outcome and the audit entry that records it; run inside
/// the transaction that reads them.
pub type SearchDecision<'a> = dyn Fn(Vec<FoundChild>) -> (SearchOutcome, AuditEvent) + Sync + 'a;

/// What the index needs of a record.
pub fn findable(record: &ChildRecord) -> Findable {
    let current = match &record.address {
        AddressState::Current { address } | AddressState::LastKnown { address } => {
            Some(address.postcode.as_str().to_owned())
        }
        AddressState::NoKnownAddress | AddressState::LeftEngland { .. } => None,
    };
    Findable {
        given_name: record.given_name.as_str().to_owned(),
        middle_names: record.middle_names.as_ref().map(|m| m.as_str().to_owned()),
        family_name: record.family_name.as_str().to_owned(),
        former_given_names: record
            .former_names
            .iter()
            .filter_map(|f| f.given_name.as_ref().map(|g| g.as_str().to_owned()))
            .collect(),
        former_family_names: record
            .former_names
            .iter()
            .map(|f| f.family_name.as_str().to_owned())
            .collect(),
        date_of_birth: Some(record.date_of_birth),
        gender: record.gender.code().to_owned(),
        current_postcode: current,
        earlier_postcodes: record
            .address_history
            .iter()
            .map(|h| h.address.postcode.as_str().to_owned())
            .collect(),
    }
}
