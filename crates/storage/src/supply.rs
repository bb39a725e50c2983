//! What an import stores: each supplied record's identity and digest, the children a record
//! might be, and what the caller decided to make of it. The deciding is done outside storage
//! (by the `intake` crate); storage reads the candidates and applies the decision in the same
//! transaction, so a batch lands whole or not at all.

use chrono::NaiveDate;
use contactpoint_domain::{
    child::ChildProvenance, Address, AuditEvent, ChildRecord, ContactPointId, FormerName, Gender,
    LocalAuthorityCode, ParentCarer, Provenance, SourceCode,
};

/// What became of a supplied record, as `supply links` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupplyStatus {
    Linked,
    Created,
    Exception,
    Rejected,
}

impl SupplyStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Linked => "linked",
            Self::Created => "created",
            Self::Exception => "exception",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Linked, Self::Created, Self::Exception, Self::Rejected]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// One valid supplied record of a batch, as storage needs it.
#[derive(Debug, Clone)]
pub struct IncomingRecord {
    pub source_record_id: String,
    /// SHA-256 (hex) of the record's values: the same digest again means nothing changed.
    pub digest: String,
    /// The search-index keys that reach the children this record might be.
    pub probe_keys: Vec<i64>,
    /// The district of the supplied postcode, to place a new child.
    pub postcode_district: Option<String>,
    /// The national references of the child's school and GP practice: where a new child is
    /// placed when the postcode places it nowhere.
    pub service_references: Vec<String>,
    /// The school and GP practice this source may name for the child (by precedence): once
    /// the record is linked or created, the child is involved with each, and an involvement
    /// of the same kind this source named before ends.
    pub named_services: Vec<NamedService>,
    /// The children its keys reached in the load's copy when its batch was scored ahead,
    /// chosen again as it is placed only if the copy has filed a child under one of its keys
    /// or taken one from them since. None when the batch was not scored ahead.
    pub chosen_ahead: Option<crate::ChosenAhead>,
}

/// A school or GP practice a supplied record names, by its national reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedService {
    pub kind: NamedServiceKind,
    pub reference: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedServiceKind {
    School,
    GpPractice,
}

impl NamedServiceKind {
    /// Whether a service of `category` is of this kind (by the domain's universal services).
    pub fn includes(self, category: contactpoint_domain::ServiceCategory) -> bool {
        match self {
            Self::School => category.is_school(),
            Self::GpPractice => category == contactpoint_domain::ServiceCategory::GpPractice,
        }
    }
}

/// A child a supplied record might be, with what matching and precedence need.
#[derive(Debug, Clone)]
pub struct LinkCandidate {
    pub child_id: i64,
    pub contactpoint_id: ContactPointId,
    pub given_name: String,
    pub middle_names: Option<String>,
    pub family_name: String,
    pub former_family_names: Vec<String>,
    /// The given names recorded with former names (not compared: the search index files the
    /// child under their initials).
    pub former_given_names: Vec<String>,
    /// The postcodes of the addresses before the current one (not compared: the search index
    /// files the child under their districts).
    pub earlier_postcodes: Vec<String>,
    /// The parents and carers held, in the order recorded: a supplied record that names one
    /// of them is evidence it is this child, and one it names already held is not added again.
    pub parents: Vec<HeldParent>,
    /// The suppliers that have placed a record on this child (linked or created).
    pub supplied_by: Vec<SourceCode>,
    pub gender: Gender,
    pub date_of_birth: NaiveDate,
    pub date_of_death: Option<NaiveDate>,
    /// The current (or last known) address.
    pub address: Option<Address>,
    pub local_authority: LocalAuthorityCode,
    pub shielded: bool,
    pub provenance: ChildProvenance,
}

/// A parent or carer a child holds, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldParent {
    pub given_name: String,
    pub family_name: String,
    /// The relationship's code (`mother`, `carer`...).
    pub relationship: String,
}

impl HeldParent {
    /// What makes a parent or carer the same one again: the names however the supplier
    /// cased or accented them (child benefit writes names in capitals), and the relationship.
    pub(crate) fn folded(&self) -> (String, String, String) {
        (
            contactpoint_matching::fold(&self.given_name),
            contactpoint_matching::fold(&self.family_name),
            self.relationship.clone(),
        )
    }
}

