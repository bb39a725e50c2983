//! What the audit trail records: who, on whose behalf, by which route, when, what, about
//! which subject, and the outcome. Details never hold a secret, and name children only by
//! ContactPoint ID.

use crate::identity::AccessRoute;
use crate::LocalAuthorityCode;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
}

/// What an event is about: a user, an organisation, an API client, a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub kind: &'static str,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub route: AccessRoute,
    pub actor_user_id: Option<i64>,
    pub on_behalf_of_user_id: Option<i64>,
    pub api_client_id: Option<i64>,
    /// A short code: `sign_in`, `account_locked`, `user_created`, ...
    pub action: &'static str,
    pub outcome: Outcome,
    pub subject: Option<Subject>,
    pub local_authority: Option<LocalAuthorityCode>,
    pub details: Vec<(&'static str, String)>,
}

impl AuditEvent {
    pub fn new(
        at: DateTime<Utc>,
        route: AccessRoute,
        action: &'static str,
        outcome: Outcome,
    ) -> Self {
        Self {
            at,
            route,
            actor_user_id: None,
            on_behalf_of_user_id: None,
            api_client_id: None,
            action,
            outcome,
            subject: None,
            local_authority: None,
            details: Vec::new(),
        }
    }

    pub fn by(mut self, user_id: i64) -> Self {
        self.actor_user_id = Some(user_id);
        self
    }

    pub fn through_client(mut self, api_client_id: Option<i64>) -> Self {
        self.api_client_id = api_client_id;
        self
    }

    pub fn about(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.subject = Some(Subject {
            kind,
            id: id.to_string(),
        });
        self
    }

    pub fn in_authority(mut self, la: &LocalAuthorityCode) -> Self {
        self.local_authority = Some(la.clone());
        self
    }

    pub fn with(mut self, key: &'static str, value: impl ToString) -> Self {
        self.details.push((key, value.to_string()));
        self
    }
}
