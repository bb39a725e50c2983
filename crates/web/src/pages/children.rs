//! Finding a child and opening the record on the web: the search form and its results, the
//! reason asked before a record opens, the record as this viewer may see it, and the shield
//! override with its warning and fresh factors.

use super::Fields;
use crate::children::{view_child, ShieldOverride, OVERRIDE_WARNING};
use crate::error::PageError;
use crate::html::{error_summary, escape, factor_fields, page};
use crate::search::search_children;
use crate::session::PageUser;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use contactpoint_domain::search::{alike_at_top, SearchForm, SearchOutcome, SearchResult};
use contactpoint_domain::{
    authorize, Action, AddressState, Involvement, ProjectedRecord, ProjectionKind, Target,
    ViewReason,
};

/// How many of the latest views the responsible team sees on the record itself.
const ACCESS_HISTORY_ON_RECORD: i64 = 25;

fn shown(user: &PageUser, title: &str, body: &str) -> Html<String> {
    let (name, csrf) = user.0.header();
    page(title, Some((&name, csrf)), body)
}

fn text_input(id: &str, label: &str, hint: &str, value: &Option<String>) -> String {
    format!(
        r#"<label for="{id}">{label}{hint}</label><input id="{id}" name="{id}" value="{value}" autocomplete="off" spellcheck="false">"#,
        hint = if hint.is_empty() {
            String::new()
        } else {
            format!(r#" <span class="hint">{hint}</span>"#)
        },
        value = escape(value.as_deref().unwrap_or("")),
    )
}

fn search_form(form: &SearchForm) -> String {
    let gender = form.gender.as_deref().unwrap_or("");
    let option = |value: &str, label: &str| {
        format!(
            r#"<option value="{value}"{}>{label}</option>"#,
            if gender == value { " selected" } else { "" }
        )
    };
    format!(
        r#"<form method="get" action="/children" role="search">
<p class="hint">Give a ContactPoint ID, or at least three of family name, given name, date of birth (or age range) and postcode, one of them a name. Spelling need not be exact.</p>
{family}{given}{born}
<fieldset><legend>Or an age range</legend>{from}{to}</fieldset>
<label for="gender">Gender</label><select id="gender" name="gender">{any}{f}{m}{u}</select>
{postcode}{id}
<button type="submit">Search</button>
</form>"#,
        family = text_input(
            "family_name",
            "Family name",
            "current or former",
            &form.family_name
        ),
        given = text_input(
            "given_name",
            "Given name",
            "or the name the child goes by",
            &form.given_name
        ),
        born = text_input(
            "date_of_birth",
            "Date of birth",
            "YYYY-MM-DD, for example 2015-03-27",
            &form.date_of_birth
        ),
        from = text_input("age_from", "Aged from", "years", &form.age_from),
        to = text_input("age_to", "Aged to", "at most 5 years more", &form.age_to),
        any = option("", "Any"),
        f = option("female", "Female"),
        m = option("male", "Male"),
        u = option("not_specified", "Not specified"),
        postcode = text_input(
            "postcode",
            "Postcode",
            "whole or first part, current or earlier",
            &form.postcode
        ),
        id = text_input(
            "contactpoint_id",
            "ContactPoint ID",
            "12 digits",
            &form.contactpoint_id
        ),
    )
}

/// A result's score as a percentage. A child shown far below the first reads "under 1%",
/// not "0%": it did fit the search, only much less well than the first.
fn match_percent(score: f64) -> String {
    if score < 0.005 {
        "under 1%".to_owned()
    } else {
        format!("{:.0}%", score * 100.0)
    }
}

fn results_table(results: &[SearchResult]) -> String {
    if results.is_empty() {
        return r#"<p role="status">No child matches. Check the spelling and the date of birth, or try an earlier postcode or a former name.</p>"#.to_owned();
    }
    let rows: String = results
        .iter()
        .map(|r| {
            format!(
                r#"<tr><td><a href="/children/{id}">{given} {family}</a>{shielded}</td><td>{born}</td><td>{gender}</td><td>{town}</td><td>{score}</td></tr>"#,
                id = escape(&r.contactpoint_id),
                given = escape(&r.given_name),
                family = escape(&r.family_name),
                shielded = if r.shielded { " <strong>(shielded)</strong>" } else { "" },
                born = r.date_of_birth.format("%-d %B %Y"),
                gender = escape(&r.gender.replace('_', " ")),
                town = escape(r.town.as_deref().unwrap_or("")),
                score = match_percent(r.score),
            )
        })
        .collect();
    let alike = alike_at_top(results);
    let alike = if alike > 1 {
        format!(
            r#"<p class="notice" role="note">The first {alike} children fit what you gave equally well, so none of them is more likely than the others. Add what else you know, such as the postcode, a former name or the gender, before you choose.</p>"#
        )
    } else {
        String::new()
    };
    format!(
        r#"<h2 role="status">{n} {children} found</h2>{alike}
<table><thead><tr><th>Name</th><th>Date of birth</th><th>Gender</th><th>Town</th><th>Match</th></tr></thead><tbody>{rows}</tbody></table>"#,
        n = results.len(),
        children = if results.len() == 1 {
            "child"
        } else {
            "children"
        },
    )
}

/// GET /children: the search form, and the results when a search was asked for.
pub async fn search(
    State(state): State<AppState>,
    user: PageUser,
    Query(form): Query<SearchForm>,
) -> Result<Html<String>, PageError> {
    let asked = [
        &form.family_name,
        &form.given_name,
        &form.date_of_birth,
        &form.age_from,
        &form.age_to,
        &form.postcode,
        &form.contactpoint_id,
    ]
    .iter()
    .any(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()));
    let outcome = if asked {
        match search_children(&state, &user.0, &form).await {
            Ok(SearchOutcome::Found(results)) => results_table(&results),
            Ok(SearchOutcome::TooMany { add }) => error_summary(&[("family_name".into(), add)]),
            Err(crate::identity_service::ServiceError::Invalid(e)) => error_summary(&[(
                e.field.clone(),
                format!("{}: {}", e.field.replace('_', " "), e.expected),
            )]),
            Err(crate::identity_service::ServiceError::TooVague(add)) => {
                error_summary(&[("family_name".into(), add)])
            }
            Err(other) => return Err(other.into()),
        }
    } else {
        String::new()
    };
    Ok(shown(
        &user,
        "Find a child",
        &format!(
            r#"<h1>Find a child</h1>{outcome}{form}<p class="notice">Every search is recorded with what you searched for and what it found.</p>"#,
            form = search_form(&form)
        ),
    ))
}