impl From<&contactpoint_domain::ParentCarer> for HeldParent {
    fn from(parent: &contactpoint_domain::ParentCarer) -> Self {
        Self {
            given_name: parent.given_name.as_str().to_owned(),
            family_name: parent.family_name.as_str().to_owned(),
            relationship: parent.relationship.code().to_owned(),
        }
    }
}

impl LinkCandidate {
    /// What the search index files the child under, exactly as reading the child back for
    /// the index would give it (`read_candidates`): a batch works out the keys of a child it
    /// changes from what it holds, without reading the child again.
    pub(crate) fn findable(&self) -> contactpoint_matching::search::Findable {
        contactpoint_matching::search::Findable {
            given_name: self.given_name.clone(),
            middle_names: self.middle_names.clone(),
            family_name: self.family_name.clone(),
            former_given_names: self.former_given_names.clone(),
            former_family_names: self.former_family_names.clone(),
            date_of_birth: Some(self.date_of_birth),
            gender: self.gender.code().to_owned(),
            current_postcode: self
                .address
                .as_ref()
                .map(|a| a.postcode.as_str().to_owned()),
            earlier_postcodes: self.earlier_postcodes.clone(),
        }
    }

    /// Whether `other` holds exactly what this holds but, perhaps, for the suppliers: one
    /// whose only change since she was scored is a supplier noted need not be compared again.
    pub fn same_but_for_suppliers(&self, other: &Self) -> bool {
        // Every field named, so that a field added later is weighed here too.
        let Self {
            child_id,
            contactpoint_id,
            given_name,
            middle_names,
            family_name,
            former_family_names,
            former_given_names,
            earlier_postcodes,
            parents,
            supplied_by: _,
            gender,
            date_of_birth,
            date_of_death,
            address,
            local_authority,
            shielded,
            provenance,
        } = self;
        *child_id == other.child_id
            && *contactpoint_id == other.contactpoint_id
            && *given_name == other.given_name
            && *middle_names == other.middle_names
            && *family_name == other.family_name
            && *former_family_names == other.former_family_names
            && *former_given_names == other.former_given_names
            && *earlier_postcodes == other.earlier_postcodes
            && *parents == other.parents
            && *gender == other.gender
            && *date_of_birth == other.date_of_birth
            && *date_of_death == other.date_of_death
            && *address == other.address
            && *local_authority == other.local_authority
            && *shielded == other.shielded
            && *provenance == other.provenance
    }

    /// Adds `source` to the suppliers, as reading the child again would list them: in code
    /// order, each once.
    pub(crate) fn note_supplier(&mut self, source: &SourceCode) {
        if !self.supplied_by.contains(source) {
            self.supplied_by.push(source.clone());
            self.supplied_by.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        }
    }
}

/// Why a record waits for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionReason {
    /// The best candidate is neither clearly the child nor clearly not.
    Uncertain,
    /// Two or more children are all confident matches.
    Ambiguous,
    /// Nobody matched, and the source may not create children on its own.
    NoMatchFromNonAuthoritativeSource,
    /// The record could be a shielded child.
    PossiblyShielded,
    /// A new child, but no local authority is known for its postcode.
    NoLocalAuthority,
    /// A new child, but the record lacks what a record must have (a date of birth, both
    /// names).
    Incomplete,
}

impl ExceptionReason {
    pub const ALL: [Self; 6] = [
        Self::Uncertain,
        Self::Ambiguous,
        Self::NoMatchFromNonAuthoritativeSource,
        Self::PossiblyShielded,
        Self::NoLocalAuthority,
        Self::Incomplete,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Uncertain => "uncertain",
            Self::Ambiguous => "ambiguous",
            Self::NoMatchFromNonAuthoritativeSource => "no_match_from_non_authoritative_source",
            Self::PossiblyShielded => "possibly_shielded",
            Self::NoLocalAuthority => "no_local_authority",
            Self::Incomplete => "incomplete",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the local team reads in the queue.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Uncertain => "the best match is neither clearly this child nor clearly not",
            Self::Ambiguous => "more than one child matches it confidently",
            Self::NoMatchFromNonAuthoritativeSource => {
                "no child matches, and this source does not create children"
            }
            Self::PossiblyShielded => {
                "it could be a shielded child, so nothing was created or updated"
            }
            Self::NoLocalAuthority => "no local authority is known for its postcode",
            Self::Incomplete => "it lacks a date of birth or a name needed to create a child",
        }
    }
}

