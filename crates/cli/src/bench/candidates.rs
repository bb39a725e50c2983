//! `--count-candidates`: how many children each search's keys reach (what the store reads
//! and scores), and which further keys would have reached the children a search missed,
//! at what cost. Worked out by drawing the nation again in memory with the store's own key
//! functions, so it reads nothing from the database.

use super::queries::{BenchQuery, BirthGiven};
use chrono::{Datelike, NaiveDate};
use contactpoint_domain::search::SearchCriteria;
use contactpoint_domain::ChildRecord;
use contactpoint_matching::search::{Findable, KeyKind, Query};
use contactpoint_matching::{
    compact, date_variants, dates_similarity, name_tokens, phonetic_keys, NameGroups, PostcodeParts,
};
use contactpoint_storage::{findable, CatalogueIds};
use contactpoint_synthetic::{build_catalogue, ChildGenerator, NationSpec};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Keys a search could also probe, beyond the store's own, each in a namespace of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraKey {
    /// The whole postcode (current or earlier), no name.
    WholePostcode,
    /// One name's code with each date one digit away from the date given.
    NameWithDateOneDigitAway,
}

impl ExtraKey {
    pub const ALL: [Self; 2] = [Self::WholePostcode, Self::NameWithDateOneDigitAway];

    pub fn code(self) -> &'static str {
        match self {
            Self::WholePostcode => "whole_postcode",
            Self::NameWithDateOneDigitAway => "name+date_one_digit_away",
        }
    }

    fn index(self, child: &Findable) -> Vec<i64> {
        let Some(born) = child.date_of_birth else {
            return Vec::new();
        };
        let postcodes: Vec<PostcodeParts> = child
            .current_postcode
            .iter()
            .chain(&child.earlier_postcodes)
            .filter_map(|p| PostcodeParts::parse(p))
            .collect();
        match self {
            Self::WholePostcode => postcodes
                .iter()
                .filter_map(|p| p.full.as_deref())
                .map(|full| key(&["WP", full]))
                .collect(),
            Self::NameWithDateOneDigitAway => {
                let mut codes = BTreeSet::new();
                for name in [&child.given_name, &child.family_name]
                    .into_iter()
                    .chain(&child.middle_names)
                    .chain(&child.former_given_names)
                    .chain(&child.former_family_names)
                {
                    codes.extend(name_codes(name));
                }
                codes.iter().map(|c| key(&["ND", c, &ymd(born)])).collect()
            }
        }
    }

    fn probe(self, query: &BenchQuery, today: NaiveDate) -> Vec<i64> {
        let postcode = query.postcode.as_deref().and_then(PostcodeParts::parse);
        let date = match query.birth {
            Some(BirthGiven::Date(d)) => Some(d),
            _ => None,
        };
        match self {
            Self::WholePostcode => postcode
                .and_then(|p| p.full)
                .map(|full| vec![key(&["WP", &full])])
                .unwrap_or_default(),
            Self::NameWithDateOneDigitAway => {
                let Some(d) = date else {
                    return Vec::new();
                };
                let plausible = SearchCriteria::plausible_birth_years(today);
                let mut codes = BTreeSet::new();
                for name in query.given_name.iter().chain(&query.family_name) {
                    codes.extend(name_codes(name));
                }
                let dates: Vec<NaiveDate> = date_variants(d)
                    .into_iter()
                    .filter(|v| dates_similarity(d, *v) == 0.8 && plausible.contains(&v.year()))
                    .collect();
                codes
                    .iter()
                    .flat_map(|c| dates.iter().map(move |v| key(&["ND", c, &ymd(*v)])))
                    .collect()
            }
        }
    }
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// A name's sound-alike codes and variant groups, as the store's keys use them.
fn name_codes(name: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for token in name_tokens(name) {
        let (primary, alternate) = phonetic_keys(&token);
        codes.extend([primary, alternate].into_iter().filter(|c| !c.is_empty()));
        for group in NameGroups::bundled().groups_of(&token) {
            codes.insert(format!("#{group}"));
        }
    }
    codes
}

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

