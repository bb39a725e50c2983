//! Searches whose answer is known: a child's stored record, and what a practitioner might
//! type to find it, with the mistakes made recorded.

use chrono::{Datelike, NaiveDate};
use contactpoint_domain::involvement::age_on;
use contactpoint_domain::search::{SearchCriteria, SearchForm};
use contactpoint_domain::{AddressState, ChildRecord};
use contactpoint_matching::data::NICKNAMES;
use contactpoint_matching::PostcodeParts;
use contactpoint_matching::{compact, date_variants, dates_similarity, fold, phonetic_keys};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One kind of mistake or partial knowledge a query is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Perturbation {
    /// A spelling of the given name that sounds the same (Catherine → Kathryn).
    SoundAlikeGiven,
    /// A spelling of the family name that sounds the same (Smith → Smyth).
    SoundAlikeFamily,
    /// One letter of the given name mistyped, dropped, added or swapped with the next.
    TypoGiven,
    /// One letter of the family name mistyped, dropped, added or swapped with the next.
    TypoFamily,
    /// A nickname or short form for the given name, or the formal name for a short one.
    Nickname,
    /// One part of a double-barrelled family name.
    FamilyPart,
    /// Given and family names in each other's places.
    NamesSwapped,
    /// Day and month of the date of birth swapped.
    DayMonthSwapped,
    /// One digit of the date of birth wrong.
    DateDigit,
    /// An age range instead of the date of birth.
    AgeRange,
    /// Only the district or sector of the current postcode.
    PartialPostcode,
    /// A postcode the child lived at before.
    EarlierPostcode,
}

/// Which part of a query a perturbation changes; two in one part would collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Given,
    Family,
    BothNames,
    Birth,
    Postcode,
}

impl Perturbation {
    pub const ALL: [Self; 12] = [
        Self::SoundAlikeGiven,
        Self::SoundAlikeFamily,
        Self::TypoGiven,
        Self::TypoFamily,
        Self::Nickname,
        Self::FamilyPart,
        Self::NamesSwapped,
        Self::DayMonthSwapped,
        Self::DateDigit,
        Self::AgeRange,
        Self::PartialPostcode,
        Self::EarlierPostcode,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::SoundAlikeGiven => "sound_alike_given",
            Self::SoundAlikeFamily => "sound_alike_family",
            Self::TypoGiven => "typo_given",
            Self::TypoFamily => "typo_family",
            Self::Nickname => "nickname",
            Self::FamilyPart => "family_name_part",
            Self::NamesSwapped => "names_swapped",
            Self::DayMonthSwapped => "day_month_swapped",
            Self::DateDigit => "date_digit_wrong",
            Self::AgeRange => "age_range",
            Self::PartialPostcode => "partial_postcode",
            Self::EarlierPostcode => "earlier_postcode",
        }
    }

    fn part(self) -> Part {
        match self {
            Self::SoundAlikeGiven | Self::TypoGiven | Self::Nickname => Part::Given,
            Self::SoundAlikeFamily | Self::TypoFamily | Self::FamilyPart => Part::Family,
            Self::NamesSwapped => Part::BothNames,
            Self::DayMonthSwapped | Self::DateDigit | Self::AgeRange => Part::Birth,
            Self::PartialPostcode | Self::EarlierPostcode => Part::Postcode,
        }
    }

    fn collides_with(self, other: Self) -> bool {
        let (a, b) = (self.part(), other.part());
        a == b
            || matches!(
                (a, b),
                (Part::BothNames, Part::Given | Part::Family)
                    | (Part::Given | Part::Family, Part::BothNames)
            )
    }
}

/// Which of the four counted criteria a query gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub given: bool,
    pub family: bool,
    pub birth: bool,
    pub postcode: bool,
}

impl Shape {
    /// Every proportionate shape: a name and at least two more.
    const ALL: [Self; 5] = [
        Self::new(true, true, true, false),
        Self::new(true, true, false, true),
        Self::new(false, true, true, true),
        Self::new(true, false, true, true),
        Self::new(true, true, true, true),
    ];

    const fn new(given: bool, family: bool, birth: bool, postcode: bool) -> Self {
        Self {
            given,
            family,
            birth,
            postcode,
        }
    }

    fn covers(self, needed: Self) -> bool {
        (self.given || !needed.given)
            && (self.family || !needed.family)
            && (self.birth || !needed.birth)
            && (self.postcode || !needed.postcode)
    }

