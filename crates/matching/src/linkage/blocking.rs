//! Blocking: the keys that decide which pairs are compared at all.
//!
//! Comparing every pair is out of the question at national scale, so only records that
//! share a key are compared. A key joins a *name code* (the Double Metaphone primary code of
//! a word, or the id of a nickname or spelling group) with part of the date of birth or the
//! postcode. There are five kinds, and a true match with one of the usual errors keeps at
//! least one of them:
//!
//! | kind | made of | survives |
//! | --- | --- | --- |
//! | `FD` | a family-name code + the date of birth | any given-name error or nickname, house move |
//! | `GD` | a given- or first middle-name code + the date of birth | surname change, family-name typo, house move |
//! | `GFY` | given code + family code + year of birth | day or month wrong |
//! | `GFM` | given code + family code + day and month | year wrong |
//! | `GFP` | given code + family code + postcode district, and town | date of birth missing or wrong |
//!
//! Family codes include those of former family names, so a surname change with the former
//! name given keeps every kind. Dates in keys are taken with day and month in order of size,
//! so a record whose day and month were swapped has the same key. Nicknames share their
//! group's id, sound-alikes their code. Keys pair a name code with a date or place, so a
//! block holds a handful of children even at national scale; the largest blocks (common
//! names in a populous district, or one year) can be skipped with a cap.

use super::normalise::{NameToken, NormalisedPerson};
use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeSet, HashMap};

/// Blocks larger than this are skipped by [`candidate_pairs`] by default: they are common
/// names in a populous district or birth year, and every pair in them is also in smaller
/// blocks of the other kinds.
pub const DEFAULT_MAX_BLOCK: usize = 1_000;

/// FNV-1a over the parts, separated, so that ("AB","C") and ("A","BC") differ.
fn hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0x1f)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The codes of one word: its primary sound-alike code and its nickname and spelling
/// groups.
fn word_codes(token: &NameToken, codes: &mut BTreeSet<String>) {
    if !token.primary.is_empty() {
        codes.insert(token.primary.clone());
    }
    for group in &token.groups {
        codes.insert(format!("#{group}"));
    }
}

/// The first given name's codes.
fn given_codes(person: &NormalisedPerson) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    if let Some(first) = person.given.first() {
        word_codes(first, &mut codes);
    }
    codes
}

/// The codes of every word of the family name and the former family name, including the
/// alternate sound-alike code.
fn family_codes(person: &NormalisedPerson) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for token in person
        .family
        .tokens
        .iter()
        .chain(&person.former_family.tokens)
    {
        word_codes(token, &mut codes);
        if !token.alternate.is_empty() {
            codes.insert(token.alternate.clone());
        }
    }
    codes
}

/// The date with day and month in order of size: a swap leaves it unchanged.
fn unordered_date(date: NaiveDate) -> String {
    let (a, b) = (date.month().min(date.day()), date.month().max(date.day()));
    format!("{:04}{a:02}{b:02}", date.year())
}

fn unordered_day_month(date: NaiveDate) -> String {
    let (a, b) = (date.month().min(date.day()), date.month().max(date.day()));
    format!("{a:02}{b:02}")
}

/// The place parts of `GFP` keys: the postcode district and the town, either or both.
fn places(person: &NormalisedPerson) -> Vec<String> {
    let district = person.postcode.as_ref().map(|p| p.outward.clone());
    let town = person.town.as_ref().map(|t| format!("T{t}"));
    district.into_iter().chain(town).collect()
}

/// Every blocking key of a record, sorted and without repeats. Records that share no key
/// are never compared.
pub fn blocking_keys(person: &NormalisedPerson) -> Vec<u64> {
    let given = given_codes(person);
    let family = family_codes(person);
    let mut given_or_middle = given.clone();
    if let Some(first_middle) = person.middle.first() {
        word_codes(first_middle, &mut given_or_middle);
    }
    let mut keys = BTreeSet::new();
    if let Some(born) = person.date_of_birth {
        let date = unordered_date(born);
        let year = born.year().to_string();
        let day_month = unordered_day_month(born);
        for f in &family {
            keys.insert(hash(&["FD", f, &date]));
        }
        for g in &given_or_middle {
            keys.insert(hash(&["GD", g, &date]));
        }
        for g in &given {
            for f in &family {
                keys.insert(hash(&["GFY", g, f, &year]));
                keys.insert(hash(&["GFM", g, f, &day_month]));
            }
        }
    }
    for place in places(person) {
        for g in &given {
            for f in &family {
                keys.insert(hash(&["GFP", g, f, &place]));
            }
        }
    }
    keys.into_iter().collect()
}

/// Records by blocking key, for finding the candidates of a record.
#[derive(Debug, Default, Clone)]
pub struct BlockIndex {
    blocks: HashMap<u64, Vec<usize>>,
}

impl BlockIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index of the records, each under its position in the slice.
    pub fn build(records: &[NormalisedPerson]) -> Self {
        let mut index = Self::new();
        for (id, record) in records.iter().enumerate() {
            index.insert(id, &blocking_keys(record));
        }
        index
    }

    /// Adds a record, known by `id`, under its keys.
    pub fn insert(&mut self, id: usize, keys: &[u64]) {
        for key in keys {
            self.blocks.entry(*key).or_default().push(id);
        }
    }

    /// The ids sharing at least one of the keys, sorted and without repeats, skipping
    /// blocks larger than `max_block`.
    pub fn candidates(&self, keys: &[u64], max_block: usize) -> Vec<usize> {
        let mut out: Vec<usize> = keys
            .iter()
            .filter_map(|k| self.blocks.get(k))
            .filter(|block| block.len() <= max_block)
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The blocks, for pairing records within one set.
    pub fn blocks(&self) -> impl Iterator<Item = &[usize]> {
        self.blocks.values().map(Vec::as_slice)
    }
}

/// Every pair `(i, j)`, `i < j`, of records in the slice that share a blocking key, sorted
/// and without repeats; blocks larger than `max_block` are skipped.
pub fn candidate_pairs(records: &[NormalisedPerson], max_block: usize) -> Vec<(usize, usize)> {
    let index = BlockIndex::build(records);
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for block in index.blocks() {
        if block.len() < 2 || block.len() > max_block {
            continue;
        }
        for (n, &i) in block.iter().enumerate() {
            for &j in &block[n + 1..] {
                let (a, b) = if i < j { (i, j) } else { (j, i) };
                pairs.push((a as u32, b as u32));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
        .into_iter()
        .map(|(a, b)| (a as usize, b as usize))
        .collect()
}
