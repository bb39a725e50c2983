//! The responsible local team's queue of shield overrides: read and acknowledged, each
//! recorded in the audit trail. Shared by the pages and the API.

use crate::identity_service::ServiceError;
use crate::session::SignedIn;
use crate::AppState;
use contactpoint_domain::{authorize, Action, AuditEvent, Outcome, Target};
use contactpoint_storage::ShieldAlertRecord;

fn event(state: &AppState, who: &SignedIn, action: &'static str) -> AuditEvent {
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

pub async fn list(
    state: &AppState,
    who: &SignedIn,
) -> Result<Vec<ShieldAlertRecord>, ServiceError> {
    let own = who.session.user.organisation.local_authority.clone();
    let permit = authorize(
        &who.actor(),
        Action::HandleShieldAlerts,
        &Target::LocalAuthority(own.clone()),
    )?;
    let audit = event(state, who, "shield_alerts_read");
    Ok(state.store.shield_alerts(&permit, &own, &audit).await?)
}

pub async fn acknowledge(state: &AppState, who: &SignedIn, id: i64) -> Result<(), ServiceError> {
    let own = who.session.user.organisation.local_authority.clone();
    let permit = authorize(
        &who.actor(),
        Action::HandleShieldAlerts,
        &Target::LocalAuthority(own.clone()),
    )?;
    let audit = event(state, who, "shield_alert_acknowledged").with("alert", id);
    Ok(state
        .store
        .acknowledge_shield_alert(&permit, &own, id, &audit)
        .await?)
}
