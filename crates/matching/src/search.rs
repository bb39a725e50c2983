//! Finding a child: the keys a child is indexed under, the keys a search probes, and the
//! score of a candidate. Keys are 64-bit hashes of a kind, name codes and a value, so the
//! database index stays narrow; a rare hash collision only adds a candidate that then
//! scores low.
//!
//! Every search the directory allows has a name and a date of birth, an age range or a
//! postcode, so three kinds of key reach every child it should:
//! - `D`: one name code with the exact date of birth (either name right, date right or
//!   day and month swapped);
//! - `Y`: a given-name code paired with a family-name code, with the year of birth (both
//!   names near, any mistake within the day and month, a digit wrong in the year, an age
//!   range, given and family names swapped);
//! - `P`: one name code with the district of any postcode the child has had (partial and
//!   old postcodes);
//! - `B`: the date of birth with a postcode district, and `I`: the date of birth with the
//!   initials of a given and a family name. Neither needs a name to sound right, so a typo
//!   that changes a name's sound-alike code still reaches the child when the date is right.

use crate::names::{compact, name_similarity, name_tokens, phonetic_keys, NameGroups};
use crate::postcodes::PostcodeParts;
use crate::{date_variants, dates_similarity};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeSet;

/// What a child is found by.
#[derive(Debug, Clone, Default)]
pub struct Findable {
    pub given_name: String,
    pub middle_names: Option<String>,
    pub family_name: String,
    /// Former given names (when the child had one) and former family names.
    pub former_given_names: Vec<String>,
    pub former_family_names: Vec<String>,
    pub date_of_birth: Option<NaiveDate>,
    /// `female`, `male` or `not_specified`.
    pub gender: String,
    /// The current (or last known) postcode first, if there is one, then earlier ones.
    pub current_postcode: Option<String>,
    pub earlier_postcodes: Vec<String>,
}

/// When the child was born, as the searcher knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthQuery {
    Date(NaiveDate),
    /// Born between these dates, inclusive (an age range).
    Between(NaiveDate, NaiveDate),
}

/// What a searcher gave, already checked for proportionality by the caller.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub birth: Option<BirthQuery>,
    pub gender: Option<String>,
    pub postcode: Option<PostcodeParts>,
    /// Names the directory holds that are one slip (a letter wrong, missing, extra, or two
    /// neighbours swapped) from a word of the given name, and of the family name, that the
    /// directory does not hold: what the searcher may have meant (see [`Query::spelling_fragments`]).
    pub given_spellings: Vec<String>,
    pub family_spellings: Vec<String>,
}

/// The sound-alike codes and variant groups of every word of a name.
fn name_codes(name: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for token in name_tokens(name) {
        let (primary, alternate) = phonetic_keys(&token);
        if !primary.is_empty() {
            codes.insert(primary);
        }
        if !alternate.is_empty() {
            codes.insert(alternate);
        }
        for group in NameGroups::bundled().groups_of(&token) {
            codes.insert(format!("#{group}"));
        }
    }
    codes
}

/// The fragments a word of a name is filed under in the directory's spelling list: the
/// folded word itself and the word with each letter left out in turn. Two words one slip
/// apart share a fragment, so the list finds a name's likely spellings in one lookup.
pub fn spelling_fragments(word: &str) -> Vec<i64> {
    let word = compact(word);
    let mut fragments = BTreeSet::new();
    fragments.insert(key(&["S", &word]));
    for at in 0..word.len() {
        let mut shorter = word.clone();
        shorter.remove(at);
        fragments.insert(key(&["S", &shorter]));
    }
    fragments.into_iter().collect()
}

/// True when two folded words differ by exactly one slip: a letter wrong, missing or extra,
/// or two neighbouring letters swapped.
pub fn one_slip_apart(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Equal => {
            a[same + 1..] == b[same + 1..]
                || (same + 1 < a.len()
                    && a[same] == b[same + 1]
                    && a[same + 1] == b[same]
                    && a[same + 2..] == b[same + 2..])
        }
        std::cmp::Ordering::Greater => a[same + 1..] == b[same..],
        std::cmp::Ordering::Less => b[same + 1..] == a[same..],
    }
}

/// FNV-1a over the parts, separated, so that ("AB","C") and ("A","BC") differ.
fn key(parts: &[&str]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0x1f)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash as i64
}

fn date_key(code: &str, date: NaiveDate) -> i64 {
    key(&["D", code, &date.format("%Y%m%d").to_string()])
}

fn pair_key(a: &str, b: &str, year: i32) -> i64 {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    key(&["Y", first, second, &year.to_string()])
}

