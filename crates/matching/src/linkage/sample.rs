//! A small synthetic nation and a supplier's file about it, with the truth, for measuring
//! linkage. Deterministic for a seed. Used by the tests and by
//! `examples/linkage_accuracy.rs` (which includes this file), so it reaches the library only
//! through `super`.

use super::{Gender, SuppliedPerson, NICKNAMES, SPELLING_VARIANTS};
use chrono::{Datelike, Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Given names beyond the nickname table, common in England's births.
const MORE_GIVEN: &[&str] = &[
    "Noah", "Leo", "Arthur", "Muhammad", "Oscar", "Theo", "Archie", "Freddie", "Lily", "Ivy",
    "Ava", "Mia", "Grace", "Sophia", "Rosie", "Evie", "Poppy", "Daisy", "Harper", "Willow",
    "Aisha", "Zara", "Maryam", "Hannah", "Layla", "Amara", "Priya", "Arjun", "Aarav", "Ibrahim",
    "Yusuf", "Omar", "Ayaan", "Kacper", "Jakub", "Zuzanna", "Maja", "Chloe", "Zoe", "Phoebe",
    "Ruby", "Isla", "Luna", "Ella", "Reggie", "Ronnie", "Rory", "Finley", "Harrison", "Kai",
    "Riley", "Elijah", "Ezra", "Jude", "Hugo", "Felix", "Ethan", "Mason", "Logan", "Lucas",
];

/// Common family names in England, most common first.
const COMMON_FAMILY: &[&str] = &[
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Khan",
    "Marshall",
    "Anderson",
    "Simpson",
    "Ellis",
    "Adams",
    "Singh",
    "Begum",
    "Wilkinson",
    "Foster",
    "Chapman",
    "Powell",
    "Webb",
    "Rogers",
    "Gray",
    "Mason",
    "Ali",
    "Hunt",
    "Hussain",
    "Campbell",
    "Matthews",
    "Owen",
    "Palmer",
    "Holmes",
    "Mills",
    "Barnes",
    "Knight",
    "Lloyd",
    "Butler",
    "Russell",
    "Barker",
    "Fisher",
    "Stevens",
    "Jenkins",
    "Murray",
    "Dixon",
    "Harvey",
    "Okafor",
    "Adeyemi",
    "Kowalski",
    "Nowak",
    "Nguyen",
    "Ahmed",
    "Rahman",
    "Mensah",
    "Popescu",
];

const FAMILY_STARTS: &[&str] = &[
    "Ash", "Brad", "Castle", "Dun", "Elm", "Fair", "Gold", "Hart", "Ing", "Kings", "Lang", "Mar",
    "North", "Oak", "Pen", "Rad", "Stan", "Thorn", "Under", "Wal", "Whit", "Brook", "Cal", "Dray",
    "Fen", "Gar", "Hol", "Kil", "Lind", "Mor", "Nor", "Pem", "Ros", "Sel", "Tal", "Wen", "Yar",
    "Bur", "Craw", "Dal",
];
const FAMILY_ENDS: &[&str] = &[
    "ley", "ton", "worth", "by", "ford", "son", "well", "ham", "field", "more", "wick", "ridge",
    "stone", "wood", "bury", "cott", "den", "hurst", "land", "shaw", "thorpe", "ell", "ock", "er",
    "ings", "ett", "low", "brook", "combe", "dale",
];
const GIVEN_STARTS: &[&str] = &[
    "Ka", "Ma", "Li", "Ro", "Sa", "Ta", "Ne", "Da", "Jo", "Ri", "Ay", "El", "Zi", "Mi", "Ha", "Lu",
    "Na", "Ke", "Bo", "Fe",
];
const GIVEN_MIDS: &[&str] = &["ri", "la", "no", "vi", "sha", "de", "ra", "mo", "li", "be"];
const GIVEN_ENDS: &[&str] = &["n", "a", "el", "ah", "on", "ie", "ya", "o", "is", "en"];

const AREAS: &[(&str, &str)] = &[
    ("MK", "Bedford"),
    ("LU", "Luton"),
    ("B", "Birmingham"),
    ("M", "Manchester"),
    ("LS", "Leeds"),
    ("S", "Sheffield"),
    ("BS", "Bristol"),
    ("NE", "Newcastle"),
    ("L", "Liverpool"),
    ("NG", "Nottingham"),
    ("LE", "Leicester"),
    ("CV", "Coventry"),
    ("BD", "Bradford"),
    ("HU", "Hull"),
    ("PL", "Plymouth"),
    ("SO", "Southampton"),
    ("PO", "Portsmouth"),
    ("DE", "Derby"),
    ("ST", "Stoke-on-Trent"),
    ("WV", "Wolverhampton"),
    ("NR", "Norwich"),
    ("EX", "Exeter"),
    ("YO", "York"),
    ("OX", "Oxford"),
    ("CB", "Cambridge"),
    ("IP", "Ipswich"),
    ("BN", "Brighton"),
    ("RG", "Reading"),
    ("SN", "Swindon"),
    ("PE", "Peterborough"),
];
const STREETS: &[&str] = &[
    "High",
    "Church",
    "Station",
    "Victoria",
    "Park",
    "Mill",
    "Green",
    "Manor",
    "Queens",
    "Kings",
    "New",
    "Grange",
    "Windsor",
    "Albert",
    "Springfield",
    "Meadow",
    "Orchard",
    "Beech",
    "Oak",
    "Cedar",
    "Willow",
    "Chestnut",
    "London",
    "York",
    "Highfield",
    "Elm",
    "School",
    "North",
    "South",
    "West",
];
const STREET_KINDS: &[&str] = &[
    "Street", "Road", "Avenue", "Close", "Lane", "Drive", "Crescent", "Gardens", "Way", "Grove",
];

/// Kinds of difference between a supplied record and the child as the directory has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variation {
    Nickname,
    Spelling,
    GivenTypo,
    FamilyTypo,
    DateSwapped,
    DateOneDigit,
    SurnameChangeWithFormer,
    SurnameChangeWithoutFormer,
    MoveNearby,
    MoveAway,
    MissingFields,
    Title,
}

