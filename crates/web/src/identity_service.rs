//! What the local ContactPoint team and national administrators do with organisations and
//! users, shared by the pages and the API. Every function asks the one policy first, checks
//! fresh factors for administrative changes, and writes its audit entry with the change.

use crate::session::SignedIn;
use crate::signin::fresh_factors_ok;
use crate::AppState;
use chrono::NaiveDate;
use contactpoint_auth::{check_new_password, check_new_pin, TotpSecret};

use contactpoint_domain::{
    authorize, AccountState, Accreditation, Action, AuditEvent, Denied, Duty, EmailAddress,
    FieldError, LocalAuthorityCode, Outcome, Permit, Role, SystemName, Target, Username, Vetting,
};
use contactpoint_storage::{NewUser, OrganisationRecord, StorageError, UserRecord};

#[derive(Debug)]
pub enum ServiceError {
    Invalid(FieldError),
    Denied,
    /// The PIN or one-time code given for a sensitive action was wrong.
    FreshAuthentication,
    /// A search too vague to be proportionate; says what to add.
    TooVague(String),
    Storage(StorageError),
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(e)
    }
}

impl From<Denied> for ServiceError {
    fn from(_: Denied) -> Self {
        Self::Denied
    }
}

impl From<StorageError> for ServiceError {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl From<ServiceError> for crate::ApiError {
    fn from(e: ServiceError) -> Self {
        use axum::http::StatusCode;
        match e {
            ServiceError::Invalid(field) => field.into(),
            ServiceError::Denied => Self::forbidden(),
            ServiceError::FreshAuthentication => Self::new(
                StatusCode::UNAUTHORIZED,
                "fresh_authentication_failed",
                "pin and otp: this action needs your PIN and a new code from your security token",
            ),
            ServiceError::TooVague(add) => {
                Self::new(StatusCode::BAD_REQUEST, "search_too_vague", add)
            }
            ServiceError::Storage(e) => e.into(),
        }
    }
}

impl From<ServiceError> for crate::error::PageError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(field) => Self::bad_request(format!("{}: {}", field.field, field.expected)),
            ServiceError::Denied => Self::forbidden(),
            ServiceError::TooVague(add) => Self::bad_request(add),
            ServiceError::FreshAuthentication => Self::bad_request("Your password, PIN or security code was not right. This action needs them again, with a new code from your security token. After 5 wrong attempts your account is locked."),
            ServiceError::Storage(e) => e.into(),
        }
    }
}

/// The authority an administrator works on: the one asked for, or their own.
pub fn authority(who: &SignedIn, asked: Option<&str>) -> Result<LocalAuthorityCode, FieldError> {
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => LocalAuthorityCode::parse(code),
        None => Ok(who.session.user.organisation.local_authority.clone()),
    }
}

/// An entry for an action a signed-in user takes in their own authority.
pub(crate) fn event(state: &AppState, who: &SignedIn, action: &'static str) -> AuditEvent {
    AuditEvent::new(
        state.clock.now(),
        who.session.route,
        action,
        Outcome::Success,
    )
    .by(who.user_id())
    .through_client(who.session.api_client_id)
    .in_authority(&who.session.user.organisation.local_authority)
}

/// Counts a failed PIN, password or code given inside a session like a failed sign-in, so
/// that someone holding a stolen session cannot guess them: the fifth locks the account,
/// which ends the session.
pub(crate) async fn count_failure(
    state: &AppState,
    who: &SignedIn,
    failed: &AuditEvent,
) -> Result<(), StorageError> {
    let now = state.clock.now();
    state.store.reserve_sign_in(who.user_id()).await?;
    let locked = AuditEvent::new(now, who.session.route, "account_locked", Outcome::Success)
        .about("user", who.user_id())
        .in_authority(&who.session.user.organisation.local_authority);
    state
        .store
        .sign_in_failed(
            Some(who.user_id()),
            "signed-in session",
            now,
            now - chrono::Duration::minutes(crate::signin::ADDRESS_WINDOW_MINUTES),
            crate::signin::LOCK_AFTER_FAILURES,
            failed,
            &locked,
        )
        .await?;
    Ok(())
}

