//! The four national suppliers' child files for a synthetic nation (docs/SUPPLIER_FILES.md):
//! birth registration, the schools census, child benefit and NHS demographics, in the CSV
//! format of docs/SUPPLY.md, each source with its own identifiers and its own kinds of
//! variation, and a truth file naming the child behind every row.
//!
//! Rows are written as the children are drawn: nothing grows with the nation but a shuffle
//! window per file (so that no two files list the same children in the same order).

use crate::data::{NICKNAMES, SPELLING_VARIANTS};
use crate::{build_catalogue, ChildGenerator, NationSpec};
use chrono::{Datelike, NaiveDate};
use contactpoint_domain::involvement::age_on;
use contactpoint_domain::{
    Address, ChildRecord, DateOfBirth, FamilyName, Gender, GivenName, Relationship,
    ServiceCategory, SourceCode,
};
use contactpoint_storage::CatalogueIds;
use contactpoint_supply::CHILD_COLUMNS;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

/// The name of the truth file written beside the suppliers' files.
pub const TRUTH_FILE: &str = "truth.csv";

/// Rows held back per file and written in random order.
const SHUFFLE_WINDOW: usize = 4_096;

/// A national supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Supplier {
    BirthRegistration,
    SchoolsCensus,
    ChildBenefit,
    NhsDemographics,
}

impl Supplier {
    pub const ALL: [Self; 4] = [
        Self::BirthRegistration,
        Self::SchoolsCensus,
        Self::ChildBenefit,
        Self::NhsDemographics,
    ];

    /// The source code, as in `sources` and the truth file.
    pub fn source(self) -> &'static str {
        match self {
            Self::BirthRegistration => SourceCode::BIRTH_REGISTRATION,
            Self::SchoolsCensus => SourceCode::SCHOOLS_CENSUS,
            Self::ChildBenefit => SourceCode::CHILD_BENEFIT,
            Self::NhsDemographics => SourceCode::NHS_DEMOGRAPHICS,
        }
    }

    pub fn file_name(self) -> String {
        format!("{}.csv", self.source())
    }

    /// The columns this supplier's file has, in `CHILD_COLUMNS` order.
    pub fn columns(self) -> Vec<&'static str> {
        CHILD_COLUMNS
            .iter()
            .copied()
            .filter(|c| match *c {
                "former_family_name" => self != Self::BirthRegistration,
                "school_urn" => self == Self::SchoolsCensus,
                "gp_practice_code" => self == Self::NhsDemographics,
                "date_of_death" => {
                    matches!(self, Self::BirthRegistration | Self::NhsDemographics)
                }
                "parent1_given_name" | "parent1_family_name" | "parent1_relationship" => {
                    matches!(self, Self::BirthRegistration | Self::ChildBenefit)
                }
                "parent2_given_name" | "parent2_family_name" | "parent2_relationship" => {
                    self == Self::BirthRegistration
                }
                _ => true,
            })
            .collect()
    }

    /// How often each kind of variation is applied to this supplier's records, among the
    /// records it can apply to (docs/SUPPLIER_FILES.md lists them).
    pub fn rates(self) -> Rates {
        match self {
            Self::BirthRegistration => Rates {
                nickname: 0.0,
                spelling_variant: 0.005,
                given_name_typo: 0.003,
                family_name_typo: 0.003,
                day_month_swapped: 0.002,
                date_digit_wrong: 0.002,
                date_of_birth_missing: 0.0,
                gender_missing: 0.0,
                postcode_missing: 0.005,
                middle_names_left_out: 0.0,
                former_family_name_given: 0.0,
                one_part_of_double_barrelled: 0.0,
                older_address: 0.0,
                postcode_written_loosely: 0.0,
                duplicate: 0.0,
                deliberately_bad: 0.001,
            },
            Self::SchoolsCensus => Rates {
                nickname: 0.10,
                spelling_variant: 0.03,
                given_name_typo: 0.01,
                family_name_typo: 0.01,
                day_month_swapped: 0.01,
                date_digit_wrong: 0.005,
                date_of_birth_missing: 0.002,
                gender_missing: 0.005,
                postcode_missing: 0.01,
                middle_names_left_out: 0.5,
                former_family_name_given: 0.5,
                one_part_of_double_barrelled: 0.15,
                older_address: 0.1,
                postcode_written_loosely: 0.05,
                duplicate: 0.0,
                deliberately_bad: 0.001,
            },
            Self::ChildBenefit => Rates {
                nickname: 0.03,
                spelling_variant: 0.03,
                given_name_typo: 0.015,
                family_name_typo: 0.015,
                day_month_swapped: 0.01,
                date_digit_wrong: 0.008,
                date_of_birth_missing: 0.005,
                gender_missing: 0.02,
                postcode_missing: 0.01,
                middle_names_left_out: 0.3,
                former_family_name_given: 0.5,
                one_part_of_double_barrelled: 0.1,
                older_address: 0.3,
                postcode_written_loosely: 0.05,
                duplicate: 0.0,
                deliberately_bad: 0.001,
            },
            Self::NhsDemographics => Rates {
                nickname: 0.05,
                spelling_variant: 0.03,
                given_name_typo: 0.01,
                family_name_typo: 0.01,
                day_month_swapped: 0.005,
                date_digit_wrong: 0.005,
                date_of_birth_missing: 0.003,
                gender_missing: 0.01,
                postcode_missing: 0.02,
                middle_names_left_out: 0.1,
                former_family_name_given: 0.5,
                one_part_of_double_barrelled: 0.05,
                older_address: 0.05,
                postcode_written_loosely: 0.05,
                duplicate: 0.003,
                deliberately_bad: 0.001,
            },
        }
    }

    /// The share of the nation's children this supplier has a record of, among those it
    /// could know (born in England; of school age and at school; all; all).
    pub fn coverage(self) -> f64 {
        match self {
            Self::BirthRegistration => 0.93,
            Self::SchoolsCensus => 1.0,
            Self::ChildBenefit => 0.90,
            Self::NhsDemographics => 0.99,
        }
    }
}

