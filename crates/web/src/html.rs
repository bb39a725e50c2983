//! Server-rendered pages, following the GOV.UK Design System's structure: they work without
//! JavaScript, and with a keyboard and a screen reader.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A moment as the pages show it: `5 Dec 2026 21:40` (UTC).
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %b %Y %H:%M").to_string()
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A whole page. `signed_in` adds the account and sign-out links to the header.
pub fn page(title: &str, signed_in: Option<(&str, &str)>, main: &str) -> Html<String> {
    let nav = match signed_in {
        Some((name, csrf)) => format!(
            r#"<nav aria-label="Account"><span>{}</span> <a href="/account">Your account</a>
<form method="post" action="/sign-out" class="inline"><input type="hidden" name="csrf" value="{}"><button type="submit" class="link">Sign out</button></form></nav>"#,
            escape(name),
            escape(csrf)
        ),
        None => String::new(),
    };
    Html(format!(
        r##"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ContactPoint</title>
<style>
body {{ font-family: Arial, sans-serif; margin: 0; color: #0b0c0c; line-height: 1.4; }}
.skip-link {{ position: absolute; left: -9999px; }}
.skip-link:focus {{ left: 1rem; top: 1rem; background: #fd0; padding: .5rem; }}
header {{ background: #0b0c0c; color: #fff; padding: .75rem 1rem; display: flex; justify-content: space-between; align-items: center; }}
header a, header .link {{ color: #fff; }}
.brand {{ font-weight: bold; font-size: 1.2rem; color: #fff; text-decoration: none; }}
main {{ max-width: 960px; margin: 0 auto; padding: 1.5rem 1rem; }}
label {{ display: block; font-weight: bold; margin-top: 1rem; }}
.hint {{ color: #505a5f; display: block; font-weight: normal; }}
input, select {{ display: block; font-size: 1rem; padding: .3rem; border: 2px solid #0b0c0c; margin-top: .25rem; }}
input[type=checkbox] {{ display: inline; }}
button {{ font-size: 1rem; background: #00703c; color: #fff; border: 0; padding: .5rem 1rem; margin-top: 1rem; cursor: pointer; }}
button.link {{ background: none; color: #1d70b8; padding: 0; margin: 0; text-decoration: underline; }}
header button.link {{ color: #fff; }}
button.warning {{ background: #d4351c; }}
form.inline {{ display: inline; }}
.error-summary {{ border: 4px solid #d4351c; padding: 1rem; margin-bottom: 1rem; }}
.notice {{ border-left: 10px solid #1d70b8; padding: .5rem 1rem; background: #f3f2f1; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; border-bottom: 1px solid #b1b4b6; padding: .4rem; vertical-align: top; }}
a:focus, button:focus, input:focus, select:focus {{ outline: 3px solid #fd0; }}
</style>
</head>
<body>
<a href="#main" class="skip-link">Skip to main content</a>
<header role="banner"><a class="brand" href="/">ContactPoint</a>{nav}</header>
<main id="main" role="main">
{main}
</main>
</body>
</html>"##,
        title = escape(title),
    ))
}

/// A page answering with a status other than 200.
pub fn page_with_status(status: StatusCode, title: &str, main: &str) -> Response {
    (status, page(title, None, main)).into_response()
}

/// The error summary at the top of a form, linking to each field named.
pub fn error_summary(problems: &[(String, String)]) -> String {
    if problems.is_empty() {
        return String::new();
    }
    let items: String = problems
        .iter()
        .map(|(field, message)| {
            format!(
                r##"<li><a href="#{}">{}</a></li>"##,
                escape(field),
                escape(message)
            )
        })
        .collect();
    format!(
        r#"<div class="error-summary" role="alert" tabindex="-1"><h2>There is a problem</h2><ul>{items}</ul></div>"#
    )
}

/// The four factors, for sign-in and for fresh authentication before a sensitive action.
pub fn factor_fields(with_username: bool) -> String {
    let username = if with_username {
        r#"<label for="username">User name</label><input id="username" name="username" autocomplete="username" spellcheck="false" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>"#
    } else {
        ""
    };
    format!(
        r#"{username}
<label for="pin">PIN</label><input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" required>
<label for="otp">Security code <span class="hint">The 6-digit code your security token shows now</span></label><input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" required>"#
    )
}
