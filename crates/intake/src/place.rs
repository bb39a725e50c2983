//! Where one supplied record goes: linked to a child (with the values that win by
//! precedence), a new child, or the local team's exceptions queue. Shielding comes first: a
//! record that could be a shielded child never creates or updates an unshielded record.

use crate::ahead::ScoredAhead;
use chrono::{DateTime, NaiveDate, Utc};
use contactpoint_domain::child::ChildProvenance;
use contactpoint_domain::precedence::{supersedes, ValueGroup};
use contactpoint_domain::{
    Address, AddressState, ChildRecord, ContactPointId, FamilyName, FormerName, Gender,
    LocalAuthorityCode, MiddleNames, ParentCarer, Provenance, SourceCode,
};
use contactpoint_matching::linkage::{self, decide_among, Model, Outcome, Thresholds};
use contactpoint_matching::search::{BirthQuery, Query};
use contactpoint_matching::PostcodeParts;
use contactpoint_storage::supply::{
    AddressChange, ChildChanges, ExceptionReason, LinkCandidate, NameChange, NewException,
    Placement, PlacementContext,
};
use contactpoint_supply::SuppliedChild;
use std::sync::Arc;

/// What every placement of one import shares.
#[derive(Debug, Clone)]
pub struct PlaceSettings {
    pub source: SourceCode,
    /// An authoritative source creates a child when nobody matches; others queue the record.
    pub authoritative: bool,
    pub supplied_at: DateTime<Utc>,
    pub model: Model,
    pub thresholds: Thresholds,
    /// The share of the directory's children the source had placed records on when the
    /// import began (none until told): how rare a child the source holds no record of is.
    pub held_share: f64,
}

impl PlaceSettings {
    pub fn new(source: SourceCode, authoritative: bool, supplied_at: DateTime<Utc>) -> Self {
        Self {
            source,
            authoritative,
            supplied_at,
            model: Model::configured(),
            thresholds: Thresholds::DEFAULT,
            held_share: 0.0,
        }
    }

    /// The same settings for a source holding a record of `share` of the directory's
    /// children (`SourceCoverage::held_share`).
    pub fn with_held_share(mut self, share: f64) -> Self {
        self.held_share = share;
        self
    }

    /// The same settings for a nation of `children` children (the default is England's).
    pub fn for_population(mut self, children: u64) -> Self {
        self.model = self.model.for_population(children);
        self
    }

    /// The same settings deciding with `thresholds`.
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    fn provenance(&self) -> Provenance {
        Provenance::new(self.source.clone(), self.supplied_at)
    }

    fn today(&self) -> NaiveDate {
        self.supplied_at.date_naive()
    }
}

