//! Finding a child: the search is checked for proportionality, its candidates are read and
//! scored, and the search is recorded (criteria and the IDs returned) in the same
//! transaction as the read. Shared by the pages and the API.

use crate::identity_service::ServiceError;
use crate::session::SignedIn;
use crate::AppState;
use contactpoint_domain::search::{
    rank, Birth, Candidate, SearchCriteria, SearchForm, SearchOutcome, SearchRefusal,
};
use contactpoint_domain::{authorize, Action, AuditEvent, Outcome, Target};
use contactpoint_matching::search::{BirthQuery, Query};
use contactpoint_matching::PostcodeParts;
use contactpoint_storage::{CandidateLookup, FoundChild, StorageError, Store};

/// The matching crate's view of checked criteria.
pub fn matching_query(criteria: &SearchCriteria) -> Query {
    Query {
        given_name: criteria.given_name.as_ref().map(|n| n.as_str().to_owned()),
        family_name: criteria.family_name.as_ref().map(|n| n.as_str().to_owned()),
        birth: criteria.birth.map(|b| match b {
            Birth::Date(d) => BirthQuery::Date(d),
            Birth::Between(from, to) => BirthQuery::Between(from, to),
        }),
        gender: criteria.gender.map(|g| g.code().to_owned()),
        postcode: criteria
            .postcode
            .as_ref()
            .and_then(|p| PostcodeParts::parse(p.as_str())),
        ..Query::default()
    }
}

/// The matching crate's view of checked criteria, with the spellings the directory holds for
/// any word of a name it does not: what the search's keys are made from.
pub async fn spelt_query(store: &Store, criteria: &SearchCriteria) -> Result<Query, StorageError> {
    let query = matching_query(criteria);
    if criteria.contactpoint_id.is_some() {
        return Ok(query);
    }
    let known = store.spellings(&query.spelling_fragments()).await?;
    Ok(query.with_spellings(&known))
}

/// The names of the fields a search form filled in (what a refused search is recorded by).
fn fields_given(form: &SearchForm) -> String {
    [
        ("family_name", &form.family_name),
        ("given_name", &form.given_name),
        ("date_of_birth", &form.date_of_birth),
        ("age_from", &form.age_from),
        ("age_to", &form.age_to),
        ("gender", &form.gender),
        ("postcode", &form.postcode),
        ("contactpoint_id", &form.contactpoint_id),
    ]
    .into_iter()
    .filter(|(_, v)| v.as_deref().is_some_and(|v| !v.trim().is_empty()))
    .map(|(name, _)| name)
    .collect::<Vec<_>>()
    .join(",")
}

pub async fn search_children(
    state: &AppState,
    who: &SignedIn,
    form: &SearchForm,
) -> Result<SearchOutcome, ServiceError> {
    let permit = authorize(&who.actor(), Action::SearchChildren, &Target::Own)?;
    let now = state.clock.now();
    let today = state.clock.today();
    let event = |outcome| {
        AuditEvent::new(now, who.session.route, "children_searched", outcome)
            .by(who.user_id())
            .through_client(who.session.api_client_id)
            // A search is about no one child yet: it is filed under the searcher's authority.
            .in_authority(&who.session.user.organisation.local_authority)
    };
    let criteria = match SearchCriteria::parse(form, today) {
        Ok(criteria) => criteria,
        Err(SearchRefusal::Field(e)) => return Err(e.into()),
        Err(SearchRefusal::TooVague { add }) => {
            // Refused before anything is read, and recorded: repeated vague searches are a
            // pattern worth seeing.
            state
                .store
                .record_audit(
                    &event(Outcome::Denied)
                        .with("refused", "too_vague")
                        .with("fields", fields_given(form)),
                )
                .await?;
            return Err(ServiceError::TooVague(add));
        }
    };
    let query = spelt_query(&state.store, &criteria).await?;
    let lookup = match criteria.contactpoint_id {
        Some(id) => CandidateLookup::ById(id),
        None => {
            CandidateLookup::ByKeys(query.probe_keys(SearchCriteria::plausible_birth_years(today)))
        }
    };
    let by_id = matches!(lookup, CandidateLookup::ById(_));
    let decide = |found: Vec<FoundChild>| {
        let candidates = found
            .into_iter()
            .map(|child| Candidate {
                score: if by_id {
                    1.0
                } else {
                    query.score(&child.findable)
                },
                contactpoint_id: child.contactpoint_id,
                given_name: child.findable.given_name,
                family_name: child.findable.family_name,
                date_of_birth: child.date_of_birth,
                gender: child.gender,
                town: child.town,
                shielded: child.shielded,
                archived: child.archived,
            })
            .collect();
        let outcome = rank(&criteria, candidates);
        let recorded = event(Outcome::Success).with("criteria", criteria.audit_summary());
        let recorded = match &outcome {
            SearchOutcome::Found(results) => recorded.with("result", "found").with("returned", {
                results
                    .iter()
                    .map(|r| r.contactpoint_id.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            SearchOutcome::TooMany { .. } => recorded.with("result", "too_many_matches"),
        };
        (outcome, recorded)
    };
    Ok(state
        .store
        .search_children(&permit, &lookup, &decide)
        .await?)
}
