//! The signed-in user's own account: who they are, signing out everywhere, and replacing
//! their security token.

use super::Fields;
use crate::error::PageError;
use crate::html::{escape, factor_fields, page};
use crate::identity_service as service;
use crate::session::PageUser;
use crate::AppState;
use axum::extract::State;
use axum::response::Html;
use axum::Form;
use contactpoint_auth::TotpSecret;
use contactpoint_domain::{authorize, Action, Target};

pub async fn show(user: PageUser) -> Result<Html<String>, PageError> {
    authorize(&user.0.actor(), Action::ViewOwnAccount, &Target::Own)?;
    let u = &user.0.session.user;
    let date = |d: Option<chrono::NaiveDate>| {
        d.map_or_else(
            || "not recorded".to_owned(),
            |d| d.format("%-d %B %Y").to_string(),
        )
    };
    let audit = if matches!(
        u.role,
        contactpoint_domain::Role::LocalTeam | contactpoint_domain::Role::Auditor
    ) {
        r#"<h2>Audit</h2><p><a href="/audit">Review the audit trail</a></p>"#
    } else {
        ""
    };
    let admin = if u.role == contactpoint_domain::Role::LocalTeam
        || u.role == contactpoint_domain::Role::NationalAdministrator
    {
        r#"<h2>Administration</h2><ul><li><a href="/admin/users">Users</a></li><li><a href="/admin/organisations">Organisations and accreditation</a></li></ul>"#
    } else {
        ""
    };
    let data = if authorize(
        &user.0.actor(),
        Action::ResolveSupplyExceptions,
        &Target::LocalAuthority(u.organisation.local_authority.clone()),
    )
    .is_ok()
    {
        r#"<h2>Data management</h2><ul><li><a href="/admin/exceptions">Supplied records waiting for a decision</a></li><li><a href="/admin/merges">Merge two records of one child</a></li></ul>"#
    } else if authorize(
        &user.0.actor(),
        Action::ResolveSupplyExceptions,
        &Target::NoLocalAuthority,
    )
    .is_ok()
    {
        r#"<h2>Data management</h2><ul><li><a href="/admin/exceptions">Supplied records no authority could be found for</a></li><li><a href="/admin/supplier-accounts">Suppliers' system accounts</a></li></ul>"#
    } else {
        ""
    };
    let idle = crate::session::IDLE_MINUTES;
    let body = format!(
        r#"<h1>Your account</h1>
<table>
<tr><th scope="row">Name</th><td>{name}</td></tr>
<tr><th scope="row">User name</th><td>{username}</td></tr>
<tr><th scope="row">Role</th><td>{role}</td></tr>
<tr><th scope="row">Organisation</th><td>{org}</td></tr>
<tr><th scope="row">Criminal records check</th><td>{crb}</td></tr>
<tr><th scope="row">Training completed</th><td>{training}</td></tr>
</table>
<p class="notice">You are signed out after {idle} minutes without activity, and after 12 hours in any case.</p>
{admin}
{data}
{audit}
<h2>Password and PIN</h2>
<p><a href="/account/password">Change your password or PIN</a></p>
<h2>Security token</h2>
<p><a href="/account/security-token">Set up a new security token</a></p>
<h2>Sessions</h2>
<form method="post" action="/account/sign-out-everywhere"><input type="hidden" name="csrf" value="{csrf}"><button type="submit" class="warning">Sign out everywhere</button></form>"#,
        name = escape(&format!("{} {}", u.given_name, u.family_name)),
        username = escape(u.username.as_str()),
        role = escape(u.role.code()),
        org = escape(&u.organisation.name),
        crb = date(u.vetting.criminal_records_checked_on),
        training = date(u.vetting.training_completed_on),
        csrf = escape(user.0.csrf()),
    );
    let (name, csrf) = user.0.header();
    Ok(page("Your account", Some((&name, csrf)), &body))
}

pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    user: PageUser,
    Form(fields): Form<Fields>,
) -> Result<Html<String>, PageError> {
    fields.check_csrf(&user)?;
    let ended = service::sign_out_everywhere(&state, &user.0).await?;
    Ok(page(
        "Signed out everywhere",
        None,
        &format!(
            r#"<h1>You have signed out everywhere</h1><p>{ended} sessions ended.</p><p><a href="/sign-in">Sign in again</a></p>"#
        ),
    ))
}

