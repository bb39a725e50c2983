//! Names: folding, tokens, sound-alike keys, variant groups and similarity.

use crate::data::{NICKNAMES, SPELLING_VARIANTS};
use rphonetic::DoubleMetaphone;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Upper-case plain letters, one space between words: accents folded (Zoë → ZOE,
/// Łukasz → LUKASZ), apostrophes dropped (O'Brien → OBRIEN), hyphens and other marks made
/// spaces.
pub fn fold(name: &str) -> String {
    let plain = deunicode::deunicode(name);
    let mut out = String::with_capacity(plain.len());
    let mut space = false;
    for c in plain.chars() {
        if c.is_ascii_alphabetic() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c.to_ascii_uppercase());
        } else if c == '\'' || c == '`' {
            continue;
        } else {
            space = true;
        }
    }
    out
}

/// The words of a folded name: `Smith-Jones` → `SMITH`, `JONES`.
pub fn name_tokens(name: &str) -> Vec<String> {
    fold(name)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A folded name with no spaces: `Smith-Jones` and `Smith Jones` → `SMITHJONES`.
pub fn compact(name: &str) -> String {
    fold(name).replace(' ', "")
}

fn metaphone() -> &'static DoubleMetaphone {
    static ENCODER: OnceLock<DoubleMetaphone> = OnceLock::new();
    ENCODER.get_or_init(DoubleMetaphone::default)
}

/// The Double Metaphone keys (primary, alternate) of one word: Smith and Smyth share theirs.
pub fn phonetic_keys(word: &str) -> (String, String) {
    let folded = compact(word);
    if folded.is_empty() {
        return (String::new(), String::new());
    }
    let result = metaphone().double_metaphone(&folded);
    (result.primary(), result.alternate())
}

/// Which names are forms of one another: nicknames (Bill and William) and spelling variants
/// (Mohammed and Muhammad). A name can be in several groups (Alex: Alexander, Alexandra).
#[derive(Debug)]
pub struct NameGroups {
    groups: HashMap<String, Vec<u32>>,
}

impl NameGroups {
    /// The groups built from the bundled tables.
    pub fn bundled() -> &'static Self {
        static GROUPS: OnceLock<NameGroups> = OnceLock::new();
        GROUPS.get_or_init(|| {
            let mut groups: HashMap<String, Vec<u32>> = HashMap::new();
            let mut id = 0u32;
            let mut add = |names: &mut dyn Iterator<Item = &str>, id: u32| {
                for name in names {
                    let entry = groups.entry(compact(name)).or_default();
                    if !entry.contains(&id) {
                        entry.push(id);
                    }
                }
            };
            for (formal, short) in NICKNAMES {
                add(
                    &mut std::iter::once(*formal).chain(short.iter().copied()),
                    id,
                );
                id += 1;
            }
            for group in SPELLING_VARIANTS {
                add(&mut group.iter().copied(), id);
                id += 1;
            }
            Self { groups }
        })
    }

    /// The group ids of a name (empty when it is in no table).
    pub fn groups_of(&self, name: &str) -> &[u32] {
        self.groups
            .get(&compact(name))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// True when one name is a nickname or spelling of the other (or they are the same).
    pub fn are_variants(&self, a: &str, b: &str) -> bool {
        let (a, b) = (compact(a), compact(b));
        if a == b {
            return true;
        }
        match (self.groups.get(&a), self.groups.get(&b)) {
            (Some(x), Some(y)) => x.iter().any(|g| y.contains(g)),
            _ => false,
        }
    }
}

