//! Comparison vectors: how two records agree, field by field, in graded levels.
//!
//! Each field gets one level, from the strongest agreement down to plain disagreement, or
//! `Missing` when either record lacks it (a missing value is no evidence either way). Every
//! rule is symmetric: comparing A with B gives what comparing B with A gives.

use super::normalise::{NameToken, NormalisedName, NormalisedPerson};
use super::typo::spelt_alike;
use chrono::{Datelike, NaiveDate};

/// Jaro-Winkler similarity from which two spellings count as a typo of one another.
pub const JARO_WINKLER_SIMILAR: f64 = 0.88;

/// The shortest spelling in which one letter changed, dropped, added, or two neighbours
/// swapped counts as a typo. Jaro-Winkler misses such typos in short names (Ruby and Ruxy
/// score 0.87); in names of three letters or fewer one letter makes another name.
pub const ONE_EDIT_SIMILAR_FROM: usize = 4;

/// The fields compared, in the order of a comparison vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    GivenName,
    MiddleNames,
    FamilyName,
    DateOfBirth,
    Gender,
    Postcode,
    AddressLine,
}

/// How many fields a comparison vector has.
pub const FIELD_COUNT: usize = 7;

impl Field {
    pub const ALL: [Field; FIELD_COUNT] = [
        Field::GivenName,
        Field::MiddleNames,
        Field::FamilyName,
        Field::DateOfBirth,
        Field::Gender,
        Field::Postcode,
        Field::AddressLine,
    ];

    /// Position in a comparison vector.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Field::GivenName => "given_name",
            Field::MiddleNames => "middle_names",
            Field::FamilyName => "family_name",
            Field::DateOfBirth => "date_of_birth",
            Field::Gender => "gender",
            Field::Postcode => "postcode",
            Field::AddressLine => "address_line1",
        }
    }

    /// The names of the field's levels other than `missing`, strongest agreement first; a
    /// level's index in a comparison vector is its position here.
    pub fn level_names(self) -> &'static [&'static str] {
        match self {
            Field::GivenName | Field::MiddleNames => NameLevel::NAMES,
            Field::FamilyName => FamilyLevel::NAMES,
            Field::DateOfBirth => DateLevel::NAMES,
            Field::Gender => GenderLevel::NAMES,
            Field::Postcode => PostcodeLevel::NAMES,
            Field::AddressLine => AddressLevel::NAMES,
        }
    }

    /// How many levels the field has, not counting `missing`.
    pub fn level_count(self) -> usize {
        self.level_names().len()
    }
}

macro_rules! levels {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// Either record lacks the value: no evidence either way.
            Missing,
        }

        impl $name {
            const NAMES: &'static [&'static str] = &[$($label),+];
            const ORDER: &'static [$name] = &[$($name::$variant),+];

            /// The level's index among the non-missing levels; `None` for `Missing`.
            pub fn index(self) -> Option<usize> {
                Self::ORDER.iter().position(|l| *l == self)
            }

            /// The level at an index; `Missing` for `None` or an index out of range.
            pub fn from_index(index: Option<usize>) -> Self {
                index
                    .and_then(|i| Self::ORDER.get(i).copied())
                    .unwrap_or(Self::Missing)
            }
        }
    };
}

levels!(
    /// How two given names (or two sets of middle names) agree.
    NameLevel {
        /// The same once normalised.
        Exact => "exact",
        /// A nickname or spelling of one another (Bill, William), or sounding alike.
        Variant => "variant_or_phonetic",
        /// A likely typo (Jaro-Winkler at least 0.88, or one edit in a name of four letters
        /// or more), or the name the other has as a middle or second given name.
        Similar => "similar",
        Different => "different",
    }
);

levels!(
    /// How two family names agree, former family names included.
    FamilyLevel {
        Exact => "exact",
        /// A spelling or sound-alike, or one part of a double-barrelled name.
        Variant => "variant_or_phonetic",
        /// One record's family name is the other's former family name (a change of surname).
        Former => "former",
        /// A likely typo (Jaro-Winkler at least 0.88, or one edit in a name of four letters
        /// or more).
        Similar => "similar",
        Different => "different",
    }
);

levels!(
    /// How two dates of birth agree.
    DateLevel {
        Exact => "exact",
        /// Day and month swapped.
        Swapped => "swapped",
        /// One digit of YYYYMMDD wrong, or two neighbouring digits swapped.
        OneDigit => "one_digit",
        /// Otherwise in the same year.
        SameYear => "same_year",
        Different => "different",
    }
);

levels!(
    /// Whether two genders agree (not specified counts as missing).
    GenderLevel {
        Agree => "agree",
        Disagree => "disagree",
    }
);

