//! Reading a supplied file as a stream of checked rows.

use crate::child::{RawRow, SuppliedChild, CHILD_COLUMNS};
use crate::involvement::{SuppliedInvolvement, INVOLVEMENT_COLUMNS};
use chrono::NaiveDate;
use std::io::{BufRead, BufReader, Read};

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, UTF-8, a header row naming the columns.
    Csv,
    /// One JSON object per line, its keys the column names.
    JsonLines,
}

impl Format {
    /// By the file's name: `.csv`, or `.jsonl` / `.ndjson`.
    pub fn of_path(path: &std::path::Path) -> Result<Self, SupplyFileError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Self::Csv),
            Some("jsonl" | "ndjson") => Ok(Self::JsonLines),
            _ => Err(SupplyFileError::UnknownFormat),
        }
    }
}

/// A row that was not taken, and why: reported, never silently dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    /// The supplier's identifier, when the row had a readable one.
    pub source_record_id: Option<String>,
    pub field: String,
    pub reason: String,
}

/// A file that cannot be read at all: nothing of it is taken.
#[derive(Debug, thiserror::Error)]
pub enum SupplyFileError {
    #[error("the file's name must end in .csv, .jsonl or .ndjson")]
    UnknownFormat,
    #[error("the header has no source_record_id column; it is required")]
    NoSourceRecordId,
    #[error("the header has a column {0:?} that is not one of: {columns}", columns = .1.join(", "))]
    UnknownColumn(String, &'static [&'static str]),
    #[error("the header names column {0:?} twice")]
    RepeatedColumn(String),
    #[error("the file cannot be read: {0}")]
    Unreadable(String),
}

/// A kind of supplied record: its columns and the checks of one row.
pub(crate) trait SuppliedKind: Sized {
    const COLUMNS: &'static [&'static str];
    fn check(
        line: u64,
        row: &RawRow<'_>,
        today: NaiveDate,
    ) -> Result<Self, contactpoint_domain::FieldError>;
}

impl SuppliedKind for SuppliedChild {
    const COLUMNS: &'static [&'static str] = &CHILD_COLUMNS;
    fn check(
        line: u64,
        row: &RawRow<'_>,
        today: NaiveDate,
    ) -> Result<Self, contactpoint_domain::FieldError> {
        SuppliedChild::check(line, row, today)
    }
}

impl SuppliedKind for SuppliedInvolvement {
    const COLUMNS: &'static [&'static str] = &INVOLVEMENT_COLUMNS;
    fn check(
        line: u64,
        row: &RawRow<'_>,
        today: NaiveDate,
    ) -> Result<Self, contactpoint_domain::FieldError> {
        SuppliedInvolvement::check(line, row, today)
    }
}

/// The rows of a child file, checked one at a time. A file whose header is wrong is
/// refused whole; a row that is wrong is a [`Rejected`] and the rest go on.
pub fn read_children<'r>(
    input: impl Read + Send + 'r,
    format: Format,
    today: NaiveDate,
) -> Result<Box<dyn Iterator<Item = Result<SuppliedChild, Rejected>> + Send + 'r>, SupplyFileError>
{
    read_rows(input, format, today)
}

/// The rows of an involvement file, checked one at a time, as [`read_children`] does.
pub fn read_involvements<'r>(
    input: impl Read + Send + 'r,
    format: Format,
    today: NaiveDate,
) -> Result<
    Box<dyn Iterator<Item = Result<SuppliedInvolvement, Rejected>> + Send + 'r>,
    SupplyFileError,
> {
    read_rows(input, format, today)
}

fn read_rows<'r, T: SuppliedKind + 'r>(
    input: impl Read + Send + 'r,
    format: Format,
    today: NaiveDate,
) -> Result<Box<dyn Iterator<Item = Result<T, Rejected>> + Send + 'r>, SupplyFileError> {
    match format {
        Format::Csv => csv_rows(input, today),
        Format::JsonLines => Ok(Box::new(json_rows(input, today))),
    }
}

