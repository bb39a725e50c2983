//! Whether two spellings are likely a typo of one another, answered without the work of
//! measuring them when their letters alone rule it out. Comparing a supplied record with
//! forty candidates spells most pairs of names differently, and measuring each pair (a
//! Jaro-Winkler similarity and an edit distance, each allocating) took about a twentieth of
//! a national load. Every answer is exactly the measured one (tested against it).

use super::compare::{JARO_WINKLER_SIMILAR, ONE_EDIT_SIMILAR_FROM};

/// Jaro-Winkler at least [`JARO_WINKLER_SIMILAR`], or, in names of at least
/// [`ONE_EDIT_SIMILAR_FROM`] letters, one letter changed, dropped or added, or two
/// neighbours swapped (optimal string alignment distance 1).
pub(crate) fn spelt_alike(a: &str, b: &str) -> bool {
    if !(a.is_ascii() && b.is_ascii()) {
        return measured(a, b);
    }
    // In plain letters a byte is a letter.
    let (x, y) = (a.as_bytes(), b.as_bytes());
    (could_be_jaro_winkler_similar(x, y) && strsim::jaro_winkler(a, b) >= JARO_WINKLER_SIMILAR)
        || (x.len().min(y.len()) >= ONE_EDIT_SIMILAR_FROM && one_edit_apart(x, y))
}

/// The rule measured in full, as `spelt_alike` answers it.
fn measured(a: &str, b: &str) -> bool {
    strsim::jaro_winkler(a, b) >= JARO_WINKLER_SIMILAR
        || (a.chars().count().min(b.chars().count()) >= ONE_EDIT_SIMILAR_FROM
            && strsim::osa_distance(a, b) == 1)
}

/// False only when the Jaro-Winkler similarity must be under the threshold. The Winkler
/// boost adds at most 0.4 of what Jaro lacks (a common prefix of four letters), so 0.88
/// needs a Jaro similarity of 0.8; and Jaro is at most (c/|a| + c/|b| + 1) / 3, where c
/// counts the letters the two share (each as often as both have it), since only shared
/// letters match. Below 1.3 for c/|a| + c/|b|, Jaro is under 0.77.
fn could_be_jaro_winkler_similar(a: &[u8], b: &[u8]) -> bool {
    if a.is_empty() || b.is_empty() {
        return true;
    }
    let mut counts = [0i32; 128];
    for &x in a {
        counts[usize::from(x)] += 1;
    }
    let mut shared = 0usize;
    for &y in b {
        let slot = &mut counts[usize::from(y)];
        if *slot > 0 {
            *slot -= 1;
            shared += 1;
        }
    }
    // c/|a| + c/|b| >= 1.3, in whole numbers.
    10 * shared * (a.len() + b.len()) >= 13 * a.len() * b.len()
}

/// Optimal string alignment distance exactly 1: one letter changed, dropped or added, or
/// two neighbouring letters swapped.
fn one_edit_apart(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return false;
    }
    let first_difference = |x: &[u8], y: &[u8]| x.iter().zip(y).take_while(|(p, q)| p == q).count();
    if a.len() == b.len() {
        let i = first_difference(a, b);
        a[i + 1..] == b[i + 1..]
            || (i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..])
    } else if a.len().abs_diff(b.len()) == 1 {
        let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
        let i = first_difference(short, long);
        short[i..] == long[i + 1..]
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Names and typos of them: every pair is answered as the full measure answers it.
    #[test]
    fn every_pair_of_these_names_and_their_typos_is_answered_as_measured() {
        let names = [
            "",
            "A",
            "AL",
            "AMY",
            "ANN",
            "ANNA",
            "HANNAH",
            "HANA",
            "RUBY",
            "RUXY",
            "RBUY",
            "OLIVER",
            "OLIVRE",
            "OLLIVER",
            "OLIVIA",
            "AMELIA",
            "AMELAI",
            "EMELIA",
            "SMITH",
            "SMYTH",
            "SMITHADEYEMI",
            "ADEYEMI",
            "MARTHA",
            "MARHTA",
            "DWAYNE",
            "DUANE",
            "JONES",
            "JOHNSON",
            "JOHNSTON",
            "ISLA",
            "ILSA",
            "MOHAMMED",
            "MUHAMMAD",
            "ZZZZ",
            "AAAA",
            "AAAB",
            "ABAA",
            "BAAA",
            "KATHERINE",
            "CATHERINE",
            "KATHRYN",
            "XAVIER",
            "ZAVIER",
            "LI",
            "LEE",
            "O'NEIL",
        ];
        for a in names {
            for b in names {
                assert_eq!(spelt_alike(a, b), measured(a, b), "{a} against {b}");
            }
        }
    }

    #[test]
    fn letters_beyond_ascii_are_measured_in_full() {
        for (a, b) in [
            ("ZOË", "ZOE"),
            ("ÅSA", "ASA"),
            ("JOSÉ", "JOSE"),
            ("MÜLLER", "MULLER"),
        ] {
            assert_eq!(spelt_alike(a, b), measured(a, b), "{a} against {b}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Random words of few letters, so that many pairs share letters and many are typos.
        #[test]
        fn any_two_words_are_answered_as_measured(a in "[ABEHNRS]{0,9}", b in "[ABEHNRS]{0,9}") {
            prop_assert_eq!(spelt_alike(&a, &b), measured(&a, &b));
        }

        /// A word against itself with one letter changed, dropped, added or swapped.
        #[test]
        fn a_word_and_one_edit_of_it_are_answered_as_measured(
            word in "[A-Z]{1,12}",
            at in 0usize..12,
            letter in proptest::char::range('A', 'Z'),
            edit in 0u8..4,
        ) {
            let mut edited: Vec<char> = word.chars().collect();
            let at = at % edited.len();
            match edit {
                0 => edited[at] = letter,
                1 => { edited.remove(at); }
                2 => edited.insert(at, letter),
                _ => if at + 1 < edited.len() { edited.swap(at, at + 1) },
            }
            let edited: String = edited.into_iter().collect();
            prop_assert_eq!(spelt_alike(&word, &edited), measured(&word, &edited));
        }
    }
}
