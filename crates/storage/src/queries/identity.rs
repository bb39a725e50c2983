// Included into each backend module (see backend.rs).

macro_rules! user_select {
    () => {
        "SELECT u.id, u.username, u.given_name, u.family_name, u.email, u.role, u.duties, \
         u.shield_override, u.state, u.criminal_records_checked_on, u.training_completed_on, \
         u.agreement_accepted_on, u.totp_secret, u.totp_last_step, u.failed_sign_ins, \
         u.password_hash, u.pin_hash, u.demo, \
         o.id AS organisation_id, o.kind AS organisation_kind, o.name AS organisation_name, \
         o.local_authority AS organisation_local_authority, o.accreditation, o.web_access, \
         o.integration_access \
         FROM users u JOIN organisations o ON o.id = u.organisation_id "
    };
}

macro_rules! organisation_select {
    () => {
        "SELECT o.id AS organisation_id, o.kind AS organisation_kind, o.name AS organisation_name, \
         o.local_authority AS organisation_local_authority, o.accreditation, o.web_access, \
         o.integration_access FROM organisations o "
    };
}

/// Appends one audit entry inside the caller's transaction, chained to the entry before.
/// Taking the entry's id locks the allocator row until the transaction ends, so appends are
/// one sequence even when many transactions write at once.
pub(crate) async fn append_audit(
    tx: &mut sqlx::Transaction<'_, Db>,
    event: &contactpoint_domain::AuditEvent,
) -> Result<i64, crate::StorageError> {
    let (id, previous_hash) = match BACKEND {
        // SQLite has one writer at a time, so the entry before is read with the id taken, in
        // one statement (one round trip fewer for every audited request).
        crate::Backend::Sqlite => {
            let (next, previous): (i64, Option<String>) = sqlx::query_as(
                "UPDATE id_allocators SET next_id = next_id + 1 WHERE name = 'audit_events'                  RETURNING next_id, (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1)",
            )
            .fetch_one(&mut **tx)
            .await?;
            (next - 1, previous)
        }
        // On PostgreSQL a subquery would read with the snapshot its statement began with,
        // which may not hold the entry appended while it waited for the allocator's lock. The
        // row itself is re-read once the lock is granted, so the newest entry's hash is kept
        // on it (migration 0009) and returned with the id.
        crate::Backend::Postgres => {
            let (next, previous): (i64, Option<String>) = sqlx::query_as(
                "UPDATE id_allocators SET next_id = next_id + 1 WHERE name = 'audit_events' \
                 RETURNING next_id, last_hash",
            )
            .fetch_one(&mut **tx)
            .await?;
            (next - 1, previous)
        }
    };
    let previous_hash = previous_hash.unwrap_or_else(|| crate::audit_chain::GENESIS.to_owned());
    let details: serde_json::Map<String, serde_json::Value> = event
        .details
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
        .collect();
    let details = serde_json::Value::Object(details).to_string();
    let at = crate::audit_chain::stored_time(event.at);
    let subject_id = event.subject.as_ref().map(|s| s.id.clone());
    let fields = crate::audit_chain::ChainedFields {
        id,
        at,
        route: event.route.code(),
        actor_user_id: event.actor_user_id,
        on_behalf_of_user_id: event.on_behalf_of_user_id,
        api_client_id: event.api_client_id,
        action: event.action,
        outcome: event.outcome.code(),
        subject_kind: event.subject.as_ref().map(|s| s.kind),
        subject_id: subject_id.as_deref(),
        local_authority: event.local_authority.as_ref().map(|l| l.as_str()),
        details: &details,
        previous_hash: &previous_hash,
    };
    let hash = fields.hash();
    macro_rules! insert_entry {
        () => {
            "INSERT INTO audit_events (id, at, route, actor_user_id, on_behalf_of_user_id, api_client_id, action, outcome, subject_kind, subject_id, local_authority, details, previous_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        };
    }
    let insert = match BACKEND {
        crate::Backend::Sqlite => insert_entry!(),
        // The entry and the chain's head on the allocator's row, in one statement.
        crate::Backend::Postgres => concat!(
            "WITH entry AS (",
            insert_entry!(),
            " RETURNING hash) UPDATE id_allocators SET last_hash = (SELECT hash FROM entry) WHERE name = 'audit_events'"
        ),
    };
    sqlx::query(insert)
    .bind(id)
    .bind(at)
    .bind(event.route.code())
    .bind(event.actor_user_id)
    .bind(event.on_behalf_of_user_id)
    .bind(event.api_client_id)
    .bind(event.action)
    .bind(event.outcome.code())
    .bind(event.subject.as_ref().map(|s| s.kind))
    .bind(subject_id.as_deref())
    .bind(event.local_authority.as_ref().map(|l| l.as_str()))
    .bind(details.as_str())
    .bind(previous_hash.as_str())
    .bind(hash.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Walks the whole trail in id order, a page at a time, checking every link and hash.
pub(crate) async fn verify_audit_chain(
    pool: &sqlx::Pool<Db>,
) -> Result<Result<crate::audit_chain::ChainIntact, crate::audit_chain::ChainBroken>, crate::StorageError> {
    use crate::audit_chain::{ChainBroken, ChainIntact, ChainedFields, GENESIS};
    type Row = (i64, chrono::DateTime<chrono::Utc>, String, Option<i64>, Option<i64>, Option<i64>, String, String, Option<String>, Option<String>, Option<String>, String, String, String);
    let mut previous = GENESIS.to_owned();
    let mut after = i64::MIN;
    let mut entries = 0u64;
    loop {
        let page: Vec<Row> = sqlx::query_as(
            "SELECT id, at, route, actor_user_id, on_behalf_of_user_id, api_client_id, action, outcome, subject_kind, subject_id, local_authority, details, previous_hash, hash \
             FROM audit_events WHERE id > $1 ORDER BY id LIMIT 10000",
        )
        .bind(after)
        .fetch_all(pool)
        .await?;
        let Some(last) = page.last() else { break };
        after = last.0;
        for r in &page {
            if r.12 != previous {
                return Ok(Err(ChainBroken { entry_id: r.0, reason: "it does not follow the entry before it (an entry was deleted, inserted or reordered here)" }));
            }
            let fields = ChainedFields {
                id: r.0,
                at: r.1,
                route: &r.2,
                actor_user_id: r.3,
                on_behalf_of_user_id: r.4,
                api_client_id: r.5,
                action: &r.6,
                outcome: &r.7,
                subject_kind: r.8.as_deref(),
                subject_id: r.9.as_deref(),
                local_authority: r.10.as_deref(),
                details: &r.11,
                previous_hash: &r.12,
            };
            if fields.hash() != r.13 {
                return Ok(Err(ChainBroken { entry_id: r.0, reason: "its content no longer matches its hash (it was edited)" }));
            }
            previous = r.13.clone();
            entries += 1;
        }
    }
    Ok(Ok(ChainIntact { entries, head_hash: previous }))
}

/// An audit entry as selected (without its chain columns).
type AuditRow = (i64, chrono::DateTime<chrono::Utc>, String, Option<i64>, Option<i64>, Option<i64>, String, String, Option<String>, Option<String>, Option<String>, String);

fn stored_event(r: AuditRow) -> crate::StoredAuditEvent {
    crate::StoredAuditEvent {
        id: r.0,
        at: r.1,
        route: r.2,
        actor_user_id: r.3,
        on_behalf_of_user_id: r.4,
        api_client_id: r.5,
        action: r.6,
        outcome: r.7,
        subject_kind: r.8,
        subject_id: r.9,
        local_authority: r.10,
        details: r.11,
    }
}

/// Appends the audit entry and commits: the last step of every audited change.
async fn audit_and_commit(
    mut tx: sqlx::Transaction<'_, Db>,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

/// NotFound unless a statement changed a row.
fn changed_a_row(rows: u64, what: &'static str) -> Result<(), crate::StorageError> {
    if rows == 0 {
        Err(crate::StorageError::NotFound { what })
    } else {
        Ok(())
    }
}

pub(crate) async fn record_audit(
    pool: &sqlx::Pool<Db>,
    event: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    append_audit(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn audit_events(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    after_id: i64,
) -> Result<Vec<crate::StoredAuditEvent>, crate::StorageError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, route, actor_user_id, on_behalf_of_user_id, api_client_id, action, outcome, subject_kind, subject_id, local_authority, details \
         FROM audit_events WHERE id > $1 ORDER BY id",
    )
    .bind(after_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(stored_event)
        .collect())
}

pub(crate) async fn create_user(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    user: &crate::NewUser,
    now: chrono::DateTime<chrono::Utc>,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<i64, crate::StorageError> {
    let mut tx = pool.begin().await?;
    let id = allocate_ids(&mut tx, "users", 1).await?;
    sqlx::query(
        "INSERT INTO users (id, username, organisation_id, given_name, family_name, email, role, duties, shield_override, state, \
         criminal_records_checked_on, training_completed_on, agreement_accepted_on, password_hash, pin_hash, totp_secret, \
         totp_last_step, failed_sign_ins, demo, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $12, $13, $14, $15, NULL, 0, $16, $17)",
    )
    .bind(id)
    .bind(user.username.as_str())
    .bind(user.organisation_id)
    .bind(user.given_name.as_str())
    .bind(user.family_name.as_str())
    .bind(user.email.as_ref().map(|e| e.as_str().to_owned()))
    .bind(user.role.code())
    .bind(crate::identity::duties_to_text(&user.duties))
    .bind(user.shield_override)
    .bind(user.vetting.criminal_records_checked_on)
    .bind(user.vetting.training_completed_on)
    .bind(user.vetting.agreement_accepted_on)
    .bind(user.password_hash.as_str())
    .bind(user.pin_hash.as_str())
    .bind(user.totp_secret.as_deref())
    .bind(user.demo)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let mut audit = audit.clone();
    audit.subject = Some(contactpoint_domain::Subject { kind: "user", id: id.to_string() });
    append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(id)
}

pub(crate) async fn sign_in_record(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    username: &contactpoint_domain::Username,
) -> Result<crate::SignInRecord, crate::StorageError> {
    let row: crate::rows::UserRow = sqlx::query_as(concat!(user_select!(), "WHERE u.username = $1"))
        .bind(username.as_str())
        .fetch_optional(pool)
        .await?
        .ok_or(crate::StorageError::NotFound { what: "user" })?;
    row.into_sign_in()
}

pub(crate) async fn user(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    id: i64,
) -> Result<crate::UserRecord, crate::StorageError> {
    let row: crate::rows::UserRow = sqlx::query_as(concat!(user_select!(), "WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(crate::StorageError::NotFound { what: "user" })?;
    Ok(row.into_sign_in()?.user)
}

pub(crate) async fn users_in_authority(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    la: &contactpoint_domain::LocalAuthorityCode,
) -> Result<Vec<crate::UserRecord>, crate::StorageError> {
    let rows: Vec<crate::rows::UserRow> =
        sqlx::query_as(concat!(user_select!(), "WHERE o.local_authority = $1 ORDER BY u.family_name, u.given_name, u.id"))
            .bind(la.as_str())
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(|r| r.into_sign_in().map(|s| s.user)).collect()
}

pub(crate) async fn organisations_in_authority(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    la: &contactpoint_domain::LocalAuthorityCode,
) -> Result<Vec<crate::OrganisationRecord>, crate::StorageError> {
    let rows: Vec<crate::rows::OrganisationRow> =
        sqlx::query_as(concat!(organisation_select!(), "WHERE o.local_authority = $1 ORDER BY o.name, o.id"))
            .bind(la.as_str())
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(crate::rows::OrganisationRow::into_record).collect()
}

pub(crate) async fn organisation(
    pool: &sqlx::Pool<Db>,
    id: i64,
) -> Result<crate::OrganisationRecord, crate::StorageError> {
    let row: crate::rows::OrganisationRow = sqlx::query_as(concat!(organisation_select!(), "WHERE o.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(crate::StorageError::NotFound { what: "organisation" })?;
    row.into_record()
}

pub(crate) async fn set_accreditation(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    organisation_id: i64,
    accreditation: contactpoint_domain::Accreditation,
    web_access: bool,
    integration_access: bool,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    changed_a_row(
        sqlx::query("UPDATE organisations SET accreditation = $1, web_access = $2, integration_access = $3 WHERE id = $4")
            .bind(accreditation.code())
            .bind(web_access)
            .bind(integration_access)
            .bind(organisation_id)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
        "organisation",
    )?;
    audit_and_commit(tx, audit).await
}

/// Sets an account's state; unlocking also clears the count of failed sign-ins.
pub(crate) async fn set_user_state(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    user_id: i64,
    state: contactpoint_domain::AccountState,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    changed_a_row(
        sqlx::query("UPDATE users SET state = $1, failed_sign_ins = 0 WHERE id = $2")
            .bind(state.code())
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
        "user",
    )?;
    if state != contactpoint_domain::AccountState::Active {
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL")
            .bind(audit.at)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    }
    audit_and_commit(tx, audit).await
}

pub(crate) async fn set_vetting(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    user_id: i64,
    vetting: contactpoint_domain::Vetting,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    changed_a_row(
        sqlx::query(
            "UPDATE users SET criminal_records_checked_on = $1, training_completed_on = $2, agreement_accepted_on = $3 WHERE id = $4",
        )
        .bind(vetting.criminal_records_checked_on)
        .bind(vetting.training_completed_on)
        .bind(vetting.agreement_accepted_on)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        "user",
    )?;
    audit_and_commit(tx, audit).await
}

pub(crate) async fn enrol_totp(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    user_id: i64,
    secret_base32: &str,
    accepted_step: i64,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = $2 WHERE id = $3")
        .bind(secret_base32)
        .bind(accepted_step)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    audit_and_commit(tx, audit).await
}

/// Counts a failed sign-in against the source address and, for a known user, the account;
/// the account locks when its count reaches `lock_after`. Returns whether it locked now.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn sign_in_failed(
    pool: &sqlx::Pool<Db>,
    user_id: Option<i64>,
    source_address: &str,
    now: chrono::DateTime<chrono::Utc>,
    window_started_before: chrono::DateTime<chrono::Utc>,
    lock_after: i32,
    audit: &contactpoint_domain::AuditEvent,
    lock_audit: &contactpoint_domain::AuditEvent,
) -> Result<bool, crate::StorageError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO sign_in_throttle (source_address, window_started_at, failures) VALUES ($1, $2, 1) \
         ON CONFLICT (source_address) DO UPDATE SET \
           failures = CASE WHEN sign_in_throttle.window_started_at < $3 THEN 1 ELSE sign_in_throttle.failures + 1 END, \
           window_started_at = CASE WHEN sign_in_throttle.window_started_at < $3 THEN $2 ELSE sign_in_throttle.window_started_at END",
    )
    .bind(source_address)
    .bind(now)
    .bind(window_started_before)
    .execute(&mut *tx)
    .await?;
    let mut locked_now = false;
    if let Some(id) = user_id {
        // The attempt was counted when it was reserved (reserve_sign_in).
        let failures: i32 = sqlx::query_scalar("SELECT failed_sign_ins FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if failures >= lock_after {
            locked_now = sqlx::query("UPDATE users SET state = 'locked' WHERE id = $1 AND state = 'active'")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        }
    }
    append_audit(&mut tx, audit).await?;
    if locked_now {
        append_audit(&mut tx, lock_audit).await?;
    }
    tx.commit().await?;
    Ok(locked_now)
}

/// Counts a sign-in attempt before its factors are checked, so that parallel guesses are
/// counted too: the attempt's place in the count and the account's state, or `None` for no
/// such user (asked all the same, so an unknown user costs the same query).
pub(crate) async fn reserve_sign_in(
    pool: &sqlx::Pool<Db>,
    user_id: i64,
) -> Result<Option<(i32, String)>, crate::StorageError> {
    Ok(sqlx::query_as("UPDATE users SET failed_sign_ins = failed_sign_ins + 1 WHERE id = $1 RETURNING failed_sign_ins, state")
        .bind(user_id)
        .fetch_optional(pool)
        .await?)
}

/// Clears the count after all factors were right but sign-in was refused for another reason
/// (lapsed checks, accreditation), which is no guess.
pub(crate) async fn clear_sign_in_failures(pool: &sqlx::Pool<Db>, user_id: i64) -> Result<(), crate::StorageError> {
    sqlx::query("UPDATE users SET failed_sign_ins = 0 WHERE id = $1 AND state = 'active'")
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Failures from `source_address` since `window_started_after`.
pub(crate) async fn recent_failures_from(
    pool: &sqlx::Pool<Db>,
    source_address: &str,
    window_started_after: chrono::DateTime<chrono::Utc>,
) -> Result<i64, crate::StorageError> {
    let failures: Option<i32> = sqlx::query_scalar(
        "SELECT failures FROM sign_in_throttle WHERE source_address = $1 AND window_started_at >= $2",
    )
    .bind(source_address)
    .bind(window_started_after)
    .fetch_optional(pool)
    .await?;
    Ok(i64::from(failures.unwrap_or(0)))
}

/// Records a successful sign-in: takes the one-time code's step (refusing a step already
/// used, even by a concurrent request), clears the failure count and opens the session.
/// Returns false, writing nothing, when the step was already taken.
pub(crate) async fn sign_in_succeeded(
    pool: &sqlx::Pool<Db>,
    user_id: i64,
    totp_step: Option<i64>,
    session: &crate::NewSession,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<bool, crate::StorageError> {
    let mut tx = pool.begin().await?;
    if let Some(step) = totp_step {
        let taken = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            return Ok(false);
        }
    }
    // Only an account still active (not locked by a concurrent failure) opens a session.
    let still_active = sqlx::query("UPDATE users SET failed_sign_ins = 0 WHERE id = $1 AND state = 'active'")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if still_active == 0 {
        return Ok(false);
    }
    insert_session(&mut tx, user_id, session).await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(true)
}

async fn insert_session(
    tx: &mut sqlx::Transaction<'_, Db>,
    user_id: i64,
    session: &crate::NewSession,
) -> Result<(), crate::StorageError> {
    sqlx::query(
        "INSERT INTO sessions (token_digest, user_id, route, api_client_id, csrf_token, created_at, last_seen_at, expires_at, purpose) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)",
    )
    .bind(session.token_digest.as_str())
    .bind(user_id)
    .bind(session.route.code())
    .bind(session.api_client_id)
    .bind(session.csrf_token.as_str())
    .bind(session.created_at)
    .bind(session.expires_at)
    .bind(session.purpose)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Consumes a one-time code step for a fresh authentication (a sensitive action).
pub(crate) async fn take_totp_step(
    pool: &sqlx::Pool<Db>,
    user_id: i64,
    step: i64,
) -> Result<bool, crate::StorageError> {
    let taken = sqlx::query(
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(taken == 1)
}

/// A session as read with its user and the user's organisation, in one statement.
#[derive(sqlx::FromRow)]
struct SessionRow {
    session_route: String,
    session_api_client_id: Option<i64>,
    session_csrf_token: String,
    session_created_at: chrono::DateTime<chrono::Utc>,
    session_last_seen_at: chrono::DateTime<chrono::Utc>,
    session_expires_at: chrono::DateTime<chrono::Utc>,
    session_purpose: String,
    #[sqlx(flatten)]
    user: crate::rows::UserRow,
}

/// A live session and its user, or NotFound when it is unknown or ended. One statement: it
/// is read on every request.
pub(crate) async fn session(
    pool: &sqlx::Pool<Db>,
    token_digest: &str,
) -> Result<crate::SessionRecord, crate::StorageError> {
    let row: SessionRow = sqlx::query_as(
        "SELECT s.route AS session_route, s.api_client_id AS session_api_client_id, \
         s.csrf_token AS session_csrf_token, s.created_at AS session_created_at, \
         s.last_seen_at AS session_last_seen_at, s.expires_at AS session_expires_at, \
         s.purpose AS session_purpose, \
         u.id, u.username, u.given_name, u.family_name, u.email, u.role, u.duties, \
         u.shield_override, u.state, u.criminal_records_checked_on, u.training_completed_on, \
         u.agreement_accepted_on, u.totp_secret, u.totp_last_step, u.failed_sign_ins, \
         u.password_hash, u.pin_hash, u.demo, \
         o.id AS organisation_id, o.kind AS organisation_kind, o.name AS organisation_name, \
         o.local_authority AS organisation_local_authority, o.accreditation, o.web_access, \
         o.integration_access \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         JOIN organisations o ON o.id = u.organisation_id \
         WHERE s.token_digest = $1 AND s.ended_at IS NULL",
    )
    .bind(token_digest)
    .fetch_optional(pool)
    .await?
    .ok_or(crate::StorageError::NotFound { what: "session" })?;
    Ok(crate::SessionRecord {
        user: row.user.into_sign_in()?.user,
        route: contactpoint_domain::AccessRoute::parse(&row.session_route).map_err(crate::StorageError::corrupt("sessions"))?,
        api_client_id: row.session_api_client_id,
        csrf_token: row.session_csrf_token,
        created_at: row.session_created_at,
        last_seen_at: row.session_last_seen_at,
        expires_at: row.session_expires_at,
        purpose: row.session_purpose,
    })
}

pub(crate) async fn touch_session(
    pool: &sqlx::Pool<Db>,
    token_digest: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::StorageError> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_digest = $2 AND last_seen_at < $1")
        .bind(now)
        .bind(token_digest)
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends one session (`token_digest`) or, with `None`, every session of the user.
pub(crate) async fn end_sessions(
    pool: &sqlx::Pool<Db>,
    user_id: i64,
    token_digest: Option<&str>,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<u64, crate::StorageError> {
    let mut tx = pool.begin().await?;
    let ended = sqlx::query(
        "UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND ($3 IS NULL OR token_digest = $3)",
    )
    .bind(audit.at)
    .bind(user_id)
    .bind(token_digest)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(ended)
}

pub(crate) async fn create_api_client(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    organisation_id: i64,
    name: &str,
    client_id: &str,
    secret_digest: &str,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<i64, crate::StorageError> {
    let mut tx = pool.begin().await?;
    let id = allocate_ids(&mut tx, "api_clients", 1).await?;
    sqlx::query(
        "INSERT INTO api_clients (id, organisation_id, name, client_id, secret_digest, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(organisation_id)
    .bind(name)
    .bind(client_id)
    .bind(secret_digest)
    .bind(audit.at)
    .execute(&mut *tx)
    .await?;
    let mut audit = audit.clone();
    audit.subject = Some(contactpoint_domain::Subject { kind: "api_client", id: id.to_string() });
    append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(id)
}

pub(crate) async fn api_client(
    pool: &sqlx::Pool<Db>,
    client_id: &str,
) -> Result<crate::ApiClientRecord, crate::StorageError> {
    type Row = (i64, i64, String, String, String, Option<chrono::DateTime<chrono::Utc>>);
    let row: Row = sqlx::query_as(
        "SELECT id, organisation_id, name, client_id, secret_digest, revoked_at FROM api_clients WHERE client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(pool)
    .await?
    .ok_or(crate::StorageError::NotFound { what: "api client" })?;
    Ok(crate::ApiClientRecord {
        id: row.0,
        organisation: organisation(pool, row.1).await?,
        name: row.2,
        client_id: row.3,
        secret_digest: row.4,
        revoked: row.5.is_some(),
    })
}

/// Revokes a client credential and ends every session opened through it.
pub(crate) async fn revoke_api_client(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    api_client_id: i64,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE api_clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(audit.at)
        .bind(api_client_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET ended_at = $1 WHERE api_client_id = $2 AND ended_at IS NULL")
        .bind(audit.at)
        .bind(api_client_id)
        .execute(&mut *tx)
        .await?;
    audit_and_commit(tx, audit).await
}

/// A client credential by its database id, with its organisation: one statement, as it is
/// read on every API request.
pub(crate) async fn api_client_by_id(
    pool: &sqlx::Pool<Db>,
    id: i64,
) -> Result<crate::ApiClientRecord, crate::StorageError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        client_name: String,
        client_id: String,
        secret_digest: String,
        revoked: bool,
        #[sqlx(flatten)]
        organisation: crate::rows::OrganisationRow,
    }
    let row: Row = sqlx::query_as(concat!(
        "SELECT c.name AS client_name, c.client_id, c.secret_digest, c.revoked_at IS NOT NULL AS revoked, ",
        "o.id AS organisation_id, o.kind AS organisation_kind, o.name AS organisation_name, ",
        "o.local_authority AS organisation_local_authority, o.accreditation, o.web_access, ",
        "o.integration_access FROM api_clients c JOIN organisations o ON o.id = c.organisation_id ",
        "WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(crate::StorageError::NotFound { what: "api client" })?;
    Ok(crate::ApiClientRecord {
        id,
        organisation: row.organisation.into_record()?,
        name: row.client_name,
        client_id: row.client_id,
        secret_digest: row.secret_digest,
        revoked: row.revoked,
    })
}

/// The local ContactPoint team's e-mail address and telephone number.
pub(crate) async fn local_authority_team(
    pool: &sqlx::Pool<Db>,
    la: &contactpoint_domain::LocalAuthorityCode,
) -> Result<(String, String), crate::StorageError> {
    sqlx::query_as("SELECT team_email, team_telephone FROM local_authorities WHERE code = $1")
        .bind(la.as_str())
        .fetch_optional(pool)
        .await?
        .ok_or(crate::StorageError::NotFound { what: "local authority" })
}

pub(crate) async fn security_keys(
    pool: &sqlx::Pool<Db>,
    user_id: i64,
) -> Result<Vec<crate::RegisteredKeyRow>, crate::StorageError> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT credential_id, credential FROM security_keys WHERE user_id = $1 ORDER BY id")
        .bind(user_id)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|(credential_id, credential_json)| crate::RegisteredKeyRow { credential_id, credential_json }).collect())
}

pub(crate) async fn add_security_key(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    user_id: i64,
    key: &crate::RegisteredKeyRow,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    let id = allocate_ids(&mut tx, "security_keys", 1).await?;
    sqlx::query("INSERT INTO security_keys (id, user_id, credential_id, credential, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(user_id)
        .bind(key.credential_id.as_str())
        .bind(key.credential_json.as_str())
        .bind(audit.at)
        .execute(&mut *tx)
        .await?;
    audit_and_commit(tx, audit).await
}

pub(crate) async fn security_key_used(
    pool: &sqlx::Pool<Db>,
    key: &crate::RegisteredKeyRow,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::StorageError> {
    sqlx::query("UPDATE security_keys SET credential = $1, last_used_at = $2 WHERE credential_id = $3")
        .bind(key.credential_json.as_str())
        .bind(at)
        .bind(key.credential_id.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

/// The user's security-key handle, made on first use.
pub(crate) async fn webauthn_handle(
    pool: &sqlx::Pool<Db>,
    user_id: i64,
    fresh: &str,
) -> Result<String, crate::StorageError> {
    sqlx::query("UPDATE users SET webauthn_handle = $1 WHERE id = $2 AND webauthn_handle IS NULL")
        .bind(fresh)
        .bind(user_id)
        .execute(pool)
        .await?;
    let handle: String = sqlx::query_scalar("SELECT webauthn_handle FROM users WHERE id = $1").bind(user_id).fetch_one(pool).await?;
    Ok(handle)
}

pub(crate) async fn put_ceremony(
    pool: &sqlx::Pool<Db>,
    id: &str,
    user_id: Option<i64>,
    kind: &str,
    state: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::StorageError> {
    // Expired ceremonies go as new ones come, so unanswered challenges cannot pile up.
    sqlx::query("DELETE FROM security_key_ceremonies WHERE expires_at < $1")
        .bind(expires_at - chrono::Duration::minutes(10))
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO security_key_ceremonies (id, user_id, kind, state, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(user_id)
        .bind(kind)
        .bind(state)
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// Takes a ceremony's state, deleting it, so that no answer can be checked against it twice.
pub(crate) async fn take_ceremony(
    pool: &sqlx::Pool<Db>,
    id: &str,
    kind: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Option<i64>, String), crate::StorageError> {
    let row: Option<(Option<i64>, String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("DELETE FROM security_key_ceremonies WHERE id = $1 AND kind = $2 RETURNING user_id, state, expires_at")
            .bind(id)
            .bind(kind)
            .fetch_optional(pool)
            .await?;
    match row {
        Some((user_id, state, expires_at)) if now < expires_at => Ok((user_id, state)),
        _ => Err(crate::StorageError::NotFound { what: "security key challenge" }),
    }
}

/// Replaces a user's password hash and/or PIN hash, ending their other sessions.
pub(crate) async fn set_secrets(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    user_id: i64,
    password_hash: Option<&str>,
    pin_hash: Option<&str>,
    keep_session: &str,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE users SET password_hash = COALESCE($1, password_hash), pin_hash = COALESCE($2, pin_hash) WHERE id = $3")
        .bind(password_hash)
        .bind(pin_hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND token_digest <> $3")
        .bind(audit.at)
        .bind(user_id)
        .bind(keep_session)
        .execute(&mut *tx)
        .await?;
    audit_and_commit(tx, audit).await
}

pub(crate) async fn audit_hash_exists(pool: &sqlx::Pool<Db>, hash: &str) -> Result<bool, crate::StorageError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM audit_events WHERE hash = $1")
        .bind(hash)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

/// A page of one authority's audit entries, filtered, and the audit entry recording that they
/// were read, in one transaction: nothing is returned unless the reading is on the trail.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn review_audit(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    la: &contactpoint_domain::LocalAuthorityCode,
    actor_user_id: Option<i64>,
    subject: Option<(&str, &str)>,
    after_id: i64,
    limit: i64,
    audit: &contactpoint_domain::AuditEvent,
) -> Result<Vec<crate::StoredAuditEvent>, crate::StorageError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, route, actor_user_id, on_behalf_of_user_id, api_client_id, action, outcome, subject_kind, subject_id, local_authority, details \
         FROM audit_events WHERE local_authority = $1 AND id > $2 \
           AND ($3 IS NULL OR actor_user_id = $3) \
           AND ($4 IS NULL OR (subject_kind = $4 AND subject_id = $5)) \
         ORDER BY id LIMIT $6",
    )
    .bind(la.as_str())
    .bind(after_id)
    .bind(actor_user_id)
    .bind(subject.map(|s| s.0))
    .bind(subject.map(|s| s.1))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(stored_event)
        .collect())
}
