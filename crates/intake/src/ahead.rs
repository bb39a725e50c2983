//! Scoring a batch ahead, on every core. A load that reads its candidates from its own copy
//! (`CandidateCache`) knows, before its batch begins, the candidates each record will be
//! handed unless an earlier record of the batch changes one. Every record is scored against
//! those at once, in parallel; as the batch then places its records one by one, a candidate
//! still the very allocation it was scored in (the copy replaces a child it changes, and
//! copies one it shares before noting a supplier) keeps its probability; one whose only change
//! is a supplier noted keeps the weight of her values, and only what her suppliers weigh is
//! added again; any other is scored there and then, as is every candidate of a record whose
//! area differs from the one it was scored for. Scoring is a pure function of the record, its
//! companions, its area, the import's settings and the candidate, so the batch places every
//! record exactly as it would have without looking ahead.

use crate::place::{
    NormalisedCandidate, NormalisedCandidates, PlaceSettings, RecordScoring, Scored,
};
use contactpoint_domain::{LocalAuthorityCode, SourceCode};
use contactpoint_matching::linkage::NormalisedPerson;
use contactpoint_storage::supply::LinkCandidate;
use contactpoint_storage::{CandidateCache, ChosenAhead};
use contactpoint_supply::SuppliedChild;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// One record scored ahead: the area it was scored for and its candidates then, in id
/// order, each with its probability. Holding each candidate keeps its allocation from being
/// reused, so one found at the same address later is the same child, unchanged.
#[derive(Debug)]
pub(crate) struct ScoredAhead {
    area: Option<LocalAuthorityCode>,
    /// The record in normal form, for scoring a candidate that changed since.
    record: NormalisedPerson,
    scored: Vec<(Arc<LinkCandidate>, Scored)>,
    /// The children its keys reached in the copy, for placing it (`IncomingRecord::chosen_ahead`).
    chosen: Option<ChosenAhead>,
}

impl ScoredAhead {
    pub(crate) fn record(&self) -> &NormalisedPerson {
        &self.record
    }

    /// The choice of candidates the record was scored against, handed to its placing once.
    pub(crate) fn take_chosen(&mut self) -> Option<ChosenAhead> {
        self.chosen.take()
    }

    /// Whether the record was scored for the area it points to now.
    pub(crate) fn scored_for(&self, area: Option<&LocalAuthorityCode>) -> bool {
        self.area.as_ref() == area
    }

    /// The probability of each of `candidates`: as scored ahead for one unchanged since;
    /// from `resupply`, with the weight of her values, for one changed only in the suppliers
    /// holding her; and from `rescore` for any other.
    pub(crate) fn probabilities(
        &self,
        candidates: &[Arc<LinkCandidate>],
        mut resupply: impl FnMut(&LinkCandidate, f64) -> f64,
        mut rescore: impl FnMut(&LinkCandidate) -> f64,
    ) -> Vec<f64> {
        candidates
            .iter()
            .map(|candidate| {
                let ahead = self
                    .scored
                    .binary_search_by_key(&candidate.child_id, |(c, _)| c.child_id)
                    .ok()
                    .map(|at| &self.scored[at]);
                match ahead {
                    Some((scored, then)) if Arc::ptr_eq(scored, candidate) => then.probability,
                    Some((scored, then)) if scored.same_but_for_suppliers(candidate) => {
                        resupply(candidate, then.values)
                    }
                    _ => rescore(candidate),
                }
            })
            .collect()
    }
}

/// One record of a batch to score ahead.
pub(crate) struct RecordAhead<'a> {
    pub child: &'a SuppliedChild,
    /// The district of its postcode, as the batch looks its authority up.
    pub postcode_district: Option<&'a str>,
    pub probe_keys: &'a [i64],
    pub companion_sources: &'a [SourceCode],
}

