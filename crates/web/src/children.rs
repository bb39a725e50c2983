//! Viewing a child's record: a reason first, then the one projection, and the view recorded
//! in the same transaction as the read. Shared by the pages and the API.

use crate::identity_service::ServiceError;
use crate::session::SignedIn;
use crate::AppState;
use contactpoint_domain::{
    authorize, project, Action, AuditEvent, ContactPointId, Outcome, ProjectedRecord, Target,
    ViewReason, Viewer,
};

pub async fn view_child(
    state: &AppState,
    who: &SignedIn,
    contactpoint_id: &str,
    reason_code: &str,
    reason_text: Option<&str>,
) -> Result<ProjectedRecord, ServiceError> {
    let permit = authorize(&who.actor(), Action::ViewChild, &Target::Own)?;
    let id = ContactPointId::parse(contactpoint_id)?;
    let reason = ViewReason::parse(reason_code, reason_text)?;
    let user = &who.session.user;
    let viewer = Viewer {
        role: user.role,
        local_authority: user.organisation.local_authority.clone(),
        service_ids: state
            .store
            .service_ids_of_organisation(user.organisation.id)
            .await?,
        shield_override: false,
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
        event
    };
    let record = state.store.view_child(&permit, &id, &audit_for).await?;
    let team = state
        .store
        .local_authority_team(&record.local_authority)
        .await
        .map(|(email, telephone)| format!("{email}, {telephone}"))
        .unwrap_or_default();
    Ok(project(&record, &viewer, today, &team))
}
