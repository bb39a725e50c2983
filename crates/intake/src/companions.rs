//! Records of other sources still waiting that are, beyond doubt, the same person as a record
//! tried again: its companions. They weigh against a candidate their own sources have already
//! placed a record on.
//!
//! Why: a child the register of births never named (born abroad, say) comes in first through
//! the NHS, and her NHS record can score between the thresholds against a twin or a sibling
//! already in the directory, so it waits, and her census and benefit records wait behind it
//! with nobody to link to. Were she that sibling, each of those sources would have sent the
//! sibling twice, under two of its own identifiers: a chance of `place::repeat_rate` for each
//! source, independent of the others. Three sources that each already hold the sibling and
//! each also hold her make "she is the sibling" next to impossible, and she is made a child of
//! her own (then her companions link to her).

use crate::place::{never_against_shielded, repeat_rate};
use contactpoint_domain::{Permit, SourceCode};
use contactpoint_matching::linkage::{
    blocking_keys, normalise, BlockIndex, Model, NormalisedPerson, Thresholds, DEFAULT_MAX_BLOCK,
};
use contactpoint_storage::supply::LinkCandidate;
use contactpoint_storage::supply::WaitingRecord;
use contactpoint_storage::{StorageError, Store};
use contactpoint_supply::{child_from_json, SuppliedChild};

/// A source's records waiting in the exceptions queue, read a page at a time in identifier
/// order: what a retry tries again, and what its companions are drawn from.
pub(crate) struct WaitingPages {
    source: SourceCode,
    size: i64,
    after: Option<String>,
}

impl WaitingPages {
    pub(crate) fn new(source: SourceCode, size: i64) -> Self {
        Self {
            source,
            size,
            after: None,
        }
    }

    /// The next page, or `None` once every waiting record has been read.
    pub(crate) async fn next(
        &mut self,
        store: &Store,
        permit: &Permit,
    ) -> Result<Option<Vec<WaitingRecord>>, StorageError> {
        let page = store
            .waiting_records(permit, &self.source, self.after.as_deref(), self.size)
            .await?;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        self.after = Some(last.source_record_id.clone());
        Ok(Some(page))
    }
}

/// The waiting records of every source but one, indexed for blocking.
#[derive(Debug, Default)]
pub struct Companions {
    people: Vec<(SourceCode, NormalisedPerson)>,
    index: BlockIndex,
}

/// Waiting records are read this many at a time.
const PAGE: i64 = 10_000;

impl Companions {
    /// Every record waiting in the exceptions queue from a source other than `except`.
    pub async fn waiting(
        store: &Store,
        permit: &Permit,
        except: &SourceCode,
    ) -> Result<Self, StorageError> {
        let mut companions = Self::default();
        for source in store.source_codes().await? {
            if &source == except {
                continue;
            }
            let mut pages = WaitingPages::new(source.clone(), PAGE);
            while let Some(page) = pages.next(store, permit).await? {
                for waiting in &page {
                    // A record that no longer reads is tried again on its own and rejected
                    // there; it corroborates nothing.
                    if let Ok(child) =
                        child_from_json(&waiting.record, waiting.raised_at.date_naive())
                    {
                        companions.add(source.clone(), &child);
                    }
                }
            }
        }
        Ok(companions)
    }

    /// Adds a waiting record of `source`.
    pub fn add(&mut self, source: SourceCode, child: &SuppliedChild) {
        let person = normalise(&crate::place::supplied_person(child));
        self.index
            .insert(self.people.len(), &blocking_keys(&person));
        self.people.push((source, person));
    }

    /// The sources, other than `source`, of waiting records that are the same person as
    /// `child` at or above the upper threshold; each once.
    pub fn sources_of(
        &self,
        child: &SuppliedChild,
        source: &SourceCode,
        model: &Model,
        thresholds: &Thresholds,
    ) -> Vec<SourceCode> {
        if self.people.is_empty() {
            return Vec::new();
        }
        let person = normalise(&crate::place::supplied_person(child));
        let mut sources: Vec<SourceCode> = Vec::new();
        for i in self
            .index
            .candidates(&blocking_keys(&person), DEFAULT_MAX_BLOCK)
        {
            let (other, companion) = &self.people[i];
            if other == source || sources.contains(other) {
                continue;
            }
            if model.score(&person, companion).probability >= thresholds.upper {
                sources.push(other.clone());
            }
        }
        sources
    }
}

/// The weight in bits the companions' sources put against `candidate`: for each that has
/// already placed a record on it, the chance it sent that child twice. Nothing against a
/// shielded child (`place::never_against_shielded`).
pub fn against(candidate: &LinkCandidate, companion_sources: &[SourceCode]) -> f64 {
    let weight = companion_sources
        .iter()
        .filter(|s| candidate.supplied_by.contains(s))
        .map(|s| repeat_rate(s).log2())
        .sum();
    never_against_shielded(candidate, weight)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(source: &str) -> SourceCode {
        SourceCode::parse(source).unwrap()
    }

    #[test]
    fn each_companion_source_that_holds_the_candidate_weighs_its_repeat_rate_and_none_weighs_against_a_shielded_child(
    ) {
        let mut candidate = crate::place::tests::candidate();
        candidate.supplied_by = vec![code("child_benefit"), code("schools_census")];
        let companions = [
            code("schools_census"),
            code("child_benefit"),
            code("local_systems"),
        ];
        let expected = 2.0 * 0.02f64.log2();
        assert!((against(&candidate, &companions) - expected).abs() < 1e-9);
        assert_eq!(against(&candidate, &[code("local_systems")]), 0.0);
        candidate.shielded = true;
        assert_eq!(against(&candidate, &companions), 0.0);
    }
}