fn district_key(code: &str, outward: &str) -> i64 {
    key(&["P", code, outward])
}

fn born_in_district_key(date: NaiveDate, outward: &str) -> i64 {
    key(&["B", &date.format("%Y%m%d").to_string(), outward])
}

fn initials_key(a: char, b: char, date: NaiveDate) -> i64 {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    key(&[
        "I",
        &first.to_string(),
        &second.to_string(),
        &date.format("%Y%m%d").to_string(),
    ])
}

/// The first letter of each word of each name.
fn initials<'a>(names: impl IntoIterator<Item = &'a String>) -> BTreeSet<char> {
    names
        .into_iter()
        .flat_map(|n| name_tokens(n))
        .filter_map(|t| t.chars().next())
        .collect()
}

/// The date, and the date with day and month swapped when that is a date too.
fn date_and_swap(date: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    [
        Some(date),
        NaiveDate::from_ymd_opt(date.year(), date.day(), date.month()),
    ]
    .into_iter()
    .flatten()
}

/// The kinds of key, each reaching the child by a different part of what a searcher knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyKind {
    /// One name code with the exact date of birth.
    NameAndDate,
    /// A given-name code paired with a family-name code, with the year of birth.
    NamesAndYear,
    /// One name code with a postcode district.
    NameAndDistrict,
    /// The exact date of birth with a postcode district.
    DateAndDistrict,
    /// The exact date of birth with the initials of a given and a family name.
    DateAndInitials,
}

impl KeyKind {
    pub const ALL: [Self; 5] = [
        Self::NameAndDate,
        Self::NamesAndYear,
        Self::NameAndDistrict,
        Self::DateAndDistrict,
        Self::DateAndInitials,
    ];

    /// The letter the key's hash starts from (D, Y, P, B, I).
    pub fn letter(self) -> &'static str {
        match self {
            Self::NameAndDate => "D",
            Self::NamesAndYear => "Y",
            Self::NameAndDistrict => "P",
            Self::DateAndDistrict => "B",
            Self::DateAndInitials => "I",
        }
    }

    /// What the key is made of, for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::NameAndDate => "name+date of birth",
            Self::NamesAndYear => "given+family+year",
            Self::NameAndDistrict => "name+postcode district",
            Self::DateAndDistrict => "date of birth+district",
            Self::DateAndInitials => "date of birth+initials",
        }
    }
}

/// Keys of every kind, each once.
fn unrepeated(keys: Vec<(KeyKind, i64)>) -> Vec<i64> {
    keys.into_iter()
        .map(|(_, k)| k)
        .collect::<BTreeSet<i64>>()
        .into_iter()
        .collect()
}

impl Findable {
    fn given_codes(&self) -> BTreeSet<String> {
        let mut codes = name_codes(&self.given_name);
        for former in &self.former_given_names {
            codes.extend(name_codes(former));
        }
        codes
    }

    fn family_codes(&self) -> BTreeSet<String> {
        let mut codes = name_codes(&self.family_name);
        for former in &self.former_family_names {
            codes.extend(name_codes(former));
        }
        codes
    }

    /// The folded words of all the child's names: what the spelling list holds.
    pub fn name_words(&self) -> BTreeSet<String> {
        std::iter::once(&self.given_name)
            .chain(&self.middle_names)
            .chain(std::iter::once(&self.family_name))
            .chain(&self.former_given_names)
            .chain(&self.former_family_names)
            .flat_map(|n| name_tokens(n))
            .collect()
    }

    /// Every key this child is indexed under, without repeats.
    pub fn index_keys(&self) -> Vec<i64> {
        unrepeated(self.index_keys_by_kind())
    }

    /// Every key this child is indexed under, with its kind (a key may repeat).
    pub fn index_keys_by_kind(&self) -> Vec<(KeyKind, i64)> {
        let given = self.given_codes();
        let family = self.family_codes();
        let mut middle = BTreeSet::new();
        if let Some(names) = &self.middle_names {
            middle = name_codes(names);
        }
        let mut keys = Vec::new();
        let all: BTreeSet<&String> = given.iter().chain(&family).chain(&middle).collect();
        if let Some(born) = self.date_of_birth {
            for code in &all {
                keys.push((KeyKind::NameAndDate, date_key(code, born)));
            }
            for g in given.iter().chain(&middle) {
                for f in &family {
                    keys.push((KeyKind::NamesAndYear, pair_key(g, f, born.year())));
                }
            }
        }
        let districts: BTreeSet<String> = self
            .current_postcode
            .iter()
            .chain(&self.earlier_postcodes)
            .filter_map(|p| PostcodeParts::parse(p))
            .map(|p| p.outward)
            .collect();
        for district in &districts {
            for code in &all {
                keys.push((KeyKind::NameAndDistrict, district_key(code, district)));
            }
        }
        if let Some(born) = self.date_of_birth {
            for district in &districts {
                keys.push((
                    KeyKind::DateAndDistrict,
                    born_in_district_key(born, district),
                ));
            }
            let given = initials(std::iter::once(&self.given_name).chain(&self.former_given_names));
            let family =
                initials(std::iter::once(&self.family_name).chain(&self.former_family_names));
            for g in &given {
                for f in &family {
                    keys.push((KeyKind::DateAndInitials, initials_key(*g, *f, born)));
                }
            }
        }
        keys
    }
}

