//! Normalisation: every field brought to one plain form before it is keyed or compared.
//!
//! Names are folded to upper-case plain letters (case, accents and apostrophes gone, hyphens
//! and other punctuation made word breaks, [`crate::fold`]), titles (Mr, Miss, Master, Dr...)
//! and suffixes (Jr, II) dropped, and placeholders clerks type for a name not yet known
//! (Baby, Unknown, NK) treated as no name. Each word keeps its sound-alike codes and its
//! nickname and spelling groups, worked out once. Addresses keep their digits, with the
//! common abbreviations written out (Rd → ROAD); postcodes are parsed into their parts.

use super::record::{Gender, SuppliedPerson};
use crate::names::{fold, phonetic_keys, NameGroups};
use crate::postcodes::PostcodeParts;
use chrono::NaiveDate;

/// Titles dropped from the start of a name.
const TITLES: &[&str] = &[
    "MR", "MRS", "MISS", "MS", "MX", "DR", "MASTER", "MSTR", "SIR", "LADY", "LORD", "DAME", "REV",
    "REVD", "PROF",
];
/// Suffixes dropped from the end of a family name.
const SUFFIXES: &[&str] = &[
    "JR", "JNR", "JUNIOR", "SR", "SNR", "SENIOR", "II", "III", "IV",
];
/// Words that, first in a name, mean the name is not known yet (Baby Smith, Unknown).
const PLACEHOLDERS: &[&str] = &[
    "BABY", "UNKNOWN", "UNNAMED", "INFANT", "NK", "NOTKNOWN", "TBC", "TBA", "NONE", "ANON", "XX",
    "XXX",
];

/// One word of a name with its codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameToken {
    /// Folded: upper-case plain letters.
    pub text: String,
    /// Double Metaphone primary and alternate codes.
    pub primary: String,
    pub alternate: String,
    /// Nickname and spelling-variant groups the word belongs to.
    pub groups: Vec<u32>,
}

impl NameToken {
    fn new(text: String) -> Self {
        let (primary, alternate) = phonetic_keys(&text);
        let groups = NameGroups::bundled().groups_of(&text).to_vec();
        Self {
            text,
            primary,
            alternate,
            groups,
        }
    }

    /// True when the two words are nicknames or spellings of one name.
    pub fn is_variant_of(&self, other: &Self) -> bool {
        self.groups.iter().any(|g| other.groups.contains(g))
    }

    /// True when the two words sound alike (share a Double Metaphone code).
    pub fn sounds_like(&self, other: &Self) -> bool {
        fn codes(t: &NameToken) -> impl Iterator<Item = &str> {
            [t.primary.as_str(), t.alternate.as_str()]
                .into_iter()
                .filter(|c| !c.is_empty())
        }
        codes(self).any(|a| codes(other).any(|b| a == b))
    }
}

/// A name as words with codes, and as one word (`Smith-Jones` → `SMITHJONES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalisedName {
    pub tokens: Vec<NameToken>,
    pub compact: String,
}

impl NormalisedName {
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The first word, if any.
    pub fn first(&self) -> Option<&NameToken> {
        self.tokens.first()
    }
}

/// An address line: the house number (digits and a letter, `12A`) and the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalisedAddress {
    pub number: Option<String>,
    /// The words other than numbers, abbreviations written out.
    pub words: Vec<String>,
    /// Everything, one space between tokens: `12A HIGH STREET`.
    pub text: String,
    /// The words, one space between them: `HIGH STREET`.
    pub street: String,
}

/// A supplied record in normal form, ready to key and compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalisedPerson {
    pub given: NormalisedName,
    pub middle: NormalisedName,
    pub family: NormalisedName,
    pub former_family: NormalisedName,
    pub date_of_birth: Option<NaiveDate>,
    /// Female or male; not specified and not given are both `None`.
    pub gender: Option<Gender>,
    pub address: Option<NormalisedAddress>,
    /// Folded town name.
    pub town: Option<String>,
    pub postcode: Option<PostcodeParts>,
}

/// A name folded, with titles, suffixes and placeholders removed: `Master Tom` → `TOM`,
/// `Baby` → empty, `Smith-Jones Jnr` → `SMITH JONES`.
pub fn normalise_name(name: &str) -> String {
    let folded = fold(name);
    let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    while words.len() > 1 && TITLES.contains(&words[0]) {
        words.remove(0);
    }
    while words.len() > 1 && SUFFIXES.contains(&words[words.len() - 1]) {
        words.pop();
    }
    let joined: String = words.concat();
    if words.first().is_some_and(|w| PLACEHOLDERS.contains(w))
        || PLACEHOLDERS.contains(&joined.as_str())
        || (words.len() == 1 && TITLES.contains(&words[0]))
    {
        return String::new();
    }
    words.join(" ")
}

fn name(raw: Option<&str>) -> NormalisedName {
    let normal = raw.map(normalise_name).unwrap_or_default();
    let tokens: Vec<NameToken> = normal
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| NameToken::new(w.to_owned()))
        .collect();
    let compact = tokens.iter().map(|t| t.text.as_str()).collect();
    NormalisedName { tokens, compact }
}