/// A record for the local team to decide on.
#[derive(Debug, Clone)]
pub struct NewException {
    /// The team whose queue it joins; `None` for the national administrator.
    pub local_authority: Option<LocalAuthorityCode>,
    pub reason: ExceptionReason,
    /// Whatever is created from it is shielded, because it may be a shielded child.
    pub shielding_hold: bool,
    /// The supplied record in the supply format, as one JSON object.
    pub record: String,
    /// Candidate children (database id) and the probability each is this record.
    pub candidates: Vec<(i64, f64)>,
}

/// Values a linked record brings that win over what the child has (see
/// `contactpoint_domain::precedence`).
#[derive(Debug, Clone, Default)]
pub struct ChildChanges {
    pub name: Option<NameChange>,
    pub gender: Option<(Gender, Provenance)>,
    pub date_of_birth: Option<(NaiveDate, Provenance)>,
    pub address: Option<AddressChange>,
    pub date_of_death: Option<(NaiveDate, Provenance)>,
    /// Former names to add (a family name the record gives as former, or the name replaced).
    pub former_names: Vec<FormerName>,
    /// Parents and carers to add when the child has no one of that name and relationship.
    pub parents_carers: Vec<ParentCarer>,
}

impl ChildChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.gender.is_none()
            && self.date_of_birth.is_none()
            && self.address.is_none()
            && self.date_of_death.is_none()
            && self.former_names.is_empty()
            && self.parents_carers.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct NameChange {
    pub given_name: contactpoint_domain::GivenName,
    pub middle_names: Option<contactpoint_domain::MiddleNames>,
    pub family_name: contactpoint_domain::FamilyName,
    pub provenance: Provenance,
}

#[derive(Debug, Clone)]
pub struct AddressChange {
    pub address: Address,
    pub since: NaiveDate,
    pub provenance: Provenance,
    /// The authority for the new address, when it is known and differs: the child moves to
    /// its care.
    pub local_authority: Option<LocalAuthorityCode>,
}

/// What to do with one supplied record. Made and applied one at a time, so the size of the
/// largest variant costs nothing worth boxing.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Placement {
    Link {
        child_id: i64,
        changes: ChildChanges,
    },
    Create(Box<ChildRecord>),
    Exception(NewException),
}

/// What a batch did, counted by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Records seen before with the same values: skipped.
    pub unchanged: usize,
    pub linked: usize,
    pub created: usize,
    pub exceptions: usize,
    pub rejected: usize,
    /// Of the linked, how many changed a value of the child.
    pub updated: usize,
    /// Of the linked and created, how many had been waiting in the exceptions queue (their
    /// exceptions are closed); of the exceptions, how many were waiting already (their
    /// exceptions are brought up to date, not raised again).
    pub exceptions_closed: usize,
    pub exceptions_refreshed: usize,
    /// Involvements with a school or GP practice the records named: started, and ended
    /// because the source named another; references no service in the catalogue has.
    pub services_started: usize,
    pub services_ended: usize,
    pub services_unknown: usize,
}

impl BatchSummary {
    pub fn changed_anything(&self) -> bool {
        self.linked + self.created + self.exceptions + self.rejected > 0
    }

    pub fn add(&mut self, other: &BatchSummary) {
        self.unchanged += other.unchanged;
        self.linked += other.linked;
        self.created += other.created;
        self.exceptions += other.exceptions;
        self.rejected += other.rejected;
        self.updated += other.updated;
        self.exceptions_closed += other.exceptions_closed;
        self.exceptions_refreshed += other.exceptions_refreshed;
        self.services_started += other.services_started;
        self.services_ended += other.services_ended;
        self.services_unknown += other.services_unknown;
    }
}

