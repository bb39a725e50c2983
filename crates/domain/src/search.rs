//! Finding a child: what a searcher may ask (checked once, including whether it is
//! proportionate), and how scored candidates become what the searcher sees (the shielding
//! and archive rules, the threshold, the cap and "too many matches").

use crate::{ContactPointId, FamilyName, FieldError, Gender, GivenName};
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

/// At most this many results; more good matches than this is "too many matches".
pub const RESULT_CAP: usize = 10;
/// A candidate scoring below this is not shown.
pub const SHOWN_FROM: f64 = 0.7;
/// A candidate scoring at least this, and as well as the best one (as shown, to two
/// places), is a good match, and counts towards the cap.
pub const GOOD_MATCH: f64 = 0.85;
/// The widest age range that still counts as knowing when the child was born.
pub const WIDEST_AGE_RANGE: u32 = 5;
/// How sharply a rival fitting nearly as well lowers a child's score: a rival fitting 0.05
/// less weighs e^-3 (5%) of the child itself, one fitting 0.1 less e^-6, so only near rivals
/// matter, and two children fitting exactly as well each score half their fit.
pub const RIVALRY: f64 = 60.0;
/// The oldest age a record can be searched for (records are archived by 25 at the latest).
pub const OLDEST_AGE: u32 = 25;

/// A search as typed: every field optional, nothing checked yet. A ContactPoint ID alone is
/// enough; otherwise at least three of family name, given name, date of birth (or an age
/// range) and postcode, one of them a name.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct SearchForm {
    /// Current or former family name; either part of a double-barrelled name will do.
    pub family_name: Option<String>,
    /// Given name, a nickname or short form, or a middle name the child goes by.
    pub given_name: Option<String>,
    /// YYYY-MM-DD; day and month swapped or one digit wrong still finds the child.
    pub date_of_birth: Option<String>,
    /// With age_to, instead of a date of birth: ages in whole years, at most 5 apart.
    pub age_from: Option<String>,
    pub age_to: Option<String>,
    /// female, male or not_specified (or F, M, U).
    pub gender: Option<String>,
    /// Whole or first part (MK40 1AB, MK40 1, MK40); current or earlier address.
    pub postcode: Option<String>,
    /// 12 digits, spaces allowed.
    pub contactpoint_id: Option<String>,
}

/// When the child was born, as the searcher knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Birth {
    Date(NaiveDate),
    /// Born between these dates inclusive: an age range turned into dates on the day of
    /// the search.
    Between(NaiveDate, NaiveDate),
}

/// A whole postcode or its first part (`MK40 1AB`, `MK40 1`, `MK40`), upper case with one
/// space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostcodeFragment(String);

impl PostcodeFragment {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let error = || {
            FieldError::new(
                "postcode",
                "a postcode or its first part, such as MK40 1AB, MK40 1 or MK40",
            )
        };
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let outward_ok = |s: &str| {
            let b = s.as_bytes();
            let letters = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            (1..=2).contains(&letters)
                && (2..=4).contains(&b.len())
                && letters < b.len()
                && b[letters].is_ascii_digit()
                && b[letters..].iter().all(u8::is_ascii_alphanumeric)
        };
        if !compact.is_ascii() || compact.is_empty() {
            return Err(error());
        }
        let inward_ok = |s: &str| {
            let b = s.as_bytes();
            (b.len() == 1 || b.len() == 3)
                && b[0].is_ascii_digit()
                && b[1..].iter().all(u8::is_ascii_alphabetic)
        };
        let parts: Vec<String> = input
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        let n = compact.len();
        let text = match parts.as_slice() {
            [outward, inward] if outward_ok(outward) && inward_ok(inward) => {
                format!("{outward} {inward}")
            }
            [_] if n >= 5 && inward_ok(&compact[n - 3..]) && outward_ok(&compact[..n - 3]) => {
                format!("{} {}", &compact[..n - 3], &compact[n - 3..])
            }
            [_] if outward_ok(&compact) => compact,
            [_] if inward_ok(&compact[n - 1..]) && outward_ok(&compact[..n - 1]) => {
                format!("{} {}", &compact[..n - 1], &compact[n - 1..])
            }
            _ => return Err(error()),
        };
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A checked, proportionate search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchCriteria {
    pub family_name: Option<FamilyName>,
    pub given_name: Option<GivenName>,
    pub birth: Option<Birth>,
    pub gender: Option<Gender>,
    pub postcode: Option<PostcodeFragment>,
    pub contactpoint_id: Option<ContactPointId>,
}

/// Why a search was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchRefusal {
    /// A field that could not be read.
    Field(FieldError),
    /// Too little to be proportionate; says what to add.
    TooVague { add: String },
}

impl From<FieldError> for SearchRefusal {
    fn from(e: FieldError) -> Self {
        Self::Field(e)
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn age(field: &str, value: &str) -> Result<u32, FieldError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|a| *a <= OLDEST_AGE)
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!("a whole number of years from 0 to {OLDEST_AGE}"),
            )
        })
}

