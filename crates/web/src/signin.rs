//! Signing in with all four factors: user name, password, PIN and security token. The same
//! code serves the web form and the API. Whatever is wrong, the answer is the same and takes
//! the same work: both hashes and the one-time code are always checked, against dummies when
//! the user does not exist, and the answer never says which factor failed.

use crate::AppState;
use chrono::Duration;
use contactpoint_auth::{new_token, token_digest, TotpSecret, DUMMY_PHC};
use contactpoint_domain::{
    AccessRoute, AccountState, AuditEvent, Lapse, Outcome, Permit, SystemTask, Username,
};
use contactpoint_storage::{NewSession, SessionRecord, SignInRecord, StorageError};

/// Consecutive failures that lock an account until the local team unlocks it.
pub const LOCK_AFTER_FAILURES: i32 = 5;
/// Failures from one source address that pause sign-in from it.
pub const ADDRESS_FAILURE_LIMIT: i64 = 20;
pub const ADDRESS_WINDOW_MINUTES: i64 = 15;
pub const WEB_SESSION_HOURS: i64 = 12;
pub const API_SESSION_MINUTES: i64 = 60;

#[derive(Debug, Clone, Default)]
pub struct Factors {
    pub username: String,
    pub password: String,
    pub pin: String,
    pub otp: String,
    /// A security key's answer instead of a code: the challenge's id and the answer (JSON).
    pub security_key: Option<(String, String)>,
}

/// Why sign-in did not open a session. Only `Rejected` and `Throttled` can follow wrong
/// factors, and they read the same to the user; the others are told only to someone who
/// proved all four factors.
#[derive(Debug)]
pub enum Refusal {
    Rejected,
    Throttled,
    Lapsed { lapse: Lapse, team: String },
    OrganisationNotAccredited { team: String },
    SecurityKeyRequired,
    Storage(StorageError),
}

