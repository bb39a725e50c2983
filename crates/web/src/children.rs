//! Viewing a child's record: a reason first, then the one projection, and the view recorded
//! in the same transaction as the read. A shield override also needs the warning accepted
//! and fresh factors, and alerts the responsible team in that same transaction. Shared by
//! the pages and the API.

use crate::identity_service::{require_fresh, ServiceError};
use crate::session::SignedIn;
use crate::AppState;
use contactpoint_domain::{
    authorize, project, Action, AuditEvent, ContactPointId, FieldError, Outcome, ProjectedRecord,
    Target, ViewReason, Viewer,
};
use contactpoint_storage::NewShieldAlert;

/// The warning a user must accept before a shield override.
pub const OVERRIDE_WARNING: &str = "Overriding shielding starts an immediate investigation. \
The responsible local ContactPoint team is alerted now, and you must be able to justify this view. \
The hidden details are shown for this view only.";

/// What a shield override needs besides the reason: the warning accepted, and the user's
/// PIN and a new code from their security token.
#[derive(Debug, Clone, Copy)]
pub struct ShieldOverride<'a> {
    pub warning_accepted: bool,
    pub pin: &'a str,
    pub otp: &'a str,
}

pub async fn view_child(
    state: &AppState,
    who: &SignedIn,
    contactpoint_id: &str,
    reason_code: &str,
    reason_text: Option<&str>,
    shield_override: Option<ShieldOverride<'_>>,
) -> Result<ProjectedRecord, ServiceError> {
    let permit = match shield_override {
        Some(_) => authorize(&who.actor(), Action::OverrideShield, &Target::Own)?,
        None => authorize(&who.actor(), Action::ViewChild, &Target::Own)?,
    };
    let asked = ContactPointId::parse(contactpoint_id)?;
    let reason = ViewReason::parse(reason_code, reason_text)?;
    if let Some(o) = shield_override {
        if !o.warning_accepted {
            return Err(FieldError::new(
                "warning_accepted",
                "confirmation that you understand an investigation will follow",
            )
            .into());
        }
        require_fresh(state, who, o.pin, o.otp, "shield_override").await?;
    }
    let user = &who.session.user;
    let viewer = Viewer {
        role: user.role,
        local_authority: user.organisation.local_authority.clone(),
        service_ids: state
            .store
            .service_ids_of_organisation(user.organisation.id)
            .await?,
        shield_override: shield_override.is_some(),
    };
    let today = state.clock.today();
    let now = state.clock.now();
    let route = who.session.route;
    let audit_for = |record: &contactpoint_domain::ChildRecord| {
        let shown = project(record, &viewer, today, "");
        let mut event = AuditEvent::new(now, route, "child_viewed", Outcome::Success)
            .by(who.user_id())
            .through_client(who.session.api_client_id)
            .about("child", record.contactpoint_id.as_digits())
            .in_authority(&record.local_authority)
            .with("reason", reason.code())
            .with("projection", shown.projection.code());
        if let ViewReason::Other(text) = &reason {
            event = event.with("reason_text", text);
        }
        // A record retired by a merge opens the survivor: the entry keeps the ID asked for.
        if record.contactpoint_id != asked {
            event = event.with("asked_for", asked.as_digits());
        }
        if shield_override.is_some() {
            event = event.with("shield_override", "requested");
        }
        event
    };
    let alert = shield_override.map(|_| NewShieldAlert {
        by_user_id: who.user_id(),
        at: now,
        reason: match &reason {
            ViewReason::Other(text) => format!("other: {text}"),
            r => r.code().to_owned(),
        },
    });
    let record = state
        .store
        .view_child(&permit, &asked, &audit_for, alert.as_ref())
        .await?;
    let team = state
        .store
        .local_authority_team(&record.local_authority)
        .await
        .map(|(email, telephone)| format!("{email}, {telephone}"))
        .unwrap_or_default();
    Ok(project(&record, &viewer, today, &team))
}
