//! What a viewer sees of a child's record: one function of (record, viewer, today) that the
//! pages and the API both render, so they cannot differ. It masks sensitive services, hides a
//! shielded child's whereabouts, and drops involvements that ended more than five years ago.

use crate::identity::Role;
use crate::{
    AddressState, ChildRecord, ContactPointId, FamilyName, FieldError, Gender, GivenName,
    Involvement, LocalAuthorityCode, MiddleNames, ParentCarer, Provenance, Relationship,
};
use chrono::NaiveDate;
use serde::Serialize;

/// Why someone opens a record: chosen from a list before it opens, or `other` with words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", content = "text", rename_all = "snake_case")]
pub enum ViewReason {
    CoordinatingSupport,
    SafeguardingConcern,
    ContactingInvolvedServices,
    RecordingInvolvement,
    DataQuality,
    SubjectAccessRequest,
    Other(String),
}

impl ViewReason {
    pub const CODES: [&'static str; 7] = [
        "coordinating_support",
        "safeguarding_concern",
        "contacting_involved_services",
        "recording_involvement",
        "data_quality",
        "subject_access_request",
        "other",
    ];

    /// Reads a reason code, and for `other` its text (10 to 200 characters of plain words).
    pub fn parse(code: &str, text: Option<&str>) -> Result<Self, FieldError> {
        Ok(match code.trim() {
            "coordinating_support" => Self::CoordinatingSupport,
            "safeguarding_concern" => Self::SafeguardingConcern,
            "contacting_involved_services" => Self::ContactingInvolvedServices,
            "recording_involvement" => Self::RecordingInvolvement,
            "data_quality" => Self::DataQuality,
            "subject_access_request" => Self::SubjectAccessRequest,
            "other" => {
                let text = text
                    .unwrap_or("")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let plain = text
                    .chars()
                    .all(|c| c.is_alphanumeric() || " .,;:'()-/".contains(c));
                if !(10..=200).contains(&text.chars().count()) || !plain {
                    return Err(FieldError::new(
                        "reason_text",
                        "for reason other, 10 to 200 characters saying why (letters, digits and ordinary punctuation)",
                    ));
                }
                Self::Other(text)
            }
            _ => {
                return Err(FieldError::new(
                    "reason",
                    format!("one of {}", Self::CODES.join(", ")),
                ))
            }
        })
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::CoordinatingSupport => "coordinating_support",
            Self::SafeguardingConcern => "safeguarding_concern",
            Self::ContactingInvolvedServices => "contacting_involved_services",
            Self::RecordingInvolvement => "recording_involvement",
            Self::DataQuality => "data_quality",
            Self::SubjectAccessRequest => "subject_access_request",
            Self::Other(_) => "other",
        }
    }
}

/// Who is looking, as far as what they may see depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub role: Role,
    pub local_authority: LocalAuthorityCode,
    /// The services the viewer works for: they see their own sensitive service.
    pub service_ids: Vec<i64>,
    /// A shield override in force for this one view.
    pub shield_override: bool,
}

/// Which projection was shown; recorded in the audit trail with the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionKind {
    /// Everything the rules allow (sensitive services still masked).
    Full,
    /// A shielded child, seen by someone who is not the responsible team.
    Shielded,
    /// A shielded child, opened by the responsible local team.
    ShieldedForResponsibleTeam,
    /// A shielded child, opened with a shield override.
    ShieldOverride,
}

impl ProjectionKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Shielded => "shielded",
            Self::ShieldedForResponsibleTeam => "shielded_for_responsible_team",
            Self::ShieldOverride => "shield_override",
        }
    }
}

