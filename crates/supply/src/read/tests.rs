use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn rows(text: &str, format: Format) -> Vec<Result<SuppliedChild, Rejected>> {
    read_children(text.as_bytes(), format, today())
        .unwrap()
        .collect()
}

const CSV: &str = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode,parent1_given_name,parent1_family_name,parent1_relationship
GRO-1,Amelia,Smith-Adeyemi,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD,Funmilayo,Adeyemi,mother
GRO-2,Tobias,Whitfield,2015-13-03,M,,,,,,
GRO-3,,,2016-01-01,U,,,,,,
GRO-4,Zoë,O'Brien,,,,,,,,
GRO-5,Sam,Lee,2016-01-01,X,,,,,,
GRO-6,Ann,Lee,2016-01-01,F,,,,Mary,,mother
";

#[test]
fn a_csv_file_gives_checked_rows_and_rejections_naming_line_field_and_reason() {
    let read = rows(CSV, Format::Csv);
    assert_eq!(read.len(), 6, "every row accounted for");
    let amelia = read[0].as_ref().unwrap();
    assert_eq!(
        (
            amelia.line,
            amelia.source_record_id.as_str(),
            amelia.family_name.as_ref().unwrap().as_str()
        ),
        (2, "GRO-1", "Smith-Adeyemi")
    );
    assert_eq!(amelia.postcode.as_ref().unwrap().as_str(), "MK40 3PD");
    assert_eq!(amelia.parents.len(), 1);
    let rejections: Vec<(u64, Option<&str>, &str)> = read
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|r| (r.line, r.source_record_id.as_deref(), r.field.as_str()))
        .collect();
    assert_eq!(
        rejections,
        [
            (3, Some("GRO-2"), "date_of_birth"),
            (4, Some("GRO-3"), "family_name"),
            (6, Some("GRO-5"), "gender"),
            (7, Some("GRO-6"), "parent1_given_name"),
        ]
    );
    assert!(read
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|r| r.reason.starts_with("expected ")));
    let accented = read[3].as_ref().unwrap();
    assert_eq!(accented.given_name.as_ref().unwrap().as_str(), "Zoë");
}

#[test]
fn a_header_without_source_record_id_or_with_an_unknown_column_refuses_the_file() {
    let no_id = read_children(
        "given_name,family_name\nAnn,Lee\n".as_bytes(),
        Format::Csv,
        today(),
    );
    assert!(matches!(no_id, Err(SupplyFileError::NoSourceRecordId)));
    match read_children(
        "source_record_id,surname\n1,Lee\n".as_bytes(),
        Format::Csv,
        today(),
    ) {
        Err(e @ SupplyFileError::UnknownColumn(..)) => {
            assert!(e.to_string().contains("family_name"), "{e}")
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("accepted an unknown column"),
    }
    let twice = read_children(
        "source_record_id,town,town\n".as_bytes(),
        Format::Csv,
        today(),
    );
    assert!(matches!(twice, Err(SupplyFileError::RepeatedColumn(_))));
}

#[test]
fn a_row_with_the_wrong_number_of_values_is_rejected_and_the_rest_go_on() {
    let read = rows(
        "source_record_id,family_name\nA,Lee\nB\nC,Khan,extra\nD,Ng\n",
        Format::Csv,
    );
    let lines: Vec<Result<u64, u64>> = read
        .iter()
        .map(|r| r.as_ref().map(|c| c.line).map_err(|e| e.line))
        .collect();
    assert_eq!(lines, [Ok(2), Err(3), Err(4), Ok(5)]);
}

#[test]
fn json_lines_give_the_same_rows_as_csv() {
    let jsonl = r#"{"source_record_id": "GRO-1", "given_name": "Amelia", "family_name": "Smith-Adeyemi", "date_of_birth": "2014-06-30", "gender": "F", "address_line1": "14 Castle Road", "town": "Bedford", "postcode": "MK40 3PD", "parent1_given_name": "Funmilayo", "parent1_family_name": "Adeyemi", "parent1_relationship": "mother"}

{"source_record_id": "GRO-2", "family_name": "Whitfield", "date_of_birth": "2015-13-03"}
{"source_record_id": "GRO-3", "surname": "Lee"}
not json
{"source_record_id": "GRO-4", "family_name": ["Lee"]}
"#;
    let read = rows(jsonl, Format::JsonLines);
    let from_csv = rows(CSV, Format::Csv);
    let mut amelia = read[0].clone().unwrap();
    amelia.line = 2;
    assert_eq!(&amelia, from_csv[0].as_ref().unwrap());
    let rejections: Vec<(u64, &str)> = read
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|r| (r.line, r.field.as_str()))
        .collect();
    assert_eq!(
        rejections,
        [
            (3, "date_of_birth"),
            (4, "surname"),
            (5, "row"),
            (6, "family_name")
        ]
    );
}

/// An endless CSV file, made as it is read.
struct Endless {
    pending: Vec<u8>,
    next: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            self.pending = format!("R{},Lee\n", self.next).into_bytes();
            self.next += 1;
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

#[test]
fn a_file_is_read_as_a_stream_not_all_at_once() {
    let endless = Endless {
        pending: b"source_record_id,family_name\n".to_vec(),
        next: 0,
    };
    let first: Vec<_> = read_children(endless, Format::Csv, today())
        .unwrap()
        .take(1000)
        .collect();
    assert_eq!(first.len(), 1000);
    assert_eq!(first[999].as_ref().unwrap().source_record_id, "R999");
}

#[test]
fn the_format_is_known_by_the_files_name() {
    use std::path::Path;
    assert_eq!(
        Format::of_path(Path::new("births.CSV")).unwrap(),
        Format::Csv
    );
    assert_eq!(
        Format::of_path(Path::new("gp.ndjson")).unwrap(),
        Format::JsonLines
    );
    assert!(Format::of_path(Path::new("notes.txt")).is_err());
}