    pub fn code(self) -> String {
        [
            (self.given, "given"),
            (self.family, "family"),
            (self.birth, "birth"),
            (self.postcode, "postcode"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect::<Vec<_>>()
        .join("+")
    }
}

/// When the child was born, as the query gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthGiven {
    Date(NaiveDate),
    Ages(u32, u32),
}

/// A search with a known answer.
#[derive(Debug, Clone)]
pub struct BenchQuery {
    /// The ContactPoint ID of the child searched for, 12 digits.
    pub target: String,
    pub perturbations: Vec<Perturbation>,
    pub shape: Shape,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub birth: Option<BirthGiven>,
    pub postcode: Option<String>,
}

impl BenchQuery {
    /// The search as a form, as the API reads it.
    pub fn form(&self) -> SearchForm {
        let (date, from, to) = match self.birth {
            Some(BirthGiven::Date(d)) => (Some(d.format("%Y-%m-%d").to_string()), None, None),
            Some(BirthGiven::Ages(a, b)) => (None, Some(a.to_string()), Some(b.to_string())),
            None => (None, None, None),
        };
        SearchForm {
            family_name: self.family_name.clone(),
            given_name: self.given_name.clone(),
            date_of_birth: date,
            age_from: from,
            age_to: to,
            gender: None,
            postcode: self.postcode.clone(),
            contactpoint_id: None,
        }
    }

    /// `GET /api/children?...` for this search.
    pub fn path(&self) -> String {
        let form = self.form();
        let params = [
            ("family_name", &form.family_name),
            ("given_name", &form.given_name),
            ("date_of_birth", &form.date_of_birth),
            ("age_from", &form.age_from),
            ("age_to", &form.age_to),
            ("postcode", &form.postcode),
        ];
        let query = params
            .iter()
            .filter_map(|(name, value)| {
                value.as_deref().map(|v| format!("{name}={}", urlencode(v)))
            })
            .collect::<Vec<_>>()
            .join("&");
        format!("/api/children?{query}")
    }

    /// The kinds as one label, `exact` when there are none.
    pub fn kinds(&self) -> String {
        if self.perturbations.is_empty() {
            "exact".into()
        } else {
            self.perturbations
                .iter()
                .map(|p| p.code())
                .collect::<Vec<_>>()
                .join("+")
        }
    }