levels!(
    /// How two postcodes (and, where a postcode is missing, towns) agree.
    PostcodeLevel {
        Full => "full",
        Sector => "sector",
        District => "district",
        /// Only the postcode area is shared, or with no postcode to compare, the town.
        Area => "area_or_town",
        Different => "different",
    }
);

levels!(
    /// How two first address lines agree.
    AddressLevel {
        Exact => "exact",
        /// The same house number and a street spelt nearly alike.
        Similar => "similar",
        Different => "different",
    }
);

/// Which population of pairs a comparison belongs to. Two records with alike family names
/// at one address are one child or two children of one household (siblings, twins), and
/// are weighed against siblings rather than against any two children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stratum {
    General,
    /// Family names alike (exact, a variant, similar, or one the other's former name), and
    /// the same address: the full postcode or its sector the same, or the first address
    /// line the same.
    Household,
}

impl Stratum {
    pub const ALL: [Stratum; 2] = [Stratum::General, Stratum::Household];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The fields that define the stratum, and so carry no weight within it.
    pub fn defining_fields(self) -> &'static [Field] {
        match self {
            Stratum::General => &[],
            Stratum::Household => &[Field::FamilyName, Field::Postcode, Field::AddressLine],
        }
    }
}

/// How two records agree, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Comparison {
    pub given_name: NameLevel,
    pub middle_names: NameLevel,
    pub family_name: FamilyLevel,
    pub date_of_birth: DateLevel,
    pub gender: GenderLevel,
    pub postcode: PostcodeLevel,
    pub address_line: AddressLevel,
}

impl Comparison {
    /// The level index of one field (`None` when missing).
    pub fn level(&self, field: Field) -> Option<usize> {
        match field {
            Field::GivenName => self.given_name.index(),
            Field::MiddleNames => self.middle_names.index(),
            Field::FamilyName => self.family_name.index(),
            Field::DateOfBirth => self.date_of_birth.index(),
            Field::Gender => self.gender.index(),
            Field::Postcode => self.postcode.index(),
            Field::AddressLine => self.address_line.index(),
        }
    }

    /// The population the pair belongs to: [`Stratum::Household`] when the family names
    /// are alike (exact, a variant, similar or former) and the address is the same (full
    /// postcode or sector, or first address line).
    pub fn stratum(&self) -> Stratum {
        let family_alike = matches!(
            self.family_name,
            FamilyLevel::Exact | FamilyLevel::Variant | FamilyLevel::Former | FamilyLevel::Similar
        );
        let same_address = matches!(self.postcode, PostcodeLevel::Full | PostcodeLevel::Sector)
            || self.address_line == AddressLevel::Exact;
        if family_alike && same_address {
            Stratum::Household
        } else {
            Stratum::General
        }
    }

    /// Every field's level index, in [`Field::ALL`] order.
    pub fn levels(&self) -> [Option<usize>; FIELD_COUNT] {
        Field::ALL.map(|f| self.level(f))
    }

    /// A comparison from level indices in [`Field::ALL`] order (out of range is missing).
    pub fn from_levels(levels: [Option<usize>; FIELD_COUNT]) -> Self {
        Self {
            given_name: NameLevel::from_index(levels[0]),
            middle_names: NameLevel::from_index(levels[1]),
            family_name: FamilyLevel::from_index(levels[2]),
            date_of_birth: DateLevel::from_index(levels[3]),
            gender: GenderLevel::from_index(levels[4]),
            postcode: PostcodeLevel::from_index(levels[5]),
            address_line: AddressLevel::from_index(levels[6]),
        }
    }
}

/// Two words of a name.
fn word_level(a: &NameToken, b: &NameToken) -> NameLevel {
    if a.text == b.text {
        NameLevel::Exact
    } else if a.is_variant_of(b) || a.sounds_like(b) {
        NameLevel::Variant
    } else if spelt_alike(&a.text, &b.text) {
        NameLevel::Similar
    } else {
        NameLevel::Different
    }
}

/// The best level over every pairing of words.
fn best_word_level(a: &[NameToken], b: &[NameToken]) -> NameLevel {
    a.iter()
        .flat_map(|x| b.iter().map(move |y| word_level(x, y)))
        .min()
        .unwrap_or(NameLevel::Different)
}

/// One level weaker: agreement through a second or middle name counts only as similar.
fn weaker(level: NameLevel) -> NameLevel {
    match level {
        NameLevel::Exact | NameLevel::Variant => NameLevel::Similar,
        _ => NameLevel::Different,
    }
}

/// Given names: the first words, the whole names run together, any word of one against any
/// word of the other, and either first name against the other's middle names.
fn given_level(a: &NormalisedPerson, b: &NormalisedPerson) -> NameLevel {
    given_like_level(&a.given, &a.middle, &b.given, &b.middle)
}