pub(crate) async fn require_fresh(
    state: &AppState,
    who: &SignedIn,
    pin: &str,
    otp: &str,
    action: &'static str,
) -> Result<(), ServiceError> {
    if fresh_factors_ok(state, who.user_id(), pin, otp).await? {
        return Ok(());
    }
    let failed = AuditEvent::new(
        state.clock.now(),
        who.session.route,
        "fresh_authentication",
        Outcome::Failure,
    )
    .by(who.user_id())
    .in_authority(&who.session.user.organisation.local_authority)
    .with("for", action);
    count_failure(state, who, &failed).await?;
    Err(ServiceError::FreshAuthentication)
}

/// The coarse check before anything is looked up or parsed, so a role without the duty
/// hears 403 whatever it asks about: the action allowed in the actor's own authority, or a
/// national administrator (who acts in any).
fn may_administer(who: &SignedIn, action: Action) -> Result<(), ServiceError> {
    let own = Target::LocalAuthority(who.session.user.organisation.local_authority.clone());
    if authorize(&who.actor(), action, &own).is_err()
        && who.session.user.role != Role::NationalAdministrator
    {
        return Err(ServiceError::Denied);
    }
    Ok(())
}

/// The users of the authority asked for (`None`: the caller's own), and that authority.
pub async fn list_users(
    state: &AppState,
    who: &SignedIn,
    asked: Option<&str>,
) -> Result<(LocalAuthorityCode, Vec<UserRecord>), ServiceError> {
    may_administer(who, Action::ListUsers)?;
    let la = authority(who, asked)?;
    let permit = authorize(
        &who.actor(),
        Action::ListUsers,
        &Target::LocalAuthority(la.clone()),
    )?;
    let users = state.store.users_in_authority(&permit, &la).await?;
    Ok((la, users))
}

/// The organisations of the authority asked for (`None`: the caller's own), and that authority.
pub async fn list_organisations(
    state: &AppState,
    who: &SignedIn,
    asked: Option<&str>,
) -> Result<(LocalAuthorityCode, Vec<OrganisationRecord>), ServiceError> {
    may_administer(who, Action::ListOrganisations)?;
    let la = authority(who, asked)?;
    let permit = authorize(
        &who.actor(),
        Action::ListOrganisations,
        &Target::LocalAuthority(la.clone()),
    )?;
    let organisations = state.store.organisations_in_authority(&permit, &la).await?;
    Ok((la, organisations))
}

/// The policy's answer for `action` on a user, found first with the policy's answer for
/// the actor's own authority so that a wrong role hears 403 whatever it asks about.
async fn permit_for_user(
    state: &AppState,
    who: &SignedIn,
    action: Action,
    user_id: i64,
) -> Result<(Permit, UserRecord), ServiceError> {
    may_administer(who, action)?;
    let lookup = Permit::system_bypass(contactpoint_domain::SystemTask::SignIn);
    let user = state.store.user(&lookup, user_id).await?;
    let permit = authorize(
        &who.actor(),
        action,
        &Target::LocalAuthority(user.organisation.local_authority.clone()),
    )?;
    // Nobody renews their own checks or unlocks themselves, and only a national
    // administrator changes another.
    if user.id == who.user_id()
        || (user.role == Role::NationalAdministrator
            && who.session.user.role != Role::NationalAdministrator)
    {
        return Err(ServiceError::Denied);
    }
    Ok((permit, user))
}

/// Input for a new user, as strings from a form or JSON.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NewUserInput {
    pub username: String,
    pub given_name: String,
    pub family_name: String,
    #[serde(default)]
    pub email: Option<String>,
    pub organisation_id: i64,
    /// practitioner, mediator, local_team, auditor or national_administrator
    pub role: String,
    /// For the local team: user_administration, data_management, helpdesk.
    #[serde(default)]
    pub duties: Vec<String>,
    #[serde(default)]
    pub shield_override: bool,
    /// YYYY-MM-DD
    pub criminal_records_checked_on: Option<String>,
    pub training_completed_on: Option<String>,
    pub agreement_accepted_on: Option<String>,
    /// The user's first password (12 characters or more, not a common one).
    pub password: String,
    /// The user's PIN (6 to 8 digits).
    pub user_pin: String,
    /// The administrator's own PIN and a fresh code, for this sensitive action.
    pub pin: String,
    pub otp: String,
}