/// One supplied record and the child it really is.
#[derive(Debug, Clone)]
pub struct Supplied {
    pub child: usize,
    pub person: SuppliedPerson,
    pub variations: Vec<Variation>,
}

/// The directory (child `i` is `directory[i]`) and a supplier's file about it; supplied
/// records with `child >= directory.len()` are children the directory does not have.
#[derive(Debug, Clone)]
pub struct Sample {
    pub directory: Vec<SuppliedPerson>,
    pub supplied: Vec<Supplied>,
}

/// How much of each kind of difference the supplier's file has.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub nickname: f64,
    pub spelling: f64,
    pub given_typo: f64,
    pub family_typo: f64,
    pub date_swapped: f64,
    pub date_one_digit: f64,
    pub surname_change: f64,
    pub move_house: f64,
    pub missing: f64,
    /// Share of supplied records that are children not in the directory.
    pub new_children: f64,
    /// Share of supplied records that are a different child with the same names and date
    /// of birth as one in the directory, living elsewhere.
    pub namesakes: f64,
    /// Share of supplied records supplied twice (a duplicate within the source).
    pub duplicates: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            nickname: 0.06,
            spelling: 0.03,
            given_typo: 0.03,
            family_typo: 0.03,
            date_swapped: 0.015,
            date_one_digit: 0.02,
            surname_change: 0.03,
            move_house: 0.10,
            missing: 0.10,
            new_children: 0.10,
            namesakes: 0.005,
            duplicates: 0.02,
        }
    }
}

