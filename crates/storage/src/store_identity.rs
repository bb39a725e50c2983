//! The `Store`'s methods for users, accreditation, sessions, API clients and the audit trail.
//! Every change writes its audit entry in the same transaction.

use crate::store::dispatch;
use crate::{
    ApiClientRecord, NewSession, NewUser, OrganisationRecord, RegisteredKeyRow, SessionRecord,
    SignInRecord, StorageError, Store, StoredAuditEvent, UserRecord,
};
use chrono::{DateTime, Utc};
use contactpoint_domain::{
    AccountState, Accreditation, AuditEvent, LocalAuthorityCode, Permit, Username, Vetting,
};

use crate::backend::{postgres, sqlite};

impl Store {
    /// Appends one audit entry on its own (for events that change nothing else).
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<(), StorageError> {
        dispatch!(self, record_audit(event))
    }

    /// Audit entries with an id above `after_id`, oldest first.
    pub async fn audit_events(
        &self,
        permit: &Permit,
        after_id: i64,
    ) -> Result<Vec<StoredAuditEvent>, StorageError> {
        dispatch!(self, audit_events(permit, after_id))
    }

    pub async fn create_user(
        &self,
        permit: &Permit,
        user: &NewUser,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<i64, StorageError> {
        dispatch!(self, create_user(permit, user, now, audit))
    }

    pub async fn sign_in_record(
        &self,
        permit: &Permit,
        username: &Username,
    ) -> Result<SignInRecord, StorageError> {
        dispatch!(self, sign_in_record(permit, username))
    }

    pub async fn user(&self, permit: &Permit, id: i64) -> Result<UserRecord, StorageError> {
        dispatch!(self, user(permit, id))
    }

    pub async fn users_in_authority(
        &self,
        permit: &Permit,
        la: &LocalAuthorityCode,
    ) -> Result<Vec<UserRecord>, StorageError> {
        dispatch!(self, users_in_authority(permit, la))
    }

    pub async fn organisations_in_authority(
        &self,
        permit: &Permit,
        la: &LocalAuthorityCode,
    ) -> Result<Vec<OrganisationRecord>, StorageError> {
        dispatch!(self, organisations_in_authority(permit, la))
    }

    pub async fn organisation(&self, id: i64) -> Result<OrganisationRecord, StorageError> {
        dispatch!(self, organisation(id))
    }

    pub async fn set_accreditation(
        &self,
        permit: &Permit,
        organisation_id: i64,
        accreditation: Accreditation,
        web_access: bool,
        integration_access: bool,
        audit: &AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch!(
            self,
            set_accreditation(
                permit,
                organisation_id,
                accreditation,
                web_access,
                integration_access,
                audit
            )
        )
    }

    pub async fn set_user_state(
        &self,
        permit: &Permit,
        user_id: i64,
        state: AccountState,
        audit: &AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch!(self, set_user_state(permit, user_id, state, audit))
    }

    pub async fn set_vetting(
        &self,
        permit: &Permit,
        user_id: i64,
        vetting: Vetting,
        audit: &AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch!(self, set_vetting(permit, user_id, vetting, audit))
    }

    pub async fn enrol_totp(
        &self,
        permit: &Permit,
        user_id: i64,
        secret_base32: &str,
        accepted_step: i64,
        audit: &AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch!(
            self,
            enrol_totp(permit, user_id, secret_base32, accepted_step, audit)
        )
    }

    /// Counts a sign-in attempt before its factors are checked: its place in the count of
    /// consecutive failures and the account's state; `None` for no such user.
    pub async fn reserve_sign_in(
        &self,
        user_id: i64,
    ) -> Result<Option<(i32, String)>, StorageError> {
        dispatch!(self, reserve_sign_in(user_id))
    }

    /// Clears the failure count when all factors were right but sign-in was refused anyway.
    pub async fn clear_sign_in_failures(&self, user_id: i64) -> Result<(), StorageError> {
        dispatch!(self, clear_sign_in_failures(user_id))
    }

    /// Records a failed sign-in whose attempt was reserved: counts it against the address and
    /// locks the account once its count reaches `lock_after`. Returns whether it locked now.
    #[allow(clippy::too_many_arguments)]
    pub async fn sign_in_failed(
        &self,
        user_id: Option<i64>,
        source_address: &str,
        now: DateTime<Utc>,
        window_started_before: DateTime<Utc>,
        lock_after: i32,
        audit: &AuditEvent,
        lock_audit: &AuditEvent,
    ) -> Result<bool, StorageError> {
        dispatch!(
            self,
            sign_in_failed(
                user_id,
                source_address,
                now,
                window_started_before,
                lock_after,
                audit,
                lock_audit
            )
        )
    }

    pub async fn recent_failures_from(
        &self,
        source_address: &str,
        window_started_after: DateTime<Utc>,
    ) -> Result<i64, StorageError> {
        dispatch!(
            self,
            recent_failures_from(source_address, window_started_after)
        )
    }

    /// Opens a session after a successful sign-in; false (nothing written) if the one-time
    /// code's step had already been used.
    pub async fn sign_in_succeeded(
        &self,
        user_id: i64,
        totp_step: Option<i64>,
        session: &NewSession,
        audit: &AuditEvent,
    ) -> Result<bool, StorageError> {
        dispatch!(self, sign_in_succeeded(user_id, totp_step, session, audit))
    }

    /// Uses up a one-time code's step for a fresh authentication.
    pub async fn take_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StorageError> {
        dispatch!(self, take_totp_step(user_id, step))
    }

    pub async fn session(&self, token_digest: &str) -> Result<SessionRecord, StorageError> {
        dispatch!(self, session(token_digest))
    }

    pub async fn touch_session(
        &self,
        token_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        dispatch!(self, touch_session(token_digest, now))
    }

    /// Ends one session, or all of a user's sessions when `token_digest` is `None`.
    pub async fn end_sessions(
        &self,
        user_id: i64,
        token_digest: Option<&str>,
        audit: &AuditEvent,
    ) -> Result<u64, StorageError> {
        dispatch!(self, end_sessions(user_id, token_digest, audit))
    }

    pub async fn create_api_client(
        &self,
        permit: &Permit,
        organisation_id: i64,
        name: &str,
        client_id: &str,
        secret_digest: &str,
        audit: &AuditEvent,
    ) -> Result<i64, StorageError> {
        dispatch!(
            self,
            create_api_client(
                permit,
                organisation_id,
                name,
                client_id,
                secret_digest,
                audit
            )
        )
    }

    pub async fn api_client(&self, client_id: &str) -> Result<ApiClientRecord, StorageError> {
        dispatch!(self, api_client(client_id))
    }

    pub async fn revoke_api_client(
        &self,
        permit: &Permit,
        api_client_id: i64,
        audit: &AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch!(self, revoke_api_client(permit, api_client_id, audit))
    }

    pub async fn api_client_by_id(&self, id: i64) -> Result<ApiClientRecord, StorageError> {
        dispatch!(self, api_client_by_id(id))
    }

    /// The local ContactPoint team's e-mail address and telephone number.
    pub async fn local_authority_team(
        &self,
        la: &LocalAuthorityCode,
    ) -> Result<(String, String), StorageError> {
        dispatch!(self, local_authority_team(la))
    }

    pub async fn security_keys(&self, user_id: i64) -> Result<Vec<RegisteredKeyRow>, StorageError> {
        dispatch!(self, security_keys(user_id))
    }

    pub async fn add_security_key(
        &self,
        permit: &Permit,
        user_id: i64,
        key: &RegisteredKeyRow,
        audit: &AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch!(self, add_security_key(permit, user_id, key, audit))
    }

    /// Stores a key's new signature counter after it was used.
    pub async fn security_key_used(
        &self,
        key: &RegisteredKeyRow,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        dispatch!(self, security_key_used(key, at))
    }

    /// The user's handle for security keys; `fresh` becomes it if they have none yet.
    pub async fn webauthn_handle(&self, user_id: i64, fresh: &str) -> Result<String, StorageError> {
        dispatch!(self, webauthn_handle(user_id, fresh))
    }

    pub async fn put_ceremony(
        &self,
        id: &str,
        user_id: Option<i64>,
        kind: &str,
        state: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        dispatch!(self, put_ceremony(id, user_id, kind, state, expires_at))
    }

    /// Takes (and deletes) a ceremony's state; NotFound when unknown, used or expired.
    pub async fn take_ceremony(
        &self,
        id: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<(Option<i64>, String), StorageError> {
        dispatch!(self, take_ceremony(id, kind, now))
    }

    /// Checks the whole audit trail: intact (with its head hash) or where it first breaks.
    pub async fn verify_audit_chain(
        &self,
    ) -> Result<
        Result<crate::audit_chain::ChainIntact, crate::audit_chain::ChainBroken>,
        StorageError,
    > {
        dispatch!(self, verify_audit_chain())
    }

    /// Replaces a password and/or PIN hash and ends every other session of the user.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_secrets(
        &self,
        permit: &Permit,
        user_id: i64,
        password_hash: Option<&str>,
        pin_hash: Option<&str>,
        keep_session: &str,
        audit: &AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch!(
            self,
            set_secrets(
                permit,
                user_id,
                password_hash,
                pin_hash,
                keep_session,
                audit
            )
        )
    }

    /// Whether an entry with this hash is in the trail (to check an anchored head).
    pub async fn audit_hash_exists(&self, hash: &str) -> Result<bool, StorageError> {
        dispatch!(self, audit_hash_exists(hash))
    }

    /// A page of an authority's audit entries (optionally one user's, or about one subject),
    /// read in the same transaction as the entry recording the reading.
    #[allow(clippy::too_many_arguments)]
    pub async fn review_audit(
        &self,
        permit: &Permit,
        la: &LocalAuthorityCode,
        actor_user_id: Option<i64>,
        subject: Option<(&str, &str)>,
        after_id: i64,
        limit: i64,
        audit: &AuditEvent,
    ) -> Result<Vec<StoredAuditEvent>, StorageError> {
        dispatch!(
            self,
            review_audit(permit, la, actor_user_id, subject, after_id, limit, audit)
        )
    }
}
