//! The responsible local team's queue of shield overrides: read and acknowledged, each
//! recorded in the audit trail. Shared by the pages and the API.

use crate::identity_service::{event, ServiceError};
use crate::session::SignedIn;
use crate::AppState;
use contactpoint_domain::{authorize, Action, Target};
use contactpoint_storage::ShieldAlertRecord;

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