pub fn parse_date(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| FieldError::new(field, "a date as YYYY-MM-DD")),
    }
}

fn parse_vetting(
    checked: Option<&str>,
    training: Option<&str>,
    agreement: Option<&str>,
) -> Result<Vetting, FieldError> {
    Ok(Vetting {
        criminal_records_checked_on: parse_date("criminal_records_checked_on", checked)?,
        training_completed_on: parse_date("training_completed_on", training)?,
        agreement_accepted_on: parse_date("agreement_accepted_on", agreement)?,
    })
}

fn duty_codes(duties: &[Duty]) -> String {
    duties
        .iter()
        .map(|d| d.code())
        .collect::<Vec<_>>()
        .join(",")
}

fn date_text(date: Option<NaiveDate>) -> String {
    date.map_or_else(|| "none".to_owned(), |d| d.to_string())
}

/// A created user and the security-token secret to load into their authenticator now.
#[derive(Debug)]
pub struct CreatedUser {
    pub id: i64,
    pub username: Username,
    pub totp_secret: TotpSecret,
}

pub async fn create_user(
    state: &AppState,
    who: &SignedIn,
    input: &NewUserInput,
) -> Result<CreatedUser, ServiceError> {
    may_administer(who, Action::CreateUser)?;
    let username = Username::parse(&input.username)?;
    let given_name = contactpoint_domain::GivenName::parse(&input.given_name)?;
    let family_name = contactpoint_domain::FamilyName::parse(&input.family_name)?;
    let email = input
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(EmailAddress::parse)
        .transpose()?;
    let role = Role::parse(&input.role)?;
    // Only a national administrator makes another; the override goes to practitioners only.
    if role == Role::NationalAdministrator && who.session.user.role != Role::NationalAdministrator {
        return Err(ServiceError::Denied);
    }
    if input.shield_override && role != Role::Practitioner {
        return Err(FieldError::new(
            "shield_override",
            "false: the shield override is only for practitioners with child-protection responsibilities",
        )
        .into());
    }
    let duties = input
        .duties
        .iter()
        .filter(|d| !d.is_empty())
        .map(|d| Duty::parse(d))
        .collect::<Result<Vec<_>, _>>()?;
    if role != Role::LocalTeam && !duties.is_empty() {
        return Err(FieldError::new(
            "duties",
            "no duties: only the local ContactPoint team has duties",
        )
        .into());
    }
    let vetting = parse_vetting(
        input.criminal_records_checked_on.as_deref(),
        input.training_completed_on.as_deref(),
        input.agreement_accepted_on.as_deref(),
    )?;
    check_new_password(&input.password)?;
    let user_pin =
        check_new_pin(&input.user_pin).map_err(|e| FieldError::new("user_pin", e.expected))?;
    let organisation = state
        .store
        .organisation(input.organisation_id)
        .await
        .map_err(|e| match e {
            StorageError::NotFound { .. } => ServiceError::Invalid(FieldError::new(
                "organisation_id",
                "the id of an organisation in your local authority",
            )),
            other => other.into(),
        })?;
    let permit = authorize(
        &who.actor(),
        Action::CreateUser,
        &Target::LocalAuthority(organisation.local_authority.clone()),
    )?;
    require_fresh(state, who, &input.pin, &input.otp, "user_created").await?;
    let totp_secret = TotpSecret::generate();
    let new = NewUser {
        username: username.clone(),
        organisation_id: organisation.id,
        given_name: given_name.to_string(),
        family_name: family_name.to_string(),
        email,
        role,
        duties,
        shield_override: input.shield_override,
        vetting,
        password_hash: state.hasher.hash(&input.password),
        pin_hash: state.hasher.hash(user_pin.as_str()),
        totp_secret: Some(totp_secret.to_base32()),
        demo: false,
    };
    let audit = event(state, who, "user_created")
        .in_authority(&organisation.local_authority)
        .with("username", username.as_str())
        .with("role", role.code())
        .with("duties", crate::identity_service::duty_codes(&new.duties))
        .with("shield_override", new.shield_override)
        .with(
            "criminal_records_checked_on",
            date_text(new.vetting.criminal_records_checked_on),
        )
        .with(
            "training_completed_on",
            date_text(new.vetting.training_completed_on),
        )
        .with("organisation_id", organisation.id);
    let id = state
        .store
        .create_user(&permit, &new, state.clock.now(), &audit)
        .await
        .map_err(|e| match e {
            StorageError::Database(db)
                if db
                    .as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                ServiceError::Invalid(FieldError::new("username", "a user name nobody else has"))
            }
            other => other.into(),
        })?;
    Ok(CreatedUser {
        id,
        username,
        totp_secret,
    })
}