/// Scores every record of a batch against the candidates `cache` holds for it now, in
/// parallel, the area of each taken from `authorities` (by its postcode's district). The
/// candidates normalised on the way are kept in `normalised` for the batches after.
pub(crate) fn score_ahead(
    records: &[RecordAhead<'_>],
    cache: &CandidateCache,
    authorities: &HashMap<String, LocalAuthorityCode>,
    settings: &PlaceSettings,
    normalised: &mut NormalisedCandidates,
) -> Vec<ScoredAhead> {
    let memo: &NormalisedCandidates = normalised;
    let scored: Vec<(ScoredAhead, Vec<(i64, NormalisedCandidate)>)> = records
        .par_iter()
        .map(|record| {
            let area = record
                .postcode_district
                .and_then(|district| authorities.get(district));
            let scoring =
                RecordScoring::new(record.child, record.companion_sources, area, settings);
            let mut fresh = Vec::new();
            let (chosen, candidates) = cache.held_candidates(record.probe_keys);
            let scored = candidates
                .into_iter()
                .map(|candidate| {
                    let scored = match memo.current(&candidate) {
                        Some(persons) => scoring.scored(&candidate, persons),
                        None => {
                            let made = NormalisedCandidate::of(&candidate);
                            let scored = scoring.scored(&candidate, made.persons());
                            fresh.push((candidate.child_id, made));
                            scored
                        }
                    };
                    (candidate, scored)
                })
                .collect();
            let ahead = ScoredAhead {
                area: area.cloned(),
                record: scoring.record().clone(),
                scored,
                chosen: Some(chosen),
            };
            (ahead, fresh)
        })
        .collect();
    let mut ahead = Vec::with_capacity(scored.len());
    for (record, fresh) in scored {
        for (child_id, made) in fresh {
            normalised.keep(child_id, made);
        }
        ahead.push(record);
    }
    ahead
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::place::tests::candidate;

    fn child(id: i64) -> Arc<LinkCandidate> {
        Arc::new(LinkCandidate {
            child_id: id,
            ..candidate()
        })
    }

    fn scored(values: f64, probability: f64) -> Scored {
        Scored {
            values,
            probability,
        }
    }

    #[test]
    fn a_candidate_keeps_its_probability_only_while_it_is_the_very_one_scored() {
        let (kept, changed, supplied) = (child(3), child(5), child(7));
        let ahead = ScoredAhead {
            area: None,
            record: contactpoint_matching::linkage::normalise(&Default::default()),
            scored: vec![
                (kept.clone(), scored(1.0, 0.25)),
                (changed.clone(), scored(2.0, 0.75)),
                (supplied.clone(), scored(3.0, 0.125)),
            ],
            chosen: None,
        };
        // The second was changed (as the copy replaces a child whose values a record
        // changes), the third copied to note a supplier on, and a child the record was not
        // scored against came in.
        let mut replaced = (*changed).clone();
        replaced.family_name = "Lockwood-Hale".to_owned();
        let mut noted = (*supplied).clone();
        noted
            .supplied_by
            .push(SourceCode::parse("child_benefit").unwrap());
        let newcomer = child(4);
        let (mut resupplied, mut rescored) = (Vec::new(), Vec::new());
        let probabilities = ahead.probabilities(
            &[kept, newcomer, Arc::new(replaced), Arc::new(noted)],
            |candidate, values| {
                resupplied.push((candidate.child_id, values));
                0.375
            },
            |candidate| {
                rescored.push(candidate.child_id);
                0.5
            },
        );
        assert_eq!(probabilities, vec![0.25, 0.5, 0.5, 0.375]);
        assert_eq!(
            rescored,
            vec![4, 5],
            "a newcomer and a changed child are scored again"
        );
        assert_eq!(
            resupplied,
            vec![(7, 3.0)],
            "a child with only a supplier noted keeps the weight of her values"
        );
    }

    #[test]
    fn a_record_is_scored_ahead_only_for_the_area_it_points_to() {
        let leeds = LocalAuthorityCode::parse("E08000035").unwrap();
        let york = LocalAuthorityCode::parse("E06000014").unwrap();
        let ahead = ScoredAhead {
            area: Some(leeds.clone()),
            record: contactpoint_matching::linkage::normalise(&Default::default()),
            scored: Vec::new(),
            chosen: None,
        };
        assert!(ahead.scored_for(Some(&leeds)));
        assert!(!ahead.scored_for(Some(&york)));
        assert!(!ahead.scored_for(None));
    }
}
