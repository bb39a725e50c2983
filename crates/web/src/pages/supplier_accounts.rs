//! The national administrators' page for suppliers' system accounts: who may send records
//! for which source, a form to register a system (its secret shown once) and one to revoke
//! each standing account.

use super::Fields;
use crate::error::PageError;
use crate::html::{escape, factor_fields, page, when};
use crate::session::PageUser;
use crate::supplier_accounts::{self as service, SupplierRegistration};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::Html;
use axum::Form;

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
) -> Result<Html<String>, PageError> {
    let accounts = service::accounts(&state, &user.0).await?;
    let sources = state.store.source_codes().await.map_err(PageError::from)?;
    let csrf = escape(user.0.csrf());
    let rows: String = accounts
        .iter()
        .map(|a| {
            let standing = match a.revoked_at {
                Some(at) => format!("revoked {}", when(at)),
                None => format!(
                    r#"standing <form method="post" action="/admin/supplier-accounts/{id}/revoke">
<input type="hidden" name="csrf" value="{csrf}">
{factors}
<button type="submit" class="warning">Revoke</button></form>"#,
                    id = escape(&a.client_id),
                    factors = factor_fields(false),
                ),
            };
            format!(
                "<tr><td><code>{client}</code></td><td>{source}</td><td>{name}</td><td>{authoritative}</td><td>{created}</td><td>{standing}</td></tr>",
                client = escape(&a.client_id),
                source = escape(a.source.as_str()),
                name = escape(&a.name),
                authoritative = if a.authoritative { "yes" } else { "no" },
                created = when(a.created_at),
            )
        })
        .collect();
    let table = if accounts.is_empty() {
        "<p>No supplier's system has an account yet.</p>".to_owned()
    } else {
        format!(
            "<table><thead><tr><th>Client ID</th><th>Source</th><th>Belongs to</th><th>Authoritative</th><th>Registered</th><th>State</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let source_options: String = sources
        .iter()
        .map(|s| format!(r#"<option value="{0}">{0}</option>"#, escape(s.as_str())))
        .collect();
    let body = format!(
        r#"<h1>Suppliers' system accounts</h1>
<p>A supplier's system sends its records for one source to <code>POST /api/supply/children</code> or <code>/api/supply/involvements</code> with its client ID and secret (HTTP Basic authentication).</p>
{table}
<h2>Register a supplier's system</h2>
<form method="post" action="/admin/supplier-accounts">
<input type="hidden" name="csrf" value="{csrf}">
<label for="source">Source</label><select id="source" name="source">{source_options}</select>
<label for="name">Belongs to <span class="hint">e.g. General Register Office</span></label><input id="name" name="name" required>
<label><input type="checkbox" name="authoritative" value="yes"> Authoritative: a record that matches no child creates one (otherwise it waits for the local team)</label>
<p>Confirm with your PIN and a new code from your security token.</p>{factors}
<button type="submit">Register</button>
</form>"#,
        factors = factor_fields(false),
    );
    let (name, csrf) = user.0.header();
    Ok(page(
        "Suppliers' system accounts",
        Some((&name, csrf)),
        &body,
    ))
}

pub async fn register(
    State(state): State<AppState>,
    user: PageUser,
    Form(fields): Form<Fields>,
) -> Result<Html<String>, PageError> {
    fields.check_csrf(&user)?;
    let request = SupplierRegistration {
        source: fields.get("source").into(),
        name: fields.get("name").into(),
        authoritative: fields.get("authoritative") == "yes",
        pin: fields.get("pin").into(),
        otp: fields.get("otp").into(),
    };
    let registered = service::register(&state, &user.0, &request).await?;
    let body = format!(
        r#"<h1>System account registered for {source}</h1>
<p class="notice">Give the secret to the supplier now, over a secure channel. It is shown only once: only its digest is kept.</p>
<table>
<tr><th scope="row">Client ID</th><td><code id="client-id">{client_id}</code></td></tr>
<tr><th scope="row">Secret</th><td><code id="client-secret">{secret}</code></td></tr>
</table>
<p><a href="/admin/supplier-accounts">Back to suppliers' system accounts</a></p>"#,
        source = escape(registered.source.as_str()),
        client_id = escape(&registered.client_id),
        secret = escape(&registered.client_secret),
    );
    let (name, csrf) = user.0.header();
    Ok(page(
        "System account registered",
        Some((&name, csrf)),
        &body,
    ))
}

pub async fn revoke(
    State(state): State<AppState>,
    user: PageUser,
    Path(client_id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Html<String>, PageError> {
    fields.check_csrf(&user)?;
    let factors = crate::identity_service::FreshFactors {
        pin: fields.get("pin").into(),
        otp: fields.get("otp").into(),
    };
    service::revoke(&state, &user.0, &client_id, &factors).await?;
    let body = format!(
        r#"<h1>System account revoked</h1><p><code>{}</code> is refused from now on.</p><p><a href="/admin/supplier-accounts">Back to suppliers' system accounts</a></p>"#,
        escape(&client_id)
    );
    let (name, csrf) = user.0.header();
    Ok(page("System account revoked", Some((&name, csrf)), &body))
}