/// Suspends, closes, reactivates or unlocks (sets active) an account.
pub async fn set_user_state(
    state: &AppState,
    who: &SignedIn,
    user_id: i64,
    new_state: &str,
    pin: &str,
    otp: &str,
) -> Result<(), ServiceError> {
    let (permit, user) = permit_for_user(state, who, Action::ChangeUser, user_id).await?;
    let new_state = AccountState::parse(new_state)?;
    if new_state == AccountState::Locked {
        return Err(FieldError::new(
            "state",
            "active, suspended or closed (accounts lock themselves)",
        )
        .into());
    }
    require_fresh(state, who, pin, otp, "user_state_changed").await?;
    let action = if user.state == AccountState::Locked && new_state == AccountState::Active {
        "account_unlocked"
    } else {
        "user_state_changed"
    };
    let audit = event(state, who, action)
        .about("user", user.id)
        .in_authority(&user.organisation.local_authority)
        .with("from", user.state.code())
        .with("to", new_state.code());
    Ok(state
        .store
        .set_user_state(&permit, user.id, new_state, &audit)
        .await?)
}

/// The dates as given (YYYY-MM-DD, empty for none); parsed once the policy has answered.
#[derive(Debug, Clone, Copy, Default)]
pub struct VettingDates<'a> {
    pub criminal_records_checked_on: Option<&'a str>,
    pub training_completed_on: Option<&'a str>,
    pub agreement_accepted_on: Option<&'a str>,
}