/// Draws from a list with Zipf-like weights (rank^-s).
#[derive(Debug)]
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|k| {
                total += (k as f64).powf(-s);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn draw(&self, rng: &mut StdRng) -> usize {
        let x = rng.random::<f64>() * self.cumulative[self.cumulative.len() - 1];
        self.cumulative.partition_point(|c| *c < x)
    }
}

#[derive(Debug)]
struct Names {
    given: Vec<String>,
    given_zipf: Zipf,
    family: Vec<String>,
    family_zipf: Zipf,
}

impl Names {
    fn new(rng: &mut StdRng) -> Self {
        let mut given: Vec<String> = Vec::new();
        for name in NICKNAMES
            .iter()
            .map(|(formal, _)| *formal)
            .chain(MORE_GIVEN.iter().copied())
        {
            if !given.iter().any(|g| g == name) {
                given.push(name.to_owned());
            }
        }
        // Shuffle so that the Zipf ranks do not follow the table's order.
        for i in (1..given.len()).rev() {
            given.swap(i, rng.random_range(0..=i));
        }
        for a in GIVEN_STARTS {
            for b in GIVEN_MIDS {
                for c in GIVEN_ENDS {
                    given.push(format!("{a}{b}{c}"));
                }
            }
        }
        let mut family: Vec<String> = COMMON_FAMILY.iter().map(|s| (*s).to_owned()).collect();
        for a in FAMILY_STARTS {
            for b in FAMILY_ENDS {
                family.push(format!("{a}{b}"));
            }
        }
        for a in FAMILY_STARTS {
            for b in FAMILY_ENDS {
                for c in ["s", "e"] {
                    family.push(format!("{a}{b}{c}"));
                }
            }
        }
        Self {
            given_zipf: Zipf::new(given.len(), 0.9),
            given,
            family_zipf: Zipf::new(family.len(), 0.75),
            family,
        }
    }

    fn given(&self, rng: &mut StdRng) -> String {
        self.given[self.given_zipf.draw(rng)].clone()
    }

    fn family(&self, rng: &mut StdRng) -> String {
        self.family[self.family_zipf.draw(rng)].clone()
    }
}

#[derive(Debug, Clone)]
struct Home {
    line: String,
    town: String,
    postcode: String,
}

fn letter(rng: &mut StdRng) -> char {
    const LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
    LETTERS[rng.random_range(0..LETTERS.len())] as char
}

fn home(rng: &mut StdRng, area: usize, district: u32) -> Home {
    let (code, town) = AREAS[area];
    let street = format!(
        "{} {}",
        STREETS[rng.random_range(0..STREETS.len())],
        STREET_KINDS[(district as usize * 7 + rng.random_range(0..3)) % STREET_KINDS.len()]
    );
    Home {
        line: format!("{} {street}", rng.random_range(1..200)),
        town: town.to_owned(),
        postcode: format!(
            "{code}{district} {}{}{}",
            rng.random_range(1..10),
            letter(rng),
            letter(rng)
        ),
    }
}

fn random_home(rng: &mut StdRng) -> Home {
    let area = rng.random_range(0..AREAS.len());
    let district = rng.random_range(1..25);
    home(rng, area, district)
}

fn date_between(rng: &mut StdRng, from: NaiveDate, days: i64) -> NaiveDate {
    from + Duration::days(rng.random_range(0..days))
}

fn child(
    rng: &mut StdRng,
    names: &Names,
    family: &str,
    home: &Home,
    born: NaiveDate,
    taken: &[String],
) -> SuppliedPerson {
    let mut given = names.given(rng);
    while taken.contains(&given) {
        given = names.given(rng);
    }
    let middle = match rng.random_range(0..100) {
        0..30 => None,
        30..85 => Some(names.given(rng)),
        _ => Some(format!("{} {}", names.given(rng), names.given(rng))),
    };
    SuppliedPerson {
        given_name: given,
        middle_names: middle,
        family_name: family.to_owned(),
        former_family_name: None,
        date_of_birth: Some(born),
        gender: Some(if rng.random_bool(0.5) {
            Gender::Female
        } else {
            Gender::Male
        }),
        address_line1: Some(home.line.clone()),
        town: Some(home.town.clone()),
        postcode: Some(home.postcode.clone()),
    }
}