/// One batch of a supplier's file.
#[derive(Debug)]
pub struct SupplyBatch<'a> {
    pub source: &'a SourceCode,
    pub records: Vec<IncomingRecord>,
    /// Rejected rows with the supplier's identifier, recorded as rejected unless the record
    /// was already placed.
    pub rejected_ids: Vec<String>,
    pub supplied_at: chrono::DateTime<chrono::Utc>,
    /// Whether the import may create children: kept on the exceptions it raises, so that a
    /// waiting record tried again later is judged the same way.
    pub authoritative: bool,
    /// Place again the records still waiting in the exceptions queue, even when their values
    /// are unchanged (the directory may hold their child by now).
    pub retry_waiting: bool,
    /// When the import decides: the moment a waiting record's exception is closed.
    pub decided_at: chrono::DateTime<chrono::Utc>,
    /// The supplier's system account sending the batch through the API, kept on the
    /// exceptions it raises: once revoked, its waiting records create no child.
    pub supplier_account_id: Option<i64>,
}

/// What storage knows about one record when the caller decides it.
#[derive(Debug)]
pub struct PlacementContext<'a> {
    /// The record's position in the batch.
    pub index: usize,
    /// The children the record might be, from the search index (or, for a record the source
    /// sent before, the child it was placed on).
    pub candidates: &'a [std::sync::Arc<LinkCandidate>],
    /// The child this source's identifier was placed on before, if any: the supplier is
    /// updating a record it sent earlier.
    pub known_child: Option<i64>,
    /// The local authority of the supplied postcode's district, if known.
    pub district_authority: Option<&'a LocalAuthorityCode>,
    /// When the postcode names none: the local authority of the child's school or GP
    /// practice, where a new child is placed (a linked child is never moved by it).
    pub service_authority: Option<&'a LocalAuthorityCode>,
}

/// Decides one record.
pub type Placer<'a> = dyn FnMut(&PlacementContext<'_>) -> Placement + Send + 'a;

/// Builds the batch's audit entry from what it did; `None` when it changed nothing.
pub type BatchAudit<'a> = dyn Fn(&BatchSummary) -> Option<AuditEvent> + Send + Sync + 'a;

/// A batch placed in its open transaction, with what it holds to write
/// ([`crate::Store::place_supply_batch`]). It owns all it needs, so it may finish on a task
/// of its own while the caller gets the next batch ready; dropped unfinished, the
/// transaction rolls back and nothing of the batch remains.
pub struct PlacedSupplyBatch(pub(crate) Placed);

impl std::fmt::Debug for PlacedSupplyBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlacedSupplyBatch").finish_non_exhaustive()
    }
}

pub(crate) enum Placed {
    Sqlite(crate::backend::sqlite::PlacedBatch),
    Postgres(crate::backend::postgres::PlacedBatch),
}

impl PlacedSupplyBatch {
    /// Whether the batch was placed from the load's copy (trusted, and nothing else had
    /// written since), which it brings up to date as it finishes.
    pub fn placed_from_copy(&self) -> bool {
        match &self.0 {
            Placed::Sqlite(placed) => placed.placed_from_copy(),
            Placed::Postgres(placed) => placed.placed_from_copy(),
        }
    }

    /// Writes what the batch holds, records what became of each record and each rejected
    /// row, appends `audit`'s entry (if any), and commits.
    pub async fn finish(
        self,
        audit: impl FnOnce(&BatchSummary) -> Option<AuditEvent>,
    ) -> Result<FinishedSupplyBatch, crate::StorageError> {
        match self.0 {
            Placed::Sqlite(placed) => placed.finish(audit).await,
            Placed::Postgres(placed) => placed.finish(audit).await,
        }
    }
}

/// A batch committed: what it did and, when it was placed from a load's copy, what the copy
/// takes in now.
#[derive(Debug)]
pub struct FinishedSupplyBatch {
    pub summary: BatchSummary,
    pub(crate) copy: Option<crate::candidate_cache::CopyUpdate>,
}

impl FinishedSupplyBatch {
    /// Brings `cache`, the copy the batch was placed from, up to date with what it wrote, and
    /// trusts it again (a copy the batch could not place from stays untrusted); returns
    /// what the batch did.
    pub fn settle_copy(self, cache: Option<&mut crate::CandidateCache>) -> BatchSummary {
        if let (Some(cache), Some(update)) = (cache, self.copy) {
            cache.take_in(update);
        }
        self.summary
    }
}

/// How many children the directory holds, and how many records a source has placed on them
/// (linked or made a child): the matching weighs a candidate the source has no record of by
/// how rare such a child is (docs/MATCHING.md, "A source that does not yet hold the child").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCoverage {
    pub children: u64,
    /// Records placed: a child the source sent twice counts twice.
    pub held: u64,
}

