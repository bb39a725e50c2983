//! Postcodes, whole or in part, and old ones: matched by area, district and sector.

/// The parts of a full or partial postcode, upper case: `MK40 1AB` → area MK, outward MK40,
/// sector MK40 1, full MK40 1AB. A partial postcode has only the parts given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostcodeParts {
    pub area: String,
    pub outward: String,
    pub sector: Option<String>,
    pub full: Option<String>,
}

impl PostcodeParts {
    /// Reads `MK40 1AB`, `mk401ab`, `MK40 1` or `MK40`; `None` for anything else.
    pub fn parse(input: &str) -> Option<Self> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.is_empty()
            || !compact.is_ascii()
            || !compact.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            return None;
        }
        let area: String = compact
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        if area.len() > 2 {
            return None;
        }
        // Outward codes are 2 to 4 characters; the inward code is a digit and two letters.
        let spaced: Vec<&str> = input.split_whitespace().collect();
        let (outward, inward) = match spaced.as_slice() {
            [out, inward] => (out.to_ascii_uppercase(), inward.to_ascii_uppercase()),
            [one]
                if compact.len() >= 5
                    && compact[compact.len() - 3..].starts_with(|c: char| c.is_ascii_digit()) =>
            {
                (
                    compact[..compact.len() - 3].to_owned(),
                    compact[compact.len() - 3..].to_owned(),
                )
            }
            [one] => (one.to_ascii_uppercase(), String::new()),
            _ => return None,
        };
        if !(2..=4).contains(&outward.len())
            || !outward[area.len()..].starts_with(|c: char| c.is_ascii_digit())
        {
            return None;
        }
        let sector = inward
            .chars()
            .next()
            .filter(char::is_ascii_digit)
            .map(|d| format!("{outward} {d}"));
        let full = (inward.len() == 3 && inward[1..].chars().all(|c| c.is_ascii_alphabetic()))
            .then(|| format!("{outward} {inward}"));
        if !inward.is_empty() && sector.is_none() {
            return None;
        }
        Some(Self {
            area,
            outward,
            sector,
            full,
        })
    }
}

/// How well a (possibly partial) postcode given by a searcher fits a record's postcode:
/// 1 the whole postcode, 0.8 the sector, 0.6 the district, 0.3 only the area, else 0.
pub fn postcode_similarity(given: &PostcodeParts, recorded: &PostcodeParts) -> f64 {
    if given.full.is_some() && given.full == recorded.full {
        1.0
    } else if given.sector.is_some() && given.sector == recorded.sector {
        0.8
    } else if given.outward == recorded.outward {
        0.6
    } else if given.area == recorded.area {
        0.3
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_partial_postcodes_are_read() {
        let full = PostcodeParts::parse("mk401ab").unwrap();
        assert_eq!((full.area.as_str(), full.outward.as_str()), ("MK", "MK40"));
        assert_eq!(full.sector.as_deref(), Some("MK40 1"));
        assert_eq!(full.full.as_deref(), Some("MK40 1AB"));
        let sector = PostcodeParts::parse("MK40 1").unwrap();
        assert_eq!(
            (sector.sector.as_deref(), sector.full),
            (Some("MK40 1"), None)
        );
        let district = PostcodeParts::parse("EC1A").unwrap();
        assert_eq!((district.area.as_str(), district.sector), ("EC", None));
        for bad in ["", "12345", "MKK40", "MK40 A"] {
            assert!(PostcodeParts::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_partial_or_old_postcode_still_scores_by_the_parts_it_shares() {
        let home = PostcodeParts::parse("MK40 1AB").unwrap();
        let s = |given: &str| postcode_similarity(&PostcodeParts::parse(given).unwrap(), &home);
        assert_eq!(s("MK40 1AB"), 1.0);
        assert_eq!(s("MK40 1"), 0.8);
        assert_eq!(s("MK40 1ZZ"), 0.8, "an old postcode in the same sector");
        assert_eq!(s("MK40"), 0.6);
        assert_eq!(s("MK41 2CD"), 0.3);
        assert_eq!(s("B33 8TH"), 0.0);
    }
}