/// A household's children: one to four, born 2008 to 2025, a few of them twins.
fn household(rng: &mut StdRng, names: &Names, out: &mut Vec<SuppliedPerson>) {
    let family = names.family(rng);
    let home = random_home(rng);
    let count = match rng.random_range(0..100) {
        0..35 => 1,
        35..75 => 2,
        75..93 => 3,
        _ => 4,
    };
    let start = NaiveDate::from_ymd_opt(2008, 1, 1).unwrap();
    let mut born = date_between(rng, start, 6_500);
    let mut taken: Vec<String> = Vec::new();
    let last = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    for n in 0..count {
        if n > 0 && !rng.random_bool(0.04) {
            born += Duration::days(rng.random_range(330..1_400));
        }
        if born > last {
            break;
        }
        let person = child(rng, names, &family, &home, born, &taken);
        taken.push(person.given_name.clone());
        out.push(person);
    }
}

/// One typing error: a letter changed, dropped, doubled, or two swapped.
fn typo(rng: &mut StdRng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        return word.to_owned();
    }
    // Keep the first letter: first letters are rarely mistyped.
    let at = rng.random_range(1..chars.len() - 1);
    match rng.random_range(0..4) {
        0 => chars[at] = letter(rng).to_ascii_lowercase(),
        1 => {
            chars.remove(at);
        }
        2 => chars.insert(at, chars[at]),
        _ => chars.swap(at, at + 1),
    }
    chars.into_iter().collect()
}

fn nickname_of(rng: &mut StdRng, name: &str) -> Option<String> {
    let forms: Vec<&str> = NICKNAMES
        .iter()
        .filter(|(formal, short)| *formal == name || short.contains(&name))
        .flat_map(|(formal, short)| std::iter::once(*formal).chain(short.iter().copied()))
        .filter(|n| *n != name)
        .collect();
    (!forms.is_empty()).then(|| forms[rng.random_range(0..forms.len())].to_owned())
}

fn spelling_of(rng: &mut StdRng, name: &str) -> Option<String> {
    let forms: Vec<&str> = SPELLING_VARIANTS
        .iter()
        .filter(|group| group.contains(&name))
        .flat_map(|group| group.iter().copied())
        .filter(|n| *n != name)
        .collect();
    (!forms.is_empty()).then(|| forms[rng.random_range(0..forms.len())].to_owned())
}

fn one_digit(rng: &mut StdRng, date: NaiveDate) -> NaiveDate {
    let text = date.format("%Y%m%d").to_string();
    for _ in 0..50 {
        let mut digits: Vec<u8> = text.bytes().collect();
        let at = rng.random_range(3..8);
        digits[at] = b'0' + rng.random_range(0..10u8);
        let changed = String::from_utf8(digits).unwrap();
        if let Ok(d) = NaiveDate::parse_from_str(&changed, "%Y%m%d") {
            if d != date {
                return d;
            }
        }
    }
    date + Duration::days(1)
}