/// Abbreviations in address lines, written out.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("RD", "ROAD"),
    ("ST", "STREET"),
    ("STR", "STREET"),
    ("AVE", "AVENUE"),
    ("AV", "AVENUE"),
    ("CL", "CLOSE"),
    ("DR", "DRIVE"),
    ("LN", "LANE"),
    ("CRES", "CRESCENT"),
    ("CRS", "CRESCENT"),
    ("GDNS", "GARDENS"),
    ("GRDNS", "GARDENS"),
    ("PL", "PLACE"),
    ("CT", "COURT"),
    ("SQ", "SQUARE"),
    ("TER", "TERRACE"),
    ("TERR", "TERRACE"),
    ("GRN", "GREEN"),
    ("GR", "GROVE"),
    ("GRV", "GROVE"),
    ("PK", "PARK"),
    ("WY", "WAY"),
    ("HSE", "HOUSE"),
    ("CTGS", "COTTAGES"),
    ("N", "NORTH"),
    ("S", "SOUTH"),
    ("E", "EAST"),
    ("W", "WEST"),
];

/// An address line with digits kept, punctuation made spaces and abbreviations written out:
/// `12a, High St.` → number `12A`, words `HIGH STREET`. `None` when nothing is left.
pub fn normalise_address_line(line: &str) -> Option<NormalisedAddress> {
    let plain = deunicode::deunicode(line).to_ascii_uppercase();
    let raw: Vec<&str> = plain
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let mut tokens: Vec<String> = Vec::with_capacity(raw.len());
    for token in raw {
        let previous_is_number = tokens
            .last()
            .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()));
        // `12 A` is house 12A.
        if previous_is_number && token.len() == 1 && token.bytes().all(|b| b.is_ascii_alphabetic())
        {
            if let Some(last) = tokens.last_mut() {
                last.push_str(token);
            }
            continue;
        }
        let expanded = ABBREVIATIONS
            .iter()
            .find(|(short, _)| *short == token)
            .map_or(token, |(_, long)| *long);
        tokens.push(expanded.to_owned());
    }
    if tokens.is_empty() {
        return None;
    }
    let number = tokens
        .iter()
        .find(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .cloned();
    let words: Vec<String> = tokens
        .iter()
        .filter(|t| !t.starts_with(|c: char| c.is_ascii_digit()))
        .cloned()
        .collect();
    Some(NormalisedAddress {
        number,
        street: words.join(" "),
        words,
        text: tokens.join(" "),
    })
}

/// A postcode in its parts, whatever its case and spacing; `None` when it is not one.
pub fn normalise_postcode(postcode: &str) -> Option<PostcodeParts> {
    let trimmed: String = postcode
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || c.is_whitespace())
        .collect();
    PostcodeParts::parse(trimmed.trim())
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The whole record in normal form.
pub fn normalise(person: &SuppliedPerson) -> NormalisedPerson {
    let town = non_empty(&person.town).map(fold).filter(|t| !t.is_empty());
    NormalisedPerson {
        given: name(Some(&person.given_name)),
        middle: name(non_empty(&person.middle_names)),
        family: name(Some(&person.family_name)),
        former_family: name(non_empty(&person.former_family_name)),
        date_of_birth: person.date_of_birth,
        gender: person.gender.filter(|g| *g != Gender::NotSpecified),
        address: non_empty(&person.address_line1).and_then(normalise_address_line),
        town,
        postcode: non_empty(&person.postcode).and_then(normalise_postcode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_case_accents_punctuation_titles_and_placeholders() {
        assert_eq!(normalise_name("  zoë o'brien "), "ZOE OBRIEN");
        assert_eq!(normalise_name("Master Tom"), "TOM");
        assert_eq!(normalise_name("Miss. Chloé-Anne"), "CHLOE ANNE");
        assert_eq!(normalise_name("Dr"), "");
        assert_eq!(normalise_name("Smith-Jones Jnr"), "SMITH JONES");
        assert_eq!(normalise_name("Baby"), "");
        assert_eq!(normalise_name("BABY OF Smith"), "");
        assert_eq!(normalise_name("N/K"), "");
        assert_eq!(normalise_name("Miss"), "", "a title alone is no name");
    }

    #[test]
    fn a_double_barrelled_name_is_one_compact_word_and_its_parts() {
        let n = name(Some("Smith-Jones"));
        assert_eq!(n.compact, "SMITHJONES");
        assert_eq!(n.tokens.len(), 2);
        assert_eq!(name(Some("Smith Jones")).compact, n.compact);
    }

    #[test]
    fn addresses_keep_numbers_and_write_out_abbreviations() {
        let a = normalise_address_line("12a, High St.").unwrap();
        assert_eq!(a.number.as_deref(), Some("12A"));
        assert_eq!(a.text, "12A HIGH STREET");
        let b = normalise_address_line("12 A High Street").unwrap();
        assert_eq!(a, b);
        assert!(normalise_address_line(" , ").is_none());
    }

    #[test]
    fn postcodes_are_read_whatever_their_form() {
        let p = normalise_postcode(" mk40-1ab ").unwrap();
        assert_eq!(p.full.as_deref(), Some("MK40 1AB"));
        assert!(normalise_postcode("not a postcode").is_none());
    }

    #[test]
    fn empty_fields_and_unspecified_gender_are_missing() {
        let p = normalise(&SuppliedPerson {
            given_name: "Baby".into(),
            middle_names: Some("  ".into()),
            gender: Some(Gender::NotSpecified),
            town: Some(String::new()),
            ..SuppliedPerson::default()
        });
        assert!(p.given.is_empty() && p.middle.is_empty() && p.family.is_empty());
        assert_eq!((p.gender, p.town, p.address), (None, None, None));
    }
}