    /// The search as a person would read it.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(g) = &self.given_name {
            parts.push(format!("given={g}"));
        }
        if let Some(f) = &self.family_name {
            parts.push(format!("family={f}"));
        }
        match self.birth {
            Some(BirthGiven::Date(d)) => parts.push(format!("born={d}")),
            Some(BirthGiven::Ages(a, b)) => parts.push(format!("aged={a}-{b}")),
            None => {}
        }
        if let Some(p) = &self.postcode {
            parts.push(format!("postcode={p}"));
        }
        parts.join(" ")
    }

    /// True when the search would be accepted as proportionate on `today`.
    pub fn is_proportionate(&self, today: NaiveDate) -> bool {
        SearchCriteria::parse(&self.form(), today).is_ok()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The child's current (or last known) postcode.
fn current_postcode(record: &ChildRecord) -> Option<String> {
    match &record.address {
        AddressState::Current { address } | AddressState::LastKnown { address } => {
            Some(address.postcode.as_str().to_owned())
        }
        AddressState::NoKnownAddress | AddressState::LeftEngland { .. } => None,
    }
}

/// What the query is built from, changed perturbation by perturbation.
struct Working {
    given: String,
    family: String,
    birth: BirthGiven,
    postcode: Option<String>,
}

/// Makes a query for `record`: no perturbation (15%), one (55%) or two (30%), each chosen
/// among those that apply to this child, then a proportionate shape that shows them.
pub fn make_query<R: Rng>(record: &ChildRecord, today: NaiveDate, rng: &mut R) -> BenchQuery {
    let wanted = match rng.random_range(0..100) {
        0..15 => 0,
        15..70 => 1,
        _ => 2,
    };
    let mut working = Working {
        given: record.given_name.as_str().to_owned(),
        family: record.family_name.as_str().to_owned(),
        birth: BirthGiven::Date(record.date_of_birth),
        postcode: current_postcode(record),
    };
    let mut kinds = Perturbation::ALL.to_vec();
    kinds.shuffle(rng);
    let mut chosen: Vec<Perturbation> = Vec::new();
    for kind in kinds {
        if chosen.len() == wanted {
            break;
        }
        if chosen.iter().any(|c| c.collides_with(kind)) {
            continue;
        }
        if apply(kind, record, today, &mut working, rng) {
            chosen.push(kind);
        }
    }
    chosen.sort();
    let needed = Shape {
        given: chosen
            .iter()
            .any(|c| matches!(c.part(), Part::Given | Part::BothNames)),
        family: chosen
            .iter()
            .any(|c| matches!(c.part(), Part::Family | Part::BothNames)),
        birth: chosen.iter().any(|c| c.part() == Part::Birth),
        postcode: chosen.iter().any(|c| c.part() == Part::Postcode),
    };
    let shapes: Vec<Shape> = Shape::ALL
        .into_iter()
        .filter(|s| s.covers(needed))
        .filter(|s| !s.postcode || working.postcode.is_some())
        .collect();
    let shape = *shapes
        .choose(rng)
        .unwrap_or(&Shape::new(true, true, true, false));
    BenchQuery {
        target: record.contactpoint_id.as_digits(),
        perturbations: chosen,
        shape,
        given_name: shape.given.then(|| working.given.clone()),
        family_name: shape.family.then(|| working.family.clone()),
        birth: shape.birth.then_some(working.birth),
        postcode: if shape.postcode {
            working.postcode.clone()
        } else {
            None
        },
    }
}

/// Applies one perturbation if it makes sense for this child; false when it does not.
fn apply<R: Rng>(
    kind: Perturbation,
    record: &ChildRecord,
    today: NaiveDate,
    working: &mut Working,
    rng: &mut R,
) -> bool {
    let changed = |slot: &mut String, value: Option<String>| match value {
        Some(v) => {
            *slot = v;
            true
        }
        None => false,
    };
    // Two perturbations never both change the birth, so this is what the query still says.
    let dob = record.date_of_birth;
    match kind {
        Perturbation::SoundAlikeGiven => {
            let v = sound_alike(&working.given, rng);
            changed(&mut working.given, v)
        }
        Perturbation::SoundAlikeFamily => {
            let v = sound_alike(&working.family, rng);
            changed(&mut working.family, v)
        }
        Perturbation::TypoGiven => {
            let v = typo(&working.given, rng);
            changed(&mut working.given, v)
        }
        Perturbation::TypoFamily => {
            let v = typo(&working.family, rng);
            changed(&mut working.family, v)
        }
        Perturbation::Nickname => {
            let v = nickname(&working.given, rng);
            changed(&mut working.given, v)
        }
        Perturbation::FamilyPart => {
            let v = family_part(&working.family, rng);
            changed(&mut working.family, v)
        }
        Perturbation::NamesSwapped => {
            if compact(&working.given) == compact(&working.family) {
                return false;
            }
            std::mem::swap(&mut working.given, &mut working.family);
            true
        }
        Perturbation::DayMonthSwapped => {
            match NaiveDate::from_ymd_opt(dob.year(), dob.day(), dob.month())
                .filter(|d| *d != dob && *d <= today)
            {
                Some(d) => {
                    working.birth = BirthGiven::Date(d);
                    true
                }
                None => false,
            }
        }
        Perturbation::DateDigit => {
            let plausible = SearchCriteria::plausible_birth_years(today);
            let swapped = NaiveDate::from_ymd_opt(dob.year(), dob.day(), dob.month());
            let options: Vec<NaiveDate> = date_variants(dob)
                .into_iter()
                .filter(|d| *d != dob && Some(*d) != swapped && *d <= today)
                .filter(|d| dates_similarity(dob, *d) == 0.8)
                .filter(|d| plausible.contains(&d.year()))
                .collect();
            match options.choose(rng) {
                Some(d) => {
                    working.birth = BirthGiven::Date(*d);
                    true
                }
                None => false,
            }
        }
        Perturbation::AgeRange => {
            let age = age_on(dob, today);
            let width = rng.random_range(1..=3);
            let from = age.saturating_sub(rng.random_range(0..=width));
            working.birth = BirthGiven::Ages(from, from + width);
            true
        }
        Perturbation::PartialPostcode => {
            let Some(parts) = working.postcode.as_deref().and_then(PostcodeParts::parse) else {
                return false;
            };
            let partial = match (rng.random_bool(0.5), parts.sector) {
                (true, Some(sector)) => sector,
                _ => parts.outward,
            };
            working.postcode = Some(partial);
            true
        }
        Perturbation::EarlierPostcode => {
            let current = current_postcode(record);
            let earlier: Vec<String> = record
                .address_history
                .iter()
                .map(|h| h.address.postcode.as_str().to_owned())
                .filter(|p| Some(p) != current.as_ref())
                .collect();
            match earlier.choose(rng) {
                Some(p) => {
                    working.postcode = Some(p.clone());
                    true
                }
                None => false,
            }
        }
    }
}

/// The words of a name with what separates them: `Smith-Jones` → [Smith, -, Jones].
fn split_words(name: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for c in name.chars() {
        let is_word = !matches!(c, '-' | ' ');
        match out.last_mut() {
            Some((text, word)) if *word == is_word => text.push(c),
            _ => out.push((c.to_string(), is_word)),
        }
    }
    out
}

/// Replaces one word (of at least `min_len` letters) of a name with what `change` makes of
/// its folded, lower-case form.
fn change_one_word<R: Rng>(
    name: &str,
    min_len: usize,
    rng: &mut R,
    change: impl Fn(&str, &mut R) -> Option<String>,
) -> Option<String> {
    let mut words = split_words(name);
    let eligible: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].1 && compact(&words[i].0).len() >= min_len)
        .collect();
    let &i = eligible.choose(rng)?;
    let folded = fold(&words[i].0).to_ascii_lowercase().replace(' ', "");
    let new = change(&folded, rng)?;
    if new == folded || new.is_empty() {
        return None;
    }
    words[i].0 = capitalise(&new);
    Some(words.into_iter().map(|(text, _)| text).collect())
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Spellings that sound alike: rewrites that keep the word's primary Double Metaphone key.
fn sound_alike<R: Rng>(name: &str, rng: &mut R) -> Option<String> {
    const REWRITES: &[(&str, &str)] = &[
        ("ph", "f"),
        ("f", "ph"),
        ("ck", "k"),
        ("k", "ck"),
        ("c", "k"),
        ("k", "c"),
        ("y", "i"),
        ("i", "y"),
        ("ie", "y"),
        ("y", "ie"),
        ("ey", "y"),
        ("ee", "ea"),
        ("ea", "ee"),
        ("ll", "l"),
        ("l", "ll"),
        ("nn", "n"),
        ("n", "nn"),
        ("tt", "t"),
        ("t", "tt"),
        ("rr", "r"),
        ("r", "rr"),
        ("ss", "s"),
        ("mm", "m"),
        ("s", "z"),
        ("z", "s"),
        ("ah", "a"),
        ("ai", "ay"),
        ("ay", "ai"),
        ("ou", "ow"),
        ("th", "t"),
        ("x", "ks"),
        ("ks", "x"),
        ("w", "u"),
    ];
    change_one_word(name, 3, rng, |word, rng| {
        let (key, _) = phonetic_keys(word);
        let mut options = Vec::new();
        for (from, to) in REWRITES {
            for (at, _) in word.match_indices(from) {
                let candidate = format!("{}{}{}", &word[..at], to, &word[at + from.len()..]);
                if candidate != word
                    && candidate.len() >= 2
                    && !key.is_empty()
                    && phonetic_keys(&candidate).0 == key
                    && !options.contains(&candidate)
                {
                    options.push(candidate);
                }
            }
        }
        options.choose(rng).cloned()
    })
}

