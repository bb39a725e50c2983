//! Static reference data for the synthetic nation: names by origin with frequency weights,
//! nickname and spelling-variant groups, local authorities with postcode areas and towns, street names.
mod local_authorities;
mod name_tails;
mod names;
mod streets;
/// Nicknames and spelling variants belong to matching, which the generator uses to vary names.
pub use contactpoint_matching::data::{NICKNAMES, SPELLING_VARIANTS};
pub use local_authorities::{LocalAuthoritySeed, LOCAL_AUTHORITIES};
pub use names::{NameTail, Origin, OriginNames, ORIGINS};
pub use streets::{STREET_NAMES, STREET_SUFFIXES};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn assert_no_duplicates<'a>(what: &str, items: impl IntoIterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        for item in items {
            assert!(seen.insert(item), "{what}: duplicate {item:?}");
        }
    }

    fn is_plain_name(name: &str) -> bool {
        name.chars().next().is_some_and(char::is_alphabetic)
            && name.chars().all(|c| c.is_alphabetic() || c == '\'')
    }

    #[test]
    fn there_are_150_local_authorities() {
        assert_eq!(LOCAL_AUTHORITIES.len(), 150);
    }

    #[test]
    fn local_authority_codes_are_unique_and_well_formed() {
        for la in LOCAL_AUTHORITIES {
            let well_formed = la.code.len() == 9
                && la.code.starts_with('E')
                && la.code[1..].chars().all(|c| c.is_ascii_digit());
            assert!(well_formed, "{}: bad code {:?}", la.name, la.code);
        }
        assert_no_duplicates(
            "local authority codes",
            LOCAL_AUTHORITIES.iter().map(|la| la.code),
        );
        assert_no_duplicates(
            "local authority names",
            LOCAL_AUTHORITIES.iter().map(|la| la.name),
        );
    }

    #[test]
    fn every_local_authority_has_a_valid_postcode_area_and_district_range() {
        for la in LOCAL_AUTHORITIES {
            let area_ok = (1..=2).contains(&la.postcode_area.len())
                && la.postcode_area.chars().all(|c| c.is_ascii_uppercase());
            assert!(
                area_ok,
                "{}: bad postcode area {:?}",
                la.name, la.postcode_area
            );
            let (lo, hi) = la.district_range;
            assert!(
                lo <= hi && hi <= 99,
                "{}: bad district range {lo}..={hi}",
                la.name
            );
        }
    }

    #[test]
    fn authorities_sharing_a_postcode_area_have_disjoint_district_ranges() {
        let mut by_area: HashMap<&str, Vec<&LocalAuthoritySeed>> = HashMap::new();
        for la in LOCAL_AUTHORITIES {
            by_area.entry(la.postcode_area).or_default().push(la);
        }
        for (area, las) in by_area {
            for (i, a) in las.iter().enumerate() {
                for b in &las[i + 1..] {
                    let (a_lo, a_hi) = a.district_range;
                    let (b_lo, b_hi) = b.district_range;
                    assert!(
                        a_hi < b_lo || b_hi < a_lo,
                        "{area}: {} and {} overlap",
                        a.name,
                        b.name
                    );
                }
            }
        }
    }

    #[test]
    fn every_local_authority_has_at_least_two_distinct_towns_and_a_positive_weight() {
        for la in LOCAL_AUTHORITIES {
            assert!(la.towns.len() >= 2, "{} has fewer than two towns", la.name);
            assert_no_duplicates(la.name, la.towns.iter().copied());
            assert!(la.weight > 0, "{} has zero weight", la.name);
        }
    }

    #[test]
    fn naming_origin_shares_sum_to_1000() {
        let total: u32 = ORIGINS.iter().map(|o| o.per_mille).sum();
        assert_eq!(total, 1000);
        assert!(ORIGINS.iter().all(|o| o.per_mille > 0));
        let origins: HashSet<Origin> = ORIGINS.iter().map(|o| o.origin).collect();
        assert_eq!(origins.len(), ORIGINS.len(), "an origin is listed twice");
    }

    #[test]
    fn no_name_list_has_duplicates() {
        for o in ORIGINS {
            for (label, list) in [("female", o.female), ("male", o.male), ("family", o.family)] {
                let what = format!("{:?} {label}", o.origin);
                assert_no_duplicates(&what, list.iter().map(|(name, _)| *name));
            }
        }
    }

    #[test]
    fn every_name_list_meets_its_minimum_size() {
        for o in ORIGINS {
            let (given_min, family_min) = if o.origin == Origin::BritishIrish {
                (150, 300)
            } else {
                (30, 40)
            };
            assert!(
                o.female.len() >= given_min,
                "{:?} female: {}",
                o.origin,
                o.female.len()
            );
            assert!(
                o.male.len() >= given_min,
                "{:?} male: {}",
                o.origin,
                o.male.len()
            );
            assert!(
                o.family.len() >= family_min,
                "{:?} family: {}",
                o.origin,
                o.family.len()
            );
        }
    }

    #[test]
    fn every_name_weight_is_positive() {
        for o in ORIGINS {
            for (name, weight) in o.female.iter().chain(o.male).chain(o.family) {
                assert!(*weight > 0, "{:?} {name} has zero weight", o.origin);
            }
        }
    }

    #[test]
    fn no_family_name_contains_a_hyphen() {
        for o in ORIGINS {
            for (name, _) in o.family {
                assert!(
                    !name.contains('-'),
                    "{:?} family name {name} is hyphenated",
                    o.origin
                );
            }
        }
    }

    #[test]
    fn every_name_is_letters_and_apostrophes_starting_with_a_letter() {
        let listed = ORIGINS.iter().flat_map(|o| {
            o.female
                .iter()
                .chain(o.male)
                .chain(o.family)
                .map(|(n, _)| *n)
        });
        let nicknames = NICKNAMES
            .iter()
            .flat_map(|(formal, short)| std::iter::once(*formal).chain(short.iter().copied()));
        let variants = SPELLING_VARIANTS
            .iter()
            .flat_map(|group| group.iter().copied());
        for name in listed.chain(nicknames).chain(variants) {
            assert!(is_plain_name(name), "{name:?} is not a plain name");
        }
    }

    #[test]
    fn most_names_are_plain_ascii() {
        let all: Vec<&str> = ORIGINS
            .iter()
            .flat_map(|o| {
                o.female
                    .iter()
                    .chain(o.male)
                    .chain(o.family)
                    .map(|(n, _)| *n)
            })
            .collect();
        let ascii = all.iter().filter(|n| n.is_ascii()).count();
        assert!(
            ascii * 10 >= all.len() * 9,
            "only {ascii} of {} names are ASCII",
            all.len()
        );
    }

    #[test]
    fn no_name_is_in_two_spelling_groups() {
        assert!(SPELLING_VARIANTS.len() >= 80);
        assert_no_duplicates(
            "spelling variants",
            SPELLING_VARIANTS.iter().flat_map(|g| g.iter().copied()),
        );
        assert!(
            SPELLING_VARIANTS.iter().all(|g| g.len() >= 2),
            "a spelling group has one name"
        );
    }

    #[test]
    fn nickname_entries_are_unique_and_non_empty() {
        assert!(NICKNAMES.len() >= 120);
        assert_no_duplicates(
            "nickname entries",
            NICKNAMES.iter().map(|(formal, _)| *formal),
        );
        for (formal, short) in NICKNAMES {
            assert!(!short.is_empty(), "{formal} has no nicknames");
            assert_no_duplicates(formal, short.iter().copied());
            assert!(!short.contains(formal), "{formal} is its own nickname");
        }
    }

    #[test]
    fn street_names_are_unique_and_suffixes_weighted() {
        assert!(STREET_NAMES.len() >= 200);
        assert_no_duplicates("street names", STREET_NAMES.iter().copied());
        assert_no_duplicates("street suffixes", STREET_SUFFIXES.iter().map(|(s, _)| *s));
        assert!(STREET_SUFFIXES.iter().all(|(_, w)| *w > 0));
        for (suffix, _) in STREET_SUFFIXES {
            assert!(
                !STREET_NAMES.contains(suffix),
                "{suffix} is both a stem and a suffix"
            );
        }
    }
}
