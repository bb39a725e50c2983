//! The queue of shield overrides the responsible local team is alerted to.

use chrono::{DateTime, Utc};

/// An alert raised by a shield override, written with the view it records.
#[derive(Debug, Clone)]
pub struct NewShieldAlert {
    pub by_user_id: i64,
    pub at: DateTime<Utc>,
    /// The reason given for the view.
    pub reason: String,
}

/// One alert as the team sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ShieldAlertRecord {
    pub id: i64,
    pub contactpoint_id: String,
    pub raised_at: DateTime<Utc>,
    pub raised_by_user_id: i64,
    pub raised_by_username: String,
    pub raised_by_organisation: String,
    pub reason: String,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by_user_id: Option<i64>,
}

/// One view of a child, as the child's access history shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChildAccess {
    pub at: DateTime<Utc>,
    pub user_id: i64,
    pub username: String,
    pub name: String,
    pub organisation: String,
    pub route: String,
    pub reason: String,
    pub reason_text: Option<String>,
    pub projection: String,
}
