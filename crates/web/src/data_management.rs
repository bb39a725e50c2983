//! The local ContactPoint team's data management, shared by the pages and the API: the
//! exceptions queue (supplied records that wait for a person, decided by linking them to a
//! child or creating one) and merging two records of one child, or undoing a merge. Each
//! function asks the one policy first; every read and change is recorded in the same
//! transaction. A national administrator's queue holds the records no authority could be
//! found for.

use crate::identity_service::{event, require_fresh, ServiceError};
use crate::session::SignedIn;
use crate::AppState;
use contactpoint_domain::{
    authorize, Action, ContactPointId, FieldError, LocalAuthorityCode, Permit, Role, Target,
};
use contactpoint_intake::{resolution, Decision, ResolveError};
use contactpoint_storage::supply::{LinkCandidate, SupplyExceptionRecord};
use contactpoint_storage::{
    ExceptionQueue, MergeOutcome, MergeRecord, MergeRequestRecord, StorageError,
};

/// The queue a user works: their authority's, or for national administrators the records
/// no authority is responsible for.
fn queue_permit(who: &SignedIn) -> Result<(Permit, Option<LocalAuthorityCode>), ServiceError> {
    let own = who.session.user.organisation.local_authority.clone();
    let (target, la) = if who.session.user.role == Role::NationalAdministrator {
        (Target::NoLocalAuthority, None)
    } else {
        (Target::LocalAuthority(own.clone()), Some(own))
    };
    let permit = authorize(&who.actor(), Action::ResolveSupplyExceptions, &target)?;
    Ok((permit, la))
}

fn queue(la: &Option<LocalAuthorityCode>) -> ExceptionQueue<'_> {
    match la {
        Some(la) => ExceptionQueue::Authority(la),
        None => ExceptionQueue::Unplaced,
    }
}

/// The exceptions in the user's queue, oldest first (with `include_resolved`, decided ones too).
pub async fn exceptions(
    state: &AppState,
    who: &SignedIn,
    include_resolved: bool,
) -> Result<Vec<SupplyExceptionRecord>, ServiceError> {
    let (permit, la) = queue_permit(who)?;
    let audit =
        event(state, who, "supply_exceptions_read").with("include_resolved", include_resolved);
    Ok(state
        .store
        .supply_exceptions(&permit, queue(&la), include_resolved, &audit)
        .await?)
}

/// One exception of the user's queue with its candidates, best first.
pub async fn exception(
    state: &AppState,
    who: &SignedIn,
    id: i64,
) -> Result<SupplyExceptionRecord, ServiceError> {
    let (permit, la) = queue_permit(who)?;
    let audit_for = |e: &SupplyExceptionRecord| {
        let candidates: Vec<String> = e
            .candidates
            .iter()
            .map(|(c, _)| c.contactpoint_id.as_digits())
            .collect();
        event(state, who, "supply_exception_read")
            .with("exception", e.id)
            .with("candidates", candidates.join(" "))
    };
    Ok(state
        .store
        .supply_exception(&permit, queue(&la), id, &audit_for)
        .await?)
}

impl From<ResolveError> for ServiceError {
    fn from(e: ResolveError) -> Self {
        let field = match e {
            // A decided exception is no longer waiting: as if it were not in the queue.
            ResolveError::AlreadyResolved => {
                return ServiceError::Storage(StorageError::NotFound {
                    what: "waiting exception",
                })
            }
            ResolveError::NotACandidate => "contactpoint_id",
            ResolveError::CannotCreate => "decision",
            ResolveError::Unreadable(_) => "record",
        };
        // The message reads "field: what would do"; the envelope names the field itself.
        let text = e.to_string();
        let expected = text
            .split_once(": ")
            .map_or(text.as_str(), |(_, rest)| rest);
        ServiceError::Invalid(FieldError::new(field, expected))
    }
}