impl From<StorageError> for Refusal {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl Refusal {
    /// What the person is told.
    pub fn message(&self) -> String {
        match self {
            Self::Rejected | Self::Throttled => "The details you entered did not let you in. Check your user name, password, PIN and the code from your security token, and try again. After 5 failed attempts your account is locked until your local ContactPoint team unlocks it.".into(),
            Self::Lapsed { lapse, team } => format!("You cannot sign in because {}. Contact your local ContactPoint team: {team}.", lapse.explanation()),
            Self::OrganisationNotAccredited { team } => format!("You cannot sign in because your organisation is not accredited for ContactPoint. Contact your local ContactPoint team: {team}."),
            Self::SecurityKeyRequired => "Your role must sign in with a security key, which is done on the web pages.".into(),
            Self::Storage(_) => "ContactPoint could not check your details just now. Try again shortly.".into(),
        }
    }
}

/// An opened session: the token to hand over (cookie or bearer) and the session itself.
#[derive(Debug)]
pub struct Opened {
    pub token: String,
    pub session: SessionRecord,
}

async fn team_contact(state: &AppState, record: &SignInRecord) -> String {
    state
        .store
        .local_authority_team(&record.user.organisation.local_authority)
        .await
        .map(|(email, telephone)| format!("{email}, {telephone}"))
        .unwrap_or_else(|_| "see your organisation's ContactPoint guidance".into())
}

pub async fn sign_in(
    state: &AppState,
    factors: &Factors,
    source_address: &str,
    route: AccessRoute,
    api_client_id: Option<i64>,
) -> Result<Opened, Refusal> {
    let now = state.clock.now();
    let window = now - Duration::minutes(ADDRESS_WINDOW_MINUTES);
    let permit = Permit::system_bypass(SystemTask::SignIn);
    let record = match Username::parse(&factors.username) {
        Ok(username) => match state.store.sign_in_record(&permit, &username).await {
            Ok(record) => Some(record),
            Err(StorageError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };

    // Every factor is checked every time, against dummies for an unknown user.
    let hasher = &state.hasher;
    let password_ok = hasher.verify(
        &factors.password,
        record.as_ref().map_or(DUMMY_PHC, |r| &r.password_hash),
    );
    let pin_ok = hasher.verify(
        &factors.pin,
        record.as_ref().map_or(DUMMY_PHC, |r| &r.pin_hash),
    );
    let secret = record
        .as_ref()
        .and_then(|r| r.totp_secret.as_deref())
        .and_then(|s| TotpSecret::from_base32(s).ok());
    let last_step = record
        .as_ref()
        .and_then(|r| r.totp_last_step)
        .map(|s| s as u64);
    let step = secret
        .as_ref()
        .unwrap_or(&state.dummy_totp)
        .accept(&factors.otp, now, last_step)
        .filter(|_| secret.is_some());
    // Asked for unknown users too (of no one), so that costs the same.
    let keys = state
        .store
        .security_keys(record.as_ref().map_or(0, |r| r.user.id))
        .await?;
    let key_used = match (&factors.security_key, &record) {
        (Some((ceremony, answer)), Some(r)) => {
            crate::security_key::check_sign_in_answer(state, r.user.id, ceremony, answer, &keys)
                .await?
        }
        _ => None,
    };
    let privileged = record
        .as_ref()
        .is_some_and(|r| r.user.role.is_privileged() || r.user.shield_override);
    // Privileged users with a key must use it; everyone else may use either factor.
    let code_allowed = !privileged || keys.is_empty();
    let token_ok = key_used.is_some() || (step.is_some() && code_allowed);
    let throttled = state
        .store
        .recent_failures_from(source_address, window)
        .await?
        >= ADDRESS_FAILURE_LIMIT;

    let user_id = record.as_ref().map(|r| r.user.id);
    // The attempt is counted before anything is decided, so parallel guesses cannot outrun
    // the lock: only attempts within the limit are judged at all.
    let reservation = state.store.reserve_sign_in(user_id.unwrap_or(0)).await?;
    let active = record.is_some()
        && reservation.as_ref().is_some_and(|(place, account)| {
            *place <= LOCK_AFTER_FAILURES && account == AccountState::Active.code()
        });
    if throttled || !(password_ok && pin_ok && token_ok && active) {
        let mut failure = AuditEvent::new(now, route, "sign_in", Outcome::Failure)
            .through_client(api_client_id)
            .with("source_address", source_address);
        if let Some(r) = &record {
            failure = failure
                .about("user", r.user.id)
                .in_authority(&r.user.organisation.local_authority);
        }
        if throttled {
            failure = failure.with("reason", "source address throttled");
        }
        let locked = AuditEvent::new(now, route, "account_locked", Outcome::Success)
            .about("user", user_id.unwrap_or_default())
            .with("failed_sign_ins", LOCK_AFTER_FAILURES);
        state
            .store
            .sign_in_failed(
                user_id,
                source_address,
                now,
                window,
                LOCK_AFTER_FAILURES,
                &failure,
                &locked,
            )
            .await?;
        return Err(if throttled {
            Refusal::Throttled
        } else {
            Refusal::Rejected
        });
    }
    let record = record.expect("an active user was found");
    // Every factor was right: whatever happens next, this attempt was no guess.
    state.store.clear_sign_in_failures(record.user.id).await?;
    let user = &record.user;

    let refused = |reason: &'static str| {
        AuditEvent::new(now, route, "sign_in", Outcome::Denied)
            .by(user.id)
            .through_client(api_client_id)
            .in_authority(&user.organisation.local_authority)
            .with("reason", reason)
    };
    let organisation_admits = match route {
        AccessRoute::Api => {
            user.organisation.accreditation == contactpoint_domain::Accreditation::Accredited
                && user.organisation.integration_access
        }
        _ => user.organisation.admits_web_sign_in(),
    };
    if !organisation_admits {
        state
            .store
            .record_audit(&refused("organisation not accredited for this route"))
            .await?;
        return Err(Refusal::OrganisationNotAccredited {
            team: team_contact(state, &record).await,
        });
    }
    if let Some(lapse) = user.vetting.lapse_on(state.clock.today()) {
        state
            .store
            .record_audit(&refused(lapse_code(lapse)))
            .await?;
        return Err(Refusal::Lapsed {
            lapse,
            team: team_contact(state, &record).await,
        });
    }
    // A privileged user without a key may sign in with a code only to enrol one (in a
    // demonstration, privileged demo accounts may use a code throughout).
    let relaxed_for_demo = state.settings.demo_mode && user.demo;
    let purpose = if privileged && key_used.is_none() && !relaxed_for_demo {
        if route == AccessRoute::Api {
            state
                .store
                .record_audit(&refused("security key required"))
                .await?;
            return Err(Refusal::SecurityKeyRequired);
        }
        crate::session::ENROL_ONLY
    } else {
        "full"
    };
    if let Some(key) = &key_used {
        state.store.security_key_used(key, now).await?;
    }

    let token = new_token();
    let expires_at = match route {
        AccessRoute::Api => now + Duration::minutes(API_SESSION_MINUTES),
        _ => now + Duration::hours(WEB_SESSION_HOURS),
    };
    let session = NewSession {
        purpose,
        token_digest: token_digest(&token),
        route,
        api_client_id,
        csrf_token: new_token(),
        created_at: now,
        expires_at,
    };
    let success = AuditEvent::new(now, route, "sign_in", Outcome::Success)
        .by(user.id)
        .through_client(api_client_id)
        .in_authority(&user.organisation.local_authority)
        .with("source_address", source_address)
        .with(
            "factor",
            if key_used.is_some() {
                "security_key"
            } else {
                "one_time_code"
            },
        )
        .with("purpose", purpose);
    // A key's answer needs no code step; a code's step is used up.
    let step = if key_used.is_some() {
        None
    } else {
        step.map(|s| s as i64)
    };
    if !state
        .store
        .sign_in_succeeded(user.id, step, &session, &success)
        .await?
    {
        // The same code raced in twice: only one of them may open a session.
        let replay = AuditEvent::new(now, route, "sign_in", Outcome::Failure)
            .about("user", user.id)
            .with("reason", "one-time code already used");
        let locked =
            AuditEvent::new(now, route, "account_locked", Outcome::Success).about("user", user.id);
        state.store.reserve_sign_in(user.id).await?;
        state
            .store
            .sign_in_failed(
                Some(user.id),
                source_address,
                now,
                window,
                LOCK_AFTER_FAILURES,
                &replay,
                &locked,
            )
            .await?;
        return Err(Refusal::Rejected);
    }
    let session = state.store.session(&session.token_digest).await?;
    Ok(Opened { token, session })
}

fn lapse_code(lapse: Lapse) -> &'static str {
    match lapse {
        Lapse::CriminalRecordsCheck => "criminal records check lapsed",
        Lapse::Training => "training not completed",
        Lapse::Agreement => "end-user agreement not accepted",
    }
}

/// Checks the PIN and a fresh one-time code again, for a sensitive action. The code's step
/// is used up, so the same code cannot authorise a second action.
pub async fn fresh_factors_ok(
    state: &AppState,
    user_id: i64,
    pin: &str,
    otp: &str,
) -> Result<bool, StorageError> {
    let permit = Permit::system_bypass(SystemTask::SignIn);
    let user = state.store.user(&permit, user_id).await?;
    let record = state.store.sign_in_record(&permit, &user.username).await?;
    let pin_ok = state.hasher.verify(pin, &record.pin_hash);
    let secret = record
        .totp_secret
        .as_deref()
        .and_then(|s| TotpSecret::from_base32(s).ok());
    let step = secret.as_ref().and_then(|s| {
        s.accept(
            otp,
            state.clock.now(),
            record.totp_last_step.map(|x| x as u64),
        )
    });
    match (pin_ok, step) {
        (true, Some(step)) => state.store.take_totp_step(user_id, step as i64).await,
        _ => Ok(false),
    }
}
