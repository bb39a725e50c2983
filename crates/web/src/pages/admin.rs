//! The local ContactPoint team's pages for users and organisations.

use super::Fields;
use crate::error::PageError;
use crate::html::{escape, factor_fields, page};
use crate::identity_service::{self as service, NewUserInput};
use crate::session::PageUser;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::Form;
use contactpoint_domain::{Accreditation, Duty, Role};
use std::collections::HashMap;

fn fresh_factors_note() -> String {
    format!(
        "<p>Confirm with your PIN and a new code from your security token.</p>{}",
        factor_fields(false)
    )
}

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map_or_else(String::new, |d| d.to_string())
}

pub async fn users(
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let asked = query.get("la").map(String::as_str);
    let (la, users) = service::list_users(&state, &user.0, asked).await?;
    let (_, organisations) = service::list_organisations(&state, &user.0, asked).await?;
    let rows: String = users
        .iter()
        .map(|u| {
            format!(
                r#"<tr><td><a href="/admin/users/{id}">{username}</a></td><td>{name}</td><td>{org}</td><td>{role}</td><td>{state}</td><td>{crb}</td></tr>"#,
                id = u.id,
                username = escape(u.username.as_str()),
                name = escape(&format!("{} {}", u.given_name, u.family_name)),
                org = escape(&u.organisation.name),
                role = escape(u.role.code()),
                state = escape(u.state.code()),
                crb = date(u.vetting.criminal_records_checked_on),
            )
        })
        .collect();
    let org_options: String = organisations
        .iter()
        .map(|o| format!(r#"<option value="{}">{}</option>"#, o.id, escape(&o.name)))
        .collect();
    let role_options: String = Role::ALL
        .iter()
        .map(|r| format!(r#"<option value="{0}">{0}</option>"#, r.code()))
        .collect();
    let duty_boxes: String = Duty::ALL
        .iter()
        .map(|d| {
            format!(
                r#"<label><input type="checkbox" name="duty_{0}" value="yes"> {0}</label>"#,
                d.code()
            )
        })
        .collect();
    let body = format!(
        r#"<h1>Users in {la}</h1>
<table><thead><tr><th>User name</th><th>Name</th><th>Organisation</th><th>Role</th><th>State</th><th>Criminal records check</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Add a user</h2>
<form method="post" action="/admin/users">
<input type="hidden" name="csrf" value="{csrf}">
<label for="username">User name</label><input id="username" name="username" required>
<label for="given_name">Given name</label><input id="given_name" name="given_name" required>
<label for="family_name">Family name</label><input id="family_name" name="family_name" required>
<label for="email">E-mail address</label><input id="email" name="email" type="email">
<label for="organisation_id">Organisation</label><select id="organisation_id" name="organisation_id">{org_options}</select>
<label for="role">Role</label><select id="role" name="role">{role_options}</select>
<fieldset><legend>Duties (local ContactPoint team only)</legend>{duty_boxes}</fieldset>
<label><input type="checkbox" name="shield_override" value="yes"> Grant shield override (child-protection users)</label>
<label for="criminal_records_checked_on">Enhanced criminal records check on <span class="hint">YYYY-MM-DD</span></label><input id="criminal_records_checked_on" name="criminal_records_checked_on">
<label for="training_completed_on">Training completed on</label><input id="training_completed_on" name="training_completed_on">
<label for="agreement_accepted_on">End-user agreement accepted on</label><input id="agreement_accepted_on" name="agreement_accepted_on">
<label for="password">First password <span class="hint">12 characters or more</span></label><input id="password" name="password" type="password" autocomplete="new-password" required>
<label for="user_pin">Their PIN <span class="hint">6 to 8 digits</span></label><input id="user_pin" name="user_pin" type="password" inputmode="numeric" required>
{fresh}
<button type="submit">Add user</button>
</form>"#,
        la = escape(la.as_str()),
        csrf = escape(user.0.csrf()),
        fresh = fresh_factors_note(),
    );
    let (name, csrf) = user.0.header();
    Ok(page("Users", Some((&name, csrf)), &body))
}

pub async fn create_user(
    State(state): State<AppState>,
    user: PageUser,
    Form(fields): Form<Fields>,
) -> Result<Html<String>, PageError> {
    fields.check_csrf(&user)?;
    let input = NewUserInput {
        username: fields.get("username").into(),
        given_name: fields.get("given_name").into(),
        family_name: fields.get("family_name").into(),
        email: Some(fields.get("email").into()),
        organisation_id: fields.get("organisation_id").parse().unwrap_or(-1),
        role: fields.get("role").into(),
        duties: Duty::ALL
            .iter()
            .filter(|d| fields.get(&format!("duty_{}", d.code())) == "yes")
            .map(|d| d.code().to_owned())
            .collect(),
        shield_override: fields.get("shield_override") == "yes",
        criminal_records_checked_on: Some(fields.get("criminal_records_checked_on").into()),
        training_completed_on: Some(fields.get("training_completed_on").into()),
        agreement_accepted_on: Some(fields.get("agreement_accepted_on").into()),
        password: fields.raw("password").into(),
        user_pin: fields.get("user_pin").into(),
        pin: fields.get("pin").into(),
        otp: fields.get("otp").into(),
    };
    let created = service::create_user(&state, &user.0, &input).await?;
    let body = format!(
        r#"<h1>User {username} added</h1>
<p class="notice">Load this security-token key into the user's authenticator now. It is shown only once.</p>
<figure>{qr}<figcaption>Key: <code>{key}</code></figcaption></figure>
<p><a href="/admin/users/{id}">See the user</a></p>"#,
        username = escape(created.username.as_str()),
        qr = created.totp_secret.qr_svg(created.username.as_str()),
        key = escape(&created.totp_secret.to_base32()),
        id = created.id,
    );
    let (name, csrf) = user.0.header();
    Ok(page("User added", Some((&name, csrf)), &body))
}

pub async fn user_detail(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, PageError> {
    let (_, users) = service::list_users(&state, &user.0, None).await?;
    let target = users
        .into_iter()
        .find(|u| u.id == id)
        .ok_or(PageError::from(
            contactpoint_storage::StorageError::NotFound { what: "user" },
        ))?;
    let state_options: String = ["active", "suspended", "closed"]
        .iter()
        .map(|s| format!(r#"<option value="{s}">{s}</option>"#))
        .collect();
    let v = target.vetting;
    let body = format!(
        r#"<h1>{name}</h1>
<p>User name {username}, {role} at {org}. Account {state}.</p>
<h2>Account state</h2>
<form method="post" action="/admin/users/{id}/state">
<input type="hidden" name="csrf" value="{csrf}">
<label for="state">New state <span class="hint">choose active to unlock a locked account</span></label><select id="state" name="state">{state_options}</select>
{fresh}
<button type="submit">Change state</button>
</form>
<h2>Vetting</h2>
<form method="post" action="/admin/users/{id}/vetting">
<input type="hidden" name="csrf" value="{csrf}">
<label for="criminal_records_checked_on">Enhanced criminal records check on</label><input id="criminal_records_checked_on" name="criminal_records_checked_on" value="{crb}">
<label for="training_completed_on">Training completed on</label><input id="training_completed_on" name="training_completed_on" value="{training}">
<label for="agreement_accepted_on">End-user agreement accepted on</label><input id="agreement_accepted_on" name="agreement_accepted_on" value="{agreement}">
{fresh}
<button type="submit">Save vetting</button>
</form>"#,
        name = escape(&format!("{} {}", target.given_name, target.family_name)),
        username = escape(target.username.as_str()),
        role = escape(target.role.code()),
        org = escape(&target.organisation.name),
        state = escape(target.state.code()),
        csrf = escape(user.0.csrf()),
        fresh = fresh_factors_note(),
        crb = date(v.criminal_records_checked_on),
        training = date(v.training_completed_on),
        agreement = date(v.agreement_accepted_on),
    );
    let (name, csrf) = user.0.header();
    Ok(page("User", Some((&name, csrf)), &body))
}

fn done(user: &PageUser, title: &str, back: &str) -> Html<String> {
    let (name, csrf) = user.0.header();
    page(
        title,
        Some((&name, csrf)),
        &format!(
            r#"<h1>{}</h1><p><a href="{}">Back</a></p>"#,
            escape(title),
            escape(back)
        ),
    )
}

pub async fn set_user_state(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Result<Html<String>, PageError> {
    fields.check_csrf(&user)?;
    service::set_user_state(
        &state,
        &user.0,
        id,
        fields.get("state"),
        fields.get("pin"),
        fields.get("otp"),
    )
    .await?;
    Ok(done(
        &user,
        "Account state changed",
        &format!("/admin/users/{id}"),
    ))
}

pub async fn set_vetting(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Result<Html<String>, PageError> {
    fields.check_csrf(&user)?;
    let dates = service::VettingDates {
        criminal_records_checked_on: Some(fields.get("criminal_records_checked_on")),
        training_completed_on: Some(fields.get("training_completed_on")),
        agreement_accepted_on: Some(fields.get("agreement_accepted_on")),
    };
    service::set_vetting(
        &state,
        &user.0,
        id,
        dates,
        fields.get("pin"),
        fields.get("otp"),
    )
    .await?;
    Ok(done(&user, "Vetting saved", &format!("/admin/users/{id}")))
}

pub async fn organisations(
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let (la, organisations) =
        service::list_organisations(&state, &user.0, query.get("la").map(String::as_str)).await?;
    let accreditation_options = |current: Accreditation| -> String {
        Accreditation::ALL
            .iter()
            .map(|a| {
                format!(
                    r#"<option value="{0}"{1}>{0}</option>"#,
                    a.code(),
                    if *a == current { " selected" } else { "" }
                )
            })
            .collect()
    };
    let rows: String = organisations
        .iter()
        .map(|o| {
            format!(
                r#"<tr><td>{name}</td><td>{kind}</td><td>{acc}</td><td>{web}</td><td>{int}</td>
<td><form method="post" action="/admin/organisations/{id}/accreditation">
<input type="hidden" name="csrf" value="{csrf}">
<label for="accreditation-{id}">Accreditation</label><select id="accreditation-{id}" name="accreditation">{options}</select>
<label><input type="checkbox" name="web_access" value="yes"{web_checked}> Web access</label>
<label><input type="checkbox" name="integration_access" value="yes"{int_checked}> Case-management integration</label>
{fresh}
<button type="submit">Save</button></form></td></tr>"#,
                id = o.id,
                name = escape(&o.name),
                kind = escape(o.kind.code()),
                acc = escape(o.accreditation.code()),
                web = if o.web_access { "yes" } else { "no" },
                int = if o.integration_access { "yes" } else { "no" },
                csrf = escape(user.0.csrf()),
                options = accreditation_options(o.accreditation),
                web_checked = if o.web_access { " checked" } else { "" },
                int_checked = if o.integration_access { " checked" } else { "" },
                fresh = fresh_factors_note(),
            )
        })
        .collect();
    let body = format!(
        r#"<h1>Organisations in {}</h1><p>An accredited organisation with neither kind of access is accredited for mediated access only.</p>
<table><thead><tr><th>Organisation</th><th>Kind</th><th>Accreditation</th><th>Web</th><th>Integration</th><th>Change</th></tr></thead><tbody>{rows}</tbody></table>"#,
        escape(la.as_str())
    );
    let (name, csrf) = user.0.header();
    Ok(page("Organisations", Some((&name, csrf)), &body))
}

pub async fn set_accreditation(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> Result<Html<String>, PageError> {
    fields.check_csrf(&user)?;
    let change = service::AccreditationChange {
        accreditation: fields.get("accreditation").into(),
        web_access: fields.get("web_access") == "yes",
        integration_access: fields.get("integration_access") == "yes",
        pin: fields.get("pin").into(),
        otp: fields.get("otp").into(),
    };
    service::set_accreditation(&state, &user.0, id, &change).await?;
    Ok(done(&user, "Accreditation saved", "/admin/organisations"))
}