/// Decides an exception of the user's queue: `decision` is `link` (to the candidate named by
/// `contactpoint_id`) or `create`. Returns the ContactPoint ID of the child the record now
/// belongs to.
pub async fn resolve(
    state: &AppState,
    who: &SignedIn,
    id: i64,
    decision: &str,
    contactpoint_id: Option<&str>,
) -> Result<ContactPointId, ServiceError> {
    let (permit, la) = queue_permit(who)?;
    let chosen = match (decision, contactpoint_id) {
        ("create", _) => None,
        ("link", Some(id)) => Some(ContactPointId::parse(id)?),
        ("link", None) => {
            return Err(FieldError::new(
                "contactpoint_id",
                "the ContactPoint ID of the candidate to link to",
            )
            .into())
        }
        _ => return Err(FieldError::new("decision", "link or create").into()),
    };
    let waiting = exception(state, who, id).await?;
    let decision = match chosen {
        None => Decision::Create,
        Some(chosen) => {
            let candidate = waiting
                .candidates
                .iter()
                .find(|(c, _)| c.contactpoint_id == chosen)
                .ok_or(ResolveError::NotACandidate)?;
            Decision::LinkTo(candidate.0.child_id)
        }
    };
    let decided = resolution(&waiting, decision)?;
    let audit = event(state, who, "supply_exception_resolved")
        .with("exception", id)
        .with(
            "decision",
            match decision {
                Decision::LinkTo(_) => "link",
                Decision::Create => "create",
            },
        );
    let child = state
        .store
        .resolve_supply_exception(
            &permit,
            queue(&la),
            id,
            &decided,
            Some(who.user_id()),
            state.clock.now(),
            &audit,
        )
        .await?;
    Ok(child)
}

fn own_authority(who: &SignedIn) -> LocalAuthorityCode {
    who.session.user.organisation.local_authority.clone()
}

fn merge_permit(who: &SignedIn) -> Result<Permit, ServiceError> {
    Ok(authorize(
        &who.actor(),
        Action::MergeChildren,
        &Target::LocalAuthority(own_authority(who)),
    )?)
}

/// The record that would stay and the one that would be retired, side by side, before a
/// merge. Both must be children of the user's authority.
pub async fn compare(
    state: &AppState,
    who: &SignedIn,
    survivor: &str,
    retired: &str,
) -> Result<(LinkCandidate, LinkCandidate), ServiceError> {
    let permit = merge_permit(who)?;
    let survivor = ContactPointId::parse_field("survivor", survivor)?;
    let retired = ContactPointId::parse_field("retired", retired)?;
    if survivor == retired {
        return Err(FieldError::new("retired", "a different child from the one that stays").into());
    }
    let audit = event(state, who, "children_compared")
        .with("survivor", survivor.as_digits())
        .with("retired", retired.as_digits());
    let own = own_authority(who);
    let mut both = state
        .store
        .children_to_compare(
            &permit,
            Some(&own),
            &[("survivor", &survivor), ("retired", &retired)],
            &audit,
        )
        .await?;
    match (both.pop(), both.pop()) {
        (Some(gone), Some(keep)) => Ok((keep, gone)),
        _ => Err(StorageError::NotFound { what: "child" }.into()),
    }
}

/// Merges `retired` into `survivor`, confirmed with the user's PIN and a new code, when both
/// are children of the user's authority; when one is held by another authority, asks that
/// authority's team to agree instead (nothing moves until it does).
pub async fn merge(
    state: &AppState,
    who: &SignedIn,
    survivor: &str,
    retired: &str,
    pin: &str,
    otp: &str,
) -> Result<MergeOutcome, ServiceError> {
    let permit = merge_permit(who)?;
    let survivor = ContactPointId::parse_field("survivor", survivor)?;
    let retired = ContactPointId::parse_field("retired", retired)?;
    require_fresh(state, who, pin, otp, "children_merged").await?;
    let about = |action| {
        event(state, who, action)
            .about("child", survivor.as_digits())
            .with("retired", retired.as_digits())
    };
    let audit = |outcome: &MergeOutcome| match outcome {
        MergeOutcome::Merged { merge_id } => about("children_merged").with("merge", *merge_id),
        MergeOutcome::Requested {
            request_id,
            awaiting,
        } => about("merge_requested")
            .with("merge_request", *request_id)
            .with("awaiting", awaiting.as_str()),
    };
    let own = own_authority(who);
    Ok(state
        .store
        .merge_or_request(
            &permit,
            &own,
            &survivor,
            &retired,
            who.user_id(),
            state.clock.now(),
            &audit,
        )
        .await?)
}