impl SearchCriteria {
    /// Reads a search and checks it is proportionate: a ContactPoint ID, or at least three
    /// of family name, given name, date of birth (or an age range) and postcode, at least
    /// one of them a name. Gender narrows a search but does not count.
    pub fn parse(form: &SearchForm, today: NaiveDate) -> Result<Self, SearchRefusal> {
        let family_name = present(&form.family_name)
            .map(FamilyName::parse)
            .transpose()?;
        let given_name = present(&form.given_name)
            .map(GivenName::parse)
            .transpose()?;
        let date = present(&form.date_of_birth)
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .ok()
                    .filter(|d| *d <= today)
                    .ok_or_else(|| {
                        FieldError::new("date_of_birth", "a date in the past as YYYY-MM-DD")
                    })
            })
            .transpose()?;
        let from = present(&form.age_from)
            .map(|a| age("age_from", a))
            .transpose()?;
        let to = present(&form.age_to)
            .map(|a| age("age_to", a))
            .transpose()?;
        let birth = match (date, from, to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(FieldError::new(
                    "age_from",
                    "either a date of birth or an age range, not both",
                )
                .into())
            }
            (Some(date), None, None) => Some(Birth::Date(date)),
            (None, Some(from), Some(to)) => {
                if to < from || to - from > WIDEST_AGE_RANGE {
                    return Err(FieldError::new(
                        "age_to",
                        format!("an age from age_from to {WIDEST_AGE_RANGE} years more"),
                    )
                    .into());
                }
                // Aged `to` at most: born after the day `to + 1` years ago.
                let earliest = today
                    .checked_sub_months(Months::new(12 * (to + 1)))
                    .and_then(|d| d.succ_opt())
                    .unwrap_or(today);
                let latest = today
                    .checked_sub_months(Months::new(12 * from))
                    .unwrap_or(today);
                Some(Birth::Between(earliest, latest))
            }
            (None, Some(_), None) => {
                return Err(FieldError::new("age_to", "an age to go with age_from").into())
            }
            (None, None, Some(_)) => {
                return Err(FieldError::new("age_from", "an age to go with age_to").into())
            }
            (None, None, None) => None,
        };
        let gender = present(&form.gender)
            .map(|g| {
                Gender::parse_supplied(g).map_err(|_| {
                    FieldError::new("gender", "female, male or not_specified (or F, M, U)")
                })
            })
            .transpose()?;
        let postcode = present(&form.postcode)
            .map(PostcodeFragment::parse)
            .transpose()?;
        let contactpoint_id = present(&form.contactpoint_id)
            .map(ContactPointId::parse)
            .transpose()?;
        let criteria = Self {
            family_name,
            given_name,
            birth,
            gender,
            postcode,
            contactpoint_id,
        };
        criteria.check_proportionate()?;
        Ok(criteria)
    }

    fn check_proportionate(&self) -> Result<(), SearchRefusal> {
        if self.contactpoint_id.is_some() {
            return Ok(());
        }
        let has_name = self.family_name.is_some() || self.given_name.is_some();
        let missing: Vec<&str> = [
            (self.family_name.is_none(), "a family name"),
            (self.given_name.is_none(), "a given name"),
            (self.birth.is_none(), "a date of birth (or an age range)"),
            (self.postcode.is_none(), "a postcode"),
        ]
        .into_iter()
        .filter_map(|(absent, what)| absent.then_some(what))
        .collect();
        let given = 4 - missing.len();
        if given >= 3 && has_name {
            return Ok(());
        }
        let add = if has_name {
            let needed = 3 - given;
            let list = missing.join(", ");
            format!(
                "Add {} of: {list}. A search needs at least three of family name, given name, date of birth (or age range) and postcode, or a ContactPoint ID.",
                if needed == 1 { "one" } else { "two" }
            )
        } else {
            "Add a family name or a given name, with enough else to make three of family name, given name, date of birth (or age range) and postcode; or search by ContactPoint ID.".to_owned()
        };
        Err(SearchRefusal::TooVague { add })
    }

    /// True when the search uses where the child lives, so shielded children are left out.
    pub fn uses_address(&self) -> bool {
        self.postcode.is_some()
    }

    /// The criteria as the audit trail records them.
    pub fn audit_summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(id) = &self.contactpoint_id {
            parts.push(format!("contactpoint_id={}", id.as_digits()));
        }
        if let Some(v) = &self.family_name {
            parts.push(format!("family_name={v}"));
        }
        if let Some(v) = &self.given_name {
            parts.push(format!("given_name={v}"));
        }
        match self.birth {
            Some(Birth::Date(d)) => parts.push(format!("date_of_birth={d}")),
            Some(Birth::Between(a, b)) => parts.push(format!("born_between={a}..{b}")),
            None => {}
        }
        if let Some(g) = self.gender {
            parts.push(format!("gender={}", g.code()));
        }
        if let Some(p) = &self.postcode {
            parts.push(format!("postcode={}", p.as_str()));
        }
        parts.join("; ")
    }

    /// The years of birth a child on the directory can have: what a mistyped year may mean.
    pub fn plausible_birth_years(today: NaiveDate) -> std::ops::RangeInclusive<i32> {
        today.year() - OLDEST_AGE as i32 - 1..=today.year()
    }
}