/// The search-index keys that reach the children a supplied record might be: those a
/// search with its names, date of birth and postcode would probe, and the same with its
/// former family name.
pub fn probe_keys(child: &SuppliedChild, today: NaiveDate) -> Vec<i64> {
    use chrono::Datelike;
    let query = Query {
        given_name: child.given_name.as_ref().map(|n| n.as_str().to_owned()),
        family_name: child.family_name.as_ref().map(|n| n.as_str().to_owned()),
        birth: child.date_of_birth.map(|d| BirthQuery::Date(d.date())),
        gender: None,
        postcode: child
            .postcode
            .as_ref()
            .and_then(|p| PostcodeParts::parse(p.as_str())),
        // Mistyped names reach their child through the date-of-birth keys; the spelling
        // list is for searches, which may lack a date.
        given_spellings: Vec::new(),
        family_spellings: Vec::new(),
    };
    let years = today.year() - 25..=today.year();
    let mut keys = query.probe_keys(years.clone());
    if let Some(former) = &child.former_family_name {
        let earlier = Query {
            family_name: Some(former.as_str().to_owned()),
            ..query
        };
        keys.extend(earlier.probe_keys(years));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn linkage_gender(gender: Gender) -> linkage::Gender {
    match gender {
        Gender::Female => linkage::Gender::Female,
        Gender::Male => linkage::Gender::Male,
        Gender::NotSpecified => linkage::Gender::NotSpecified,
    }
}

pub(crate) fn supplied_person(child: &SuppliedChild) -> linkage::SuppliedPerson {
    linkage::SuppliedPerson {
        given_name: child
            .given_name
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        middle_names: child.middle_names.as_ref().map(|n| n.as_str().to_owned()),
        family_name: child
            .family_name
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        former_family_name: child
            .former_family_name
            .as_ref()
            .map(|n| n.as_str().to_owned()),
        date_of_birth: child.date_of_birth.map(|d| d.date()),
        gender: child.gender.map(linkage_gender),
        address_line1: child.address_line1.clone(),
        town: child.town.clone(),
        postcode: child.postcode.as_ref().map(|p| p.as_str().to_owned()),
    }
}

fn candidate_person(candidate: &LinkCandidate) -> linkage::SuppliedPerson {
    linkage::SuppliedPerson {
        given_name: candidate.given_name.clone(),
        middle_names: candidate.middle_names.clone(),
        family_name: candidate.family_name.clone(),
        former_family_name: candidate.former_family_names.first().cloned(),
        date_of_birth: Some(candidate.date_of_birth),
        gender: Some(linkage_gender(candidate.gender)),
        address_line1: candidate.address.as_ref().map(|a| a.line1.clone()),
        town: candidate.address.as_ref().map(|a| a.town.clone()),
        postcode: candidate
            .address
            .as_ref()
            .map(|a| a.postcode.as_str().to_owned()),
    }
}

/// How often a source sends one child twice under two of its own identifiers: the chance,
/// for a candidate this source already holds a record of, that the new record is that child
/// all the same. A register of births enters each birth once; the other national registers
/// hold the odd duplicate (configured generously, at 2 in 100, so that an exact duplicate
/// within one household still links); local systems more. The evidence is weighed
/// as a Fellegi-Sunter field: `log2(rate)` bits (the chance that a source holds a record of
/// some other child is close to 1), so a duplicate with every value alike still links and
/// a record that merely resembles a child the source already sent does not.
pub fn repeat_rate(source: &SourceCode) -> f64 {
    match source.as_str() {
        SourceCode::BIRTH_REGISTRATION => 0.000_1,
        SourceCode::NHS_DEMOGRAPHICS | SourceCode::CHILD_BENEFIT | SourceCode::SCHOOLS_CENSUS => {
            0.02
        }
        _ => 0.05,
    }
}

/// A source holding a record of more than this share of the directory's children is taken to
/// hold this share: the weight of a child it holds no record of stays at most 6.6 bits.
pub const MOST_HELD_SHARE: f64 = 0.99;

/// The weight in bits of a candidate the source holds no record of, when the source holds a
/// record of `held_share` of the directory's children. The other side of [`repeat_rate`]:
/// `m`, the chance that the child this record is has no record from the source yet, is
/// `1 - repeat rate`; `u`, the chance that some other child has none, is the share of the
/// directory's children the source has not sent, `1 - held_share`. A register of births
/// that holds 93 in 100 of the children makes a child it never registered (one born abroad)
/// 14 times likelier to be the child of a new registration: 3.8 bits. In a directory the
/// source has not yet sent (the first file of an initial load) it weighs nothing. The share
/// is taken in whole hundredths, rounded down: a delivery that moves it by less leaves every
/// waiting record's probability as it was, so a retry of an untouched queue still writes
/// nothing.
pub fn not_held_weight(source: &SourceCode, held_share: f64) -> f64 {
    let share = (held_share * 100.0).floor() / 100.0;
    let u = 1.0 - share.clamp(0.0, MOST_HELD_SHARE);
    ((1.0 - repeat_rate(source)) / u).log2().max(0.0)
}

/// The chance that the local authority a record points to (by its postcode's district, or
/// by the school or GP practice it names) is the one the directory places its child in: most
/// children go to school and see a GP where they live, about one in ten across a border.
pub const AREA_AGREES: f64 = 0.9;

/// The largest share of the nation's children any one local authority holds (Kent, about
/// 2.6 % of England's; 2.9 % in a generated nation): the chance that some other child is in
/// the authority a record points to is at most this, so weighing with it never overstates.
pub const LARGEST_AUTHORITY_SHARE: f64 = 0.03;

/// The weight in bits of the authority a record points to against the candidate's, for a
/// pair with no address to compare (neither postcode nor town on one side): 4.9 bits when
/// they agree, -3.3 when they differ.
pub fn area_weight(area: &LocalAuthorityCode, candidate: &LocalAuthorityCode) -> f64 {
    if area == candidate {
        (AREA_AGREES / LARGEST_AUTHORITY_SHARE).log2()
    } else {
        ((1.0 - AREA_AGREES) / (1.0 - LARGEST_AUTHORITY_SHARE)).log2()
    }
}

/// `weight`, evidence from beyond the record and its own source (companions, the authority
/// it points to), as it may count for `candidate`: never against a shielded child. A record
/// that could be one is held for the team on its own evidence, and nothing else argues that
/// hold away.
pub fn never_against_shielded(candidate: &LinkCandidate, weight: f64) -> f64 {
    if candidate.shielded {
        weight.max(0.0)
    } else {
        weight
    }
}

/// The weight in bits of a supplied record naming a parent or carer the candidate holds
/// (given and family name alike once folded), when the two also have alike given names and
/// are not of one household. `m`, the chance that a record of this child names a parent held,
/// is about 0.8 (the claimant of child benefit is usually the mother the register of births
/// names). `u` is not the one in a hundred thousand of two children picked at random: the
/// children this is weighed for already share names and more, and cousins and same-named
/// siblings are among them, so it is taken as 2 in 100. Siblings share their parents, so
/// none of this weighs within a household, nor for given names that differ (a twin). Naming
/// nobody held is no evidence: the claimant may be a carer the register never knew.
pub const PARENT_NAMED_BITS: f64 = 5.32; // log2(0.8 / 0.02)

/// Whether `child` names a parent or carer `candidate` holds, names folded as matching folds
/// them (child benefit writes names in capitals).
fn names_a_held_parent(child: &SuppliedChild, candidate: &LinkCandidate) -> bool {
    use contactpoint_matching::fold;
    !candidate.parents.is_empty()
        && child.parents.iter().any(|parent| {
            let (given, family) = (
                fold(parent.given_name.as_str()),
                fold(parent.family_name.as_str()),
            );
            candidate
                .parents
                .iter()
                .any(|held| fold(&held.given_name) == given && fold(&held.family_name) == family)
        })
}

/// Candidates normalised for comparison, kept for the length of an import: the same
/// children are candidates of record after record, and normalising one (folding its names,
/// their phonetic codes, its address) costs more than comparing it. A child is normalised
/// again once its values differ from those it was normalised from.
#[derive(Debug, Default)]
pub struct NormalisedCandidates {
    /// Hashed with foldhash, as the copy's maps are (`CandidateCache`): looked up for every
    /// candidate of every record.
    held: std::collections::HashMap<i64, NormalisedCandidate, foldhash::fast::RandomState>,
}

#[derive(Debug)]
pub(crate) struct NormalisedCandidate {
    from: linkage::SuppliedPerson,
    former_family_names: Vec<String>,
    /// Under its first former family name (or none), then under each further one.
    persons: Vec<linkage::NormalisedPerson>,
}

impl NormalisedCandidates {
    /// More than this many children held, and the memo starts again (memory stays bounded
    /// whatever the size of the directory, at about 3 KB a child). A load of a
    /// million-child nation keeps every candidate it has normalised: at 200,000 it started
    /// again every 200,000 new children and normalising took a fifth of the load's time.
    const MOST_HELD: usize = 1_500_000;

    /// `candidate` normalised: under its first former family name, then under each further.
    fn of(&mut self, candidate: &LinkCandidate) -> &[linkage::NormalisedPerson] {
        if self.current(candidate).is_none() {
            self.keep(candidate.child_id, NormalisedCandidate::of(candidate));
        }
        &self.held[&candidate.child_id].persons
    }

    /// `candidate` normalised, if it is held as its values are now.
    pub(crate) fn current(
        &self,
        candidate: &LinkCandidate,
    ) -> Option<&[linkage::NormalisedPerson]> {
        // Checked field by field, without building the person: most candidates are held.
        self.held
            .get(&candidate.child_id)
            .filter(|held| {
                held.former_family_names == candidate.former_family_names
                    && same_person(&held.from, candidate)
            })
            .map(|held| held.persons.as_slice())
    }

    /// Holds `normalised` as the child `child_id` normalised (replacing what was held).
    pub(crate) fn keep(&mut self, child_id: i64, normalised: NormalisedCandidate) {
        if self.held.len() >= Self::MOST_HELD && !self.held.contains_key(&child_id) {
            self.held.clear();
        }
        self.held.insert(child_id, normalised);
    }
}

impl NormalisedCandidate {
    /// `candidate` normalised afresh.
    pub(crate) fn of(candidate: &LinkCandidate) -> Self {
        let person = candidate_person(candidate);
        let mut persons = vec![linkage::normalise(&person)];
        for former in candidate.former_family_names.iter().skip(1) {
            let mut under = person.clone();
            under.former_family_name = Some(former.clone());
            persons.push(linkage::normalise(&under));
        }
        Self {
            from: person,
            former_family_names: candidate.former_family_names.clone(),
            persons,
        }
    }

    pub(crate) fn persons(&self) -> &[linkage::NormalisedPerson] {
        &self.persons
    }
}

/// Whether `person` is what `candidate_person` makes of `candidate` now.
fn same_person(person: &linkage::SuppliedPerson, candidate: &LinkCandidate) -> bool {
    let address = candidate.address.as_ref();
    person.given_name == candidate.given_name
        && person.middle_names == candidate.middle_names
        && person.family_name == candidate.family_name
        && person.former_family_name.as_ref() == candidate.former_family_names.first()
        && person.date_of_birth == Some(candidate.date_of_birth)
        && person.gender == Some(linkage_gender(candidate.gender))
        && person.address_line1.as_deref() == address.map(|a| a.line1.as_str())
        && person.town.as_deref() == address.map(|a| a.town.as_str())
        && person.postcode.as_deref() == address.map(|a| a.postcode.as_str())
}

/// The probability that the record from `source` is each candidate, in the candidates' order.
/// `companion_sources` are those of the waiting records that are the same person
/// (`companions`; none on a first import); `area` the local authority the record points to
/// (`PlacementContext::district_authority`, else `service_authority`).
pub fn score(
    child: &SuppliedChild,
    companion_sources: &[SourceCode],
    area: Option<&LocalAuthorityCode>,
    candidates: &[Arc<LinkCandidate>],
    settings: &PlaceSettings,
    normalised: &mut NormalisedCandidates,
) -> Vec<f64> {
    let scoring = RecordScoring::new(child, companion_sources, area, settings);
    candidates
        .iter()
        .map(|c| scoring.probability(c, normalised.of(c)))
        .collect()
}

/// One record made ready to be scored against candidate after candidate: the record in
/// normal form, and what its source and the area it points to weigh.
pub(crate) struct RecordScoring<'a> {
    child: &'a SuppliedChild,
    record: std::borrow::Cow<'a, linkage::NormalisedPerson>,
    companion_sources: &'a [SourceCode],
    area: Option<&'a LocalAuthorityCode>,
    settings: &'a PlaceSettings,
    repeat: f64,
    not_held: f64,
}

impl<'a> RecordScoring<'a> {
    pub(crate) fn new(
        child: &'a SuppliedChild,
        companion_sources: &'a [SourceCode],
        area: Option<&'a LocalAuthorityCode>,
        settings: &'a PlaceSettings,
    ) -> Self {
        Self::normalised(
            child,
            std::borrow::Cow::Owned(linkage::normalise(&supplied_person(child))),
            companion_sources,
            area,
            settings,
        )
    }

    /// As `new`, with the record already normalised as `record`.
    pub(crate) fn normalised(
        child: &'a SuppliedChild,
        record: std::borrow::Cow<'a, linkage::NormalisedPerson>,
        companion_sources: &'a [SourceCode],
        area: Option<&'a LocalAuthorityCode>,
        settings: &'a PlaceSettings,
    ) -> Self {
        Self {
            child,
            record,
            companion_sources,
            area,
            settings,
            repeat: repeat_rate(&settings.source).log2(),
            not_held: not_held_weight(&settings.source, settings.held_share),
        }
    }

    /// The record in normal form.
    pub(crate) fn record(&self) -> &linkage::NormalisedPerson {
        &self.record
    }

    /// The probability that the record is `candidate`, normalised as `persons` (under each of
    /// its former family names).
    pub(crate) fn probability(
        &self,
        candidate: &LinkCandidate,
        persons: &[linkage::NormalisedPerson],
    ) -> f64 {
        self.scored(candidate, persons).probability
    }

    /// As [`RecordScoring::probability`], with the evidence of `candidate`'s values kept
    /// apart, so that the probability can be brought up to date when only the suppliers
    /// holding her change ([`RecordScoring::with_suppliers`]).
    pub(crate) fn scored(
        &self,
        candidate: &LinkCandidate,
        persons: &[linkage::NormalisedPerson],
    ) -> Scored {
        let values = self.values_weight(candidate, persons);
        Scored {
            values,
            probability: self.with_suppliers(candidate, values),
        }
    }

    /// The probability that the record is `candidate`, given the weight of her values
    /// (`values_weight`) and the suppliers that hold her now. One sum for every path, so a
    /// candidate scored ahead and one scored as she is placed come out exactly alike.
    pub(crate) fn with_suppliers(&self, candidate: &LinkCandidate, values: f64) -> f64 {
        let held = if candidate.supplied_by.contains(&self.settings.source) {
            self.repeat
        } else {
            self.not_held
        };
        let companions = crate::companions::against(candidate, self.companion_sources);
        linkage::probability(values + held + companions)
    }

    /// The weight in bits of what `candidate` holds against the record: the comparison of
    /// their values, a parent named, and the area the record points to. Negative infinity,
    /// a probability of nought, when there is nothing to compare (no persons).
    fn values_weight(
        &self,
        candidate: &LinkCandidate,
        persons: &[linkage::NormalisedPerson],
    ) -> f64 {
        let (c, child, model) = (candidate, self.child, &self.settings.model);
        // A child with several former family names is compared under each of them.
        let best = persons
            .iter()
            .map(|known| model.score(&self.record, known))
            .max_by(|a, b| a.weight.total_cmp(&b.weight));
        let Some(best) = best else {
            return f64::NEG_INFINITY;
        };
        let mut weight = best.weight;
        let general = best.comparison.stratum() == linkage::Stratum::General;
        let alike_given = best.comparison.given_name <= linkage::NameLevel::Similar;
        if general && alike_given && names_a_held_parent(child, c) {
            weight += PARENT_NAMED_BITS;
        }
        // With no address to compare, where the child lives is still known roughly.
        if let Some(area) = self
            .area
            .filter(|_| general && best.comparison.postcode == linkage::PostcodeLevel::Missing)
        {
            weight += never_against_shielded(c, area_weight(area, &c.local_authority));
        }
        weight
    }
}

/// A candidate scored against a record: the weight of her values, and the probability with
/// the suppliers that held her then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scored {
    pub values: f64,
    pub probability: f64,
}

