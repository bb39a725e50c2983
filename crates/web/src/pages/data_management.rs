//! The local ContactPoint team's data management pages: the exceptions queue, one waiting
//! record beside the children it might be, and merging and unmerging records.

use super::Fields;
use crate::data_management as service;
use crate::error::PageError;
use crate::html::{escape, factor_fields, page, when};
use crate::session::PageUser;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use contactpoint_intake::{side_by_side, Agreement};
use contactpoint_storage::supply::LinkCandidate;
use contactpoint_storage::MergeOutcome;
use std::collections::HashMap;

fn score(p: Option<f64>) -> String {
    p.map_or_else(|| "none".to_owned(), |p| format!("{p:.2}"))
}

fn field_label(field: &str) -> String {
    let spaced = field.replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

pub async fn exceptions(
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let include_resolved = query.get("all").is_some_and(|v| v == "1");
    let waiting = service::exceptions(&state, &user.0, include_resolved).await?;
    let rows: String = waiting
        .iter()
        .map(|e| {
            let supplied = side_by_side(e).unwrap_or_default();
            let value = |f: &str| {
                supplied
                    .iter()
                    .find(|c| c.field == f)
                    .and_then(|c| c.supplied.clone())
                    .unwrap_or_default()
            };
            let status = match &e.resolution {
                Some(r) => format!("{} {}", r.status.code(), escape(&r.contactpoint_id.as_digits())),
                None if e.shielding_hold => "waiting (held: may be a shielded child)".to_owned(),
                None => "waiting".to_owned(),
            };
            format!(
                r#"<tr><td><a href="/admin/exceptions/{id}">{id}</a></td><td>{raised}</td><td>{source}</td><td>{name}</td><td>{dob}</td><td>{reason}</td><td>{best}</td><td>{status}</td></tr>"#,
                id = e.id,
                raised = when(e.raised_at),
                source = escape(e.source.as_str()),
                name = escape(&format!("{} {}", value("given_name"), value("family_name"))),
                dob = escape(&value("date_of_birth")),
                reason = escape(e.reason.code()),
                best = score(e.best_probability),
            )
        })
        .collect();
    let open = waiting.iter().filter(|e| e.resolution.is_none()).count();
    let toggle = if include_resolved {
        r#"<a href="/admin/exceptions">Show only those waiting</a>"#
    } else {
        r#"<a href="/admin/exceptions?all=1">Show decided ones too</a>"#
    };
    let (name, csrf) = user.0.header();
    Ok(page(
        "Exceptions",
        Some((&name, csrf)),
        &format!(
            r#"<h1>Supplied records waiting for a decision</h1>
<p role="status">{open} waiting.</p><p>{toggle}. <a href="/admin/merges">Merge two records of one child</a></p>
<p>Each record below could not be placed with confidence. Open it to see it beside the children it might be, then link it to one of them or create a new child.</p>
<table><thead><tr><th>Number</th><th>Arrived</th><th>Supplier</th><th>Name supplied</th><th>Date of birth supplied</th><th>Why it waits</th><th>Best score</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>"#
        ),
    ))
}

fn candidate_heading(candidate: &LinkCandidate, score: f64) -> String {
    let shielded = if candidate.shielded {
        r#" <strong>(shielded)</strong>"#
    } else {
        ""
    };
    format!(
        "{}{shielded}<br><span class=\"hint\">score {score:.2}</span>",
        escape(&candidate.contactpoint_id.as_digits())
    )
}

pub async fn exception(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, PageError> {
    let exception = service::exception(&state, &user.0, id).await?;
    let compared = side_by_side(&exception).map_err(PageError::bad_request)?;
    let csrf = escape(user.0.csrf());
    let heads: String = exception
        .candidates
        .iter()
        .map(|(c, p)| format!(r#"<th scope="col">{}</th>"#, candidate_heading(c, *p)))
        .collect();
    let body_rows: String = compared
        .iter()
        .map(|f| {
            let cells: String = f
                .candidates
                .iter()
                .map(|(value, agreement)| {
                    let mark = match agreement {
                        Agreement::Agrees => " <span class=\"agrees\">(agrees)</span>",
                        Agreement::Differs => " <strong class=\"differs\">(differs)</strong>",
                        Agreement::Unknown => "",
                    };
                    format!(
                        "<td>{}{mark}</td>",
                        escape(value.as_deref().unwrap_or("not held"))
                    )
                })
                .collect();
            format!(
                r#"<tr><th scope="row">{}</th><td>{}</td>{cells}</tr>"#,
                field_label(f.field),
                escape(f.supplied.as_deref().unwrap_or("not supplied"))
            )
        })
        .collect();
    let decide = if let Some(decided) = &exception.resolution {
        format!(
            r#"<p class="notice">Decided {}: {}, ContactPoint ID {}.</p>"#,
            when(decided.at),
            decided.status.code(),
            escape(&decided.contactpoint_id.as_digits())
        )
    } else {
        let links: String = exception
            .candidates
            .iter()
            .map(|(c, _)| {
                let cpid = escape(&c.contactpoint_id.as_digits());
                format!(
                    r#"<form method="post" action="/admin/exceptions/{id}/resolve" class="inline"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="decision" value="link"><input type="hidden" name="contactpoint_id" value="{cpid}"><button type="submit">It is {cpid}: link</button></form> "#
                )
            })
            .collect();
        let hold = if exception.shielding_hold {
            r#"<p class="notice">This record may be a shielded child. A child created from it is shielded until your team decides otherwise.</p>"#
        } else {
            ""
        };
        format!(
            r#"{hold}<h2>Decide</h2><p>{links}</p>
<form method="post" action="/admin/exceptions/{id}/resolve"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="decision" value="create"><button type="submit" class="warning">None of these: create a new child</button></form>"#
        )
    };
    let (name, header_csrf) = user.0.header();
    Ok(page(
        "Exception",
        Some((&name, header_csrf)),
        &format!(
            r#"<p><a href="/admin/exceptions">Back to the queue</a></p>
<h1>Supplied record {source_record} from {source}</h1>
<p>Why it waits: {reason}. Arrived {raised}.</p>
<table><thead><tr><th scope="col">Field</th><th scope="col">Supplied</th>{heads}</tr></thead><tbody>{body_rows}</tbody></table>
{decide}"#,
            source_record = escape(&exception.source_record_id),
            source = escape(exception.source.as_str()),
            reason = escape(exception.reason.code()),
            raised = when(exception.raised_at),
        ),
    ))
}

pub async fn resolve(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    fields.check_csrf(&user)?;
    let chosen = Some(fields.get("contactpoint_id")).filter(|c| !c.is_empty());
    service::resolve(&state, &user.0, id, fields.get("decision"), chosen).await?;
    Ok(Redirect::to("/admin/exceptions").into_response())
}

fn child_cells(c: &LinkCandidate) -> [String; 8] {
    [
        escape(&c.contactpoint_id.as_digits()),
        escape(&format!(
            "{} {} {}",
            c.given_name,
            c.middle_names.as_deref().unwrap_or(""),
            c.family_name
        )),
        escape(&c.former_family_names.join(", ")),
        c.date_of_birth.to_string(),
        c.gender.code().to_owned(),
        c.address.as_ref().map_or_else(String::new, |a| {
            escape(&format!("{}, {}, {}", a.line1, a.town, a.postcode.as_str()))
        }),
        c.local_authority.as_str().to_owned(),
        if c.shielded { "yes" } else { "no" }.to_owned(),
    ]
}

pub async fn merges(
    State(state): State<AppState>,
    user: PageUser,
) -> Result<Html<String>, PageError> {
    let merges = service::merges(&state, &user.0).await?;
    let requests = service::merge_requests(&state, &user.0).await?;
    let csrf = escape(user.0.csrf());
    let factors = factor_fields(false);
    let own = user.0.session.user.organisation.local_authority.clone();
    let (asked_of_us, asked_by_us): (Vec<_>, Vec<_>) =
        requests.iter().partition(|r| r.awaiting_authority == own);
    let pair = |r: &contactpoint_storage::MergeRequestRecord| {
        format!(
            "<td>{}</td><td>{} ({})</td><td>{} ({})</td>",
            when(r.requested_at),
            escape(&r.survivor.as_digits()),
            escape(r.survivor_authority.as_str()),
            escape(&r.retired.as_digits()),
            escape(r.retired_authority.as_str()),
        )
    };
    let asked_of_us: String = asked_of_us
        .iter()
        .map(|r| {
            format!(
                r#"<tr>{cells}<td>{by}</td><td><form method="post" action="/admin/merge-requests/{id}/decision"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="decision" value="merge">{factors}<button type="submit" class="warning">Agree and merge</button></form>
<form method="post" action="/admin/merge-requests/{id}/decision"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="decision" value="decline"><button type="submit">Decline</button></form></td></tr>"#,
                cells = pair(r),
                by = escape(r.requested_by_authority.as_str()),
                id = r.id,
            )
        })
        .collect();
    let asked_by_us: String = asked_by_us
        .iter()
        .map(|r| {
            format!(
                r#"<tr>{cells}<td>waiting for the team of {awaiting}</td><td><form method="post" action="/admin/merge-requests/{id}/withdraw"><input type="hidden" name="csrf" value="{csrf}"><button type="submit">Withdraw</button></form></td></tr>"#,
                cells = pair(r),
                awaiting = escape(r.awaiting_authority.as_str()),
                id = r.id,
            )
        })
        .collect();
    let requests_section = if requests.is_empty() {
        String::new()
    } else {
        format!(
            r#"<h2>Merges across authorities</h2>
<p>A merge of a record your authority holds with one another authority holds goes ahead only when the other team agrees.</p>
<table><thead><tr><th>Asked</th><th>Stays</th><th>Retired</th><th>Asked by</th><th>Decide</th></tr></thead><tbody>{asked_of_us}</tbody></table>
<table><thead><tr><th>Asked</th><th>Stays</th><th>Retired</th><th>Status</th><th>Withdraw</th></tr></thead><tbody>{asked_by_us}</tbody></table>"#
        )
    };
    let rows: String = merges
        .iter()
        .map(|m| {
            let status = match m.unmerged_at {
                Some(at) => format!("Undone {}", when(at)),
                None => format!(
                    r#"<details><summary>Undo this merge</summary><form method="post" action="/admin/merges/{id}/unmerge"><input type="hidden" name="csrf" value="{csrf}"><p>Both records go back exactly as they were before the merge.</p>{factors}<button type="submit" class="warning">Undo the merge</button></form></details>"#,
                    id = m.id
                ),
            };
            format!(
                "<tr><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{status}</td></tr>",
                when(m.merged_at),
                escape(&m.survivor.as_digits()),
                escape(&m.survivor_name),
                escape(&m.retired.as_digits()),
                escape(&m.retired_name),
            )
        })
        .collect();
    let (name, header_csrf) = user.0.header();
    Ok(page(
        "Merges",
        Some((&name, header_csrf)),
        &format!(
            r#"<h1>Merge two records of one child</h1>
<form method="get" action="/admin/merges/compare">
<label for="survivor">ContactPoint ID of the record that stays</label><input id="survivor" name="survivor" inputmode="numeric" required>
<label for="retired">ContactPoint ID of the record to retire <span class="hint">Its services, parents and carers, names and supplied records move to the record that stays, and its ID leads there.</span></label><input id="retired" name="retired" inputmode="numeric" required>
<button type="submit">Compare them</button></form>
<details><summary>One of the records is held by another authority</summary>
<form method="post" action="/admin/merges"><input type="hidden" name="csrf" value="{csrf}">
<p>The other authority's team is asked to agree; nothing moves until it does. One of the two records must be your authority's.</p>
<label for="cross-survivor">ContactPoint ID of the record that stays</label><input id="cross-survivor" name="survivor" inputmode="numeric" required>
<label for="cross-retired">ContactPoint ID of the record to retire</label><input id="cross-retired" name="retired" inputmode="numeric" required>
{factors}<button type="submit">Ask the other team</button></form></details>
{requests_section}
<h2>Merges of your authority's children</h2>
<table><thead><tr><th>When</th><th>Stays</th><th>Retired</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>"#
        ),
    ))
}

pub async fn compare(
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let asked = |k: &str| query.get(k).map(String::as_str).unwrap_or("");
    let (keep, gone) =
        service::compare(&state, &user.0, asked("survivor"), asked("retired")).await?;
    let labels = [
        "ContactPoint ID",
        "Name",
        "Former family names",
        "Date of birth",
        "Gender",
        "Address",
        "Local authority",
        "Shielded",
    ];
    let rows: String = labels
        .iter()
        .zip(child_cells(&keep).iter().zip(child_cells(&gone).iter()))
        .map(|(label, (k, g))| {
            let mark = if k == g || *label == "ContactPoint ID" {
                ""
            } else {
                " <strong class=\"differs\">(differs)</strong>"
            };
            format!(r#"<tr><th scope="row">{label}</th><td>{k}</td><td>{g}{mark}</td></tr>"#)
        })
        .collect();
    let csrf = escape(user.0.csrf());
    let (name, header_csrf) = user.0.header();
    Ok(page(
        "Compare records",
        Some((&name, header_csrf)),
        &format!(
            r#"<p><a href="/admin/merges">Back to merges</a></p><h1>Are these the same child?</h1>
<table><thead><tr><th scope="col"></th><th scope="col">Stays</th><th scope="col">Retired</th></tr></thead><tbody>{rows}</tbody></table>
<form method="post" action="/admin/merges"><input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="survivor" value="{survivor}"><input type="hidden" name="retired" value="{retired}">
<p>If either record is shielded, the merged record is shielded. A merge can be undone.</p>{factors}
<button type="submit" class="warning">Merge them</button></form>"#,
            survivor = escape(&keep.contactpoint_id.as_digits()),
            retired = escape(&gone.contactpoint_id.as_digits()),
            factors = factor_fields(false),
        ),
    ))
}

pub async fn merge(
    State(state): State<AppState>,
    user: PageUser,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    fields.check_csrf(&user)?;
    let outcome = service::merge(
        &state,
        &user.0,
        fields.get("survivor"),
        fields.get("retired"),
        fields.raw("pin"),
        fields.get("otp"),
    )
    .await?;
    match outcome {
        MergeOutcome::Merged { .. } => Ok(Redirect::to("/admin/merges").into_response()),
        MergeOutcome::Requested { awaiting, .. } => {
            let (name, csrf) = user.0.header();
            Ok(page(
                "Merge asked",
                Some((&name, csrf)),
                &format!(
                    r#"<h1>Merge asked of the team of {}</h1><p>One of the records is held by that authority. The merge goes ahead when its team agrees; until then nothing moves.</p><p><a href="/admin/merges">Back to merges</a></p>"#,
                    escape(awaiting.as_str())
                ),
            )
            .into_response())
        }
    }
}

pub async fn decide_merge_request(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    fields.check_csrf(&user)?;
    service::decide_merge_request(
        &state,
        &user.0,
        id,
        fields.get("decision"),
        fields.raw("pin"),
        fields.get("otp"),
    )
    .await?;
    Ok(Redirect::to("/admin/merges").into_response())
}

pub async fn withdraw_merge_request(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    fields.check_csrf(&user)?;
    service::withdraw_merge_request(&state, &user.0, id).await?;
    Ok(Redirect::to("/admin/merges").into_response())
}

pub async fn unmerge(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Result<Response, PageError> {
    fields.check_csrf(&user)?;
    service::unmerge(&state, &user.0, id, fields.raw("pin"), fields.get("otp")).await?;
    Ok(Redirect::to("/admin/merges").into_response())
}
