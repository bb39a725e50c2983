//! Users, organisations' accreditation, sessions and API clients, as storage reads and
//! writes them.

use chrono::{DateTime, Utc};
use contactpoint_domain::{
    AccessRoute, AccountState, Accreditation, Actor, Duty, EmailAddress, LocalAuthorityCode,
    OrganisationKind, Role, Username, Vetting,
};

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub organisation_id: i64,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<EmailAddress>,
    pub role: Role,
    pub duties: Vec<Duty>,
    pub shield_override: bool,
    pub vetting: Vetting,
    /// argon2id PHC strings; never the secrets themselves.
    pub password_hash: String,
    pub pin_hash: String,
    /// Base32 TOTP secret, when enrolled at creation.
    pub totp_secret: Option<String>,
    pub demo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationRecord {
    pub id: i64,
    pub kind: OrganisationKind,
    pub name: String,
    pub local_authority: LocalAuthorityCode,
    pub accreditation: Accreditation,
    pub web_access: bool,
    pub integration_access: bool,
}

impl OrganisationRecord {
    /// Whether its users may sign in on the web themselves (not only through a mediator).
    pub fn admits_web_sign_in(&self) -> bool {
        self.accreditation == Accreditation::Accredited && self.web_access
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: Username,
    pub organisation: OrganisationRecord,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<EmailAddress>,
    pub role: Role,
    pub duties: Vec<Duty>,
    pub shield_override: bool,
    pub state: AccountState,
    pub vetting: Vetting,
    pub totp_enrolled: bool,
    pub demo: bool,
}

impl UserRecord {
    /// The policy's view of this user on `route`.
    pub fn actor(&self, route: AccessRoute) -> Actor {
        Actor {
            user_id: self.id,
            role: self.role,
            duties: self.duties.clone(),
            local_authority: self.organisation.local_authority.clone(),
            shield_override: self.shield_override,
            route,
            on_behalf_of: None,
        }
    }
}

/// What sign-in needs to check a user's factors.
#[derive(Debug, Clone)]
pub struct SignInRecord {
    pub user: UserRecord,
    pub password_hash: String,
    pub pin_hash: String,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub failed_sign_ins: i32,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// `full`, or `enrol_security_key` for a privileged user's first sign-in.
    pub purpose: &'static str,
    pub token_digest: String,
    pub route: AccessRoute,
    pub api_client_id: Option<i64>,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub purpose: String,
    pub route: AccessRoute,
    pub api_client_id: Option<i64>,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClientRecord {
    pub id: i64,
    pub organisation: OrganisationRecord,
    pub name: String,
    pub client_id: String,
    pub secret_digest: String,
    pub revoked: bool,
}

/// One audit entry as stored, for review and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub route: String,
    pub actor_user_id: Option<i64>,
    pub on_behalf_of_user_id: Option<i64>,
    pub api_client_id: Option<i64>,
    pub action: String,
    pub outcome: String,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub local_authority: Option<String>,
    pub details: String,
}

pub(crate) fn duties_to_text(duties: &[Duty]) -> String {
    duties
        .iter()
        .map(|d| d.code())
        .collect::<Vec<_>>()
        .join(",")
}

/// A security key as stored: its credential id and the credential as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredKeyRow {
    pub credential_id: String,
    pub credential_json: String,
}
