//! Reviewing use: usage per organisation per day, misuse flags, and a child's access
//! history, for the local team and auditors. Every reading is itself recorded. Shared by the
//! pages and the API.

use crate::identity_service::ServiceError;
use crate::session::SignedIn;
use crate::AppState;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use contactpoint_domain::review::{flags, usage, Flag, UsageRow};
use contactpoint_domain::{
    authorize, Action, AuditEvent, ContactPointId, FieldError, Outcome, Target,
};
use contactpoint_storage::ChildAccess;

/// The longest period one review covers.
pub const LONGEST_REVIEW_DAYS: i64 = 31;

/// The days a review covers: `from` to `to` inclusive, the last 7 days by default.
fn period(
    today: NaiveDate,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(NaiveDate, NaiveDate), FieldError> {
    let day = |field: &str, value: Option<&str>, default: NaiveDate| match value
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| FieldError::new(field, "a date as YYYY-MM-DD")),
        None => Ok(default),
    };
    let to = day("to", to, today)?;
    let from = day("from", from, to - Duration::days(6))?;
    if from > to || (to - from).num_days() >= LONGEST_REVIEW_DAYS {
        return Err(FieldError::new(
            "from",
            format!("a date on or before `to`, at most {LONGEST_REVIEW_DAYS} days before it"),
        ));
    }
    Ok((from, to))
}

/// Usage and flags over a period.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Review {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub usage: Vec<UsageRow>,
    pub flags: Vec<Flag>,
}

pub async fn review(
    state: &AppState,
    who: &SignedIn,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Review, ServiceError> {
    let own = who.session.user.organisation.local_authority.clone();
    let permit = authorize(
        &who.actor(),
        Action::ReadAuditTrail,
        &Target::LocalAuthority(own.clone()),
    )?;
    let (from, to) = period(state.clock.today(), from, to)?;
    // Days are whole UTC days padded by an hour each side, so a UK day in summer time is
    // covered; the rules then read each entry in UK time.
    let start = Utc.from_utc_datetime(&from.and_hms_opt(0, 0, 0).unwrap()) - Duration::hours(1);
    let end = Utc.from_utc_datetime(&(to + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap());
    let audit = AuditEvent::new(
        state.clock.now(),
        who.session.route,
        "usage_reviewed",
        Outcome::Success,
    )
    .by(who.user_id())
    .through_client(who.session.api_client_id)
    .in_authority(&own)
    .with("from", from)
    .with("to", to);
    let activity: Vec<_> = state
        .store
        .review_activity(&permit, &own, start, end, &audit)
        .await?
        .into_iter()
        .filter(|a| (from..=to).contains(&contactpoint_domain::review::uk_local(a.at).date()))
        .collect();
    Ok(Review {
        from,
        to,
        usage: usage(&activity),
        flags: flags(&activity),
    })
}

/// The latest views of a child, for its authority's team and auditors; recorded.
pub async fn child_history(
    state: &AppState,
    who: &SignedIn,
    contactpoint_id: &str,
    limit: i64,
) -> Result<Vec<ChildAccess>, ServiceError> {
    let own = who.session.user.organisation.local_authority.clone();
    authorize(
        &who.actor(),
        Action::ReadAuditTrail,
        &Target::LocalAuthority(own),
    )?;
    let id = ContactPointId::parse(contactpoint_id)?;
    let la = state.store.child_local_authority(&id).await?;
    let permit = authorize(
        &who.actor(),
        Action::ReadAuditTrail,
        &Target::LocalAuthority(la.clone()),
    )?;
    let audit = AuditEvent::new(
        state.clock.now(),
        who.session.route,
        "child_history_read",
        Outcome::Success,
    )
    .by(who.user_id())
    .through_client(who.session.api_client_id)
    .about("child", id.as_digits())
    .in_authority(&la);
    Ok(state
        .store
        .child_access_history(&permit, &id, limit, Some(&audit))
        .await?)
}