/// A parent or carer as shown: a shielded child's show names only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShownParent {
    pub given_name: GivenName,
    pub family_name: FamilyName,
    pub relationship: Relationship,
    pub contact: Option<ParentCarer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectedRecord {
    pub projection: ProjectionKind,
    pub contactpoint_id: ContactPointId,
    pub given_name: GivenName,
    pub middle_names: Option<MiddleNames>,
    pub family_name: FamilyName,
    pub gender: Gender,
    pub date_of_birth: NaiveDate,
    pub shielded: bool,
    /// For a shielded child: whom to contact instead (the responsible team).
    pub shielded_contact: Option<String>,
    pub former_family_names: Vec<FamilyName>,
    pub date_of_death: Option<NaiveDate>,
    pub address: Option<AddressState>,
    pub local_authority: LocalAuthorityCode,
    pub parents_carers: Vec<ShownParent>,
    /// Services and practitioners shown, universal and additional.
    pub involvements: Vec<Involvement>,
    /// True when sensitive services are involved that this viewer may not see.
    pub sensitive_services_involved: bool,
    /// The newest value shown, and who supplied it.
    pub last_updated: Option<Provenance>,
}

/// The one projection: what `viewer` sees of `record` on `today`. `team_contact` is how to
/// reach the responsible local ContactPoint team, shown on a shielded record.
pub fn project(
    record: &ChildRecord,
    viewer: &Viewer,
    today: NaiveDate,
    team_contact: &str,
) -> ProjectedRecord {
    let responsible_team =
        viewer.role == Role::LocalTeam && viewer.local_authority == record.local_authority;
    let kind = match (
        record.shielded,
        responsible_team,
        viewer.shield_override && viewer.role == Role::Practitioner,
    ) {
        (false, _, _) => ProjectionKind::Full,
        (true, true, _) => ProjectionKind::ShieldedForResponsibleTeam,
        (true, false, true) => ProjectionKind::ShieldOverride,
        (true, false, false) => ProjectionKind::Shielded,
    };
    let hide_whereabouts = kind == ProjectionKind::Shielded;

    let shown_now: Vec<&Involvement> = record
        .involvements
        .iter()
        .filter(|i| i.is_shown_on(today))
        .collect();
    let may_see = |i: &Involvement| {
        !i.service.category.is_sensitive() || viewer.service_ids.contains(&i.service.id)
    };
    let involvements: Vec<Involvement> = if hide_whereabouts {
        Vec::new()
    } else {
        shown_now
            .iter()
            .filter(|i| may_see(i))
            .map(|i| (*i).clone())
            .collect()
    };
    let sensitive_services_involved = shown_now.iter().any(|i| !may_see(i));

    let parents_carers = record
        .parents_carers
        .iter()
        .map(|p| ShownParent {
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            relationship: p.relationship,
            contact: (!hide_whereabouts).then(|| p.clone()),
        })
        .collect();

    let mut provenances: Vec<&Provenance> = vec![
        &record.provenance.name,
        &record.provenance.gender,
        &record.provenance.date_of_birth,
    ];
    if !hide_whereabouts {
        provenances.push(&record.provenance.address);
        provenances.extend(record.provenance.date_of_death.as_ref());
        provenances.extend(record.parents_carers.iter().map(|p| &p.provenance));
        provenances.extend(involvements.iter().map(|i| &i.provenance));
    }
    let last_updated = provenances
        .into_iter()
        .max_by_key(|p| p.supplied_at)
        .cloned();

    ProjectedRecord {
        projection: kind,
        contactpoint_id: record.contactpoint_id,
        given_name: record.given_name.clone(),
        middle_names: record.middle_names.clone(),
        family_name: record.family_name.clone(),
        gender: record.gender,
        date_of_birth: record.date_of_birth,
        shielded: record.shielded,
        shielded_contact: record.shielded.then(|| {
            format!("Shielded: contact the responsible local ContactPoint team, {team_contact}")
        }),
        former_family_names: if hide_whereabouts {
            Vec::new()
        } else {
            record
                .former_names
                .iter()
                .map(|f| f.family_name.clone())
                .collect()
        },
        date_of_death: if hide_whereabouts {
            None
        } else {
            record.date_of_death
        },
        address: if hide_whereabouts {
            None
        } else {
            Some(record.address.clone())
        },
        local_authority: record.local_authority.clone(),
        parents_carers,
        involvements,
        sensitive_services_involved,
        last_updated,
    }
}

#[cfg(test)]
mod tests;
