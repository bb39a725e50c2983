//! The web pages.

pub mod account;
pub mod admin;
pub mod alerts;
pub mod audit;
pub mod children;
pub mod data_management;
pub mod sign_in;
pub mod supplier_accounts;

use crate::error::PageError;
use crate::html::page;
use crate::session::{csrf_matches, PageUser};
use axum::response::Html;
use std::collections::HashMap;

/// A submitted form, read as plain strings so that every problem can be reported by field.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(pub HashMap<String, String>);

impl Fields {
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(|s| s.trim()).unwrap_or("")
    }

    pub fn raw(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    /// Refuses a form whose CSRF token is not the session's.
    pub fn check_csrf(&self, user: &PageUser) -> Result<(), PageError> {
        if csrf_matches(user.0.csrf(), self.raw("csrf")) {
            Ok(())
        } else {
            Err(PageError::bad_request(
                "This form has expired. Go back, reload the page and try again.",
            ))
        }
    }
}

pub(crate) async fn home(user: Option<PageUser>) -> Html<String> {
    let header = user.as_ref().map(|u| u.0.header());
    let next = match &user {
        Some(_) => {
            r#"<p><a href="/children">Find a child</a></p><p><a href="/account">Go to your account</a></p>"#
        }
        None => {
            r#"<p><a href="/sign-in">Sign in</a> with your user name, password, PIN and security token.</p>"#
        }
    };
    page(
        "Find out who else is working with a child",
        header.as_ref().map(|(n, c)| (n.as_str(), *c)),
        &format!(
            r#"<h1>Find out who else is working with a child</h1>
<p>ContactPoint is the national directory of children in England and of the services and practitioners working with each of them. It holds contact details only, never case information.</p>
<p>Only vetted, trained practitioners in accredited organisations can use it. Every search and every view is recorded.</p>
{next}"#
        ),
    )
}