/// The store's keys of a search with their kinds, from `Query::probe_keys_by_kind` itself.
fn store_probes_by_kind(query: Option<&Query>, today: NaiveDate) -> Vec<(KeyKind, i64)> {
    query
        .map(|q| q.probe_keys_by_kind(SearchCriteria::plausible_birth_years(today)))
        .unwrap_or_default()
}

/// What the store's keys reach for one search, and what each extra key would add.
#[derive(Debug, Clone, Default)]
pub struct QueryCandidates {
    /// Distinct children the search's keys reach: what the store reads and scores.
    pub candidates: usize,
    /// Of those, the children each kind of key reaches, in the order of [`KeyKind::ALL`].
    pub by_kind: [usize; KeyKind::ALL.len()],
    /// False if the keys sorted by kind are not exactly the ones the store probes.
    pub kinds_match_store: bool,
    /// Per extra key: whether it reaches the child searched for, and how many children it
    /// reaches that the store's keys do not.
    pub extra: Vec<(ExtraKey, bool, usize)>,
    /// Other children the search's keys reach that fit it as well as the child searched for
    /// could ([`fits_as_well`]): when there is one, no search can single the child out.
    pub fit_as_well: usize,
}

/// The store's keys a search probes, as the server computes them.
fn store_probes(query: Option<&Query>, today: NaiveDate) -> Vec<i64> {
    query
        .map(|q| q.probe_keys(SearchCriteria::plausible_birth_years(today)))
        .unwrap_or_default()
}

/// True when `other` fits the search at least as well as the child searched for could by
/// any fair measure: on every criterion given, `other` either fits it exactly (the same name
/// once folded, a former name included; the same date, or a date within the range; the
/// postcode, or the part of it given) or has exactly the target's own value. No search can
/// then rank the target above `other`.
pub fn fits_as_well(
    query: &BenchQuery,
    today: NaiveDate,
    other: &Findable,
    target: &Findable,
) -> bool {
    let same = |a: &str, b: &str| compact(a) == compact(b);
    let names = |child: &Findable, given: bool| -> Vec<String> {
        if given {
            std::iter::once(child.given_name.clone())
                .chain(child.former_given_names.iter().cloned())
                .collect()
        } else {
            std::iter::once(child.family_name.clone())
                .chain(child.former_family_names.iter().cloned())
                .collect()
        }
    };
    let name_ok = |asked: &Option<String>, given: bool| match asked {
        None => true,
        Some(asked) => {
            names(other, given).iter().any(|n| same(n, asked))
                || same(
                    if given {
                        &other.given_name
                    } else {
                        &other.family_name
                    },
                    if given {
                        &target.given_name
                    } else {
                        &target.family_name
                    },
                )
        }
    };
    let birth_ok = match query.birth {
        None => true,
        Some(BirthGiven::Date(d)) => {
            other.date_of_birth == Some(d) || other.date_of_birth == target.date_of_birth
        }
        Some(BirthGiven::Ages(..)) => match SearchCriteria::parse(&query.form(), today)
            .ok()
            .and_then(|c| c.birth)
        {
            Some(contactpoint_domain::search::Birth::Between(from, to)) => other
                .date_of_birth
                .is_some_and(|d| (from..=to).contains(&d)),
            _ => false,
        },
    };
    let postcodes = |child: &Findable| -> Vec<PostcodeParts> {
        child
            .current_postcode
            .iter()
            .chain(&child.earlier_postcodes)
            .filter_map(|p| PostcodeParts::parse(p))
            .collect()
    };
    let postcode_ok = match query.postcode.as_deref().and_then(PostcodeParts::parse) {
        None => true,
        Some(asked) => {
            let fits = |p: &PostcodeParts| match (&asked.full, &asked.sector) {
                (Some(full), _) => p.full.as_ref() == Some(full),
                (None, Some(sector)) => p.sector.as_ref() == Some(sector),
                (None, None) => p.outward == asked.outward,
            };
            postcodes(other).iter().any(fits) || postcodes(other) == postcodes(target)
        }
    };
    name_ok(&query.given_name, true)
        && name_ok(&query.family_name, false)
        && birth_ok
        && postcode_ok
}