/// A record this likely, or more, to be a shielded child is held for the team whatever the
/// thresholds: it never creates or updates an unshielded record, and whatever the team
/// creates from it is shielded. At most the lower threshold (a record at or above that is
/// always held), and no higher than the lower threshold has ever been, so that raising the
/// lower threshold to make fewer exceptions never weakens shielding.
pub const SHIELDING_HOLD: f64 = 0.01;

/// Decides one record (`normalised` holds the candidates already normalised by this import;
/// `companion_sources` as for [`score`]).
pub fn place(
    child: &SuppliedChild,
    companion_sources: &[SourceCode],
    context: &PlacementContext<'_>,
    settings: &PlaceSettings,
    normalised: &mut NormalisedCandidates,
) -> Placement {
    place_scored_ahead(
        child,
        companion_sources,
        context,
        settings,
        normalised,
        None,
    )
}

/// Decides one record as [`place`] does, taking the probability of each candidate the record
/// was scored against ahead (`ahead`) that is still exactly as it was then.
pub(crate) fn place_scored_ahead(
    child: &SuppliedChild,
    companion_sources: &[SourceCode],
    context: &PlacementContext<'_>,
    settings: &PlaceSettings,
    normalised: &mut NormalisedCandidates,
    ahead: Option<&ScoredAhead>,
) -> Placement {
    // A record the source sent before was placed on a child: the supplier's own identifier
    // still means that child.
    if let Some(known) = context.known_child {
        if let Some(candidate) = context.candidates.iter().find(|c| c.child_id == known) {
            return link(child, candidate, context, settings);
        }
    }
    let area = context.district_authority.or(context.service_authority);
    let probabilities = match ahead.filter(|ahead| ahead.scored_for(area)) {
        Some(ahead) => {
            // The record is made ready to score only if a candidate has changed since.
            let scoring = std::cell::OnceCell::new();
            let scoring = || {
                scoring.get_or_init(|| {
                    RecordScoring::normalised(
                        child,
                        std::borrow::Cow::Borrowed(ahead.record()),
                        companion_sources,
                        area,
                        settings,
                    )
                })
            };
            ahead.probabilities(
                context.candidates,
                |candidate, values| scoring().with_suppliers(candidate, values),
                |candidate| scoring().probability(candidate, normalised.of(candidate)),
            )
        }
        None => score(
            child,
            companion_sources,
            area,
            context.candidates,
            settings,
            normalised,
        ),
    };
    let thresholds = &settings.thresholds;
    // A record held because it could be a shielded child shows that child, whatever the lower
    // threshold; under the default thresholds both are 0.01.
    let hold = thresholds.lower.min(SHIELDING_HOLD);
    let exception = |reason, shielding_hold, local_authority: Option<LocalAuthorityCode>| {
        let mut shown: Vec<(i64, f64)> = context
            .candidates
            .iter()
            .zip(&probabilities)
            .filter(|(_, p)| **p >= hold)
            .map(|(c, p)| (c.child_id, *p))
            .collect();
        shown.sort_by(|a, b| b.1.total_cmp(&a.1));
        shown.truncate(10);
        Placement::Exception(NewException {
            local_authority,
            reason,
            shielding_hold,
            record: child.to_json(),
            candidates: shown,
        })
    };
    let shielded_near = context
        .candidates
        .iter()
        .zip(&probabilities)
        .filter(|(c, p)| c.shielded && **p >= hold)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(c, _)| c);
    let best = context
        .candidates
        .iter()
        .zip(&probabilities)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(c, _)| c);
    let outcome = decide_among(&probabilities, thresholds, settings.authoritative);
    // Shielding comes first: a record that could be a shielded child waits, held, unless it
    // links to that shielded child itself (whose record stays shielded).
    if let Some(shielded) = shielded_near {
        let links_to_it = matches!(outcome, Outcome::Link(i) if context.candidates[i].child_id == shielded.child_id);
        if !links_to_it {
            return exception(
                ExceptionReason::PossiblyShielded,
                true,
                Some(shielded.local_authority.clone()),
            );
        }
    }
    match outcome {
        Outcome::Link(i) => link(child, &context.candidates[i], context, settings),
        Outcome::Exception(_) => {
            let confident = probabilities.iter().filter(|p| **p >= thresholds.upper);
            let reason = if confident.count() > 1 {
                ExceptionReason::Ambiguous
            } else if probabilities.iter().all(|p| *p < thresholds.lower) {
                ExceptionReason::NoMatchFromNonAuthoritativeSource
            } else {
                ExceptionReason::Uncertain
            };
            let local_authority = best.map(|c| c.local_authority.clone()).or_else(|| {
                context
                    .district_authority
                    .or(context.service_authority)
                    .cloned()
            });
            exception(reason, false, local_authority)
        }
        Outcome::New => {
            let placed_in = context.district_authority.or(context.service_authority);
            match new_child(child, placed_in, settings) {
                Ok(record) => Placement::Create(Box::new(record)),
                Err(reason) => exception(reason, false, placed_in.cloned()),
            }
        }
    }
}

