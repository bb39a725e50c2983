//! The JSON API for accredited case-management systems and administration tools, described
//! by the OpenAPI document at `/api/openapi.json`.

pub mod admin;
pub mod alerts;
pub mod audit;
pub mod children;
pub mod data_management;
pub mod sessions;
pub mod supplier_accounts;
pub mod supply;

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ContactPoint API",
        description = "For accredited case-management systems acting for a signed-in practitioner, for administration, and for accredited suppliers' systems sending their records. Every call is audited as the user, through the system. Errors are JSON: {\"error\": {\"code\", \"message\"}}.",
        version = "0.1.0"
    ),
    paths(
        sessions::create_session,
        sessions::delete_session,
        sessions::current_user,
        admin::list_users,
        admin::create_user,
        admin::set_user_state,
        admin::set_user_vetting,
        admin::list_organisations,
        admin::set_accreditation,
        admin::register_client,
        admin::revoke_client,
        audit::list,
        children::search,
        alerts::list,
        audit::usage,
        audit::child_history,
        alerts::acknowledge,
        children::view,
        data_management::list_exceptions,
        data_management::get_exception,
        data_management::resolve_exception,
        data_management::list_merges,
        data_management::compare,
        data_management::merge,
        data_management::unmerge,
        data_management::list_merge_requests,
        data_management::decide_merge_request,
        data_management::withdraw_merge_request,
        supply::supply_children,
        supply::supply_involvements,
        supplier_accounts::list,
        supplier_accounts::register,
        supplier_accounts::revoke,
    ),
    components(schemas(
        crate::error::ErrorEnvelope,
        crate::error::ErrorBody,
        sessions::SignInRequest,
        sessions::SessionCreated,
        admin::UserView,
        admin::OrganisationView,
        crate::identity_service::NewUserInput,
        admin::UserCreated,
        admin::StateChange,
        admin::VettingChange,
        crate::identity_service::AccreditationChange,
        crate::identity_service::ClientRegistration,
        crate::identity_service::FreshFactors,
        admin::ClientRegistered,
        audit::AuditEntry,
        children::ViewRequest,
        data_management::ComparedChild,
        data_management::ExceptionCandidate,
        data_management::FieldComparison,
        data_management::ComparedValue,
        data_management::SupplyException,
        data_management::ResolveRequest,
        data_management::Resolved,
        data_management::Merge,
        data_management::Comparison,
        data_management::MergeRequest,
        data_management::MergeCreated,
        data_management::MergeAwaiting,
        data_management::PendingMerge,
        data_management::MergeDecision,
        data_management::MergeDecided,
        supply::RejectedRow,
        supply::ChildrenSupplied,
        supply::InvolvementsSupplied,
        supplier_accounts::SupplierAccount,
        supplier_accounts::SupplierAccounts,
        crate::supplier_accounts::SupplierRegistration,
        supplier_accounts::SupplierRegistered,
    )),
    modifiers(&Security)
)]
#[derive(Debug)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "client",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

pub async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
