//! The long tails of British and Irish names, beyond the lists of the most common.
//!
//! The listed British and Irish names are the most common: 408 family names, 204 given names a
//! gender. Drawn alone they make a nation of namesakes: Smith would be one child in 26, two
//! British children would share a family name about one time in 125, and two girls a first
//! name one time in 120. In England the most common few hundred family names cover well under
//! half of the people (Smith about 1.2 %, the top twenty about 8 %) and two people share one
//! about one time in 1,250 (the sum of squared shares); the 100 most common first names given
//! in a year cover about half of the babies, and two babies of one sex and year share a first
//! name about one time in 300.
//!
//! So many British and Irish children draw a name from a tail, each tail name less common than
//! the last listed one (a Zipf curve that carries on from the list's length):
//! - family names made as English, Scottish and Irish family names were made, from a place
//!   (Ashworth, Bradley), a father (Dawson, Hodgkins) or a clan (McAllister, O'Dowd);
//! - first names that are other spellings of listed ones (Isabell, Katharine), names from the
//!   other naming origins of England, and made-up names of the modern kind (Karel, Malina).
//!
//! Some are real names and some only look like them; all the people who carry them are
//! fictional.

use std::collections::HashSet;
use std::sync::LazyLock;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::names::{Origin, OriginNames, ORIGINS};
use super::SPELLING_VARIANTS;

/// The first parts of names from a place.
const PLACE_STEMS: &[&str] = &[
    "Ash", "Ald", "Alder", "Ap", "Ark", "Arn", "Ayles", "Bar", "Barn", "Beck", "Bel", "Birch",
    "Black", "Blen", "Bolt", "Brad", "Bram", "Bran", "Brent", "Brig", "Broad", "Brom", "Brook",
    "Bur", "Cal", "Cant", "Car", "Chad", "Chat", "Ches", "Clay", "Cliff", "Cold", "Coles", "Cot",
    "Crab", "Cran", "Crom", "Dal", "Dar", "Dart", "Den", "Dun", "Eas", "Ed", "Elm", "Ever", "Fair",
    "Far", "Fen", "Fern", "Fox", "Gar", "Glad", "Gold", "Good", "Gran", "Grims", "Hal", "Ham",
    "Har", "Hart", "Haw", "Hay", "Heath", "Hen", "Hep", "Hey", "Hol", "Horn", "Hun", "Ick", "Kel",
    "Ken", "Kings", "Kirk", "Lang", "Lath", "Lid", "Lin", "Lock", "Lud", "Mar", "Mel", "Mid",
    "Mil", "Mor", "Nap", "New", "Nor", "Oak", "Ock", "Old", "Pad", "Pem", "Pen", "Pick", "Pres",
    "Rad", "Ram", "Raw", "Red", "Rid", "Ring", "Ros", "Rud", "Rush", "Sal", "Sand", "Scar", "Sel",
    "Shel", "Shep", "Ship", "Sid", "Stan", "Stock", "Strat", "Sud", "Sun", "Sut", "Swin", "Thorn",
    "Tip", "Tod", "Wad", "Wal", "War", "Wat", "Wel", "Wen", "West", "Whit", "Wig", "Wil", "Win",
    "Wolver", "Wyn", "Yar",
];

/// The endings of names from a place: a farm, a ford, a clearing, a hill.
const PLACE_ENDINGS: &[&str] = &[
    "by", "combe", "croft", "dale", "den", "field", "ford", "gate", "ham", "hurst", "ington",
    "land", "ley", "low", "more", "ridge", "shaw", "stead", "stone", "thorpe", "ton", "well",
    "wick", "wood", "worth", "bury", "bridge", "brook", "cliffe", "cott", "don", "hall",
];

/// Short forms of medieval given names that family names were made from.
const FATHER_STEMS: &[&str] = &[
    "Ad", "Batt", "Dab", "Daw", "Dick", "Dob", "Dod", "Gib", "Hab", "Hick", "Hob", "Hodg", "Hud",
    "Jack", "Jeff", "Jenk", "Mall", "Mast", "Nix", "Pat", "Perk", "Phipp", "Pugh", "Raw", "Rick",
    "Rob", "Sim", "Stev", "Tib", "Tom", "Watt", "Wilk", "Wyatt", "Hutch", "Gilb", "Dyk", "Hewl",
    "Lamb", "Judd", "Nel", "Par", "Hal", "Hopk", "Coll", "Mal",
];