impl SourceCoverage {
    /// The share of the directory's children the source holds a record of (0 in an empty
    /// directory, at most 1; over by as many children as the source sent twice).
    pub fn held_share(&self) -> f64 {
        if self.children == 0 {
            0.0
        } else {
            (self.held as f64 / self.children as f64).min(1.0)
        }
    }
}

/// A record still waiting in the exceptions queue, as its source sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingRecord {
    pub source_record_id: String,
    /// The record's values, as JSON.
    pub record: String,
    pub raised_at: chrono::DateTime<chrono::Utc>,
    /// Whether the import that raised it (or last sent the record) could create a child,
    /// and still may: false once the supplier's system account that sent it is revoked;
    /// unknown for exceptions raised before this was kept.
    pub authoritative: Option<bool>,
}

/// One line of `supply links`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplyLink {
    pub source_record_id: String,
    pub contactpoint_id: Option<ContactPointId>,
    pub status: SupplyStatus,
}

/// An exception as the local team sees it.
#[derive(Debug, Clone)]
pub struct SupplyExceptionRecord {
    pub id: i64,
    pub source: SourceCode,
    pub source_record_id: String,
    pub local_authority: Option<LocalAuthorityCode>,
    pub reason: ExceptionReason,
    pub shielding_hold: bool,
    /// The supplied record in the supply format, as one JSON object.
    pub record: String,
    pub raised_at: chrono::DateTime<chrono::Utc>,
    /// The best candidate's probability, if there was any candidate.
    pub best_probability: Option<f64>,
    pub resolution: Option<ExceptionResolved>,
    /// The candidates, best first, with the probability each is the record (filled in by
    /// `supply_exception`, empty in a listing).
    pub candidates: Vec<(LinkCandidate, f64)>,
}

/// How an exception was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionResolved {
    /// `Linked` or `Created`.
    pub status: SupplyStatus,
    pub contactpoint_id: ContactPointId,
    pub at: chrono::DateTime<chrono::Utc>,
    pub by_user_id: Option<i64>,
}

/// What the team decided for an exception.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Resolution {
    /// It is this child: apply the values that win.
    Link {
        child_id: i64,
        changes: ChildChanges,
        /// The school and GP practice the record names that its source may name.
        named_services: Vec<NamedService>,
    },
    /// It is a child the directory does not have yet.
    Create {
        child: Box<ChildRecord>,
        named_services: Vec<NamedService>,
    },
}

/// Which child a supplied involvement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvolvedChild {
    /// A child record the same source supplied, by its identifier.
    SourceRecord(String),
    /// A child by ContactPoint ID (a retired ID leads to the survivor of a merge).
    ContactPoint(ContactPointId),
}

/// One valid supplied involvement of a batch.
#[derive(Debug, Clone)]
pub struct IncomingInvolvement {
    pub source_record_id: String,
    pub digest: String,
    pub child: InvolvedChild,
    pub service_reference: String,
    pub practitioner: Option<(
        contactpoint_domain::GivenName,
        contactpoint_domain::FamilyName,
    )>,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub lead_professional: bool,
    pub caf_completed_on: Option<NaiveDate>,
    pub sensitive_basis: Option<contactpoint_domain::SensitiveBasis>,
}

/// One batch of a supplier's involvement file.
#[derive(Debug)]
pub struct InvolvementBatch<'a> {
    pub source: &'a SourceCode,
    pub records: Vec<IncomingInvolvement>,
    pub supplied_at: chrono::DateTime<chrono::Utc>,
}

/// What an involvement batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvolvementSummary {
    pub unchanged: usize,
    pub started: usize,
    pub updated: usize,
    /// Records that could not be applied (by position in the batch), and why.
    pub rejected: Vec<(usize, contactpoint_domain::FieldError)>,
}

impl InvolvementSummary {
    pub fn changed_anything(&self) -> bool {
        self.started + self.updated + self.rejected.len() > 0
    }
}

/// Builds an involvement batch's audit entry; `None` when it changed nothing.
pub type InvolvementAudit<'a> =
    dyn Fn(&InvolvementSummary) -> Option<AuditEvent> + Send + Sync + 'a;