fn given_like_level(
    a: &NormalisedName,
    a_middle: &NormalisedName,
    b: &NormalisedName,
    b_middle: &NormalisedName,
) -> NameLevel {
    let (Some(first_a), Some(first_b)) = (a.first(), b.first()) else {
        return NameLevel::Missing;
    };
    if a.compact == b.compact {
        return NameLevel::Exact;
    }
    let mut best = word_level(first_a, first_b);
    if best > NameLevel::Similar && spelt_alike(&a.compact, &b.compact) {
        best = NameLevel::Similar;
    }
    if best > NameLevel::Similar {
        best = best.min(weaker(best_word_level(&a.tokens, &b.tokens)));
        if is_among(first_a, &b_middle.tokens) || is_among(first_b, &a_middle.tokens) {
            best = best.min(NameLevel::Similar);
        }
    }
    best
}

/// Whether `name` is one of `names` as written (once normalised). A first name against the
/// other's middle names counts only so: through the nickname tables, two short forms of
/// one name would make a twin's given name like her sister's middle name (Libby and Elsie,
/// both Elizabeth).
fn is_among(name: &NameToken, names: &[NameToken]) -> bool {
    names.iter().any(|n| n.text == name.text)
}

fn middle_level(a: &NormalisedName, b: &NormalisedName) -> NameLevel {
    if a.is_empty() || b.is_empty() {
        return NameLevel::Missing;
    }
    if a.compact == b.compact {
        return NameLevel::Exact;
    }
    best_word_level(&a.tokens, &b.tokens)
}

/// Two family names without regard to former names.
fn surname_level(a: &NormalisedName, b: &NormalisedName) -> FamilyLevel {
    if a.is_empty() || b.is_empty() {
        return FamilyLevel::Missing;
    }
    if a.compact == b.compact {
        return FamilyLevel::Exact;
    }
    let words = best_word_level(&a.tokens, &b.tokens);
    if words <= NameLevel::Variant {
        // One part of a double-barrelled name, or a spelling or sound-alike of the name.
        return FamilyLevel::Variant;
    }
    // The whole names, run together, spelt alike: they differ, and as whole words they have
    // no variant groups or phonetic codes, so only a typo can make them alike.
    if words == NameLevel::Similar || spelt_alike(&a.compact, &b.compact) {
        return FamilyLevel::Similar;
    }
    FamilyLevel::Different
}

fn family_level(a: &NormalisedPerson, b: &NormalisedPerson) -> FamilyLevel {
    let straight = surname_level(&a.family, &b.family);
    if straight <= FamilyLevel::Variant || straight == FamilyLevel::Missing {
        return straight;
    }
    let through_former = [
        surname_level(&a.family, &b.former_family),
        surname_level(&a.former_family, &b.family),
        surname_level(&a.former_family, &b.former_family),
    ]
    .into_iter()
    .any(|l| l <= FamilyLevel::Variant);
    if through_former {
        FamilyLevel::Former
    } else {
        straight
    }
}

/// The eight digits of a date written YYYYMMDD. Compared for every candidate of every
/// record, so worked out rather than formatted.
fn digits(date: NaiveDate) -> [u8; 8] {
    let mut out = [0u8; 8];
    let (year, month, day) = (date.year(), date.month(), date.day());
    if !(0..=9999).contains(&year) {
        // Beyond four digits the written form carries a sign: kept as it is written.
        let text = date.format("%Y%m%d").to_string();
        for (slot, byte) in out.iter_mut().zip(text.bytes()) {
            *slot = byte.wrapping_sub(b'0');
        }
        return out;
    }
    let number = year as u32 * 10_000 + month * 100 + day;
    for (place, slot) in out.iter_mut().rev().enumerate() {
        *slot = (number / 10u32.pow(place as u32) % 10) as u8;
    }
    out
}

/// Dates of birth: exact, day and month swapped, one digit off (or two neighbouring digits
/// swapped), the same year, or different.
pub fn date_level(a: Option<NaiveDate>, b: Option<NaiveDate>) -> DateLevel {
    let (Some(a), Some(b)) = (a, b) else {
        return DateLevel::Missing;
    };
    if a == b {
        return DateLevel::Exact;
    }
    if a.year() == b.year() && a.day() == b.month() && a.month() == b.day() {
        return DateLevel::Swapped;
    }
    let (x, y) = (digits(a), digits(b));
    let differing: Vec<usize> = (0..8).filter(|&i| x[i] != y[i]).collect();
    let neighbours_swapped = differing.len() == 2
        && differing[1] == differing[0] + 1
        && x[differing[0]] == y[differing[1]]
        && x[differing[1]] == y[differing[0]];
    if differing.len() == 1 || neighbours_swapped {
        return DateLevel::OneDigit;
    }
    if a.year() == b.year() {
        DateLevel::SameYear
    } else {
        DateLevel::Different
    }
}