/// A child made from a record nobody matched.
pub fn new_child(
    child: &SuppliedChild,
    district_authority: Option<&LocalAuthorityCode>,
    settings: &PlaceSettings,
) -> Result<ChildRecord, ExceptionReason> {
    let (Some(given_name), Some(family_name), Some(born)) = (
        child.given_name.clone(),
        child.family_name.clone(),
        child.date_of_birth,
    ) else {
        return Err(ExceptionReason::Incomplete);
    };
    let local_authority = district_authority
        .cloned()
        .ok_or(ExceptionReason::NoLocalAuthority)?;
    let provenance = settings.provenance();
    let today = settings.today();
    let address = supplied_address(child);
    Ok(ChildRecord {
        contactpoint_id: ContactPointId::random(&mut rand::rng()),
        given_name,
        middle_names: child.middle_names.clone(),
        family_name,
        former_names: former_name(child, &provenance).into_iter().collect(),
        gender: child.gender.unwrap_or(Gender::NotSpecified),
        date_of_birth: born.date(),
        date_of_death: child.date_of_death,
        address: match address {
            Some(address) => AddressState::Current { address },
            None => AddressState::NoKnownAddress,
        },
        address_since: today,
        address_history: Vec::new(),
        local_authority,
        shielded: false,
        parents_carers: parents(child, &provenance),
        involvements: Vec::new(),
        provenance: ChildProvenance {
            name: provenance.clone(),
            gender: provenance.clone(),
            date_of_birth: provenance.clone(),
            address: provenance.clone(),
            date_of_death: child.date_of_death.map(|_| provenance),
        },
    })
}

