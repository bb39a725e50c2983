//! Dates of birth as people get them wrong: day and month swapped, one digit mistyped.

use chrono::{Datelike, NaiveDate};

/// The date itself, then every valid date a person could have meant by it: day and month
/// swapped, and each date one digit away in YYYYMMDD.
pub fn date_variants(date: NaiveDate) -> Vec<NaiveDate> {
    let mut out = vec![date];
    let mut push = |d: Option<NaiveDate>| {
        if let Some(d) = d {
            if !out.contains(&d) {
                out.push(d);
            }
        }
    };
    push(NaiveDate::from_ymd_opt(
        date.year(),
        date.day(),
        date.month(),
    ));
    let digits: Vec<u8> = date
        .format("%Y%m%d")
        .to_string()
        .bytes()
        .map(|b| b - b'0')
        .collect();
    for position in 0..digits.len() {
        for replacement in 0..10u8 {
            if replacement == digits[position] {
                continue;
            }
            let mut changed = digits.clone();
            changed[position] = replacement;
            let number = |range: std::ops::Range<usize>| {
                changed[range]
                    .iter()
                    .fold(0u32, |n, d| n * 10 + u32::from(*d))
            };
            push(NaiveDate::from_ymd_opt(
                number(0..4) as i32,
                number(4..6),
                number(6..8),
            ));
        }
    }
    out
}

/// 1 for the same date, 0.9 for day and month swapped, 0.8 for one digit wrong, else 0.
pub fn dates_similarity(a: NaiveDate, b: NaiveDate) -> f64 {
    if a == b {
        return 1.0;
    }
    if NaiveDate::from_ymd_opt(a.year(), a.day(), a.month()) == Some(b) {
        return 0.9;
    }
    let (x, y) = (
        a.format("%Y%m%d").to_string(),
        b.format("%Y%m%d").to_string(),
    );
    let differing = x.bytes().zip(y.bytes()).filter(|(p, q)| p != q).count();
    if differing == 1 {
        0.8
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn variants_include_the_swap_and_one_digit_typos_but_only_real_dates() {
        let v = date_variants(date(2015, 3, 7));
        assert_eq!(v[0], date(2015, 3, 7));
        assert!(v.contains(&date(2015, 7, 3)), "day and month swapped");
        assert!(
            v.contains(&date(2015, 3, 1))
                && v.contains(&date(2016, 3, 7))
                && v.contains(&date(2015, 8, 7))
        );
        let swapped_invalid = date_variants(date(2015, 3, 25));
        assert!(!swapped_invalid
            .iter()
            .any(|d| d.month() == 25 || d.day() > 31));
    }

    #[test]
    fn similarity_grades_the_kinds_of_error() {
        let d = date(2014, 6, 30);
        assert_eq!(dates_similarity(d, d), 1.0);
        assert_eq!(dates_similarity(date(2015, 3, 7), date(2015, 7, 3)), 0.9);
        assert_eq!(dates_similarity(d, date(2014, 6, 20)), 0.8);
        assert_eq!(dates_similarity(d, date(2013, 5, 30)), 0.0);
    }

    proptest! {
        #[test]
        fn every_variant_is_within_one_edit_of_the_date(days in 0i64..20_000) {
            let d = date(1990, 1, 1) + chrono::Duration::days(days);
            for v in date_variants(d) {
                prop_assert!(dates_similarity(d, v) > 0.0, "{d} ~ {v}");
            }
        }
    }
}