/// One letter mistyped (a neighbour on the keyboard), dropped, doubled or swapped with the
/// next; never the first letter.
fn typo<R: Rng>(name: &str, rng: &mut R) -> Option<String> {
    change_one_word(name, 3, rng, |word, rng| {
        let mut letters: Vec<char> = word.chars().collect();
        let n = letters.len();
        for _ in 0..8 {
            let at = rng.random_range(1..n);
            let original = letters.clone();
            match rng.random_range(0..4) {
                0 => {
                    let options = keyboard_neighbours(letters[at]);
                    if let Some(c) = options.choose(rng) {
                        letters[at] = *c;
                    }
                }
                1 if n > 3 => {
                    letters.remove(at);
                }
                2 => {
                    let c = *keyboard_neighbours(letters[at])
                        .choose(rng)
                        .unwrap_or(&letters[at]);
                    letters.insert(at, c);
                }
                _ if at + 1 < n && letters[at] != letters[at + 1] => letters.swap(at, at + 1),
                _ => {}
            }
            if letters != original {
                return Some(letters.into_iter().collect());
            }
        }
        None
    })
}

fn keyboard_neighbours(c: char) -> Vec<char> {
    const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
    let mut out = Vec::new();
    for (r, row) in ROWS.iter().enumerate() {
        if let Some(i) = row.find(c) {
            let near = |row: &str, i: isize| -> Option<char> {
                usize::try_from(i).ok().and_then(|i| row.chars().nth(i))
            };
            let i = i as isize;
            out.extend([near(row, i - 1), near(row, i + 1)].into_iter().flatten());
            if r > 0 {
                out.extend(
                    [near(ROWS[r - 1], i), near(ROWS[r - 1], i + 1)]
                        .into_iter()
                        .flatten(),
                );
            }
            if r + 1 < ROWS.len() {
                out.extend(
                    [near(ROWS[r + 1], i - 1), near(ROWS[r + 1], i)]
                        .into_iter()
                        .flatten(),
                );
            }
        }
    }
    out
}