/// The child as one supplier has it: the directory's record with the rates' variations.
fn vary(
    rng: &mut StdRng,
    names: &Names,
    rates: &Rates,
    person: &SuppliedPerson,
) -> (SuppliedPerson, Vec<Variation>) {
    let mut p = person.clone();
    let mut done = Vec::new();
    if rng.random_bool(rates.nickname) {
        if let Some(n) = nickname_of(rng, &p.given_name) {
            p.given_name = n;
            done.push(Variation::Nickname);
        }
    }
    if rng.random_bool(rates.spelling) {
        if let Some(n) = spelling_of(rng, &p.given_name) {
            p.given_name = n;
            done.push(Variation::Spelling);
        } else if let Some(n) = spelling_of(rng, &p.family_name) {
            p.family_name = n;
            done.push(Variation::Spelling);
        }
    }
    if rng.random_bool(rates.given_typo) {
        p.given_name = typo(rng, &p.given_name);
        done.push(Variation::GivenTypo);
    }
    if rng.random_bool(rates.family_typo) {
        p.family_name = typo(rng, &p.family_name);
        done.push(Variation::FamilyTypo);
    }
    if let Some(born) = p.date_of_birth {
        if rng.random_bool(rates.date_swapped) {
            if let Some(swapped) = NaiveDate::from_ymd_opt(born.year(), born.day(), born.month()) {
                if swapped != born {
                    p.date_of_birth = Some(swapped);
                    done.push(Variation::DateSwapped);
                }
            }
        } else if rng.random_bool(rates.date_one_digit) {
            p.date_of_birth = Some(one_digit(rng, born));
            done.push(Variation::DateOneDigit);
        }
    }
    if rng.random_bool(rates.surname_change) {
        let old = std::mem::replace(&mut p.family_name, names.family(rng));
        if rng.random_bool(0.7) {
            p.former_family_name = Some(old);
            done.push(Variation::SurnameChangeWithFormer);
        } else {
            done.push(Variation::SurnameChangeWithoutFormer);
        }
    }
    if rng.random_bool(rates.move_house) {
        let current = p.postcode.clone().unwrap_or_default();
        let area = AREAS
            .iter()
            .position(|(code, _)| {
                current.starts_with(code)
                    && current[code.len()..].starts_with(|c: char| c.is_ascii_digit())
            })
            .unwrap_or(0);
        let district: u32 = current
            .split(' ')
            .next()
            .unwrap_or("")
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .parse()
            .unwrap_or(1);
        let new_home = if rng.random_bool(0.8) {
            done.push(Variation::MoveNearby);
            let district = if rng.random_bool(0.6) {
                district
            } else {
                rng.random_range(1..25)
            };
            home(rng, area, district)
        } else {
            done.push(Variation::MoveAway);
            random_home(rng)
        };
        p.address_line1 = Some(new_home.line);
        p.town = Some(new_home.town);
        p.postcode = Some(new_home.postcode);
    }
    if rng.random_bool(rates.missing) {
        done.push(Variation::MissingFields);
        for _ in 0..rng.random_range(1..3) {
            match rng.random_range(0..6) {
                0 => p.middle_names = None,
                1 => p.postcode = None,
                2 => p.date_of_birth = None,
                3 => p.gender = None,
                4 => p.address_line1 = None,
                _ => p.town = None,
            }
        }
    }
    // Clerks drop middle names often, and type names in any case.
    if rng.random_bool(0.25) {
        p.middle_names = None;
    }
    match rng.random_range(0..10) {
        0 => p.family_name = p.family_name.to_uppercase(),
        1 => p.given_name = p.given_name.to_lowercase(),
        2 if rng.random_bool(0.3) => {
            let title = if p.gender == Some(Gender::Male) {
                "Master"
            } else {
                "Miss"
            };
            p.given_name = format!("{title} {}", p.given_name);
            done.push(Variation::Title);
        }
        _ => {}
    }
    (p, done)
}

