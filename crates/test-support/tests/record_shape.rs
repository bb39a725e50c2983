//! The record holds what PRODUCT.md lists and nothing more.

use contactpoint_domain::ChildRecord;
use contactpoint_storage::CatalogueIds;
use contactpoint_test_support::{sample_catalogue, sample_child, test_today};

const IDS: CatalogueIds = CatalogueIds {
    first_organisation: 1,
    first_service: 1,
    first_practitioner: 1,
};

fn sample_json() -> serde_json::Value {
    serde_json::to_value(sample_child(&sample_catalogue(), &IDS, 1)).unwrap()
}

#[test]
fn the_record_has_exactly_the_fields_of_the_product_and_no_other() {
    let json = sample_json();
    let mut keys: Vec<_> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "address",
            "address_history",
            "address_since",
            "contactpoint_id",
            "date_of_birth",
            "date_of_death",
            "family_name",
            "former_names",
            "gender",
            "given_name",
            "involvements",
            "local_authority",
            "middle_names",
            "parents_carers",
            "provenance",
            "shielded",
        ]
    );
}

#[test]
fn a_record_carrying_case_notes_anywhere_is_refused() {
    let mut json = sample_json();
    json["case_notes"] = "anything".into();
    let err = serde_json::from_value::<ChildRecord>(json).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `case_notes`"),
        "{err}"
    );

    let mut json = sample_json();
    json["involvements"][0]["assessment"] = "the assessment itself".into();
    assert!(serde_json::from_value::<ChildRecord>(json).is_err());

    let mut json = sample_json();
    json["parents_carers"][0]["medical_history"] = "x".into();
    assert!(serde_json::from_value::<ChildRecord>(json).is_err());
}

#[test]
fn a_record_survives_json_and_every_value_is_parsed_again_on_the_way_in() {
    let record = sample_child(&sample_catalogue(), &IDS, 1);
    let back: ChildRecord = serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
    assert_eq!(back, record);

    let mut json = sample_json();
    json["parents_carers"][0]["telephone"] = "not a number".into();
    let err = serde_json::from_value::<ChildRecord>(json).unwrap_err();
    assert!(err.to_string().contains("telephone"), "{err}");

    let mut json = sample_json();
    json["contactpoint_id"] = "123456789012".into();
    assert!(serde_json::from_value::<ChildRecord>(json).is_err());
}

#[test]
fn the_sample_record_keeps_every_rule_and_breaking_one_names_the_field() {
    let record = sample_child(&sample_catalogue(), &IDS, 1);
    record.check(test_today()).unwrap();

    let mut no_basis = record.clone();
    no_basis.involvements[2].sensitive_basis = None;
    assert_eq!(
        no_basis.check(test_today()).unwrap_err().field,
        "involvements[2].sensitive_basis"
    );

    let mut dead_before_born = record.clone();
    dead_before_born.date_of_death = Some(record.date_of_birth.pred_opt().unwrap());
    assert_eq!(
        dead_before_born.check(test_today()).unwrap_err().field,
        "date_of_death"
    );

    let mut overlapping_history = record;
    overlapping_history.address_history[0].until =
        overlapping_history.address_since.succ_opt().unwrap();
    assert_eq!(
        overlapping_history.check(test_today()).unwrap_err().field,
        "address_history[0].until"
    );
}