/// Formal names and their short forms, both ways, by folded name.
fn nickname_table() -> &'static HashMap<String, Vec<&'static str>> {
    static TABLE: OnceLock<HashMap<String, Vec<&'static str>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: HashMap<String, Vec<&'static str>> = HashMap::new();
        for (formal, short) in NICKNAMES {
            for s in *short {
                table.entry(compact(formal)).or_default().push(s);
                table.entry(compact(s)).or_default().push(formal);
            }
        }
        table
    })
}

/// A nickname for a formal given name, or the formal name for a short one.
fn nickname<R: Rng>(name: &str, rng: &mut R) -> Option<String> {
    let own = compact(name);
    let options: Vec<&str> = nickname_table()
        .get(&own)?
        .iter()
        .copied()
        .filter(|n| compact(n) != own)
        .collect();
    options.choose(rng).map(|s| (*s).to_owned())
}

/// One part of a double-barrelled family name (not a particle such as `de` or `van`).
fn family_part<R: Rng>(name: &str, rng: &mut R) -> Option<String> {
    const PARTICLES: &[&str] = &[
        "AL", "AP", "BIN", "BINT", "DA", "DAS", "DE", "DEL", "DELLA", "DEN", "DER", "DI", "DOS",
        "DU", "EL", "IBN", "LA", "LE", "ST", "VAN", "VON",
    ];
    let words: Vec<String> = split_words(name)
        .into_iter()
        .filter(|(_, word)| *word)
        .map(|(text, _)| text)
        .collect();
    if words.len() < 2 {
        return None;
    }
    let parts: Vec<&String> = words
        .iter()
        .filter(|w| compact(w).len() >= 3 && !PARTICLES.contains(&fold(w).as_str()))
        .collect();
    if parts.len() < 2 {
        return None;
    }
    parts.choose(rng).map(|s| (*s).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn sound_alikes_keep_the_sound_and_change_the_spelling() {
        let mut rng = rng();
        for name in ["Catherine", "Phillips", "Smith-Jones", "Mackenzie"] {
            let new = sound_alike(name, &mut rng).expect("a sound-alike");
            assert_ne!(compact(&new), compact(name));
        }
    }

    #[test]
    fn a_typo_changes_one_letter_but_never_the_first() {
        let mut rng = rng();
        for _ in 0..50 {
            let new = typo("Johnson", &mut rng).expect("a typo");
            assert!(new.starts_with('J') && compact(&new) != "JOHNSON", "{new}");
            assert!((6..=8).contains(&new.len()), "{new}");
        }
    }

    #[test]
    fn nicknames_go_both_ways_and_parts_skip_particles() {
        let mut rng = rng();
        assert!(nickname("William", &mut rng).is_some());
        assert!(nickname("Bill", &mut rng).is_some());
        assert!(nickname("Zzyzx", &mut rng).is_none());
        assert!(
            ["Smith", "Jones"].contains(&family_part("Smith-Jones", &mut rng).unwrap().as_str())
        );
        assert_eq!(family_part("Da Silva", &mut rng), None);
        assert_eq!(family_part("Smith", &mut rng), None);
    }
}
