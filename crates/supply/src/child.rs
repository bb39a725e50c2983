//! A supplied child record: the columns, and the checks each value gets.

use chrono::NaiveDate;
use contactpoint_domain::{
    DateOfBirth, FamilyName, FieldError, Gender, GivenName, MiddleNames, Postcode, Relationship,
};

/// Every column a child file may have, in the order docs/SUPPLY.md lists them. Only
/// `source_record_id` is required; the others may be left out of the header.
pub const CHILD_COLUMNS: [&str; 20] = [
    "source_record_id",
    "given_name",
    "middle_names",
    "family_name",
    "former_family_name",
    "date_of_birth",
    "gender",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "school_urn",
    "gp_practice_code",
    "date_of_death",
    "parent1_given_name",
    "parent1_family_name",
    "parent1_relationship",
    "parent2_given_name",
    "parent2_family_name",
    "parent2_relationship",
];

/// A parent or carer named in a supplied record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppliedParent {
    pub given_name: GivenName,
    pub family_name: FamilyName,
    pub relationship: Relationship,
}

/// One supplied child, every value checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppliedChild {
    /// Where it was in the file (1 is the first line, the header of a CSV file).
    pub line: u64,
    pub source_record_id: String,
    pub given_name: Option<GivenName>,
    pub middle_names: Option<MiddleNames>,
    pub family_name: Option<FamilyName>,
    pub former_family_name: Option<FamilyName>,
    pub date_of_birth: Option<DateOfBirth>,
    pub gender: Option<Gender>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub town: Option<String>,
    pub postcode: Option<Postcode>,
    /// The school's unique reference number: six digits.
    pub school_urn: Option<String>,
    /// The GP practice's code: a letter and five digits.
    pub gp_practice_code: Option<String>,
    pub date_of_death: Option<NaiveDate>,
    pub parents: Vec<SuppliedParent>,
}

/// The values of one row by column name; an absent column and an empty value are the same.
pub(crate) struct RawRow<'a> {
    pub values: Vec<(&'a str, String)>,
}

impl RawRow<'_> {
    pub(crate) fn get(&self, column: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn text(&self, column: &str, max: usize) -> Result<Option<String>, FieldError> {
        match self.get(column) {
            None => Ok(None),
            Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(
                FieldError::new(column, format!("at most {max} characters of text")),
            ),
            Some(v) => Ok(Some(v.split_whitespace().collect::<Vec<_>>().join(" "))),
        }
    }

    pub(crate) fn parsed<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Result<Option<T>, FieldError> {
        self.get(column).map(parse).transpose()
    }
}

pub(crate) fn date(column: &'static str) -> impl FnOnce(&str) -> Result<NaiveDate, FieldError> {
    move |v| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| FieldError::new(column, "a date as YYYY-MM-DD, or empty"))
    }
}

fn code(
    column: &'static str,
    letters: usize,
    digits: usize,
    expected: &'static str,
) -> impl FnOnce(&str) -> Result<String, FieldError> {
    move |v| {
        let v = v.to_ascii_uppercase();
        let b = v.as_bytes();
        let ok = b.len() == letters + digits
            && b[..letters].iter().all(u8::is_ascii_uppercase)
            && b[letters..].iter().all(u8::is_ascii_digit);
        if ok {
            Ok(v)
        } else {
            Err(FieldError::new(column, expected))
        }
    }
}

impl SuppliedChild {
    /// Checks one row. `today` bounds dates of birth (not in the future, within 25 years).
    pub(crate) fn check(line: u64, row: &RawRow<'_>, today: NaiveDate) -> Result<Self, FieldError> {
        let source_record_id = row.text("source_record_id", 64)?.ok_or_else(|| {
            FieldError::new(
                "source_record_id",
                "the supplier's own identifier of the record, 1 to 64 characters",
            )
        })?;
        let named =
            |column: &'static str| row.parsed(column, |v| FamilyName::parse_field(column, v));
        let child = Self {
            line,
            given_name: row.parsed("given_name", |v| GivenName::parse_field("given_name", v))?,
            middle_names: row.parsed("middle_names", |v| {
                MiddleNames::parse_field("middle_names", v)
            })?,
            family_name: named("family_name")?,
            former_family_name: named("former_family_name")?,
            date_of_birth: row.parsed("date_of_birth", |v| DateOfBirth::parse(v, today))?,
            gender: row.parsed("gender", Gender::parse_supplied)?,
            address_line1: row.text("address_line1", 100)?,
            address_line2: row.text("address_line2", 100)?,
            town: row.text("town", 60)?,
            postcode: row.parsed("postcode", Postcode::parse)?,
            school_urn: row.parsed(
                "school_urn",
                code("school_urn", 0, 6, "a school URN of six digits, or empty"),
            )?,
            gp_practice_code: row.parsed(
                "gp_practice_code",
                code(
                    "gp_practice_code",
                    1,
                    5,
                    "a GP practice code of a letter and five digits (e.g. M85001), or empty",
                ),
            )?,
            date_of_death: row.parsed("date_of_death", date("date_of_death"))?,
            parents: [1, 2]
                .into_iter()
                .map(|n| parent(row, n))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect(),
            source_record_id,
        };
        if child.given_name.is_none() && child.family_name.is_none() {
            return Err(FieldError::new(
                "family_name",
                "a family name or a given name: a record with neither cannot be matched",
            ));
        }
        if let (Some(died), Some(born)) = (child.date_of_death, child.date_of_birth) {
            if died < born.date() || died > today {
                return Err(FieldError::new(
                    "date_of_death",
                    "a date on or after the date of birth and not in the future",
                ));
            }
        }
        Ok(child)
    }
}