pub async fn set_vetting(
    state: &AppState,
    who: &SignedIn,
    user_id: i64,
    dates: VettingDates<'_>,
    pin: &str,
    otp: &str,
) -> Result<(), ServiceError> {
    let (permit, user) = permit_for_user(state, who, Action::ChangeUser, user_id).await?;
    let vetting = parse_vetting(
        dates.criminal_records_checked_on,
        dates.training_completed_on,
        dates.agreement_accepted_on,
    )?;
    require_fresh(state, who, pin, otp, "user_vetting_changed").await?;
    let date = |d: Option<NaiveDate>| d.map_or_else(|| "none".to_owned(), |d| d.to_string());
    let audit = event(state, who, "user_vetting_changed")
        .about("user", user.id)
        .in_authority(&user.organisation.local_authority)
        .with(
            "criminal_records_checked_on",
            date(vetting.criminal_records_checked_on),
        )
        .with("training_completed_on", date(vetting.training_completed_on))
        .with("agreement_accepted_on", date(vetting.agreement_accepted_on));
    Ok(state
        .store
        .set_vetting(&permit, user.id, vetting, &audit)
        .await?)
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct AccreditationChange {
    /// not_accredited, accredited, suspended or withdrawn
    #[serde(default)]
    pub accreditation: String,
    #[serde(default)]
    pub web_access: bool,
    #[serde(default)]
    pub integration_access: bool,
    #[serde(default)]
    pub pin: String,
    #[serde(default)]
    pub otp: String,
}

pub async fn set_accreditation(
    state: &AppState,
    who: &SignedIn,
    organisation_id: i64,
    change: &AccreditationChange,
) -> Result<(), ServiceError> {
    let (web_access, integration_access) = (change.web_access, change.integration_access);
    may_administer(who, Action::ChangeAccreditation)?;
    let organisation = state.store.organisation(organisation_id).await?;
    let permit = authorize(
        &who.actor(),
        Action::ChangeAccreditation,
        &Target::LocalAuthority(organisation.local_authority.clone()),
    )?;
    let accreditation = Accreditation::parse(&change.accreditation)?;
    require_fresh(
        state,
        who,
        &change.pin,
        &change.otp,
        "accreditation_changed",
    )
    .await?;
    let audit = event(state, who, "accreditation_changed")
        .about("organisation", organisation.id)
        .in_authority(&organisation.local_authority)
        .with("from", organisation.accreditation.code())
        .with("to", accreditation.code())
        .with("web_access", web_access)
        .with("integration_access", integration_access)
        .with("web_access_before", organisation.web_access)
        .with("integration_access_before", organisation.integration_access);
    Ok(state
        .store
        .set_accreditation(
            &permit,
            organisation.id,
            accreditation,
            web_access,
            integration_access,
            &audit,
        )
        .await?)
}

/// Ends every session of the signed-in user, everywhere.
pub async fn sign_out_everywhere(state: &AppState, who: &SignedIn) -> Result<u64, ServiceError> {
    authorize(&who.actor(), Action::EndOwnSessions, &Target::Own)?;
    let audit = event(state, who, "sign_out_everywhere");
    Ok(state
        .store
        .end_sessions(who.user_id(), None, &audit)
        .await?)
}

/// Replaces the signed-in user's security token: the new secret must produce a valid code,
/// and the PIN and a code from the current token prove it is them.
pub async fn enrol_totp(
    state: &AppState,
    who: &SignedIn,
    new_secret: &str,
    new_code: &str,
    pin: &str,
    otp: &str,
) -> Result<(), ServiceError> {
    let permit = authorize(&who.actor(), Action::EnrolSecurityToken, &Target::Own)?;
    let secret = TotpSecret::from_base32(new_secret)?;
    let step = secret
        .accept(new_code, state.clock.now(), None)
        .ok_or_else(|| FieldError::new("new_code", "the 6-digit code the new token shows now"))?;
    require_fresh(state, who, pin, otp, "security_token_enrolled").await?;
    let audit = event(state, who, "security_token_enrolled").about("user", who.user_id());
    Ok(state
        .store
        .enrol_totp(
            &permit,
            who.user_id(),
            &secret.to_base32(),
            step as i64,
            &audit,
        )
        .await?)
}

/// A case-management system's credential, registered to an organisation accredited for
/// integration. The secret is shown once; only its digest is kept.
#[derive(Debug)]
pub struct RegisteredClient {
    pub id: i64,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ClientRegistration {
    /// What the system is, e.g. "Children's social care case system".
    pub name: String,
    pub pin: String,
    pub otp: String,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct FreshFactors {
    pub pin: String,
    pub otp: String,
}

/// The organisation's authority, asked of the policy for `action` (a wrong role hears 403
/// before anything about the organisation is looked up).
async fn permit_for_organisation(
    state: &AppState,
    who: &SignedIn,
    action: Action,
    organisation_id: i64,
) -> Result<(Permit, OrganisationRecord), ServiceError> {
    may_administer(who, action)?;
    let organisation = state.store.organisation(organisation_id).await?;
    let permit = authorize(
        &who.actor(),
        action,
        &Target::LocalAuthority(organisation.local_authority.clone()),
    )?;
    Ok((permit, organisation))
}

pub async fn register_client(
    state: &AppState,
    who: &SignedIn,
    organisation_id: i64,
    request: &ClientRegistration,
) -> Result<RegisteredClient, ServiceError> {
    let (permit, organisation) =
        permit_for_organisation(state, who, Action::ManageApiClients, organisation_id).await?;
    let name = SystemName::parse_field("name", &request.name)?;
    if !(organisation.accreditation == Accreditation::Accredited && organisation.integration_access)
    {
        return Err(FieldError::new(
            "organisation_id",
            "an organisation accredited for case-management integration",
        )
        .into());
    }
    require_fresh(
        state,
        who,
        &request.pin,
        &request.otp,
        "api_client_registered",
    )
    .await?;
    let client_id = contactpoint_auth::new_client_id("cms");
    let client_secret = contactpoint_auth::new_token();
    let audit = event(state, who, "api_client_registered")
        .in_authority(&organisation.local_authority)
        .with("organisation_id", organisation.id)
        .with("client_id", &client_id)
        .with("name", name.as_str());
    let id = state
        .store
        .create_api_client(
            &permit,
            organisation.id,
            name.as_str(),
            &client_id,
            &contactpoint_auth::token_digest(&client_secret),
            &audit,
        )
        .await?;
    Ok(RegisteredClient {
        id,
        client_id,
        client_secret,
    })
}

/// Revokes a client credential; every session opened through it ends at once.
pub async fn revoke_client(
    state: &AppState,
    who: &SignedIn,
    client_id: &str,
    factors: &FreshFactors,
) -> Result<(), ServiceError> {
    may_administer(who, Action::ManageApiClients)?;
    let client = state.store.api_client(client_id).await?;
    let permit = authorize(
        &who.actor(),
        Action::ManageApiClients,
        &Target::LocalAuthority(client.organisation.local_authority.clone()),
    )?;
    require_fresh(state, who, &factors.pin, &factors.otp, "api_client_revoked").await?;
    let audit = event(state, who, "api_client_revoked")
        .about("api_client", client.id)
        .in_authority(&client.organisation.local_authority)
        .with("client_id", &client.client_id);
    Ok(state
        .store
        .revoke_api_client(&permit, client.id, &audit)
        .await?)
}

/// Changes the signed-in user's password and, if a new one is given, their PIN. Needs the
/// current password, the current PIN and a new one-time code; every other session ends.
pub async fn change_secrets(
    state: &AppState,
    who: &SignedIn,
    current_password: &str,
    new_password: &str,
    new_pin: Option<&str>,
    pin: &str,
    otp: &str,
) -> Result<(), ServiceError> {
    let permit = authorize(&who.actor(), Action::ViewOwnAccount, &Target::Own)?;
    let new_pin = new_pin
        .filter(|p| !p.is_empty())
        .map(|p| check_new_pin(p).map_err(|e| FieldError::new("new_pin", e.expected)))
        .transpose()?;
    check_new_password(new_password).map_err(|e| FieldError::new("new_password", e.expected))?;
    let record = state
        .store
        .sign_in_record(
            &Permit::system_bypass(contactpoint_domain::SystemTask::SignIn),
            &who.session.user.username,
        )
        .await?;
    // The current password, PIN and code are checked together and fail alike, and a failure
    // counts towards the lock like a failed sign-in.
    let password_ok = state.hasher.verify(current_password, &record.password_hash);
    if !password_ok {
        let failed = event(state, who, "password_changed").with("result", "factors wrong");
        count_failure(
            state,
            who,
            &AuditEvent {
                outcome: Outcome::Failure,
                ..failed
            },
        )
        .await?;
        return Err(ServiceError::FreshAuthentication);
    }
    require_fresh(state, who, pin, otp, "password_changed").await?;
    let password_hash = state.hasher.hash(new_password);
    let pin_hash = new_pin.map(|p| state.hasher.hash(p.as_str()));
    let audit = event(state, who, "password_changed")
        .about("user", who.user_id())
        .with("pin_changed", pin_hash.is_some());
    state
        .store
        .set_secrets(
            &permit,
            who.user_id(),
            Some(&password_hash),
            pin_hash.as_deref(),
            &who.token_digest,
            &audit,
        )
        .await?;
    Ok(())
}