fn supplied_address(child: &SuppliedChild) -> Option<Address> {
    let (line1, town, postcode) = (
        child.address_line1.as_deref()?,
        child.town.as_deref()?,
        child.postcode.as_ref()?,
    );
    Address::parse(
        line1,
        child.address_line2.as_deref(),
        town,
        postcode.as_str(),
    )
    .ok()
}

fn former_name(child: &SuppliedChild, provenance: &Provenance) -> Option<FormerName> {
    child.former_family_name.as_ref().map(|family| FormerName {
        given_name: None,
        family_name: family.clone(),
        provenance: provenance.clone(),
    })
}

fn parents(child: &SuppliedChild, provenance: &Provenance) -> Vec<ParentCarer> {
    child
        .parents
        .iter()
        .map(|p| ParentCarer {
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            relationship: p.relationship,
            address: None,
            telephone: None,
            provenance: provenance.clone(),
        })
        .collect()
}

/// Links the record to `candidate`, with the values that win over what it holds.
fn link(
    child: &SuppliedChild,
    candidate: &LinkCandidate,
    context: &PlacementContext<'_>,
    settings: &PlaceSettings,
) -> Placement {
    Placement::Link {
        child_id: candidate.child_id,
        changes: changes(child, candidate, context.district_authority, settings),
    }
}