fn reason_fields() -> String {
    let options: String = ViewReason::CODES
        .iter()
        .map(|code| format!(r#"<option value="{code}">{}</option>"#, reason_label(code)))
        .collect();
    format!(
        r#"<label for="reason">Why are you opening this record?</label><select id="reason" name="reason" required><option value="">Choose a reason</option>{options}</select>
<label for="reason_text">If other, say why <span class="hint">10 to 200 characters</span></label><input id="reason_text" name="reason_text" maxlength="200">"#
    )
}

fn reason_label(code: &str) -> &'static str {
    match code {
        "coordinating_support" => "Coordinating support for the child",
        "safeguarding_concern" => "A safeguarding concern",
        "contacting_involved_services" => "Contacting the services involved",
        "recording_involvement" => "Recording my service's involvement",
        "data_quality" => "Checking or correcting the record",
        "subject_access_request" => "A subject access request",
        _ => "Other",
    }
}

/// GET /children/{id}: nothing of the record yet, only the reason it needs.
pub async fn ask_reason(user: PageUser, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let id = contactpoint_domain::ContactPointId::parse(&id)
        .map_err(crate::identity_service::ServiceError::from)?;
    let digits = id.as_digits();
    let override_form = if user.0.session.user.shield_override {
        format!(
            r#"<h2>Shield override</h2>
<div class="notice" role="note"><strong>Warning.</strong> {warning}</div>
<form method="post" action="/children/{digits}/view">
<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="shield_override" value="yes">
{reasons}
<label><input type="checkbox" name="warning_accepted" value="yes" required> I understand that an investigation will follow</label>
{factors}
<button type="submit" class="warning">Override shielding and open the record</button>
</form>"#,
            warning = escape(OVERRIDE_WARNING),
            csrf = escape(user.0.csrf()),
            reasons = reason_fields()
                .replace(r#"id="reason""#, r#"id="override_reason""#)
                .replace(r#"for="reason""#, r#"for="override_reason""#)
                .replace(r#"id="reason_text""#, r#"id="override_reason_text""#)
                .replace(r#"for="reason_text""#, r#"for="override_reason_text""#),
            factors = factor_fields(false),
        )
    } else {
        String::new()
    };
    Ok(shown(
        &user,
        "Why are you opening this record?",
        &format!(
            r#"<h1>Open the record of ContactPoint ID {digits}</h1>
<p>Say why before the record opens. Your reason is recorded with the view, and the local authority's team reviews them.</p>
<form method="post" action="/children/{digits}/view">
<input type="hidden" name="csrf" value="{csrf}">
{reasons}
<button type="submit">Open the record</button>
</form>{override_form}"#,
            csrf = escape(user.0.csrf()),
            reasons = reason_fields(),
        ),
    ))
}

/// POST /children/{id}/view: the record, once the reason (and for an override, the warning
/// and fresh factors) are given.
pub async fn view(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    axum::Form(fields): axum::Form<Fields>,
) -> Result<Html<String>, PageError> {
    fields.check_csrf(&user)?;
    let shield_override = (fields.get("shield_override") == "yes").then(|| ShieldOverride {
        warning_accepted: fields.get("warning_accepted") == "yes",
        pin: fields.get("pin"),
        otp: fields.get("otp"),
    });
    let reason_text = Some(fields.get("reason_text")).filter(|t| !t.is_empty());
    let record = view_child(
        &state,
        &user.0,
        &id,
        fields.get("reason"),
        reason_text,
        shield_override,
    )
    .await?;
    // The responsible team sees, on the record, who else has opened it lately.
    let history = match authorize(
        &user.0.actor(),
        Action::ReadAuditTrail,
        &Target::LocalAuthority(record.local_authority.clone()),
    ) {
        Ok(permit) => {
            let latest = state
                .store
                .child_access_history(
                    &permit,
                    &record.contactpoint_id,
                    ACCESS_HISTORY_ON_RECORD,
                    None,
                )
                .await
                .map_err(crate::identity_service::ServiceError::from)?;
            format!(
                r#"<h2>Who has opened this record lately</h2>{}<p><a href="/audit/children/{}">The whole access history</a></p>"#,
                super::audit::access_rows(&latest),
                record.contactpoint_id.as_digits()
            )
        }
        Err(_) => String::new(),
    };
    let merged = match contactpoint_domain::ContactPointId::parse(&id) {
        Ok(asked) if asked != record.contactpoint_id => format!(
            r#"<p class="notice" role="note">ContactPoint ID {} was merged into this record: it is the same child.</p>"#,
            escape(&asked.as_digits())
        ),
        _ => String::new(),
    };
    Ok(shown(
        &user,
        &format!("{} {}", record.given_name, record.family_name),
        &format!("{merged}{}{history}", render_record(&record)),
    ))
}

fn contact(telephone: Option<&str>, email: Option<&str>) -> String {
    [telephone, email]
        .into_iter()
        .flatten()
        .map(escape)
        .collect::<Vec<_>>()
        .join(", ")
}

fn address_text(state: &AddressState) -> String {
    match state {
        AddressState::Current { address } | AddressState::LastKnown { address } => {
            let lines: Vec<&str> = [
                Some(address.line1.as_str()),
                address.line2.as_deref(),
                Some(address.town.as_str()),
                Some(address.postcode.as_str()),
            ]
            .into_iter()
            .flatten()
            .collect();
            let known = if matches!(state, AddressState::LastKnown { .. }) {
                " (last known)"
            } else {
                ""
            };
            format!("{}{known}", escape(&lines.join(", ")))
        }
        AddressState::NoKnownAddress => "No known address".to_owned(),
        AddressState::LeftEngland { intends_to_return } => {
            format!(
                "Left England (return: {})",
                escape(&intends_to_return.code().replace('_', " "))
            )
        }
    }
}

fn involvement_row(i: &Involvement) -> String {
    let practitioner = i
        .practitioner
        .as_ref()
        .map(|p| {
            format!(
                "{} {}<br>{}",
                escape(p.given_name.as_str()),
                escape(p.family_name.as_str()),
                contact(
                    p.telephone.as_ref().map(|t| t.as_str()),
                    p.email.as_ref().map(|e| e.as_str())
                )
            )
        })
        .unwrap_or_default();
    let mut marks = Vec::new();
    if i.lead_professional {
        marks.push("Lead professional".to_owned());
    }
    if let Some(on) = i.caf_completed_on {
        marks.push(format!("CAF completed {}", on.format("%-d %B %Y")));
    }
    format!(
        "<tr><td>{service}<br><span class=\"hint\">{organisation}, {category}</span></td><td>{service_contact}</td><td>{practitioner}</td><td>{started}{ended}</td><td>{marks}</td><td>{source}, {supplied}</td></tr>",
        service = escape(&i.service.name),
        organisation = escape(&i.service.organisation_name),
        category = escape(&i.service.category.code().replace('_', " ")),
        service_contact = contact(i.service.telephone.as_ref().map(|t| t.as_str()), i.service.email.as_ref().map(|e| e.as_str())),
        started = i.started_on.format("%-d %b %Y"),
        ended = i.ended_on.map(|e| format!(" to {}", e.format("%-d %b %Y"))).unwrap_or_default(),
        marks = marks.join("<br>"),
        source = escape(i.provenance.source.as_str()),
        supplied = i.provenance.supplied_at.format("%-d %b %Y"),
    )
}

/// The record as projected for this viewer: the pages render nothing the projection left out.
fn render_record(r: &ProjectedRecord) -> String {
    let banner = match r.projection {
        ProjectionKind::Shielded => format!(
            r#"<div class="notice" role="alert"><strong>{}</strong></div>"#,
            escape(r.shielded_contact.as_deref().unwrap_or("Shielded"))
        ),
        ProjectionKind::ShieldOverride => r#"<div class="error-summary" role="alert"><strong>Shield override in force for this view only.</strong> The responsible local team has been alerted.</div>"#.to_owned(),
        ProjectionKind::ShieldedForResponsibleTeam => r#"<div class="notice" role="note"><strong>Shielded.</strong> Shown to you as the responsible local ContactPoint team.</div>"#.to_owned(),
        ProjectionKind::Full => String::new(),
    };
    let sensitive = if r.sensitive_services_involved {
        r#"<p class="notice"><strong>One or more sensitive services are involved.</strong> Their details are shown only to those services.</p>"#
    } else {
        ""
    };
    let parents: String = r
        .parents_carers
        .iter()
        .map(|p| {
            let details = p
                .contact
                .as_ref()
                .map(|c| {
                    let address = c
                        .address
                        .as_ref()
                        .map(|a| format!("{}, {}, {}", a.line1, a.town, a.postcode.as_str()))
                        .unwrap_or_default();
                    format!(
                        "{} {}",
                        escape(&address),
                        contact(c.telephone.as_ref().map(|t| t.as_str()), None)
                    )
                })
                .unwrap_or_default();
            format!(
                "<li>{} {} ({}) {details}</li>",
                escape(p.given_name.as_str()),
                escape(p.family_name.as_str()),
                escape(&p.relationship.code().replace('_', " "))
            )
        })
        .collect();
    let involvements: String = r.involvements.iter().map(involvement_row).collect();
    let involvements = if r.involvements.is_empty() {
        "<p>None shown.</p>".to_owned()
    } else {
        format!("<table><thead><tr><th>Service</th><th>Contact</th><th>Practitioner</th><th>Involved</th><th>Indicators</th><th>Supplied by</th></tr></thead><tbody>{involvements}</tbody></table>")
    };
    let former = if r.former_family_names.is_empty() {
        String::new()
    } else {
        format!(
            "<dt>Former family names</dt><dd>{}</dd>",
            escape(
                &r.former_family_names
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        )
    };
    let address = r
        .address
        .as_ref()
        .map(|a| format!("<dt>Address</dt><dd>{}</dd>", address_text(a)))
        .unwrap_or_default();
    let updated = r
        .last_updated
        .as_ref()
        .map(|p| {
            format!(
                "<p class=\"hint\">Last updated {} by {}.</p>",
                p.supplied_at.format("%-d %B %Y"),
                escape(p.source.as_str())
            )
        })
        .unwrap_or_default();
    format!(
        r#"<h1>{given} {middle}{family}</h1>{banner}{updated}
<dl><dt>ContactPoint ID</dt><dd>{id}</dd><dt>Date of birth</dt><dd>{born}</dd><dt>Gender</dt><dd>{gender}</dd>{former}{address}<dt>Local authority</dt><dd>{la}</dd></dl>
<h2>Parents and carers</h2><ul>{parents}</ul>
<h2>Services and practitioners involved</h2>{sensitive}{involvements}
<p><a href="/children">Find another child</a></p>"#,
        given = escape(r.given_name.as_str()),
        middle = r
            .middle_names
            .as_ref()
            .map(|m| format!("{} ", escape(m.as_str())))
            .unwrap_or_default(),
        family = escape(r.family_name.as_str()),
        id = r.contactpoint_id.as_digits(),
        born = r.date_of_birth.format("%-d %B %Y"),
        gender = escape(&r.gender.code().replace('_', " ")),
        la = escape(r.local_authority.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::match_percent;

    #[test]
    fn a_child_far_below_the_first_reads_under_one_percent_never_zero() {
        assert_eq!(match_percent(0.0), "under 1%");
        assert_eq!(match_percent(0.004), "under 1%");
        assert_eq!(match_percent(0.5), "50%");
        assert_eq!(match_percent(1.0), "100%");
    }
}