/// Draws the nation again and counts, for every search, the children its keys reach.
pub fn count(
    spec: &NationSpec,
    queries: &[BenchQuery],
    spelt: &[Option<Query>],
    targets: &[ChildRecord],
    today: NaiveDate,
) -> Vec<QueryCandidates> {
    // Scheme 0 is the store's keys; 1.. the extra keys in order.
    let schemes = 1 + ExtraKey::ALL.len();
    let probes: Vec<Vec<Vec<i64>>> = queries
        .iter()
        .zip(spelt)
        .map(|(q, spelt)| {
            std::iter::once(store_probes(spelt.as_ref(), today))
                .chain(ExtraKey::ALL.iter().map(|k| k.probe(q, today)))
                .collect()
        })
        .collect();
    let mut reached: Vec<HashMap<i64, Vec<u32>>> = vec![HashMap::new(); schemes];
    for per_query in &probes {
        for (s, keys) in per_query.iter().enumerate() {
            for k in keys {
                reached[s].entry(*k).or_default();
            }
        }
    }
    let (_, catalogue, index) = build_catalogue(spec);
    let ids = CatalogueIds {
        first_organisation: 1,
        first_service: 1,
        first_practitioner: 1,
    };
    let mut drawn_ids: Vec<String> = Vec::new();
    let mut reached_children: HashMap<u32, Findable> = HashMap::new();
    for (i, record) in ChildGenerator::new(spec, &catalogue, &index, &ids).enumerate() {
        let child = findable(&record);
        drawn_ids.push(record.contactpoint_id.as_digits());
        let mut hit = false;
        for k in child.index_keys() {
            if let Some(list) = reached[0].get_mut(&k) {
                list.push(i as u32);
                hit = true;
            }
        }
        if hit {
            reached_children.insert(i as u32, child.clone());
        }
        for (s, extra) in ExtraKey::ALL.iter().enumerate() {
            for k in extra.index(&child) {
                if let Some(list) = reached[s + 1].get_mut(&k) {
                    list.push(i as u32);
                }
            }
        }
    }
    probes
        .iter()
        .zip(targets)
        .zip(queries.iter().zip(spelt))
        .map(|((per_query, target), (query, spelt))| {
            let union = |s: usize| -> HashSet<u32> {
                per_query[s]
                    .iter()
                    .filter_map(|k| reached[s].get(k))
                    .flatten()
                    .copied()
                    .collect()
            };
            let store = union(0);
            let kinds = store_probes_by_kind(spelt.as_ref(), today);
            let sorted: HashSet<i64> = kinds.iter().map(|(_, k)| *k).collect();
            let real: HashSet<i64> = per_query[0].iter().copied().collect();
            let by_kind = KeyKind::ALL.map(|kind| {
                kinds
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .filter_map(|(_, key)| reached[0].get(key))
                    .flatten()
                    .collect::<HashSet<_>>()
                    .len()
            });
            let target_id = target.contactpoint_id.as_digits();
            let target = findable(target);
            let fit_as_well = store
                .iter()
                .filter(|&&i| drawn_ids[i as usize] != target_id)
                .filter(|&&i| {
                    reached_children
                        .get(&i)
                        .is_some_and(|other| fits_as_well(query, today, other, &target))
                })
                .count();
            let extra = ExtraKey::ALL
                .iter()
                .enumerate()
                .map(|(s, extra)| {
                    let indexed: HashSet<i64> = extra.index(&target).into_iter().collect();
                    let hits = per_query[s + 1].iter().any(|k| indexed.contains(k));
                    let added = union(s + 1).difference(&store).count();
                    (*extra, hits, added)
                })
                .collect();
            QueryCandidates {
                candidates: store.len(),
                by_kind,
                kinds_match_store: sorted == real,
                extra,
                fit_as_well,
            }
        })
        .collect()
}
