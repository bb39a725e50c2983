//! A waiting record beside the children it might be, field by field, as the local team
//! decides an exception: what the supplier sent, what each candidate holds, and whether the
//! two agree (compared as matching compares them: case, accents and spacing aside).

use contactpoint_matching::compact;
use contactpoint_storage::supply::{LinkCandidate, SupplyExceptionRecord};
use contactpoint_supply::{child_from_json, SuppliedChild};

/// How a candidate's value stands against the supplied one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    Agrees,
    Differs,
    /// One side has no value, so nothing can be said.
    Unknown,
}

impl Agreement {
    pub fn code(self) -> &'static str {
        match self {
            Self::Agrees => "agrees",
            Self::Differs => "differs",
            Self::Unknown => "unknown",
        }
    }
}

/// One field across the record and its candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComparedField {
    pub field: &'static str,
    pub supplied: Option<String>,
    /// In the order of the exception's candidates.
    pub candidates: Vec<(Option<String>, Agreement)>,
}

/// A value as compared: names folded as matching folds them (accents, case, hyphens and
/// spaces aside); anything with digits by its letters and digits alone.
fn comparable(value: &str) -> String {
    if value.chars().any(|c| c.is_ascii_digit()) {
        value
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_uppercase)
            .collect()
    } else {
        compact(value)
    }
}

fn agreement(supplied: Option<&str>, held: Option<&str>) -> Agreement {
    match (supplied, held) {
        (Some(a), Some(b)) if comparable(a) == comparable(b) => Agreement::Agrees,
        (Some(_), Some(_)) => Agreement::Differs,
        _ => Agreement::Unknown,
    }
}

type Held = fn(&LinkCandidate) -> Option<String>;
type Supplied = fn(&SuppliedChild) -> Option<String>;

fn fields() -> [(&'static str, Supplied, Held); 9] {
    [
        (
            "given_name",
            |s| s.given_name.as_ref().map(|v| v.as_str().to_owned()),
            |c| Some(c.given_name.clone()),
        ),
        (
            "middle_names",
            |s| s.middle_names.as_ref().map(|v| v.as_str().to_owned()),
            |c| c.middle_names.clone(),
        ),
        (
            "family_name",
            |s| s.family_name.as_ref().map(|v| v.as_str().to_owned()),
            |c| Some(c.family_name.clone()),
        ),
        (
            "former_family_name",
            |s| s.former_family_name.as_ref().map(|v| v.as_str().to_owned()),
            |c| Some(c.former_family_names.join(", ")).filter(|n| !n.is_empty()),
        ),
        (
            "date_of_birth",
            |s| s.date_of_birth.map(|d| d.date().to_string()),
            |c| Some(c.date_of_birth.to_string()),
        ),
        (
            "gender",
            |s| s.gender.map(|g| g.code().to_owned()),
            |c| Some(c.gender.code().to_owned()),
        ),
        (
            "address_line1",
            |s| s.address_line1.clone(),
            |c| c.address.as_ref().map(|a| a.line1.clone()),
        ),
        (
            "postcode",
            |s| s.postcode.as_ref().map(|p| p.as_str().to_owned()),
            |c| c.address.as_ref().map(|a| a.postcode.as_str().to_owned()),
        ),
        (
            "date_of_death",
            |s| s.date_of_death.map(|d| d.to_string()),
            |c| c.date_of_death.map(|d| d.to_string()),
        ),
    ]
}

/// The exception's record beside each of its candidates, field by field. A former family
/// name the candidate holds counts as agreeing with the supplied family name.
pub fn side_by_side(exception: &SupplyExceptionRecord) -> Result<Vec<ComparedField>, String> {
    let record = child_from_json(&exception.record, exception.raised_at.date_naive())
        .map_err(|r| format!("{}: {}", r.field, r.reason))?;
    Ok(fields()
        .into_iter()
        .map(|(field, supplied_value, held_value)| {
            let supplied = supplied_value(&record);
            let candidates = exception
                .candidates
                .iter()
                .map(|(candidate, _)| {
                    let held = held_value(candidate);
                    let mut agrees = agreement(supplied.as_deref(), held.as_deref());
                    if field == "family_name" && agrees == Agreement::Differs {
                        let former = candidate
                            .former_family_names
                            .iter()
                            .any(|f| agreement(supplied.as_deref(), Some(f)) == Agreement::Agrees);
                        if former {
                            agrees = Agreement::Agrees;
                        }
                    }
                    (held, agrees)
                })
                .collect();
            ComparedField {
                field,
                supplied,
                candidates,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_agree_whatever_their_case_accents_and_hyphens() {
        assert_eq!(
            agreement(Some("Zoë Smith-Jones"), Some("ZOE SMITH JONES")),
            Agreement::Agrees
        );
        assert_eq!(agreement(Some("Zoe"), Some("Zara")), Agreement::Differs);
    }

    #[test]
    fn postcodes_and_house_numbers_keep_their_digits() {
        assert_eq!(
            agreement(Some("MK40 2AA"), Some("mk402aa")),
            Agreement::Agrees
        );
        assert_eq!(
            agreement(Some("12 Mill Lane"), Some("21 Mill Lane")),
            Agreement::Differs
        );
    }

    #[test]
    fn a_missing_value_neither_agrees_nor_differs() {
        assert_eq!(agreement(None, Some("Smith")), Agreement::Unknown);
        assert_eq!(agreement(Some("Smith"), None), Agreement::Unknown);
    }
}
