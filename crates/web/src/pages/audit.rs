//! The audit trail, as the local team and auditors review it on the web.

use crate::error::PageError;
use crate::html::{escape, page, when};
use crate::session::PageUser;
use crate::AppState;
use axum::extract::{Query, State};
use axum::response::Html;
use contactpoint_domain::{authorize, Action, AuditEvent, Outcome, Target};
use std::collections::HashMap;

const PAGE: i64 = 200;

pub async fn review(
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let who = &user.0;
    let own = who.session.user.organisation.local_authority.clone();
    let permit = authorize(
        &who.actor(),
        Action::ReadAuditTrail,
        &Target::LocalAuthority(own.clone()),
    )?;
    let user_id = match query
        .get("user_id")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| PageError::bad_request("user_id: a user's number"))?,
        ),
        None => None,
    };
    let after_id = query
        .get("after_id")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut audit = AuditEvent::new(
        state.clock.now(),
        who.session.route,
        "audit_reviewed",
        Outcome::Success,
    )
    .by(who.user_id())
    .in_authority(&own);
    if let Some(id) = user_id {
        audit = audit.with("user_id", id);
    }
    let entries = state
        .store
        .review_audit(&permit, &own, user_id, None, after_id, PAGE, &audit)
        .await?;
    let rows: String = entries
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                e.id,
                escape(&e.at.format("%-d %b %Y %H:%M:%S").to_string()),
                e.actor_user_id.map_or_else(String::new, |id| format!(r#"<a href="/audit?user_id={id}">{id}</a>"#)),
                escape(&e.route),
                escape(&e.action),
                escape(&e.outcome),
                escape(&e.subject_kind.as_deref().zip(e.subject_id.as_deref()).map(|(k, i)| format!("{k} {i}")).unwrap_or_default()),
                escape(&e.details),
            )
        })
        .collect();
    let next = entries
        .last()
        .filter(|_| entries.len() as i64 == PAGE)
        .map(|last| {
            format!(
                r#"<p><a href="/audit?after_id={}{}">Later entries</a></p>"#,
                last.id,
                user_id.map(|u| format!("&user_id={u}")).unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<h1>Audit trail for {la}</h1>
<form method="get" action="/audit"><label for="user_id">Only this user's entries (user number)</label><input id="user_id" name="user_id" inputmode="numeric" value="{uid}"><button type="submit">Show</button></form>
<p><a href="/audit/usage">Usage and flags for likely misuse</a></p>
<p class="notice">Your reading of the trail is recorded in it too.</p>
<table><thead><tr><th>Entry</th><th>When</th><th>User</th><th>Route</th><th>Action</th><th>Outcome</th><th>About</th><th>Details</th></tr></thead><tbody>{rows}</tbody></table>{next}"#,
        la = escape(own.as_str()),
        uid = user_id.map(|u| u.to_string()).unwrap_or_default(),
    );
    let (name, csrf) = who.header();
    Ok(page("Audit trail", Some((&name, csrf)), &body))
}

/// GET /audit/usage: usage per organisation per day and the misuse flags, for a period.
pub async fn usage(
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let review = crate::review::review(
        &state,
        &user.0,
        query.get("from").map(String::as_str),
        query.get("to").map(String::as_str),
    )
    .await?;
    let usage: String = review
        .usage
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.day,
                escape(&r.organisation),
                r.sign_ins,
                r.searches,
                r.views
            )
        })
        .collect();
    let flags: String = review
        .flags
        .iter()
        .map(|f| {
            format!(
                r#"<tr><td>{}</td><td>{}</td><td><a href="/audit?user_id={}">{}</a> ({})</td><td>{}</td><td>{}</td></tr>"#,
                escape(&format!("{:?}", f.kind)),
                when(f.at),
                f.user_id,
                escape(&f.username),
                escape(&f.organisation),
                escape(&f.detail),
                f.entry_id.map(|e| e.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    let body = format!(
        r#"<h1>Usage and flags</h1>
<form method="get" action="/audit/usage"><label for="from">From</label><input id="from" name="from" value="{from}"><label for="to">To</label><input id="to" name="to" value="{to}"><button type="submit">Show</button></form>
<h2>Flags for likely misuse ({nflags})</h2>
<table><thead><tr><th>Flag</th><th>When (UTC)</th><th>User</th><th>What</th><th>Entry</th></tr></thead><tbody>{flags}</tbody></table>
<h2>Sign-ins, searches and views per organisation per day</h2>
<table><thead><tr><th>Day</th><th>Organisation</th><th>Sign-ins</th><th>Searches</th><th>Views</th></tr></thead><tbody>{usage}</tbody></table>
<p class="notice">Your reading of the trail is recorded in it too.</p>"#,
        from = review.from,
        to = review.to,
        nflags = review.flags.len(),
    );
    let (name, csrf) = user.0.header();
    Ok(page("Usage and flags", Some((&name, csrf)), &body))
}

/// The rows of a child's access history (shared with the record page).
pub fn access_rows(history: &[contactpoint_storage::ChildAccess]) -> String {
    if history.is_empty() {
        return "<p>No one has opened this record.</p>".to_owned();
    }
    let rows: String = history
        .iter()
        .map(|a| {
            format!(
                "<tr><td>{}</td><td>{} ({})</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                when(a.at),
                escape(&a.name),
                escape(&a.username),
                escape(&a.organisation),
                escape(&a.reason.replace('_', " ")),
                a.reason_text
                    .as_deref()
                    .map(|t| format!(": {}", escape(t)))
                    .unwrap_or_default(),
                escape(&a.projection.replace('_', " ")),
            )
        })
        .collect();
    format!("<table><thead><tr><th>When (UTC)</th><th>Who</th><th>Organisation</th><th>Why</th><th>Shown</th></tr></thead><tbody>{rows}</tbody></table>")
}

/// GET /audit/children/{id}: who has opened a child's record.
pub async fn child_history(
    State(state): State<AppState>,
    user: PageUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Html<String>, PageError> {
    let history = crate::review::child_history(&state, &user.0, &id, PAGE).await?;
    let (name, csrf) = user.0.header();
    Ok(page(
        "Access history",
        Some((&name, csrf)),
        &format!(
            "<h1>Who has opened the record of ContactPoint ID {}</h1>{}",
            escape(&id),
            access_rows(&history)
        ),
    ))
}