/// The merges still waiting that the user's authority asked another team for, or is asked
/// to agree to, oldest first.
pub async fn merge_requests(
    state: &AppState,
    who: &SignedIn,
) -> Result<Vec<MergeRequestRecord>, ServiceError> {
    let permit = merge_permit(who)?;
    let audit = event(state, who, "merge_requests_read");
    Ok(state
        .store
        .merge_requests(&permit, &own_authority(who), &audit)
        .await?)
}

/// `merge` or `decline`, as a decision on a merge request is given.
fn parse_merge_decision(decision: &str) -> Result<bool, FieldError> {
    match decision.trim() {
        "merge" => Ok(true),
        "decline" => Ok(false),
        _ => Err(FieldError::new("decision", "merge or decline")),
    }
}

/// The user's team agrees to a merge another authority's team asked for, confirmed with the
/// PIN and a new code (the merge happens then), or declines it (`decision`: `merge` or
/// `decline`). Returns the merge's id when it merged.
pub async fn decide_merge_request(
    state: &AppState,
    who: &SignedIn,
    request_id: i64,
    decision: &str,
    pin: &str,
    otp: &str,
) -> Result<Option<i64>, ServiceError> {
    let permit = merge_permit(who)?;
    let agree = parse_merge_decision(decision)?;
    let action = if agree {
        require_fresh(state, who, pin, otp, "children_merged").await?;
        "children_merged"
    } else {
        "merge_request_declined"
    };
    // The entry names the child that stays, so both teams find it in the child's history.
    let audit = |request: &MergeRequestRecord, merge_id: Option<i64>| {
        let entry = event(state, who, action)
            .about("child", request.survivor.as_digits())
            .with("retired", request.retired.as_digits())
            .with("merge_request", request_id)
            .with("requested_by", request.requested_by_authority.as_str());
        match merge_id {
            Some(id) => entry.with("merge", id),
            None => entry,
        }
    };
    Ok(state
        .store
        .decide_merge_request(
            &permit,
            &own_authority(who),
            request_id,
            agree,
            who.user_id(),
            state.clock.now(),
            &audit,
        )
        .await?)
}

/// The user's team withdraws a merge it asked another authority's team for, while it still
/// waits. Nothing had moved, so it needs no PIN; the entry names the child that would have
/// stayed, so both teams find it in the child's history.
pub async fn withdraw_merge_request(
    state: &AppState,
    who: &SignedIn,
    request_id: i64,
) -> Result<(), ServiceError> {
    let permit = merge_permit(who)?;
    let audit = |request: &MergeRequestRecord| {
        event(state, who, "merge_request_withdrawn")
            .about("child", request.survivor.as_digits())
            .with("retired", request.retired.as_digits())
            .with("merge_request", request_id)
            .with("awaiting", request.awaiting_authority.as_str())
    };
    Ok(state
        .store
        .withdraw_merge_request(
            &permit,
            &own_authority(who),
            request_id,
            who.user_id(),
            state.clock.now(),
            &audit,
        )
        .await?)
}

/// The merges of the user's authority's children, newest first.
pub async fn merges(state: &AppState, who: &SignedIn) -> Result<Vec<MergeRecord>, ServiceError> {
    let permit = merge_permit(who)?;
    let audit = event(state, who, "child_merges_read");
    let own = own_authority(who);
    Ok(state
        .store
        .child_merges(&permit, Some(&own), &audit)
        .await?)
}

/// Undoes a merge of the user's authority, confirmed with the user's PIN and a new code.
pub async fn unmerge(
    state: &AppState,
    who: &SignedIn,
    merge_id: i64,
    pin: &str,
    otp: &str,
) -> Result<(), ServiceError> {
    let permit = merge_permit(who)?;
    require_fresh(state, who, pin, otp, "children_unmerged").await?;
    let audit = event(state, who, "children_unmerged").with("merge", merge_id);
    let own = own_authority(who);
    Ok(state
        .store
        .unmerge_children(
            &permit,
            Some(&own),
            merge_id,
            Some(who.user_id()),
            state.clock.now(),
            &audit,
        )
        .await?)
}