/// The chance of each variation, per record it can apply to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// The given name as a short form or nickname (given names that have one).
    pub nickname: f64,
    /// Another spelling of the given name (given names in a spelling group).
    pub spelling_variant: f64,
    /// One letter of the given name changed, dropped or doubled.
    pub given_name_typo: f64,
    /// One letter of the family name changed, dropped or doubled.
    pub family_name_typo: f64,
    /// Day and month of the date of birth swapped (days 1 to 12 that differ from the month).
    pub day_month_swapped: f64,
    /// One digit of the date of birth wrong (still a valid date).
    pub date_digit_wrong: f64,
    pub date_of_birth_missing: f64,
    pub gender_missing: f64,
    pub postcode_missing: f64,
    /// Middle names left out (children who have them).
    pub middle_names_left_out: f64,
    /// The former family name given (children whose family name changed).
    pub former_family_name_given: f64,
    /// Only one part of a double-barrelled family name.
    pub one_part_of_double_barrelled: f64,
    /// The address before the family's last move (children who moved).
    pub older_address: f64,
    /// The postcode without its space or in lower case.
    pub postcode_written_loosely: f64,
    /// A second record of the same child under another identifier.
    pub duplicate: f64,
    /// A row the supply checks must reject (an impossible date, or not a postcode).
    pub deliberately_bad: f64,
}

/// The variations by name, as counted in [`SupplierFilesSummary::variations`].
pub const VARIATIONS: [&str; 16] = [
    "nickname",
    "spelling_variant",
    "given_name_typo",
    "family_name_typo",
    "day_month_swapped",
    "date_digit_wrong",
    "date_of_birth_missing",
    "gender_missing",
    "postcode_missing",
    "middle_names_left_out",
    "former_family_name_given",
    "one_part_of_double_barrelled",
    "older_address",
    "postcode_written_loosely",
    "duplicate",
    "deliberately_bad",
];