fn gender_level(a: &NormalisedPerson, b: &NormalisedPerson) -> GenderLevel {
    match (a.gender, b.gender) {
        (Some(x), Some(y)) if x == y => GenderLevel::Agree,
        (Some(_), Some(_)) => GenderLevel::Disagree,
        _ => GenderLevel::Missing,
    }
}

fn postcode_level(a: &NormalisedPerson, b: &NormalisedPerson) -> PostcodeLevel {
    let same_town = match (&a.town, &b.town) {
        (Some(x), Some(y)) => Some(x == y),
        _ => None,
    };
    match (&a.postcode, &b.postcode) {
        (Some(x), Some(y)) => {
            if x.full.is_some() && x.full == y.full {
                PostcodeLevel::Full
            } else if x.sector.is_some() && x.sector == y.sector {
                PostcodeLevel::Sector
            } else if x.outward == y.outward {
                PostcodeLevel::District
            } else if x.area == y.area || same_town == Some(true) {
                PostcodeLevel::Area
            } else {
                PostcodeLevel::Different
            }
        }
        _ => match same_town {
            Some(true) => PostcodeLevel::Area,
            Some(false) => PostcodeLevel::Different,
            None => PostcodeLevel::Missing,
        },
    }
}

fn address_level(a: &NormalisedPerson, b: &NormalisedPerson) -> AddressLevel {
    let (Some(x), Some(y)) = (&a.address, &b.address) else {
        return AddressLevel::Missing;
    };
    if x.text == y.text {
        return AddressLevel::Exact;
    }
    // The house numbers first: the streets are measured only when they agree.
    let numbers_agree = x.number == y.number;
    let streets_alike = || {
        !x.street.is_empty()
            && !y.street.is_empty()
            && strsim::jaro_winkler(&x.street, &y.street) >= 0.9
    };
    if numbers_agree && streets_alike() {
        AddressLevel::Similar
    } else {
        AddressLevel::Different
    }
}

/// The comparison vector of two normalised records.
pub fn compare(a: &NormalisedPerson, b: &NormalisedPerson) -> Comparison {
    let mut given_name = given_level(a, b);
    let mut family_name = family_level(a, b);
    // Given and family names swapped by the supplier: when the straight reading finds both
    // names different, and each name is alike the other record's other name, take the
    // weaker of the two crossed agreements for both fields.
    if given_name == NameLevel::Different && family_name == FamilyLevel::Different {
        let crossed = surname_level(&a.given, &b.family).max(surname_level(&a.family, &b.given));
        if crossed <= FamilyLevel::Variant {
            family_name = crossed;
            given_name = if crossed == FamilyLevel::Exact {
                NameLevel::Exact
            } else {
                NameLevel::Variant
            };
        }
    }
    Comparison {
        given_name,
        middle_names: middle_level(&a.middle, &b.middle),
        family_name,
        date_of_birth: date_level(a.date_of_birth, b.date_of_birth),
        gender: gender_level(a, b),
        postcode: postcode_level(a, b),
        address_line: address_level(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digits as the date is written, the way they were first taken.
    fn written(date: NaiveDate) -> [u8; 8] {
        let mut out = [0u8; 8];
        for (slot, byte) in out
            .iter_mut()
            .zip(date.format("%Y%m%d").to_string().bytes())
        {
            *slot = byte - b'0';
        }
        out
    }

    #[test]
    fn a_date_has_the_digits_it_is_written_with() {
        let mut day = NaiveDate::from_ymd_opt(1899, 12, 25).unwrap();
        let last = NaiveDate::from_ymd_opt(2031, 1, 7).unwrap();
        while day <= last {
            assert_eq!(digits(day), written(day), "{day}");
            day = day.succ_opt().unwrap();
        }
        for (year, month, day) in [(0, 1, 1), (7, 3, 9), (999, 12, 31), (9999, 12, 31)] {
            let date = NaiveDate::from_ymd_opt(year, month, day).unwrap();
            assert_eq!(digits(date), written(date), "{date}");
        }
    }

    #[test]
    fn dates_a_digit_apart_or_with_neighbouring_digits_swapped_are_one_digit_off() {
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        for (a, b, level) in [
            ("2015-03-18", "2015-03-19", DateLevel::OneDigit),
            ("2015-03-18", "2015-03-18", DateLevel::Exact),
            ("2015-03-08", "2015-08-03", DateLevel::Swapped),
            ("2015-03-18", "2015-08-13", DateLevel::SameYear),
            ("2015-12-01", "2015-12-10", DateLevel::OneDigit),
            ("2015-03-18", "2051-03-18", DateLevel::OneDigit),
            ("2015-03-18", "2016-04-18", DateLevel::Different),
        ] {
            assert_eq!(date_level(date(a), date(b)), level, "{a} and {b}");
        }
    }
}