/// One child the store found, with its score for this search.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub contactpoint_id: ContactPointId,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub gender: Gender,
    pub town: Option<String>,
    pub shielded: bool,
    pub archived: bool,
    pub score: f64,
}

/// What a searcher sees of one child: enough to pick the right one, no more. A shielded
/// child's town is never shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    pub contactpoint_id: String,
    /// How sure the directory is that this is the child searched for, from 0 to 1: how well
    /// the child fits the search, lowered when other children shown fit about as well.
    pub score: f64,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    /// female, male or not_specified.
    pub gender: String,
    pub town: Option<String>,
    pub shielded: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SearchOutcome {
    Found(Vec<SearchResult>),
    /// More good matches than the cap; says what to add.
    TooMany {
        add: String,
    },
}

/// A score as a searcher sees it: to two decimal places.
fn shown_score(score: f64) -> f64 {
    (score * 100.0).round() / 100.0
}

/// For each candidate shown, the share of the belief that it is the child searched for:
/// its weight `e^(RIVALRY * (fit - best fit))` over the weights of every candidate shown
/// (before the cap, so a rival cut by the cap still counts). A child alone at the top keeps
/// nearly all of it; two that fit exactly as well share it, so neither looks certain.
/// Only candidates the searcher may see are weighed: a shielded child left out of an
/// address search changes nobody's score.
fn certainties(shown: &[Candidate]) -> Vec<f64> {
    let best = shown.iter().map(|c| c.score).fold(0.0, f64::max);
    let weights: Vec<f64> = shown
        .iter()
        .map(|c| (RIVALRY * (c.score - best)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// Turns scored candidates into what the searcher sees: archived records never, shielded
/// records not when the search used an address, nothing below [`SHOWN_FROM`], ranked by
/// score (then ID, so equal scores always come in one order), and "too many matches" when
/// more than [`RESULT_CAP`] are good and score, as shown, as well as the best. The score
/// shown is the fit times the child's certainty against its rivals ([`certainties`]).
pub fn rank(criteria: &SearchCriteria, candidates: Vec<Candidate>) -> SearchOutcome {
    let mut shown: Vec<Candidate> = candidates
        .into_iter()
        .filter(|c| !c.archived)
        .filter(|c| !(c.shielded && criteria.uses_address()))
        .filter(|c| c.score >= SHOWN_FROM)
        .collect();
    // Good matches are those scoring at least GOOD_MATCH and, as shown (to two places), as
    // well as the best: when one child fits clearly better than the rest it comes first,
    // however many fit less well.
    let best = shown
        .iter()
        .map(|c| shown_score(c.score))
        .fold(0.0, f64::max);
    let good = shown
        .iter()
        .filter(|c| c.score >= GOOD_MATCH && shown_score(c.score) >= best)
        .count();
    if good > RESULT_CAP {
        let mut add = Vec::new();
        if criteria.given_name.is_none() {
            add.push("a given name");
        }
        if !matches!(criteria.birth, Some(Birth::Date(_))) {
            add.push("the date of birth");
        }
        if criteria
            .postcode
            .as_ref()
            .is_none_or(|p| p.as_str().len() < 6)
        {
            add.push("the whole postcode");
        }
        if criteria.gender.is_none() {
            add.push("gender");
        }
        return SearchOutcome::TooMany {
            add: format!(
                "Too many children match. Add {} to narrow the search.",
                if add.is_empty() {
                    "the ContactPoint ID".to_owned()
                } else {
                    add.join(" or ")
                }
            ),
        };
    }
    shown.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| {
            a.contactpoint_id
                .as_digits()
                .cmp(&b.contactpoint_id.as_digits())
        })
    });
    let certainty = certainties(&shown);
    shown.truncate(RESULT_CAP);
    SearchOutcome::Found(
        shown
            .into_iter()
            .zip(certainty)
            .map(|(c, certainty)| SearchResult {
                contactpoint_id: c.contactpoint_id.as_digits(),
                score: shown_score(c.score * certainty),
                given_name: c.given_name,
                family_name: c.family_name,
                date_of_birth: c.date_of_birth,
                gender: c.gender.code().to_owned(),
                town: if c.shielded { None } else { c.town },
                shielded: c.shielded,
            })
            .collect(),
    )
}

/// How many results at the top the search cannot tell apart: those scoring, as shown, what
/// the first scores. One when the first stands alone, none when nothing was found. Two or
/// more means the searcher should add what else they know before choosing.
pub fn alike_at_top(results: &[SearchResult]) -> usize {
    let Some(first) = results.first() else {
        return 0;
    };
    results
        .iter()
        .take_while(|r| r.score >= first.score)
        .count()
}

#[cfg(test)]
mod tests;
