//! Sign-in and sign-out pages.

use super::Fields;
use crate::html::{error_summary, escape, factor_fields, page};
use crate::session::{
    cookie, csrf_matches, set_cookie, PageUser, SESSION_COOKIE, SIGN_IN_CSRF_COOKIE,
};
use crate::signin::{sign_in, Factors};
use crate::{AppState, SourceAddress};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use contactpoint_auth::new_token;
use contactpoint_domain::{AccessRoute, AuditEvent, Outcome};

const SIGN_IN_SCRIPT: &str = r#"
const b64 = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));
const enc = b => b ? btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : null;
document.getElementById('use-key').addEventListener('click', async () => {
  const form = document.querySelector('form[action="/sign-in"]');
  const reply = await fetch('/sign-in/security-key-challenge', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({username: form.username.value})});
  const {ceremony_id, options} = await reply.json();
  const pk = options.publicKey;
  pk.challenge = b64(pk.challenge);
  (pk.allowCredentials || []).forEach(c => c.id = b64(c.id));
  const cred = await navigator.credentials.get({publicKey: pk});
  form.security_key_ceremony.value = ceremony_id;
  form.security_key_response.value = JSON.stringify({id: cred.id, rawId: enc(cred.rawId), type: cred.type, extensions: {},
    response: {authenticatorData: enc(cred.response.authenticatorData), clientDataJSON: enc(cred.response.clientDataJSON),
      signature: enc(cred.response.signature), userHandle: enc(cred.response.userHandle)}});
  form.otp.required = false;
  form.submit();
});
"#;

fn form(csrf: &str, problem: Option<&str>) -> String {
    let summary = problem
        .map(|p| error_summary(&[("username".into(), p.into())]))
        .unwrap_or_default();
    format!(
        r#"{summary}<h1>Sign in to ContactPoint</h1>
<form method="post" action="/sign-in" novalidate>
<input type="hidden" name="csrf" value="{}">
{}
<input type="hidden" name="security_key_ceremony" value="">
<input type="hidden" name="security_key_response" value="">
<button type="submit">Sign in</button>
<p>Or, with a security key instead of a code: <button type="button" id="use-key" class="link">sign in with your security key</button></p>
</form>
<script>{SIGN_IN_SCRIPT}</script>"#,
        escape(csrf),
        factor_fields(true)
    )
}

/// The sign-in form. Its CSRF token travels in a SameSite=Strict cookie and a hidden field,
/// and the two must match (there is no session yet to hold it).
pub async fn show(State(state): State<AppState>) -> Response {
    let csrf = new_token();
    (
        [(
            header::SET_COOKIE,
            set_cookie(
                SIGN_IN_CSRF_COOKIE,
                &csrf,
                state.settings.secure_cookies,
                None,
            ),
        )],
        page("Sign in", None, &form(&csrf, None)),
    )
        .into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    SourceAddress(address): SourceAddress,
    headers: axum::http::HeaderMap,
    Form(fields): Form<Fields>,
) -> Response {
    let expected = cookie(&headers, SIGN_IN_CSRF_COOKIE).unwrap_or_default();
    let fresh_csrf = new_token();
    let set_csrf = set_cookie(
        SIGN_IN_CSRF_COOKIE,
        &fresh_csrf,
        state.settings.secure_cookies,
        None,
    );
    if !csrf_matches(&expected, fields.raw("csrf")) {
        let body = form(
            &fresh_csrf,
            Some("The form had expired. Enter your details again."),
        );
        return (
            StatusCode::BAD_REQUEST,
            [(header::SET_COOKIE, set_csrf)],
            page("Sign in", None, &body),
        )
            .into_response();
    }
    let factors = Factors {
        username: fields.get("username").to_owned(),
        password: fields.raw("password").to_owned(),
        pin: fields.get("pin").to_owned(),
        otp: fields.get("otp").to_owned(),
        security_key: match (
            fields.get("security_key_ceremony"),
            fields.raw("security_key_response"),
        ) {
            ("", _) | (_, "") => None,
            (ceremony, answer) => Some((ceremony.to_owned(), answer.to_owned())),
        },
    };
    match sign_in(&state, &factors, &address, AccessRoute::Web, None).await {
        Ok(opened) => {
            let session = set_cookie(
                SESSION_COOKIE,
                &opened.token,
                state.settings.secure_cookies,
                None,
            );
            let clear = set_cookie(
                SIGN_IN_CSRF_COOKIE,
                "",
                state.settings.secure_cookies,
                Some(0),
            );
            (
                axum::response::AppendHeaders([
                    (header::SET_COOKIE, session),
                    (header::SET_COOKIE, clear),
                ]),
                Redirect::to("/account"),
            )
                .into_response()
        }
        Err(refusal) => {
            let body = form(&fresh_csrf, Some(&refusal.message()));
            (
                StatusCode::UNAUTHORIZED,
                [(header::SET_COOKIE, set_csrf)],
                page("Sign in", None, &body),
            )
                .into_response()
        }
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    user: PageUser,
    Form(fields): Form<Fields>,
) -> Response {
    if let Err(e) = fields.check_csrf(&user) {
        return e.into_response();
    }
    let event = AuditEvent::new(
        state.clock.now(),
        AccessRoute::Web,
        "sign_out",
        Outcome::Success,
    )
    .by(user.0.user_id());
    if let Err(e) = state
        .store
        .end_sessions(user.0.user_id(), Some(&user.0.token_digest), &event)
        .await
    {
        return crate::error::PageError::from(e).into_response();
    }
    let clear = set_cookie(SESSION_COOKIE, "", state.settings.secure_cookies, Some(0));
    (
        [(header::SET_COOKIE, clear)],
        page(
            "Signed out",
            None,
            r#"<h1>You have signed out</h1><p><a href="/sign-in">Sign in again</a></p>"#,
        ),
    )
        .into_response()
}