impl Rates {
    pub fn of(&self, variation: &str) -> f64 {
        match variation {
            "nickname" => self.nickname,
            "spelling_variant" => self.spelling_variant,
            "given_name_typo" => self.given_name_typo,
            "family_name_typo" => self.family_name_typo,
            "day_month_swapped" => self.day_month_swapped,
            "date_digit_wrong" => self.date_digit_wrong,
            "date_of_birth_missing" => self.date_of_birth_missing,
            "gender_missing" => self.gender_missing,
            "postcode_missing" => self.postcode_missing,
            "middle_names_left_out" => self.middle_names_left_out,
            "former_family_name_given" => self.former_family_name_given,
            "one_part_of_double_barrelled" => self.one_part_of_double_barrelled,
            "older_address" => self.older_address,
            "postcode_written_loosely" => self.postcode_written_loosely,
            "duplicate" => self.duplicate,
            "deliberately_bad" => self.deliberately_bad,
            _ => 0.0,
        }
    }
}

/// How often a variation could have been applied, and how often it was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub eligible: u64,
    pub applied: u64,
}

impl Tally {
    pub fn share(&self) -> f64 {
        self.applied as f64 / self.eligible.max(1) as f64
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupplierFilesSummary {
    pub children: u64,
    /// Rows per supplier.
    pub records: BTreeMap<Supplier, u64>,
    /// Rows written to be rejected (listed as `rejected` in the truth file).
    pub deliberately_bad: u64,
    /// Per supplier and variation.
    pub variations: BTreeMap<(Supplier, &'static str), Tally>,
    /// Children born on the same day as the previous child of their household.
    pub twins: u64,
    pub files: Vec<PathBuf>,
}

impl SupplierFilesSummary {
    pub fn total_records(&self) -> u64 {
        self.records.values().sum()
    }
}

/// One row, its values in `CHILD_COLUMNS` order.
#[derive(Debug, Clone)]
struct Row {
    values: [String; CHILD_COLUMNS.len()],
}

impl Row {
    fn new() -> Self {
        Self {
            values: std::array::from_fn(|_| String::new()),
        }
    }

    fn index(column: &str) -> usize {
        CHILD_COLUMNS
            .iter()
            .position(|c| *c == column)
            .expect("a known column")
    }

    fn set(&mut self, column: &str, value: impl Into<String>) {
        self.values[Self::index(column)] = value.into();
    }

    fn get(&self, column: &str) -> &str {
        &self.values[Self::index(column)]
    }
}

/// One supplier's file: a shuffle window in front of a CSV writer.
struct SupplierFile {
    supplier: Supplier,
    columns: Vec<usize>,
    window: Vec<Row>,
    writer: csv::Writer<BufWriter<File>>,
}

impl SupplierFile {
    fn create(dir: &Path, supplier: Supplier) -> io::Result<Self> {
        let names = supplier.columns();
        let mut writer = csv::Writer::from_writer(BufWriter::new(File::create(
            dir.join(supplier.file_name()),
        )?));
        writer.write_record(&names)?;
        Ok(Self {
            supplier,
            columns: names.iter().map(|c| Row::index(c)).collect(),
            window: Vec::with_capacity(SHUFFLE_WINDOW),
            writer,
        })
    }

    fn write_row(&mut self, row: &Row) -> io::Result<()> {
        self.writer
            .write_record(self.columns.iter().map(|&i| row.values[i].as_str()))?;
        Ok(())
    }

    fn push(&mut self, rng: &mut ChaCha8Rng, row: Row) -> io::Result<()> {
        if self.window.len() == SHUFFLE_WINDOW {
            let out = self.window.swap_remove(rng.random_range(0..SHUFFLE_WINDOW));
            self.write_row(&out)?;
        }
        self.window.push(row);
        Ok(())
    }

    fn finish(mut self, rng: &mut ChaCha8Rng) -> io::Result<()> {
        while !self.window.is_empty() {
            let out = self
                .window
                .swap_remove(rng.random_range(0..self.window.len()));
            self.write_row(&out)?;
        }
        self.writer.flush()?;
        Ok(())
    }
}

/// A child's true values, as each supplier starts from them.
struct Truth<'c> {
    record: &'c ChildRecord,
    /// The family name at birth, when it has changed since.
    birth_family_name: Option<&'c str>,
    address: Option<&'c Address>,
    /// The address before the last move, when the family moved since the child was born.
    older_address: Option<&'c Address>,
    school_urn: Option<&'c str>,
    gp_practice_code: Option<&'c str>,
}

/// Identifiers in each supplier's own scheme, never repeated within a run.
#[derive(Default)]
struct Identifiers {
    registrations_by_year: HashMap<i32, u32>,
    pupils: u64,
    claims: u64,
    patients: u64,
}

/// Spreads a counter over a range of `10^digits` one-to-one, so identifiers do not follow
/// the order the children were drawn in.
fn scatter(counter: u64, modulus: u64) -> u64 {
    (counter.wrapping_mul(48_271_279).wrapping_add(7_919)) % modulus
}

impl Identifiers {
    /// The General Register Office's entry: `GRO-YEAR-NNNNNN`.
    fn birth_registration(&mut self, born: NaiveDate) -> String {
        let entry = self.registrations_by_year.entry(born.year()).or_default();
        *entry += 1;
        format!("GRO-{}-{:06}", born.year(), entry)
    }

    /// A unique pupil number: a check letter and twelve digits (a local authority number,
    /// then nine more).
    fn unique_pupil_number(&mut self, authority_number: u32) -> String {
        self.pupils += 1;
        let digits = format!(
            "{authority_number:03}{:09}",
            scatter(self.pupils, 1_000_000_000)
        );
        const CHECK_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRTUVWXYZ";
        let sum: u32 = digits
            .bytes()
            .enumerate()
            .map(|(i, b)| u32::from(b - b'0') * (i as u32 + 2))
            .sum();
        format!("{}{digits}", char::from(CHECK_LETTERS[(sum % 23) as usize]))
    }

    /// A child benefit reference: `CHB`, eight digits and two letters.
    fn child_benefit(&mut self) -> String {
        self.claims += 1;
        let number = scatter(self.claims, 100_000_000);
        let letter = |n: u64| char::from(b'A' + (n % 26) as u8);
        format!(
            "CHB{number:08}{}{}",
            letter(number / 7),
            letter(number / 191)
        )
    }

    /// An NHS number: ten digits, the last a modulus 11 check digit.
    fn nhs_number(&mut self) -> String {
        loop {
            self.patients += 1;
            let base = 900_000_000 + scatter(self.patients, 100_000_000);
            let digits = format!("{base:09}");
            let sum: u32 = digits
                .bytes()
                .enumerate()
                .map(|(i, b)| u32::from(b - b'0') * (10 - i as u32))
                .sum();
            match 11 - sum % 11 {
                10 => continue,
                11 => return format!("{digits}0"),
                check => return format!("{digits}{check}"),
            }
        }
    }
}

/// Name-variant tables, by name.
struct NameTables {
    nicknames: HashMap<&'static str, &'static [&'static str]>,
    spellings: HashMap<&'static str, &'static [&'static str]>,
}

impl NameTables {
    fn bundled() -> Self {
        Self {
            nicknames: NICKNAMES.iter().map(|(n, short)| (*n, *short)).collect(),
            spellings: SPELLING_VARIANTS
                .iter()
                .flat_map(|group| group.iter().map(move |n| (*n, *group)))
                .collect(),
        }
    }
}

struct Writer<'a> {
    spec: &'a NationSpec,
    today: NaiveDate,
    rng: ChaCha8Rng,
    /// Draws that only decide order within a file, kept apart so they change nothing else.
    shuffle: ChaCha8Rng,
    names: NameTables,
    ids: Identifiers,
    files: Vec<SupplierFile>,
    truth: csv::Writer<BufWriter<File>>,
    summary: SupplierFilesSummary,
    authority_numbers: HashMap<String, u32>,
}

/// One letter of `name` changed, dropped or doubled; `None` when the result would not be a
/// name.
fn typo(rng: &mut ChaCha8Rng, name: &str) -> Option<String> {
    let mut chars: Vec<char> = name.chars().collect();
    let letters: Vec<usize> = (1..chars.len())
        .filter(|&i| chars[i].is_ascii_alphabetic())
        .collect();
    if letters.is_empty() {
        return None;
    }
    let at = letters[rng.random_range(0..letters.len())];
    match rng.random_range(0..3) {
        0 => {
            let upper = chars[at].is_ascii_uppercase();
            let mut letter = char::from(b'a' + rng.random_range(0..26u8));
            while letter.eq_ignore_ascii_case(&chars[at]) {
                letter = char::from(b'a' + rng.random_range(0..26u8));
            }
            chars[at] = if upper {
                letter.to_ascii_uppercase()
            } else {
                letter
            };
        }
        1 if letters.len() >= 3 => {
            chars.remove(at);
        }
        _ => chars.insert(at, chars[at]),
    }
    let varied: String = chars.into_iter().collect();
    (varied != name).then_some(varied)
}

/// The date with one digit changed, still a date of birth on `today`.
fn digit_wrong(rng: &mut ChaCha8Rng, date: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
    let text = date.format("%Y-%m-%d").to_string();
    for _ in 0..20 {
        let mut bytes = text.clone().into_bytes();
        let at = *[2usize, 3, 5, 6, 8, 9]
            .get(rng.random_range(0..6))
            .unwrap_or(&9);
        let digit = b'0' + rng.random_range(0..10u8);
        if digit == bytes[at] {
            continue;
        }
        bytes[at] = digit;
        let Ok(varied) = String::from_utf8(bytes) else {
            continue;
        };
        if let Ok(dob) = DateOfBirth::parse(&varied, today) {
            return Some(dob.date());
        }
    }
    None
}

impl Writer<'_> {
    fn roll(&mut self, supplier: Supplier, variation: &'static str) -> bool {
        let rate = supplier.rates().of(variation);
        let applied = rate > 0.0 && self.rng.random_bool(rate);
        let tally = self
            .summary
            .variations
            .entry((supplier, variation))
            .or_default();
        tally.eligible += 1;
        tally.applied += u64::from(applied);
        applied
    }

    fn truth_of<'c>(&self, record: &'c ChildRecord, references: &'c [Option<String>]) -> Truth<'c> {
        let reference = |wanted: fn(ServiceCategory) -> bool| {
            record
                .involvements
                .iter()
                .filter(|i| i.ended_on.is_none() && wanted(i.service.category))
                .find_map(|i| {
                    usize::try_from(i.service.id - FILE_IDS.first_service)
                        .ok()
                        .and_then(|n| references.get(n))
                        .and_then(Option::as_deref)
                })
        };
        Truth {
            record,
            birth_family_name: record.former_names.first().map(|f| f.family_name.as_str()),
            address: record.address.address(),
            older_address: record.address_history.last().map(|p| &p.address),
            school_urn: reference(ServiceCategory::is_school),
            gp_practice_code: reference(|c| c == ServiceCategory::GpPractice),
        }
    }

    fn child(&mut self, record: &ChildRecord, references: &[Option<String>]) -> io::Result<()> {
        let truth = self.truth_of(record, references);
        let age = age_on(record.date_of_birth, self.today);
        if self.rng.random_bool(Supplier::BirthRegistration.coverage()) {
            self.record(Supplier::BirthRegistration, &truth)?;
        }
        if truth.school_urn.is_some() && (4..=16).contains(&age) {
            self.record(Supplier::SchoolsCensus, &truth)?;
        }
        if self.rng.random_bool(Supplier::ChildBenefit.coverage()) {
            self.record(Supplier::ChildBenefit, &truth)?;
        }
        if self.rng.random_bool(Supplier::NhsDemographics.coverage()) {
            self.record(Supplier::NhsDemographics, &truth)?;
            if self.roll(Supplier::NhsDemographics, "duplicate") {
                self.record(Supplier::NhsDemographics, &truth)?;
            }
        }
        self.summary.children += 1;
        Ok(())
    }

    fn identifier(&mut self, supplier: Supplier, record: &ChildRecord) -> String {
        match supplier {
            Supplier::BirthRegistration => self.ids.birth_registration(record.date_of_birth),
            Supplier::SchoolsCensus => {
                let number = self
                    .authority_numbers
                    .get(record.local_authority.as_str())
                    .copied()
                    .unwrap_or(800);
                self.ids.unique_pupil_number(number)
            }
            Supplier::ChildBenefit => self.ids.child_benefit(),
            Supplier::NhsDemographics => self.ids.nhs_number(),
        }
    }

    fn given_name(&mut self, supplier: Supplier, given: &str) -> String {
        if let Some(short) = self.names.nicknames.get(given).copied() {
            if self.roll(supplier, "nickname") {
                return short[self.rng.random_range(0..short.len())].to_owned();
            }
        }
        if let Some(group) = self.names.spellings.get(given).copied() {
            if self.roll(supplier, "spelling_variant") {
                let others: Vec<&str> = group.iter().copied().filter(|n| *n != given).collect();
                if !others.is_empty() {
                    return others[self.rng.random_range(0..others.len())].to_owned();
                }
            }
        }
        let given = given.to_owned();
        if self.roll(supplier, "given_name_typo") {
            if let Some(varied) =
                typo(&mut self.rng, &given).filter(|v| GivenName::parse(v).is_ok())
            {
                return varied;
            }
        }
        given
    }

    fn family_name(&mut self, supplier: Supplier, family: &str) -> String {
        let mut family = family.to_owned();
        let parts: Vec<&str> = family.split(['-', ' ']).filter(|p| !p.is_empty()).collect();
        if parts.len() > 1 && self.roll(supplier, "one_part_of_double_barrelled") {
            family = parts[self.rng.random_range(0..parts.len())].to_owned();
        }
        if self.roll(supplier, "family_name_typo") {
            if let Some(varied) =
                typo(&mut self.rng, &family).filter(|v| FamilyName::parse(v).is_ok())
            {
                family = varied;
            }
        }
        family
    }

    fn date_of_birth(&mut self, supplier: Supplier, truth: &Truth<'_>) -> String {
        let dob = truth.record.date_of_birth;
        // A date of death bounds the date of birth; such records keep it as it is.
        if truth.record.date_of_death.is_some() {
            return dob.format("%Y-%m-%d").to_string();
        }
        if self.roll(supplier, "date_of_birth_missing") {
            return String::new();
        }
        let mut varied = dob;
        if dob.day() <= 12 && dob.day() != dob.month() && self.roll(supplier, "day_month_swapped") {
            varied = NaiveDate::from_ymd_opt(dob.year(), dob.day(), dob.month())
                .filter(|d| DateOfBirth::new(*d, self.today).is_ok())
                .unwrap_or(dob);
        }
        if varied == dob && self.roll(supplier, "date_digit_wrong") {
            varied = digit_wrong(&mut self.rng, dob, self.today).unwrap_or(dob);
        }
        varied.format("%Y-%m-%d").to_string()
    }

    fn postcode(&mut self, supplier: Supplier, address: &Address) -> String {
        if self.roll(supplier, "postcode_missing") {
            return String::new();
        }
        let postcode = address.postcode.to_string();
        if self.roll(supplier, "postcode_written_loosely") {
            return if self.rng.random_bool(0.5) {
                postcode.replace(' ', "")
            } else {
                postcode.to_lowercase()
            };
        }
        postcode
    }

    fn record(&mut self, supplier: Supplier, truth: &Truth<'_>) -> io::Result<()> {
        let record = truth.record;
        let id = self.identifier(supplier, record);
        let mut row = Row::new();
        row.set("source_record_id", id.as_str());

        let given = self.given_name(supplier, record.given_name.as_str());
        row.set("given_name", given);
        if let Some(middle) = &record.middle_names {
            let left_out = supplier != Supplier::BirthRegistration
                && self.roll(supplier, "middle_names_left_out");
            if !left_out {
                row.set("middle_names", middle.as_str());
            }
        }
        // Birth registration knows the child by the family name they were born with.
        let family = match (supplier, truth.birth_family_name) {
            (Supplier::BirthRegistration, Some(at_birth)) => at_birth,
            _ => record.family_name.as_str(),
        };
        let family = self.family_name(supplier, family);
        row.set("family_name", family);
        if let Some(former) = truth.birth_family_name {
            if supplier != Supplier::BirthRegistration
                && self.roll(supplier, "former_family_name_given")
            {
                row.set("former_family_name", former);
            }
        }

        row.set("date_of_birth", self.date_of_birth(supplier, truth));
        let gender = match record.gender {
            Gender::Female => "F",
            Gender::Male => "M",
            Gender::NotSpecified => "U",
        };
        if supplier == Supplier::BirthRegistration || !self.roll(supplier, "gender_missing") {
            row.set("gender", gender);
        }

        // Birth registration has the address the child was born at; the others the current
        // one, or now and then the one before the last move.
        let address = match (supplier, truth.older_address) {
            (Supplier::BirthRegistration, Some(older)) => Some(older),
            (_, Some(older)) if self.roll(supplier, "older_address") => Some(older),
            _ => truth.address,
        };
        if let Some(address) = address {
            row.set("address_line1", address.line1.as_str());
            row.set("address_line2", address.line2.clone().unwrap_or_default());
            row.set("town", address.town.as_str());
            row.set("postcode", self.postcode(supplier, address));
        }

        match supplier {
            Supplier::SchoolsCensus => row.set("school_urn", truth.school_urn.unwrap_or_default()),
            Supplier::NhsDemographics => {
                row.set(
                    "gp_practice_code",
                    truth.gp_practice_code.unwrap_or_default(),
                );
            }
            _ => {}
        }
        if matches!(
            supplier,
            Supplier::BirthRegistration | Supplier::NhsDemographics
        ) {
            if let Some(died) = record.date_of_death {
                row.set("date_of_death", died.format("%Y-%m-%d").to_string());
            }
        }
        self.parents(supplier, record, &mut row);
        if supplier == Supplier::ChildBenefit {
            // Child benefit's system holds names in capitals.
            for column in CHILD_COLUMNS.iter().filter(|c| c.contains("name")) {
                let upper = row.get(column).to_uppercase();
                row.set(column, upper);
            }
        }

        let bad = self.roll(supplier, "deliberately_bad");
        if bad {
            if self.rng.random_bool(0.5) || row.get("postcode").is_empty() {
                row.set(
                    "date_of_birth",
                    format!("{}-02-30", record.date_of_birth.year()),
                );
            } else {
                row.set("postcode", "N/A");
            }
            self.summary.deliberately_bad += 1;
        }
        self.truth.write_record([
            supplier.source(),
            id.as_str(),
            record.contactpoint_id.as_digits().as_str(),
            if bad { "rejected" } else { "accepted" },
        ])?;
        *self.summary.records.entry(supplier).or_default() += 1;
        let file = self
            .files
            .iter_mut()
            .find(|f| f.supplier == supplier)
            .expect("every supplier has a file");
        file.push(&mut self.shuffle, row)
    }

    /// Birth registration names the mother and the father; child benefit the claimant.
    fn parents(&mut self, supplier: Supplier, record: &ChildRecord, row: &mut Row) {
        let parents: Vec<_> = match supplier {
            Supplier::BirthRegistration => {
                let mother = record
                    .parents_carers
                    .iter()
                    .find(|p| p.relationship == Relationship::Mother);
                let father = record
                    .parents_carers
                    .iter()
                    .find(|p| p.relationship == Relationship::Father)
                    .filter(|_| mother.is_none() || self.rng.random_bool(0.9));
                mother.into_iter().chain(father).collect()
            }
            Supplier::ChildBenefit => record.parents_carers.iter().take(1).collect(),
            _ => Vec::new(),
        };
        for (n, parent) in parents.into_iter().enumerate() {
            let n = n + 1;
            row.set(&format!("parent{n}_given_name"), parent.given_name.as_str());
            row.set(
                &format!("parent{n}_family_name"),
                parent.family_name.as_str(),
            );
            row.set(
                &format!("parent{n}_relationship"),
                parent.relationship.code(),
            );
        }
    }
}

/// Services are numbered from 1 while writing files: no store is involved.
const FILE_IDS: CatalogueIds = CatalogueIds {
    first_organisation: 1,
    first_service: 1,
    first_practitioner: 1,
};

/// Writes the four national suppliers' files and `truth.csv` for `spec`'s nation into
/// `dir` (created if missing); `progress` hears the running count of children.
pub fn write_supplier_files(
    spec: &NationSpec,
    dir: &Path,
    mut progress: impl FnMut(u64),
) -> io::Result<SupplierFilesSummary> {
    std::fs::create_dir_all(dir)?;
    let (_, catalogue, index) = build_catalogue(spec);
    let references: Vec<Option<String>> = catalogue
        .services()
        .map(|(_, s)| s.reference.clone())
        .collect();
    let mut truth = csv::Writer::from_writer(BufWriter::new(File::create(dir.join(TRUTH_FILE))?));
    truth.write_record(["source", "source_record_id", "person", "expected"])?;
    let mut writer = Writer {
        spec,
        today: spec.today(),
        rng: ChaCha8Rng::seed_from_u64(spec.seed ^ 0x5EED_F11E_5000),
        shuffle: ChaCha8Rng::seed_from_u64(spec.seed ^ 0x5EED_5F0F_F1E0),
        names: NameTables::bundled(),
        ids: Identifiers::default(),
        files: Supplier::ALL
            .into_iter()
            .map(|s| SupplierFile::create(dir, s))
            .collect::<io::Result<_>>()?,
        truth,
        summary: SupplierFilesSummary::default(),
        authority_numbers: crate::data::LOCAL_AUTHORITIES
            .iter()
            .enumerate()
            .map(|(i, la)| (la.code.to_owned(), 801 + i as u32))
            .collect(),
    };
    let mut previous: Option<(NaiveDate, String)> = None;
    for record in ChildGenerator::new(writer.spec, &catalogue, &index, &FILE_IDS) {
        writer.child(&record, &references)?;
        let household = (record.date_of_birth, record.family_name.as_str().to_owned());
        if previous.as_ref() == Some(&household) {
            writer.summary.twins += 1;
        }
        previous = Some(household);
        if writer.summary.children.is_multiple_of(1_000) {
            progress(writer.summary.children);
        }
    }
    progress(writer.summary.children);
    let Writer {
        mut shuffle,
        files,
        mut truth,
        mut summary,
        ..
    } = writer;
    for file in files {
        summary.files.push(dir.join(file.supplier.file_name()));
        file.finish(&mut shuffle)?;
    }
    truth.flush()?;
    summary.files.push(dir.join(TRUTH_FILE));
    Ok(summary)
}

#[cfg(test)]
mod tests;