fn enrol_form(user: &PageUser, secret: &TotpSecret, problem: Option<&str>) -> String {
    let account = user.0.session.user.username.as_str();
    let summary = problem
        .map(|p| crate::html::error_summary(&[("new_code".into(), p.into())]))
        .unwrap_or_default();
    format!(
        r#"{summary}<h1>Set up a new security token</h1>
<p>Scan this code with your authenticator app, or type in the key below.</p>
<figure>{qr}<figcaption>Key: <code>{key}</code></figcaption></figure>
<form method="post" action="/account/security-token">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="secret" value="{key}">
<label for="new_code">Code from the new token</label><input id="new_code" name="new_code" inputmode="numeric" autocomplete="off" required>
<p>Then confirm it is you with your PIN and a code from your current token.</p>
{factors}
<button type="submit">Use the new token</button>
</form>"#,
        qr = secret.qr_svg(account),
        key = escape(&secret.to_base32()),
        csrf = escape(user.0.csrf()),
        factors = factor_fields(false),
    )
}

pub async fn show_enrol(user: PageUser) -> Result<Html<String>, PageError> {
    authorize(&user.0.actor(), Action::EnrolSecurityToken, &Target::Own)?;
    let (name, csrf) = user.0.header();
    Ok(page(
        "Set up a security token",
        Some((&name, csrf)),
        &enrol_form(&user, &TotpSecret::generate(), None),
    ))
}

pub async fn enrol(
    State(state): State<AppState>,
    user: PageUser,
    Form(fields): Form<Fields>,
) -> Result<Html<String>, PageError> {
    fields.check_csrf(&user)?;
    match service::enrol_totp(
        &state,
        &user.0,
        fields.get("secret"),
        fields.get("new_code"),
        fields.get("pin"),
        fields.get("otp"),
    )
    .await
    {
        Ok(()) => {
            let (name, csrf) = user.0.header();
            Ok(page(
                "Security token set up",
                Some((&name, csrf)),
                r#"<h1>Your new security token is set up</h1><p>Use codes from it when you next sign in.</p><p><a href="/account">Back to your account</a></p>"#,
            ))
        }
        Err(service::ServiceError::Invalid(e)) => {
            let secret = TotpSecret::from_base32(fields.get("secret"))
                .unwrap_or_else(|_| TotpSecret::generate());
            let (name, csrf) = user.0.header();
            Ok(page(
                "Set up a security token",
                Some((&name, csrf)),
                &enrol_form(
                    &user,
                    &secret,
                    Some(&format!("{}: {}", e.field, e.expected)),
                ),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

fn password_form(user: &PageUser, problem: Option<&str>) -> String {
    let summary = problem
        .map(|p| crate::html::error_summary(&[("new_password".into(), p.into())]))
        .unwrap_or_default();
    format!(
        r#"{summary}<h1>Change your password or PIN</h1>
<form method="post" action="/account/password">
<input type="hidden" name="csrf" value="{csrf}">
<label for="current_password">Current password</label><input id="current_password" name="current_password" type="password" autocomplete="current-password" required>
<label for="new_password">New password <span class="hint">12 characters or more; a few unrelated words make a good one</span></label><input id="new_password" name="new_password" type="password" autocomplete="new-password" required>
<label for="new_pin">New PIN <span class="hint">leave empty to keep your PIN; 6 to 8 digits</span></label><input id="new_pin" name="new_pin" type="password" inputmode="numeric" autocomplete="off">
<p>Confirm with your current PIN and a new code from your security token.</p>
{factors}
<button type="submit">Change</button>
</form>"#,
        csrf = escape(user.0.csrf()),
        factors = factor_fields(false),
    )
}

pub async fn show_password(user: PageUser) -> Result<Html<String>, PageError> {
    authorize(&user.0.actor(), Action::ViewOwnAccount, &Target::Own)?;
    let (name, csrf) = user.0.header();
    Ok(page(
        "Change your password",
        Some((&name, csrf)),
        &password_form(&user, None),
    ))
}

pub async fn change_password(
    State(state): State<AppState>,
    user: PageUser,
    Form(fields): Form<Fields>,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    fields.check_csrf(&user)?;
    let new_pin = fields.get("new_pin");
    let result = service::change_secrets(
        &state,
        &user.0,
        fields.raw("current_password"),
        fields.raw("new_password"),
        Some(new_pin),
        fields.get("pin"),
        fields.get("otp"),
    )
    .await;
    let (name, csrf) = user.0.header();
    match result {
        Ok(()) => Ok(page("Password changed", Some((&name, csrf)), r#"<h1>Your password has been changed</h1><p>Your other sessions have ended.</p><p><a href="/account">Back to your account</a></p>"#).into_response()),
        Err(service::ServiceError::Invalid(e)) => Ok((
            axum::http::StatusCode::BAD_REQUEST,
            page("Change your password", Some((&name, csrf)), &password_form(&user, Some(&format!("{}: {}", e.field, e.expected)))),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
