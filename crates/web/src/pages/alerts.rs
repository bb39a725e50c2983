//! The shield-override alert queue on the web, for the responsible local team.

use super::Fields;
use crate::error::PageError;
use crate::html::{escape, page, when};
use crate::session::PageUser;
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
) -> Result<Html<String>, PageError> {
    let alerts = crate::shield_alerts::list(&state, &user.0).await?;
    let csrf = escape(user.0.csrf());
    let rows: String = alerts
        .iter()
        .map(|a| {
            let status = match a.acknowledged_at {
                Some(at) => format!("Acknowledged {}", when(at)),
                None => format!(
                    r#"<form method="post" action="/admin/shield-alerts/{}/acknowledge"><input type="hidden" name="csrf" value="{csrf}"><button type="submit">Acknowledge</button></form>"#,
                    a.id
                ),
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{status}</td></tr>",
                when(a.raised_at),
                escape(&a.contactpoint_id),
                escape(&a.raised_by_username),
                escape(&a.raised_by_organisation),
                escape(&a.reason),
            )
        })
        .collect();
    let open = alerts
        .iter()
        .filter(|a| a.acknowledged_at.is_none())
        .count();
    let (name, csrf) = user.0.header();
    Ok(page(
        "Shield override alerts",
        Some((&name, csrf)),
        &format!(
            r#"<h1>Shield override alerts</h1><p role="status">{open} to deal with.</p>
<table><thead><tr><th>When</th><th>Child (ContactPoint ID)</th><th>By</th><th>Reason given</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>"#
        ),
    ))
}

pub async fn acknowledge(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<i64>,
    axum::Form(fields): axum::Form<Fields>,
) -> Result<Response, PageError> {
    fields.check_csrf(&user)?;
    crate::shield_alerts::acknowledge(&state, &user.0, id).await?;
    Ok(Redirect::to("/admin/shield-alerts").into_response())
}