/// How a father's name became a family name: his son, his little one, his household.
const FATHER_ENDINGS: &[&str] = &[
    "s", "son", "kins", "kinson", "ett", "in", "ins", "ing", "cock", "ey", "ard", "inson",
];

/// Scottish and Irish clan names, after Mc, Mac or O'.
const CLAN_STEMS: &[&str] = &[
    "Allister", "Ardle", "Auley", "Bain", "Bride", "Cabe", "Caffrey", "Call", "Cann", "Cart",
    "Clure", "Connell", "Cormack", "Cready", "Crae", "Cue", "Dermott", "Devitt", "Dougall",
    "Dowell", "Elroy", "Evoy", "Fadden", "Farlane", "Fee", "Gee", "Ginty", "Gowan", "Govern",
    "Gregor", "Guigan", "Guinness", "Hale", "Hugh", "Ilroy", "Innes", "Intosh", "Ivor", "Kay",
    "Kee", "Keown", "Kenna", "Kinnon", "Lachlan", "Laren", "Leish", "Lennan", "Leod", "Mahon",
    "Manus", "Master", "Menamin", "Millan", "Morrow", "Murdo", "Nab", "Nally", "Namara",
    "Naughton", "Neill", "Nulty", "Pherson", "Quade", "Quarrie", "Queen", "Rae", "Robbie", "Shane",
    "Sherry", "Sorley", "Sweeney", "Taggart", "Tavish", "Teague", "Vey", "Vicar", "Whirter",
    "Williams",
];

/// Irish names after O'.
const IRISH_STEMS: &[&str] = &[
    "Boyle",
    "Brady",
    "Byrne",
    "Callaghan",
    "Carroll",
    "Connor",
    "Doherty",
    "Donnell",
    "Donoghue",
    "Dowd",
    "Driscoll",
    "Dwyer",
    "Farrell",
    "Flaherty",
    "Flynn",
    "Gara",
    "Gorman",
    "Grady",
    "Halloran",
    "Hanlon",
    "Hara",
    "Hare",
    "Hea",
    "Higgins",
    "Kane",
    "Keefe",
    "Kelly",
    "Kennedy",
    "Leary",
    "Loughlin",
    "Mahony",
    "Malley",
    "Mara",
    "Meara",
    "Neill",
    "Regan",
    "Reilly",
    "Riordan",
    "Rourke",
    "Shaughnessy",
    "Shea",
    "Sullivan",
    "Toole",
];

/// The family names beyond `listed`, most common first; none is one of the `listed` names.
pub fn family_name_tail(listed: &[(&str, u32)]) -> Vec<String> {
    let listed: HashSet<&str> = listed.iter().map(|(name, _)| *name).collect();
    let clans = CLAN_STEMS
        .iter()
        .flat_map(|stem| [format!("Mc{stem}"), format!("Mac{stem}")]);
    let irish = IRISH_STEMS.iter().map(|stem| format!("O'{stem}"));
    let candidates = composed(PLACE_STEMS, PLACE_ENDINGS)
        .chain(composed(FATHER_STEMS, FATHER_ENDINGS))
        .chain(clans)
        .chain(irish);
    shuffled_once_each(candidates, |name| listed.contains(name), 0x07A1_10F4_A3E5)
}

/// Every stem with every ending, but for those that join awkwardly.
fn composed(
    stems: &'static [&'static str],
    endings: &'static [&'static str],
) -> impl Iterator<Item = String> {
    stems.iter().flat_map(move |stem| {
        endings
            .iter()
            .filter(move |ending| !awkward(stem, ending))
            .map(move |ending| format!("{stem}{ending}"))
    })
}

/// `candidates` but for the `excluded`, each once, in an order drawn with `seed`: fixed, so
/// every nation sees the same tail ranked the same way, and not all of its most common names
/// come from one stem.
fn shuffled_once_each(
    candidates: impl Iterator<Item = String>,
    excluded: impl Fn(&str) -> bool,
    seed: u64,
) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut names: Vec<String> = candidates
        .filter(|name| !excluded(name) && seen.insert(name.clone()))
        .collect();
    names.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    names
}