/// Parent `n`: all three of its columns, or none of them.
fn parent(row: &RawRow<'_>, n: u8) -> Result<Option<SuppliedParent>, FieldError> {
    let given = format!("parent{n}_given_name");
    let family = format!("parent{n}_family_name");
    let relationship = format!("parent{n}_relationship");
    match (row.get(&given), row.get(&family), row.get(&relationship)) {
        (None, None, None) => Ok(None),
        (Some(g), Some(f), Some(r)) => Ok(Some(SuppliedParent {
            given_name: GivenName::parse_field(&given, g)?,
            family_name: FamilyName::parse_field(&family, f)?,
            relationship: Relationship::parse(r).map_err(|_| {
                FieldError::new(relationship.clone(), "mother, father, step_parent, grandparent, foster_carer, special_guardian, other_relative or carer")
            })?,
        })),
        _ => Err(FieldError::new(given, format!("all of parent{n}_given_name, parent{n}_family_name and parent{n}_relationship, or none"))),
    }
}

impl SuppliedChild {
    /// The record's values by column, in the order of [`CHILD_COLUMNS`], leaving out the
    /// empty ones: the form it is kept in while it waits for the local team (as a JSON
    /// object, read back by [`crate::read_children`]) and the form its digest is taken of.
    pub fn columns(&self) -> Vec<(&'static str, String)> {
        let text = |v: Option<&str>| v.map(str::to_owned);
        let mut values: Vec<(&'static str, Option<String>)> = vec![
            ("source_record_id", Some(self.source_record_id.clone())),
            (
                "given_name",
                text(self.given_name.as_ref().map(|n| n.as_str())),
            ),
            (
                "middle_names",
                text(self.middle_names.as_ref().map(|n| n.as_str())),
            ),
            (
                "family_name",
                text(self.family_name.as_ref().map(|n| n.as_str())),
            ),
            (
                "former_family_name",
                text(self.former_family_name.as_ref().map(|n| n.as_str())),
            ),
            (
                "date_of_birth",
                self.date_of_birth
                    .map(|d| d.date().format("%Y-%m-%d").to_string()),
            ),
            ("gender", self.gender.map(|g| g.code().to_owned())),
            ("address_line1", self.address_line1.clone()),
            ("address_line2", self.address_line2.clone()),
            ("town", self.town.clone()),
            ("postcode", text(self.postcode.as_ref().map(|p| p.as_str()))),
            ("school_urn", self.school_urn.clone()),
            ("gp_practice_code", self.gp_practice_code.clone()),
            (
                "date_of_death",
                self.date_of_death.map(|d| d.format("%Y-%m-%d").to_string()),
            ),
        ];
        for (n, parent) in self.parents.iter().enumerate() {
            let [given, family, relationship] = match n {
                0 => [
                    "parent1_given_name",
                    "parent1_family_name",
                    "parent1_relationship",
                ],
                _ => [
                    "parent2_given_name",
                    "parent2_family_name",
                    "parent2_relationship",
                ],
            };
            values.push((given, Some(parent.given_name.as_str().to_owned())));
            values.push((family, Some(parent.family_name.as_str().to_owned())));
            values.push((relationship, Some(parent.relationship.code().to_owned())));
        }
        values
            .into_iter()
            .filter_map(|(column, value)| value.map(|v| (column, v)))
            .collect()
    }

    /// The record as one JSON object in the supply format.
    pub fn to_json(&self) -> String {
        let object: serde_json::Map<String, serde_json::Value> = self
            .columns()
            .into_iter()
            .map(|(c, v)| (c.to_owned(), serde_json::Value::String(v)))
            .collect();
        serde_json::Value::Object(object).to_string()
    }
}