fn known_column<T: SuppliedKind>(name: &str) -> Option<&'static str> {
    T::COLUMNS.iter().copied().find(|c| *c == name)
}

fn rejected(line: u64, id: Option<String>, e: contactpoint_domain::FieldError) -> Rejected {
    Rejected {
        line,
        source_record_id: id,
        field: e.field,
        reason: format!("expected {}", e.expected),
    }
}

fn check<T: SuppliedKind>(line: u64, raw: &RawRow<'_>, today: NaiveDate) -> Result<T, Rejected> {
    T::check(line, raw, today).map_err(|e| {
        let id = raw
            .values
            .iter()
            .find(|(c, _)| *c == "source_record_id")
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty() && v.len() <= 64);
        rejected(line, id, e)
    })
}

fn csv_rows<'r, T: SuppliedKind + 'r>(
    input: impl Read + Send + 'r,
    today: NaiveDate,
) -> Result<Box<dyn Iterator<Item = Result<T, Rejected>> + Send + 'r>, SupplyFileError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| SupplyFileError::Unreadable(e.to_string()))?
        .clone();
    let mut columns: Vec<&'static str> = Vec::new();
    for name in header.iter() {
        let name = name.trim().trim_start_matches('\u{feff}');
        let column = known_column::<T>(name)
            .ok_or_else(|| SupplyFileError::UnknownColumn(name.to_owned(), T::COLUMNS))?;
        if columns.contains(&column) {
            return Err(SupplyFileError::RepeatedColumn(name.to_owned()));
        }
        columns.push(column);
    }
    if !columns.contains(&"source_record_id") {
        return Err(SupplyFileError::NoSourceRecordId);
    }
    let records = reader.into_records();
    Ok(Box::new(records.map(move |record| {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(Rejected {
                    line,
                    source_record_id: None,
                    field: "row".into(),
                    reason: format!("not readable as CSV: {e}"),
                });
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != columns.len() {
            return Err(Rejected {
                line,
                source_record_id: None,
                field: "row".into(),
                reason: format!(
                    "expected {} values, one per column of the header, found {}",
                    columns.len(),
                    record.len()
                ),
            });
        }
        let raw = RawRow {
            values: columns
                .iter()
                .copied()
                .zip(record.iter().map(str::to_owned))
                .collect(),
        };
        check(line, &raw, today)
    })))
}

fn json_rows<'r, T: SuppliedKind + 'r>(
    input: impl Read + Send + 'r,
    today: NaiveDate,
) -> impl Iterator<Item = Result<T, Rejected>> + Send + 'r {
    BufReader::new(input)
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(move |(n, line)| {
            let line_number = n as u64 + 1;
            let reject = |field: &str, reason: String| Rejected {
                line: line_number,
                source_record_id: None,
                field: field.into(),
                reason,
            };
            let text = line.map_err(|e| reject("row", format!("not readable: {e}")))?;
            let object = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(o)) => o,
                _ => return Err(reject("row", "expected one JSON object on the line".into())),
            };
            let mut values = Vec::new();
            for (key, value) in &object {
                let column = known_column::<T>(key).ok_or_else(|| {
                    reject(key, format!("a known column: {}", T::COLUMNS.join(", ")))
                })?;
                let value = match value {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return Err(reject(column, "a string or null".into())),
                };
                values.push((column, value));
            }
            check(line_number, &RawRow { values }, today)
        })
}

#[cfg(test)]
mod tests;

/// Reads back one record kept as a JSON object by [`SuppliedChild::to_json`].
pub fn child_from_json(json: &str, today: NaiveDate) -> Result<SuppliedChild, Rejected> {
    let mut rows = json_rows::<SuppliedChild>(json.as_bytes(), today);
    rows.next().unwrap_or_else(|| {
        Err(Rejected {
            line: 1,
            source_record_id: None,
            field: "record".into(),
            reason: "one JSON object".into(),
        })
    })
}