/// The beginnings, middles and endings of made-up first names.
const GIVEN_STARTS: &[&str] = &[
    "Ka", "Ma", "Li", "Ro", "Sa", "Ta", "Ne", "Da", "Jo", "Ri", "Ay", "El", "Zi", "Mi", "Ha", "Lu",
    "Na", "Ke", "Bo", "Fe",
];
/// Middles end in a consonant and endings begin with a vowel, so no name piles up vowels.
const GIVEN_MIDDLES: &[&str] = &[
    "r", "l", "n", "v", "d", "s", "m", "lin", "ren", "bel", "shan", "del",
];
const FEMALE_ENDINGS: &[&str] = &["a", "ie", "ya", "elle", "ina"];
const MALE_ENDINGS: &[&str] = &["an", "el", "on", "o", "is"];

/// A gender's first names beyond the British and Irish lists, in the order their weights fall.
///
/// None is listed for either gender, nor could come into the other gender's tail, so a tail
/// name never turns a boy's name into a girl's.
pub fn given_name_tail(female: bool) -> Vec<String> {
    let listed = listed_first_names();
    let other_gender: HashSet<String> = given_name_sources(!female).collect();
    shuffled_once_each(
        given_name_sources(female),
        |name| listed.contains(name) || other_gender.contains(name),
        if female { 0xF1_257 } else { 0x3A1_257 },
    )
}

/// The listed British and Irish first names of both genders.
fn listed_first_names() -> HashSet<&'static str> {
    let british = british_irish();
    british
        .female
        .iter()
        .chain(british.male)
        .map(|(name, _)| *name)
        .collect()
}

/// Where a gender's tail of first names comes from: other spellings of its listed names, the
/// other naming origins' names, and made-up ones.
fn given_name_sources(female: bool) -> impl Iterator<Item = String> {
    let british = british_irish();
    let own: HashSet<&str> = if female { british.female } else { british.male }
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let other_spellings = SPELLING_VARIANTS
        .iter()
        .filter(move |group| group.iter().any(|name| own.contains(name)))
        .flat_map(|group| group.iter().map(|name| (*name).to_owned()));
    let other_origins = ORIGINS
        .iter()
        .filter(|o| o.origin != Origin::BritishIrish)
        .flat_map(move |o| if female { o.female } else { o.male })
        .map(|(name, _)| (*name).to_owned());
    let endings = if female { FEMALE_ENDINGS } else { MALE_ENDINGS };
    let made_up = GIVEN_STARTS.iter().flat_map(move |start| {
        GIVEN_MIDDLES.iter().flat_map(move |middle| {
            endings
                .iter()
                .filter(move |ending| !(middle.ends_with("el") && ending.starts_with("el")))
                .map(move |ending| format!("{start}{middle}{ending}"))
        })
    });
    other_spellings
        .chain(other_origins)
        .chain(made_up.filter(|name| !runs_a_letter_three_times(name)))
}

fn runs_a_letter_three_times(name: &str) -> bool {
    let lower: Vec<char> = name.to_lowercase().chars().collect();
    lower.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

/// A stem and an ending that would run three of one letter together, or repeat the ending.
fn awkward(stem: &str, ending: &str) -> bool {
    let stem = stem.to_ascii_lowercase();
    let tail: Vec<char> = stem.chars().rev().take(2).collect();
    let first = ending.chars().next();
    let tripled = tail.len() == 2 && tail[0] == tail[1] && Some(tail[0]) == first;
    tripled || stem.ends_with(ending)
}

/// The British and Irish family names beyond the list, with their weights.
pub fn british_irish_family_tail() -> &'static [(&'static str, u32)] {
    static TAIL: LazyLock<Vec<(&'static str, u32)>> = LazyLock::new(|| {
        weighted_after(
            british_irish().family,
            family_name_tail(british_irish().family),
        )
    });
    &TAIL
}

