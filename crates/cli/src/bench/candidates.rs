//! `--count-candidates`: how many children each search's keys reach (what the store reads
//! and scores), and which further keys would have reached the children a search missed,
//! at what cost. Worked out by drawing the nation again in memory with the store's own key
//! functions, so it reads nothing from the database.

use super::queries::{BenchQuery, BirthGiven};
use chrono::{Datelike, NaiveDate};
use contactpoint_domain::search::SearchCriteria;
use contactpoint_domain::ChildRecord;
use contactpoint_matching::search::Findable;
use contactpoint_matching::{
    date_variants, dates_similarity, name_tokens, phonetic_keys, NameGroups, PostcodeParts,
};
use contactpoint_storage::{findable, CatalogueIds};
use contactpoint_synthetic::{build_catalogue, ChildGenerator, NationSpec};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Keys a search could also probe, beyond the store's own, each in a namespace of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraKey {
    /// The exact date of birth (or day and month swapped) with the postcode district, no name.
    DateAndDistrict,
    /// The whole postcode (current or earlier), no name.
    WholePostcode,
    /// One name's code with each date one digit away from the date given.
    NameWithDateOneDigitAway,
}

impl ExtraKey {
    pub const ALL: [Self; 3] = [
        Self::DateAndDistrict,
        Self::WholePostcode,
        Self::NameWithDateOneDigitAway,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::DateAndDistrict => "date_of_birth+district",
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
            Self::DateAndDistrict => postcodes
                .iter()
                .map(|p| key(&["BD", &ymd(born), &p.outward]))
                .collect(),
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
            Self::DateAndDistrict => match (date, postcode) {
                (Some(d), Some(p)) => [
                    Some(d),
                    NaiveDate::from_ymd_opt(d.year(), d.day(), d.month()),
                ]
                .into_iter()
                .flatten()
                .map(|d| key(&["BD", &ymd(d), &p.outward]))
                .collect(),
                _ => Vec::new(),
            },
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

/// The store's three kinds of key, as `contactpoint_matching::search` makes them.
pub const KINDS: [&str; 3] = [
    "name+date of birth",
    "given+family+year",
    "name+postcode district",
];

/// The store's probe keys of a search sorted by kind (name code with date; given and family
/// codes with year; name code with district), made the way `Query::probe_keys` makes them.
fn store_probes_by_kind(query: &BenchQuery, today: NaiveDate) -> [Vec<i64>; 3] {
    use contactpoint_domain::search::Birth;
    let Ok(criteria) = SearchCriteria::parse(&query.form(), today) else {
        return Default::default();
    };
    let given = criteria
        .given_name
        .as_ref()
        .map(|n| name_codes(n.as_str()))
        .unwrap_or_default();
    let family = criteria
        .family_name
        .as_ref()
        .map(|n| name_codes(n.as_str()))
        .unwrap_or_default();
    let all: BTreeSet<&String> = given.iter().chain(&family).collect();
    let mut by_kind: [Vec<i64>; 3] = Default::default();
    let plausible = SearchCriteria::plausible_birth_years(today);
    let years: BTreeSet<i32> = match criteria.birth {
        Some(Birth::Date(d)) => {
            for exact in [
                Some(d),
                NaiveDate::from_ymd_opt(d.year(), d.day(), d.month()),
            ]
            .into_iter()
            .flatten()
            {
                by_kind[0].extend(all.iter().map(|c| key(&["D", c, &ymd(exact)])));
            }
            date_variants(d)
                .into_iter()
                .map(|v| v.year())
                .filter(|y| plausible.contains(y))
                .collect()
        }
        Some(Birth::Between(from, to)) => (from.year()..=to.year()).collect(),
        None => BTreeSet::new(),
    };
    for g in &given {
        for f in &family {
            let (a, b) = if g <= f { (g, f) } else { (f, g) };
            by_kind[1].extend(years.iter().map(|y| key(&["Y", a, b, &y.to_string()])));
        }
    }
    if let Some(p) = criteria
        .postcode
        .as_ref()
        .and_then(|p| PostcodeParts::parse(p.as_str()))
    {
        by_kind[2].extend(all.iter().map(|c| key(&["P", c, &p.outward])));
    }
    by_kind
}

/// What the store's keys reach for one search, and what each extra key would add.
#[derive(Debug, Clone, Default)]
pub struct QueryCandidates {
    /// Distinct children the search's keys reach: what the store reads and scores.
    pub candidates: usize,
    /// Of those, the children each kind of key reaches (see [`KINDS`]).
    pub by_kind: [usize; 3],
    /// False if the keys sorted by kind are not exactly the store's (this module is stale).
    pub kinds_match_store: bool,
    /// Per extra key: whether it reaches the child searched for, and how many children it
    /// reaches that the store's keys do not.
    pub extra: Vec<(ExtraKey, bool, usize)>,
}

/// The store's keys a search probes, as the server computes them.
fn store_probes(query: &BenchQuery, today: NaiveDate) -> Vec<i64> {
    match SearchCriteria::parse(&query.form(), today) {
        Ok(criteria) => contactpoint_web::search::matching_query(&criteria)
            .probe_keys(SearchCriteria::plausible_birth_years(today)),
        Err(_) => Vec::new(),
    }
}

/// Draws the nation again and counts, for every search, the children its keys reach.
pub fn count(
    spec: &NationSpec,
    queries: &[BenchQuery],
    targets: &[ChildRecord],
    today: NaiveDate,
) -> Vec<QueryCandidates> {
    // Scheme 0 is the store's keys; 1.. the extra keys in order.
    let schemes = 1 + ExtraKey::ALL.len();
    let probes: Vec<Vec<Vec<i64>>> = queries
        .iter()
        .map(|q| {
            std::iter::once(store_probes(q, today))
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
    for (i, record) in ChildGenerator::new(spec, &catalogue, &index, &ids).enumerate() {
        let child = findable(&record);
        for k in child.index_keys() {
            if let Some(list) = reached[0].get_mut(&k) {
                list.push(i as u32);
            }
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
        .zip(queries)
        .map(|((per_query, target), query)| {
            let union = |s: usize| -> HashSet<u32> {
                per_query[s]
                    .iter()
                    .filter_map(|k| reached[s].get(k))
                    .flatten()
                    .copied()
                    .collect()
            };
            let store = union(0);
            let kinds = store_probes_by_kind(query, today);
            let sorted: HashSet<i64> = kinds.iter().flatten().copied().collect();
            let real: HashSet<i64> = per_query[0].iter().copied().collect();
            let by_kind = kinds.map(|keys| {
                keys.iter()
                    .filter_map(|k| reached[0].get(k))
                    .flatten()
                    .collect::<HashSet<_>>()
                    .len()
            });
            let target = findable(target);
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
            }
        })
        .collect()
}
