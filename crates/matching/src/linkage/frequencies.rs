//! How common each name is in the directory, so that agreeing on a rare name counts for more
//! than agreeing on a common one (term-frequency adjustment).
//!
//! Two children both called Smith is weaker evidence than two both called Hartridge: the
//! average `u` for an exact family name is right on average and wrong for both. With
//! frequencies, an exact agreement in the general stratum is weighed with the share of
//! children who have that name, held within a factor of [`RANGE`] of the average `u` either
//! way (so a name seen once, or a typo, cannot count for too much).

use super::normalise::NormalisedPerson;
use std::collections::HashMap;

/// How far a name's share may move `u` from the average, either way.
pub const RANGE: f64 = 30.0;

/// Counts of first given names and family names (run together) over a set of records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameFrequencies {
    given: HashMap<String, u32>,
    family: HashMap<String, u32>,
    people: u32,
}

impl NameFrequencies {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts over the records (normally the directory).
    pub fn from_records(records: &[NormalisedPerson]) -> Self {
        let mut frequencies = Self::new();
        for record in records {
            frequencies.add(record);
        }
        frequencies
    }

    /// Counts one more record.
    pub fn add(&mut self, person: &NormalisedPerson) {
        self.people += 1;
        if let Some(first) = person.given.first() {
            *self.given.entry(first.text.clone()).or_default() += 1;
        }
        if !person.family.is_empty() {
            *self
                .family
                .entry(person.family.compact.clone())
                .or_default() += 1;
        }
    }

    /// How many records were counted.
    pub fn people(&self) -> u32 {
        self.people
    }

    /// The share of records whose first given name is `name` (folded, as in
    /// [`super::normalise::NameToken::text`]); 0 when none.
    pub fn given_share(&self, name: &str) -> f64 {
        self.share(&self.given, name)
    }

    /// The share of records whose family name, run together, is `name`; 0 when none.
    pub fn family_share(&self, name: &str) -> f64 {
        self.share(&self.family, name)
    }

    fn share(&self, counts: &HashMap<String, u32>, name: &str) -> f64 {
        if self.people == 0 {
            return 0.0;
        }
        f64::from(counts.get(name).copied().unwrap_or(0)) / f64::from(self.people)
    }
}

/// The `u` to use for exact agreement on a name with `share`, given the average `u`.
pub(crate) fn adjusted_u(share: f64, average: f64) -> f64 {
    share.clamp(average / RANGE, average * RANGE)
}