/// How alike two names are, from 0 (nothing alike) to 1 (the same once folded). Variants and
/// sound-alikes score high; otherwise Jaro-Winkler on the folded forms. For multi-word
/// names the best pairing of words counts, so `Smith-Jones` matches `Jones` well.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let (ca, cb) = (compact(a), compact(b));
    if ca.is_empty() || cb.is_empty() {
        return 0.0;
    }
    if ca == cb {
        return 1.0;
    }
    let word = |x: &str, y: &str| -> f64 {
        if x == y {
            1.0
        } else if NameGroups::bundled().are_variants(x, y) {
            0.95
        } else {
            let (px, ax) = phonetic_keys(x);
            let (py, ay) = phonetic_keys(y);
            let sounds_alike = !px.is_empty() && (px == py || px == ay || ax == py);
            let jw = strsim::jaro_winkler(x, y);
            if sounds_alike {
                jw.max(0.9)
            } else {
                jw
            }
        }
    };
    let (ta, tb) = (name_tokens(a), name_tokens(b));
    let whole = word(&ca, &cb);
    // Every word of the shorter name against its best partner in the longer, slightly
    // discounted when the names have different numbers of words.
    let directed = |from: &[String], to: &[String]| -> f64 {
        from.iter()
            .map(|f| to.iter().map(|t| word(f, t)).fold(0.0, f64::max))
            .sum::<f64>()
            / from.len().max(1) as f64
    };
    let partial = match ta.len().cmp(&tb.len()) {
        std::cmp::Ordering::Equal => (directed(&ta, &tb) + directed(&tb, &ta)) / 2.0,
        std::cmp::Ordering::Less => directed(&ta, &tb) * 0.95,
        std::cmp::Ordering::Greater => directed(&tb, &ta) * 0.95,
    };
    whole.max(partial).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folding_removes_accents_case_apostrophes_and_hyphens() {
        assert_eq!(fold("Zoë O'Brien-Łukasz"), "ZOE OBRIEN LUKASZ");
        assert_eq!(fold("  nguyễn  văn "), "NGUYEN VAN");
        assert_eq!(compact("Smith-Jones"), compact("Smith Jones"));
        assert_eq!(name_tokens("Lloyd Webber"), ["LLOYD", "WEBBER"]);
    }

    #[test]
    fn sound_alikes_share_a_key() {
        assert_eq!(phonetic_keys("Smith").0, phonetic_keys("Smyth").0);
        assert_eq!(phonetic_keys("Catherine").0, phonetic_keys("Kathryn").0);
        assert_ne!(phonetic_keys("Smith").0, phonetic_keys("Jones").0);
    }

    #[test]
    fn nicknames_and_spellings_are_variants_of_each_other() {
        let groups = NameGroups::bundled();
        assert!(groups.are_variants("Bill", "William"));
        assert!(groups.are_variants("bill", "LIAM"), "both forms of William");
        assert!(groups.are_variants("Mohammed", "Muhammad"));
        assert!(groups.are_variants("Smyth", "Smith"));
        assert!(!groups.are_variants("William", "Robert"));
        assert!(!groups.groups_of("Alex").is_empty());
    }

    #[test]
    fn similarity_ranks_the_kinds_of_match_in_order() {
        let exact = name_similarity("Smith", "SMITH");
        let variant = name_similarity("Bill", "William");
        let sound = name_similarity("Smith", "Smyth");
        let typo = name_similarity("Johnson", "Jonhson");
        let unrelated = name_similarity("Smith", "Okafor");
        assert_eq!(exact, 1.0);
        assert!(
            variant >= 0.9 && sound >= 0.9 && typo > 0.85,
            "{variant} {sound} {typo}"
        );
        assert!(unrelated < 0.6, "{unrelated}");
        assert!(
            name_similarity("Smith-Jones", "Jones") > 0.9,
            "either part of a double-barrelled name"
        );
        assert_eq!(name_similarity("", "Smith"), 0.0);
    }

    proptest! {
        #[test]
        fn folding_is_idempotent(s in "\\PC{0,30}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once);
        }

        #[test]
        fn similarity_is_symmetric_and_between_zero_and_one(a in "[A-Za-z' -]{0,16}", b in "[A-Za-z' -]{0,16}") {
            let ab = name_similarity(&a, &b);
            prop_assert!((0.0..=1.0).contains(&ab));
            prop_assert!((ab - name_similarity(&b, &a)).abs() < 1e-9);
        }

        #[test]
        fn a_name_matches_itself_whatever_its_case_and_accents(s in "[a-z]{1,12}") {
            prop_assert_eq!(name_similarity(&s, &s.to_uppercase()), 1.0);
        }
    }
}