/// The British and Irish girls' first names beyond the list, with their weights.
pub fn british_irish_female_tail() -> &'static [(&'static str, u32)] {
    static TAIL: LazyLock<Vec<(&'static str, u32)>> =
        LazyLock::new(|| weighted_after(british_irish().female, given_name_tail(true)));
    &TAIL
}

/// The British and Irish boys' first names beyond the list, with their weights.
pub fn british_irish_male_tail() -> &'static [(&'static str, u32)] {
    static TAIL: LazyLock<Vec<(&'static str, u32)>> =
        LazyLock::new(|| weighted_after(british_irish().male, given_name_tail(false)));
    &TAIL
}

/// `tail` weighted on a curve that carries on from the last listed name's rank (the share of
/// people drawing from the tail keeps its most common name rarer than any listed one: tested
/// below). The names live as long as the program.
fn weighted_after(listed: &[(&str, u32)], tail: Vec<String>) -> Vec<(&'static str, u32)> {
    let names: &'static [String] = Box::leak(tail.into_boxed_slice());
    let first_rank = listed.len() + 1;
    names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), zipf_weight(first_rank + i)))
        .collect()
}

/// The listed British and Irish names.
fn british_irish() -> &'static OriginNames {
    ORIGINS
        .iter()
        .find(|o| o.origin == Origin::BritishIrish)
        .expect("the British and Irish names are listed")
}

/// The weight of the name at `rank` (1 is the most common): one over the square root of the
/// rank. Flatter than the list's curve, because a few thousand made names stand in for the tens
/// of thousands a nation has; scaled so that a tail's weights sum well within a `u32`.
fn zipf_weight(rank: usize) -> u32 {
    (1_000_000.0 / (rank.max(1) as f64).sqrt()) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tail_holds_names_none_listed_and_none_twice() {
        let given = listed_first_names();
        let family: HashSet<&str> = british_irish().family.iter().map(|(n, _)| *n).collect();
        for (tail, listed, at_least) in [
            (british_irish_family_tail(), &family, 4_000),
            (british_irish_female_tail(), &given, 800),
            (british_irish_male_tail(), &given, 800),
        ] {
            assert!(tail.len() >= at_least, "only {} names", tail.len());
            let mut seen = HashSet::new();
            for (name, _) in tail {
                assert!(!listed.contains(name), "{name} is listed already");
                assert!(seen.insert(*name), "{name} is in the tail twice");
            }
        }
    }

    #[test]
    fn no_first_name_is_in_both_genders_tails() {
        let girls: HashSet<&str> = british_irish_female_tail()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        for (name, _) in british_irish_male_tail() {
            assert!(!girls.contains(name), "{name}");
        }
        assert!(girls.contains("Isabell"), "another spelling of Isabel");
    }

    #[test]
    fn tail_names_are_plain_names_without_a_letter_three_times_over() {
        let tails = british_irish_family_tail()
            .iter()
            .chain(british_irish_female_tail())
            .chain(british_irish_male_tail());
        for (name, _) in tails {
            let plain = name.chars().next().is_some_and(char::is_uppercase)
                && name.chars().all(|c| c.is_alphabetic() || c == '\'');
            assert!(plain, "{name:?}");
            assert!(!runs_a_letter_three_times(name), "{name:?}");
        }
    }

    #[test]
    fn each_tail_falls_off_below_its_list_and_mixes_its_stems() {
        let british = british_irish();
        for (tail, listed) in [
            (british.family_tail, british.family),
            (british.female_tail, british.female),
            (british.male_tail, british.male),
        ] {
            let tail = tail.expect("British and Irish names have tails");
            let names = (tail.names)();
            assert!(names.windows(2).all(|w| w[0].1 >= w[1].1));
            assert!(names.last().is_some_and(|(_, w)| *w > 0));
            let starts: HashSet<String> = names[..20]
                .iter()
                .map(|(n, _)| n.chars().take(2).collect())
                .collect();
            assert!(starts.len() >= 8, "{starts:?}");
            let share = |weight: u32, list: &[(&str, u32)], of: f64| {
                of * f64::from(weight) / list.iter().map(|(_, w)| f64::from(*w)).sum::<f64>()
            };
            let in_tail = f64::from(tail.per_mille) / 1000.0;
            let tail_first = share(names[0].1, names, in_tail);
            let listed_last = share(listed[listed.len() - 1].1, listed, 1.0 - in_tail);
            assert!(
                tail_first < listed_last,
                "the tail's first name ({tail_first}) is commoner than the list's last ({listed_last})"
            );
        }
    }

    #[test]
    fn each_tail_is_the_same_every_time_it_is_made() {
        let family = british_irish().family;
        assert_eq!(family_name_tail(family), family_name_tail(family));
        assert_eq!(given_name_tail(true), given_name_tail(true));
        assert_eq!(given_name_tail(false), given_name_tail(false));
    }
}