/// What of `child` replaces what `candidate` holds, by the precedence rules.
pub fn changes(
    child: &SuppliedChild,
    candidate: &LinkCandidate,
    district_authority: Option<&LocalAuthorityCode>,
    settings: &PlaceSettings,
) -> ChildChanges {
    let incoming = settings.provenance();
    let held = &candidate.provenance;
    let wins = |group, held: &Provenance| supersedes(group, &incoming, held);
    let mut changes = ChildChanges::default();

    if let (Some(given), Some(family)) = (&child.given_name, &child.family_name) {
        let middle = child.middle_names.clone().or_else(|| {
            candidate
                .middle_names
                .as_deref()
                .and_then(|m| MiddleNames::parse(m).ok())
        });
        let differs = given.as_str() != candidate.given_name
            || family.as_str() != candidate.family_name
            || middle.as_ref().map(|m| m.as_str()) != candidate.middle_names.as_deref();
        if differs && wins(ValueGroup::Name, &held.name) {
            if family.as_str() != candidate.family_name {
                if let Ok(old) = FamilyName::parse(&candidate.family_name) {
                    changes.former_names.push(FormerName {
                        given_name: None,
                        family_name: old,
                        provenance: incoming.clone(),
                    });
                }
            }
            changes.name = Some(NameChange {
                given_name: given.clone(),
                middle_names: middle,
                family_name: family.clone(),
                provenance: incoming.clone(),
            });
        }
    }
    if let Some(gender) = child.gender.filter(|g| *g != Gender::NotSpecified) {
        if gender != candidate.gender && wins(ValueGroup::Gender, &held.gender) {
            changes.gender = Some((gender, incoming.clone()));
        }
    }
    if let Some(born) = child.date_of_birth.map(|d| d.date()) {
        if born != candidate.date_of_birth && wins(ValueGroup::DateOfBirth, &held.date_of_birth) {
            changes.date_of_birth = Some((born, incoming.clone()));
        }
    }
    if let Some(address) = supplied_address(child) {
        let same = candidate.address.as_ref().is_some_and(|held| {
            held.postcode == address.postcode && held.line1.eq_ignore_ascii_case(&address.line1)
        });
        if !same && wins(ValueGroup::Address, &held.address) {
            changes.address = Some(AddressChange {
                since: settings.today(),
                local_authority: district_authority
                    .filter(|la| **la != candidate.local_authority)
                    .cloned(),
                address,
                provenance: incoming.clone(),
            });
        }
    }
    if let Some(died) = child.date_of_death {
        let replaces = match &held.date_of_death {
            None => true,
            Some(held) => {
                candidate.date_of_death != Some(died) && wins(ValueGroup::DateOfDeath, held)
            }
        };
        if replaces {
            changes.date_of_death = Some((died, incoming.clone()));
        }
    }
    if let Some(former) = former_name(child, &incoming) {
        let known = former.family_name.as_str() == candidate.family_name
            || candidate
                .former_family_names
                .iter()
                .any(|f| f == former.family_name.as_str());
        if !known {
            changes.former_names.push(former);
        }
    }
    changes.parents_carers = parents(child, &incoming);
    changes
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use contactpoint_domain::ContactPointId;
    use contactpoint_storage::supply::HeldParent;

    pub(crate) fn candidate() -> LinkCandidate {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let provenance = Provenance::new(SourceCode::parse("nhs_demographics").unwrap(), at);
        LinkCandidate {
            child_id: 7,
            contactpoint_id: ContactPointId::random(&mut rand::rng()),
            given_name: "Amelia".to_owned(),
            middle_names: Some("Rose".to_owned()),
            family_name: "Hartridge".to_owned(),
            former_family_names: vec!["Okafor".to_owned(), "Price".to_owned()],
            former_given_names: Vec::new(),
            earlier_postcodes: Vec::new(),
            parents: Vec::new(),
            supplied_by: Vec::new(),
            gender: Gender::Female,
            date_of_birth: NaiveDate::from_ymd_opt(2018, 3, 4).unwrap(),
            date_of_death: None,
            address: Some(Address::parse("12 Mill Lane", None, "Leeds", "LS6 2AB").unwrap()),
            local_authority: LocalAuthorityCode::parse("E08000035").unwrap(),
            shielded: false,
            provenance: ChildProvenance {
                name: provenance.clone(),
                gender: provenance.clone(),
                date_of_birth: provenance.clone(),
                address: provenance,
                date_of_death: None,
            },
        }
    }

    #[test]
    fn a_person_is_the_same_only_while_every_compared_value_of_the_candidate_is() {
        let held = candidate();
        let person = candidate_person(&held);
        assert!(same_person(&person, &held));
        type Change = fn(&mut LinkCandidate);
        let changes: [(&str, Change); 10] = [
            ("given name", |c| c.given_name = "Amelie".to_owned()),
            ("middle names", |c| c.middle_names = None),
            ("family name", |c| c.family_name = "Hart".to_owned()),
            ("first former name", |c| c.former_family_names.swap(0, 1)),
            ("date of birth", |c| {
                c.date_of_birth = NaiveDate::from_ymd_opt(2018, 4, 3).unwrap()
            }),
            ("gender", |c| c.gender = Gender::NotSpecified),
            ("address line", |c| {
                c.address = Address::parse("14 Mill Lane", None, "Leeds", "LS6 2AB").ok()
            }),
            ("town", |c| {
                c.address = Address::parse("12 Mill Lane", None, "Headingley", "LS6 2AB").ok()
            }),
            ("postcode", |c| {
                c.address = Address::parse("12 Mill Lane", None, "Leeds", "LS6 2AD").ok()
            }),
            ("no address", |c| c.address = None),
        ];
        for (what, change) in changes {
            let mut changed = candidate();
            change(&mut changed);
            assert!(!same_person(&person, &changed), "{what} changed");
            assert!(same_person(&candidate_person(&changed), &changed), "{what}");
        }
    }

    #[test]
    fn a_record_that_could_be_a_shielded_child_is_held_however_high_the_lower_threshold() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        // The shielded child under another spelling of her given name, in another city: far
        // from certain.
        let record = contactpoint_supply::child_from_json(
            r#"{"source_record_id":"9000000009","given_name":"Amelie","family_name":"Hartridge","date_of_birth":"2018-03-04","gender":"F","address_line1":"3 Oak Road","town":"Bristol","postcode":"BS1 4DJ"}"#,
            today,
        )
        .unwrap();
        let mut shielded = candidate();
        shielded.shielded = true;
        let candidates = [Arc::new(shielded)];
        let leeds = LocalAuthorityCode::parse("E08000035").unwrap();
        let context = PlacementContext {
            index: 0,
            candidates: &candidates,
            known_child: None,
            district_authority: Some(&leeds),
            service_authority: None,
        };
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let source = SourceCode::parse("nhs_demographics").unwrap();
        let probability = score(
            &record,
            &[],
            Some(&leeds),
            &candidates,
            &PlaceSettings::new(source.clone(), true, at),
            &mut NormalisedCandidates::default(),
        )[0];
        assert!(
            (SHIELDING_HOLD..0.995).contains(&probability),
            "a possible match: {probability}"
        );
        for lower in [Thresholds::DEFAULT.lower, 0.995] {
            let settings = PlaceSettings::new(source.clone(), true, at)
                .with_thresholds(Thresholds::new(lower, 0.999).unwrap());
            let placement = place(
                &record,
                &[],
                &context,
                &settings,
                &mut NormalisedCandidates::default(),
            );
            let Placement::Exception(exception) = placement else {
                panic!("with the lower threshold at {lower} the record must wait: {placement:?}");
            };
            assert_eq!(exception.reason, ExceptionReason::PossiblyShielded);
            assert!(exception.shielding_hold);
            assert_eq!(
                exception.candidates,
                vec![(7, probability)],
                "the team sees the shielded child beside the record"
            );
        }
        // An unshielded child as alike leaves an authoritative record free to make a new
        // child once the lower threshold is above its probability.
        let mut unshielded = LinkCandidate::clone(&candidates[0]);
        unshielded.shielded = false;
        let candidates = [Arc::new(unshielded)];
        let context = PlacementContext {
            candidates: &candidates,
            ..context
        };
        let settings = PlaceSettings::new(source, true, at)
            .with_thresholds(Thresholds::new(0.995, 0.999).unwrap());
        let placement = place(
            &record,
            &[],
            &context,
            &settings,
            &mut NormalisedCandidates::default(),
        );
        assert!(matches!(placement, Placement::Create(_)), "{placement:?}");
    }

    #[test]
    fn a_parent_held_weighs_only_for_alike_given_names_outside_the_household() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let benefit = SourceCode::parse("child_benefit").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let mut held = candidate();
        held.parents = vec![HeldParent {
            given_name: "Grace".to_owned(),
            family_name: "Hartridge".to_owned(),
            relationship: "mother".to_owned(),
        }];
        let candidates = [Arc::new(held)];
        let probability = |given: &str, postcode: &str, parent: Option<&str>| {
            let parent = parent
                .map(|p| format!(r#","parent1_given_name":"{p}","parent1_family_name":"HARTRIDGE","parent1_relationship":"mother""#))
                .unwrap_or_default();
            let json = format!(
                r#"{{"source_record_id":"CHB1","given_name":"{given}","family_name":"HARTRIDGE","date_of_birth":"2018-03-04","gender":"F","address_line1":"3 Oak Road","town":"Leeds","postcode":"{postcode}"{parent}}}"#
            );
            let record = contactpoint_supply::child_from_json(&json, today).unwrap();
            let p = score(
                &record,
                &[],
                None,
                &candidates,
                &PlaceSettings::new(benefit.clone(), false, at),
                &mut NormalisedCandidates::default(),
            )[0];
            linkage::weight_of_probability(p)
        };
        // Moved across Leeds: the mother the directory holds, however cased, adds her bits.
        let moved = probability("AMELIA", "LS9 7QT", None);
        let gained = probability("AMELIA", "LS9 7QT", Some("GRACE")) - moved;
        assert!((gained - PARENT_NAMED_BITS).abs() < 1e-6, "{gained}");
        // Someone the directory does not hold is no evidence either way.
        assert_eq!(probability("AMELIA", "LS9 7QT", Some("MARY")), moved);
        // A sister shares her mother: a record with another given name gains nothing...
        assert_eq!(
            probability("POPPY", "LS9 7QT", Some("GRACE")),
            probability("POPPY", "LS9 7QT", None)
        );
        // ...nor does any record of the household, whose siblings all share her.
        assert_eq!(
            probability("AMELIA", "LS6 2AB", Some("GRACE")),
            probability("AMELIA", "LS6 2AB", None)
        );
    }

    #[test]
    fn a_child_the_source_holds_no_record_of_weighs_by_how_few_such_children_there_are() {
        let births = SourceCode::parse("birth_registration").unwrap();
        let census = SourceCode::parse("schools_census").unwrap();
        // A register holding 93 children in 100: one it never registered is 14 times likelier.
        let expected = (0.9999_f64 / 0.07).log2();
        assert!((not_held_weight(&births, 0.93) - expected).abs() < 1e-9);
        // A source that holds nobody yet says nothing.
        assert_eq!(not_held_weight(&census, 0.0), 0.0);
        assert_eq!(
            not_held_weight(&census, 0.01),
            0.0,
            "fewer than its repeat rate"
        );
        // However complete the source, the weight stays bounded.
        let most = (0.98_f64 / (1.0 - MOST_HELD_SHARE)).log2();
        assert!((not_held_weight(&census, 1.0) - most).abs() < 1e-9);
        assert!(not_held_weight(&census, 0.5) < not_held_weight(&census, 0.9));
        // Taken in whole hundredths: a delivery moving the share by less changes nothing.
        assert_eq!(
            not_held_weight(&census, 0.801),
            not_held_weight(&census, 0.809)
        );
        assert_eq!(
            not_held_weight(&census, 0.809),
            not_held_weight(&census, 0.80)
        );

        // In the score: a candidate the source holds no record of gains exactly that weight;
        // one it holds is weighed by its repeat rate, whatever the share.
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let record = contactpoint_supply::child_from_json(
            r#"{"source_record_id":"UPN-1","given_name":"Amelia","family_name":"Hartridge","date_of_birth":"2018-03-04","gender":"F"}"#,
            today,
        )
        .unwrap();
        let weight = |candidate: LinkCandidate, share: f64| {
            let settings = PlaceSettings::new(census.clone(), false, at)
                .for_population(1_000_000)
                .with_held_share(share);
            let p = score(
                &record,
                &[],
                None,
                &[Arc::new(candidate)],
                &settings,
                &mut NormalisedCandidates::default(),
            )[0];
            linkage::weight_of_probability(p)
        };
        let gained = weight(candidate(), 0.8) - weight(candidate(), 0.0);
        assert!(
            (gained - not_held_weight(&census, 0.8)).abs() < 1e-6,
            "{gained}"
        );
        let mut held = candidate();
        held.supplied_by = vec![census.clone()];
        assert_eq!(weight(held.clone(), 0.8), weight(held, 0.0));
    }

    #[test]
    fn a_candidate_is_the_same_but_for_suppliers_only_while_every_other_value_is() {
        let held = candidate();
        let mut noted = held.clone();
        noted.supplied_by = vec![SourceCode::parse("child_benefit").unwrap()];
        assert!(held.same_but_for_suppliers(&noted));
        type Change = fn(&mut LinkCandidate);
        let changes: [(&str, Change); 8] = [
            ("given name", |c| c.given_name = "Amelie".to_owned()),
            ("former family names", |c| {
                c.former_family_names.pop();
            }),
            ("parents", |c| {
                c.parents.push(contactpoint_storage::supply::HeldParent {
                    given_name: "Grace".to_owned(),
                    family_name: "Hartridge".to_owned(),
                    relationship: "mother".to_owned(),
                })
            }),
            ("earlier postcodes", |c| {
                c.earlier_postcodes.push("LS1 4AP".to_owned())
            }),
            ("address", |c| c.address = None),
            ("authority", |c| {
                c.local_authority = LocalAuthorityCode::parse("E06000014").unwrap()
            }),
            ("shielding", |c| c.shielded = true),
            ("date of death", |c| {
                c.date_of_death = NaiveDate::from_ymd_opt(2026, 1, 2)
            }),
        ];
        for (what, change) in changes {
            let mut changed = noted.clone();
            change(&mut changed);
            assert!(!held.same_but_for_suppliers(&changed), "{what} changed");
        }
    }

    #[test]
    fn a_candidate_with_a_supplier_noted_scores_from_the_weight_of_her_values_exactly_as_afresh() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let benefit = SourceCode::parse("child_benefit").unwrap();
        let record = contactpoint_supply::child_from_json(
            r#"{"source_record_id":"CB-1","given_name":"Amelia","family_name":"Hartridge","date_of_birth":"2018-03-04","gender":"F"}"#,
            today,
        )
        .unwrap();
        let settings = PlaceSettings::new(benefit.clone(), false, at)
            .for_population(1_000_000)
            .with_held_share(0.6);
        let scoring = RecordScoring::new(&record, &[], None, &settings);
        let before = candidate();
        let persons = NormalisedCandidate::of(&before);
        let then = scoring.scored(&before, persons.persons());
        let mut noted = before.clone();
        noted.supplied_by = vec![benefit];
        let afresh = scoring.probability(&noted, persons.persons());
        assert_ne!(afresh, then.probability, "the supplier weighs");
        assert_eq!(scoring.with_suppliers(&noted, then.values), afresh);
        assert_eq!(
            scoring.with_suppliers(&before, then.values),
            then.probability
        );
    }

    #[test]
    fn the_authority_a_record_points_to_weighs_only_when_there_is_no_address_to_compare() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let census = SourceCode::parse("schools_census").unwrap();
        let leeds = LocalAuthorityCode::parse("E08000035").unwrap();
        let bradford = LocalAuthorityCode::parse("E08000032").unwrap();
        let weigh = |address: &str, area: Option<&LocalAuthorityCode>, held: LinkCandidate| {
            let json = format!(
                r#"{{"source_record_id":"UPN-1","given_name":"Amelia","family_name":"Hartridge","date_of_birth":"2018-03-04","gender":"F"{address}}}"#
            );
            let record = contactpoint_supply::child_from_json(&json, today).unwrap();
            let p = score(
                &record,
                &[],
                area,
                &[Arc::new(held)],
                &PlaceSettings::new(census.clone(), false, at).for_population(1_000_000),
                &mut NormalisedCandidates::default(),
            )[0];
            linkage::weight_of_probability(p)
        };
        let weight =
            |address: &str, area: Option<&LocalAuthorityCode>| weigh(address, area, candidate());
        // A record with no address whose school is in Leeds, where the candidate lives.
        let alone = weight("", None);
        let agrees = weight("", Some(&leeds)) - alone;
        assert!((agrees - (0.9_f64 / 0.03).log2()).abs() < 1e-6, "{agrees}");
        assert!(linkage::probability(alone) < Thresholds::DEFAULT.upper);
        assert!(linkage::probability(alone + agrees) >= Thresholds::DEFAULT.upper);
        // A school in Bradford counts against her.
        let differs = weight("", Some(&bradford)) - alone;
        assert!(
            (differs - (0.1_f64 / 0.97).log2()).abs() < 1e-6,
            "{differs}"
        );
        // A town to compare says more than the authority: the authority adds nothing then.
        let town = r#","address_line1":"3 Oak Road","town":"Leeds""#;
        assert_eq!(weight(town, Some(&leeds)), weight(town, None));
        assert_eq!(weight(town, Some(&bradford)), weight(town, None));

        // A record with a postcode beside a child with no known address: the postcode's
        // authority weighs as the school's does.
        let postcode = r#","address_line1":"3 Oak Road","town":"Leeds","postcode":"LS9 7QT""#;
        let homeless = LinkCandidate {
            address: None,
            ..candidate()
        };
        let with_postcode =
            |area: Option<&LocalAuthorityCode>, held: LinkCandidate| weigh(postcode, area, held);
        let gained =
            with_postcode(Some(&leeds), homeless.clone()) - with_postcode(None, homeless.clone());
        assert!((gained - agrees).abs() < 1e-6, "{gained}");

        // Nothing counts against a shielded child: another authority leaves her where she was,
        // so a record that could be her is held just as before.
        let shielded = LinkCandidate {
            shielded: true,
            ..homeless
        };
        assert_eq!(
            with_postcode(Some(&bradford), shielded.clone()),
            with_postcode(None, shielded.clone())
        );
        assert!(with_postcode(Some(&leeds), shielded.clone()) > with_postcode(None, shielded));
    }

    #[test]
    fn a_candidate_is_normalised_again_once_its_values_change_and_under_each_former_name() {
        let mut normalised = NormalisedCandidates::default();
        let mut held = candidate();
        let first = normalised.of(&held).to_vec();
        assert_eq!(first.len(), 2, "under each of its two former family names");
        assert_eq!(normalised.of(&held), first.as_slice());
        held.family_name = "Price".to_owned();
        let again = normalised.of(&held).to_vec();
        assert_ne!(again[0], first[0]);
        assert_eq!(again[0], linkage::normalise(&candidate_person(&held)));
        held.former_family_names.push("Smith".to_owned());
        assert_eq!(normalised.of(&held).len(), 3);
    }
}