impl Query {
    /// The keys to look up, without repeats. `plausible_years` bounds the years of birth a
    /// mistyped year may stand for (the children the directory can hold).
    pub fn probe_keys(&self, plausible_years: std::ops::RangeInclusive<i32>) -> Vec<i64> {
        unrepeated(self.probe_keys_by_kind(plausible_years))
    }

    /// The keys to look up, with their kind (a key may repeat).
    pub fn probe_keys_by_kind(
        &self,
        plausible_years: std::ops::RangeInclusive<i32>,
    ) -> Vec<(KeyKind, i64)> {
        let given = self
            .given_name
            .as_deref()
            .map(name_codes)
            .unwrap_or_default();
        let family = self
            .family_name
            .as_deref()
            .map(name_codes)
            .unwrap_or_default();
        let codes_of = |words: &[String]| -> BTreeSet<String> {
            words.iter().flat_map(|w| name_codes(w)).collect()
        };
        let given_spelt: BTreeSet<String> = codes_of(&self.given_spellings)
            .difference(&given)
            .cloned()
            .collect();
        let family_spelt: BTreeSet<String> = codes_of(&self.family_spellings)
            .difference(&family)
            .cloned()
            .collect();
        let all: BTreeSet<&String> = given
            .iter()
            .chain(&family)
            .chain(&given_spelt)
            .chain(&family_spelt)
            .collect();
        let mut keys = Vec::new();
        let years: BTreeSet<i32> = match self.birth {
            Some(BirthQuery::Date(date)) => {
                for exact in date_and_swap(date) {
                    for code in &all {
                        keys.push((KeyKind::NameAndDate, date_key(code, exact)));
                    }
                }
                date_variants(date)
                    .into_iter()
                    .map(|d| d.year())
                    .filter(|y| plausible_years.contains(y))
                    .collect()
            }
            Some(BirthQuery::Between(from, to)) => (from.year()..=to.year()).collect(),
            None => BTreeSet::new(),
        };
        // Both names as given, or one of them as the directory spells it.
        let pairs = given
            .iter()
            .chain(&given_spelt)
            .flat_map(|g| family.iter().map(move |f| (g, f)))
            .chain(
                given
                    .iter()
                    .flat_map(|g| family_spelt.iter().map(move |f| (g, f))),
            );
        for (g, f) in pairs {
            for year in &years {
                keys.push((KeyKind::NamesAndYear, pair_key(g, f, *year)));
            }
        }
        if let Some(postcode) = &self.postcode {
            for code in &all {
                keys.push((
                    KeyKind::NameAndDistrict,
                    district_key(code, &postcode.outward),
                ));
            }
        }
        if let Some(BirthQuery::Date(date)) = self.birth {
            for exact in date_and_swap(date) {
                if let Some(postcode) = &self.postcode {
                    keys.push((
                        KeyKind::DateAndDistrict,
                        born_in_district_key(exact, &postcode.outward),
                    ));
                }
                let given = initials(self.given_name.iter());
                let family = initials(self.family_name.iter());
                for g in &given {
                    for f in &family {
                        keys.push((KeyKind::DateAndInitials, initials_key(*g, *f, exact)));
                    }
                }
            }
        }
        keys
    }

