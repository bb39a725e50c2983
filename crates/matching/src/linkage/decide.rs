//! Deciding what becomes of a supplied record: link it, queue it as an exception, or create
//! a new child.
//!
//! The rule (issue 5): above the upper threshold, link to that child; below the lower, a new
//! child when the source is authoritative, otherwise an exception; in between, an
//! exception.

/// The two thresholds, as probabilities of a match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// At or above this, link.
    pub upper: f64,
    /// Below this, a new child (authoritative source) or an exception.
    pub lower: f64,
}

impl Thresholds {
    /// Link at 0.999 and above; below 0.01 no child is close enough to wait for the team.
    /// See docs/MATCHING.md for how they were chosen.
    pub const DEFAULT: Thresholds = Thresholds {
        upper: 0.999,
        lower: 0.01,
    };

    /// Thresholds with `0 <= lower <= upper <= 1`; `None` otherwise.
    pub fn new(lower: f64, upper: f64) -> Option<Self> {
        (0.0 <= lower && lower <= upper && upper <= 1.0).then_some(Self { upper, lower })
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What becomes of one supplied record against one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The same child: update it.
    Link,
    /// Not sure: the local team decides.
    Exception,
    /// Nobody known: create a child.
    New,
}

/// The rule applied to the probability that the record is the candidate.
pub fn decide(probability: f64, thresholds: &Thresholds, authoritative: bool) -> Decision {
    if probability >= thresholds.upper {
        Decision::Link
    } else if probability < thresholds.lower {
        if authoritative {
            Decision::New
        } else {
            Decision::Exception
        }
    } else {
        Decision::Exception
    }
}

/// What becomes of one supplied record against all its candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Link to the candidate at this position.
    Link(usize),
    /// For the team, with the positions of the candidates worth showing (at or above the
    /// lower threshold), best first; empty when there were none.
    Exception(Vec<usize>),
    /// Create a child.
    New,
}

/// The rule applied to every candidate of one record: link when exactly one candidate is at
/// or above the upper threshold; when two or more are, they are the same child twice or
/// too alike to tell apart, so an exception. Otherwise the best candidate decides.
pub fn decide_among(
    probabilities: &[f64],
    thresholds: &Thresholds,
    authoritative: bool,
) -> Outcome {
    let mut worth_showing: Vec<usize> = (0..probabilities.len())
        .filter(|&i| probabilities[i] >= thresholds.lower)
        .collect();
    worth_showing.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    let best = probabilities.iter().copied().fold(0.0, f64::max);
    match decide(best, thresholds, authoritative) {
        Decision::Link => {
            let linked: Vec<usize> = worth_showing
                .iter()
                .copied()
                .filter(|&i| probabilities[i] >= thresholds.upper)
                .collect();
            match linked.as_slice() {
                [only] => Outcome::Link(*only),
                _ => Outcome::Exception(worth_showing),
            }
        }
        Decision::Exception => Outcome::Exception(worth_showing),
        Decision::New => Outcome::New,
    }
}
