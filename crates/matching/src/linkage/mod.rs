//! Record linkage for supplied records: which child a record is, whether it is a new
//! child, or whether the local team must decide.
//!
//! The steps, each in its own module:
//! 1. [`mod@normalise`]: names, addresses and postcodes in one plain form ([`normalise()`]);
//! 2. [`blocking`]: the keys that choose which pairs are compared ([`blocking_keys`]);
//! 3. [`mod@compare`]: a comparison vector of graded levels per field ([`compare()`]);
//! 4. [`model`]: Fellegi-Sunter `m` and `u` probabilities, weights in bits and the
//!    probability of a match ([`Model`]), configured by default, optionally with
//!    [`frequencies`] (rare names count for more), or with `m` fitted by
//! 5. [`em`]: expectation maximisation ([`em::fit`]);
//! 6. [`mod@decide`]: the two thresholds ([`decide()`], [`decide_among`]);
//! 7. [`dedupe`]: duplicates within one source ([`find_duplicates`]).
//!
//! [`link`] runs the steps for one record against a directory held in memory.
//!
//! docs/MATCHING.md explains the levels, the weights, the thresholds and their accuracy.

pub mod blocking;
pub mod compare;
pub mod decide;
pub mod dedupe;
pub mod em;
pub mod frequencies;
pub mod model;
pub mod normalise;
pub mod record;
mod typo;

#[cfg(test)]
use crate::data::{NICKNAMES, SPELLING_VARIANTS};
#[cfg(test)]
mod sample;
#[cfg(test)]
mod tests;

pub use blocking::{blocking_keys, candidate_pairs, BlockIndex, DEFAULT_MAX_BLOCK};
pub use compare::{
    compare, AddressLevel, Comparison, DateLevel, FamilyLevel, Field, GenderLevel, NameLevel,
    PostcodeLevel, Stratum, FIELD_COUNT,
};
pub use decide::{decide, decide_among, Decision, Outcome, Thresholds};
pub use dedupe::{find_duplicates, DuplicateCluster, DuplicatePair};
pub use em::{EmFit, EmSettings, Fit};
pub use frequencies::NameFrequencies;
pub use model::{
    probability, weight_of_probability, FieldParameters, Model, Score, NATIONAL_POPULATION,
};
pub use normalise::{normalise, NormalisedPerson};
pub use record::{Gender, SuppliedPerson};

/// One candidate for a supplied record, scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The candidate's position in the directory slice.
    pub index: usize,
    pub score: Score,
}

/// The candidates for `record` among `directory` (indexed by `index`, built from the same
/// slice), scored with `model`, most probable first.
pub fn score_candidates(
    record: &NormalisedPerson,
    directory: &[NormalisedPerson],
    index: &BlockIndex,
    model: &Model,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = index
        .candidates(&blocking_keys(record), DEFAULT_MAX_BLOCK)
        .into_iter()
        .map(|i| Candidate {
            index: i,
            score: model.score(record, &directory[i]),
        })
        .collect();
    out.sort_by(|a, b| b.score.probability.total_cmp(&a.score.probability));
    out
}

/// Links one record: its candidates scored and the rule applied to them.
pub fn link(
    record: &NormalisedPerson,
    directory: &[NormalisedPerson],
    index: &BlockIndex,
    model: &Model,
    thresholds: &Thresholds,
    authoritative: bool,
) -> (Outcome, Vec<Candidate>) {
    let candidates = score_candidates(record, directory, index, model);
    let probabilities: Vec<f64> = candidates.iter().map(|c| c.score.probability).collect();
    let outcome = match decide_among(&probabilities, thresholds, authoritative) {
        Outcome::Link(i) => Outcome::Link(candidates[i].index),
        Outcome::Exception(shown) => {
            Outcome::Exception(shown.into_iter().map(|i| candidates[i].index).collect())
        }
        Outcome::New => Outcome::New,
    };
    (outcome, candidates)
}