    /// The spelling-list fragments of every word of the names searched for.
    pub fn spelling_fragments(&self) -> Vec<i64> {
        self.given_name
            .iter()
            .chain(&self.family_name)
            .flat_map(|n| name_tokens(n))
            .flat_map(|w| spelling_fragments(&w))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Sets the spellings to look under from `known`, the words the spelling list holds
    /// under this search's fragments: for each word of a name that the directory does not
    /// hold, the known words one slip from it. A word the directory holds is taken as meant.
    pub fn with_spellings(mut self, known: &[String]) -> Self {
        let known: BTreeSet<&str> = known.iter().map(String::as_str).collect();
        let spellings = |name: &Option<String>| -> Vec<String> {
            let mut out = Vec::new();
            for word in name.iter().flat_map(|n| name_tokens(n)) {
                if known.contains(word.as_str()) {
                    continue;
                }
                out.extend(
                    known
                        .iter()
                        .filter(|k| one_slip_apart(&word, k))
                        .map(|k| (*k).to_owned()),
                );
            }
            out
        };
        self.given_spellings = spellings(&self.given_name);
        self.family_spellings = spellings(&self.family_name);
        self
    }

    /// How well a child fits this search, from 0 to 1: the weighted mean of the criteria
    /// given (family name 3, given name 3, birth 3, postcode 1 to 2 by how much of it was
    /// given, gender 1).
    pub fn score(&self, child: &Findable) -> f64 {
        let mut total = 0.0;
        let mut weights = 0.0;
        let mut add = |similarity: f64, weight: f64| {
            total += similarity * weight;
            weights += weight;
        };
        match (&self.given_name, &self.family_name) {
            (Some(given), Some(family)) => {
                let straight =
                    (given_similarity(given, child) + family_similarity(family, child)) / 2.0;
                let swapped = (family_similarity(given, child) + given_similarity(family, child))
                    / 2.0
                    * 0.95;
                add(straight.max(swapped), 6.0);
            }
            (Some(given), None) => add(
                given_similarity(given, child).max(family_similarity(given, child) * 0.95),
                3.0,
            ),
            (None, Some(family)) => add(
                family_similarity(family, child).max(given_similarity(family, child) * 0.95),
                3.0,
            ),
            (None, None) => {}
        }
        match (self.birth, child.date_of_birth) {
            (Some(BirthQuery::Date(date)), Some(born)) => add(dates_similarity(date, born), 3.0),
            (Some(BirthQuery::Between(from, to)), Some(born)) => add(
                if (from..=to).contains(&born) {
                    1.0
                } else {
                    0.0
                },
                3.0,
            ),
            (Some(_), None) => add(0.0, 3.0),
            (None, _) => {}
        }
        if let Some(given) = &self.postcode {
            let weight = if given.full.is_some() {
                2.0
            } else if given.sector.is_some() {
                1.5
            } else {
                1.0
            };
            let current = child
                .current_postcode
                .as_deref()
                .and_then(PostcodeParts::parse)
                .map(|p| postcode_fit(given, &p))
                .unwrap_or(0.0);
            let earlier = child
                .earlier_postcodes
                .iter()
                .filter_map(|p| PostcodeParts::parse(p))
                .map(|p| postcode_fit(given, &p) * 0.9)
                .fold(0.0, f64::max);
            add(current.max(earlier), weight);
        }
        if let Some(gender) = &self.gender {
            let fit = if *gender == child.gender {
                1.0
            } else if gender == "not_specified" || child.gender == "not_specified" {
                0.5
            } else {
                0.0
            };
            add(fit, 1.0);
        }
        if weights == 0.0 {
            0.0
        } else {
            (total / weights).clamp(0.0, 1.0)
        }
    }
}

/// The given name as searched against the child's given name, then (discounted) a middle
/// name the child may go by, or a former given name.
fn given_similarity(name: &str, child: &Findable) -> f64 {
    let mut best = name_similarity(name, &child.given_name);
    if let Some(middle) = &child.middle_names {
        for word in name_tokens(middle) {
            best = best.max(name_similarity(name, &word) * 0.9);
        }
    }
    for former in &child.former_given_names {
        best = best.max(name_similarity(name, former) * 0.95);
    }
    best
}

/// The family name as searched against the child's, then (discounted) former family names.
fn family_similarity(name: &str, child: &Findable) -> f64 {
    let mut best = name_similarity(name, &child.family_name);
    for former in &child.former_family_names {
        best = best.max(name_similarity(name, former) * 0.95);
    }
    best
}

/// How well a postcode fits what the searcher gave: all of what they gave agreeing is 1,
/// however little that was (its weight says how much it counts).
fn postcode_fit(given: &PostcodeParts, recorded: &PostcodeParts) -> f64 {
    let levels = [
        (given.full.as_ref(), recorded.full.as_ref()),
        (given.sector.as_ref(), recorded.sector.as_ref()),
        (Some(&given.outward), Some(&recorded.outward)),
        (Some(&given.area), Some(&recorded.area)),
    ];
    let given_levels: Vec<_> = levels.iter().filter(|(g, _)| g.is_some()).collect();
    for (depth, (g, r)) in given_levels.iter().enumerate() {
        if g == r {
            return 1.0 - depth as f64 / given_levels.len() as f64;
        }
    }
    0.0
}

#[cfg(test)]
mod tests;