impl Sample {
    /// A directory of about `children` children and a supplier's file about it.
    pub fn generate(seed: u64, children: usize, rates: &Rates) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let names = Names::new(&mut rng);
        let mut directory = Vec::with_capacity(children + 4);
        while directory.len() < children {
            household(&mut rng, &names, &mut directory);
        }
        let mut supplied: Vec<Supplied> = Vec::with_capacity(children + children / 4);
        let mut extra = Vec::new();
        for (i, person) in directory.iter().enumerate() {
            if !rng.random_bool(0.9) {
                continue;
            }
            let (p, variations) = vary(&mut rng, &names, rates, person);
            supplied.push(Supplied {
                child: i,
                person: p,
                variations,
            });
            if rng.random_bool(rates.namesakes) {
                // Another child, same names and birthday, elsewhere.
                let home = random_home(&mut rng);
                let mut namesake = child(
                    &mut rng,
                    &names,
                    &person.family_name,
                    &home,
                    person.date_of_birth.unwrap(),
                    &[],
                );
                namesake.given_name = person.given_name.clone();
                extra.push(namesake);
            }
        }
        let new_children = (supplied.len() as f64 * rates.new_children) as usize;
        let mut fresh = Vec::new();
        while fresh.len() < new_children {
            household(&mut rng, &names, &mut fresh);
        }
        extra.extend(fresh);
        for (n, person) in extra.into_iter().enumerate() {
            let (p, variations) = vary(&mut rng, &names, rates, &person);
            supplied.push(Supplied {
                child: directory.len() + n,
                person: p,
                variations,
            });
        }
        let twice: Vec<Supplied> = supplied
            .iter()
            .filter(|_| rng.random_bool(rates.duplicates))
            .cloned()
            .collect();
        for record in twice {
            let (p, variations) = vary(&mut rng, &names, rates, &record.person);
            supplied.push(Supplied {
                child: record.child,
                person: p,
                variations,
            });
        }
        // Suppliers' files come in no particular order.
        for i in (1..supplied.len()).rev() {
            supplied.swap(i, rng.random_range(0..=i));
        }
        Self {
            directory,
            supplied,
        }
    }
}

/// How linking a supplier's file against the directory went, against the truth.
#[derive(Debug, Clone, Default)]
pub struct Accuracy {
    pub records: usize,
    /// Supplied records whose child is in the directory.
    pub known: usize,
    pub links: usize,
    pub correct_links: usize,
    pub exceptions: usize,
    /// Exceptions whose true child was among the candidates shown.
    pub exceptions_with_true_candidate: usize,
    pub new: usize,
    /// New children created for a child the directory already had (duplicates made).
    pub wrongly_new: usize,
    /// Known children that no blocking key reached.
    pub not_reached: usize,
}

impl Accuracy {
    pub fn precision(&self) -> f64 {
        self.correct_links as f64 / self.links.max(1) as f64
    }

    pub fn recall(&self) -> f64 {
        self.correct_links as f64 / self.known.max(1) as f64
    }

    pub fn blocking_recall(&self) -> f64 {
        1.0 - self.not_reached as f64 / self.known.max(1) as f64
    }
}

/// Links every supplied record against the directory and counts the outcomes.
pub fn measure(
    sample: &Sample,
    model: &super::Model,
    thresholds: &super::Thresholds,
    authoritative: bool,
) -> Accuracy {
    let directory: Vec<super::NormalisedPerson> =
        sample.directory.iter().map(super::normalise).collect();
    let index = super::BlockIndex::build(&directory);
    let mut acc = Accuracy::default();
    for record in &sample.supplied {
        let known = record.child < directory.len();
        acc.records += 1;
        acc.known += usize::from(known);
        let normal = super::normalise(&record.person);
        let (outcome, candidates) = super::link(
            &normal,
            &directory,
            &index,
            model,
            thresholds,
            authoritative,
        );
        if known && !candidates.iter().any(|c| c.index == record.child) {
            acc.not_reached += 1;
        }
        match outcome {
            super::Outcome::Link(i) => {
                acc.links += 1;
                acc.correct_links += usize::from(i == record.child);
            }
            super::Outcome::Exception(shown) => {
                acc.exceptions += 1;
                acc.exceptions_with_true_candidate += usize::from(shown.contains(&record.child));
            }
            super::Outcome::New => {
                acc.new += 1;
                acc.wrongly_new += usize::from(known);
            }
        }
    }
    acc
}
