//! The HTTP face of ContactPoint: one axum router serving the pages and the JSON API, built
//! from one route table that the tests walk.

pub mod api;
pub mod children;
pub mod data_management;
mod error;
mod health;
pub mod html;
pub mod identity_service;
mod pages;
pub mod review;
pub mod search;
pub mod security_key;
pub mod session;
pub mod shield_alerts;
pub mod signin;
pub mod supplier_accounts;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{get, post, put, MethodRouter};
use axum::Router;
use contactpoint_auth::{SecretHasher, SecurityKeys, TotpSecret};
use contactpoint_domain::Clock;
use contactpoint_storage::Store;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

pub use error::{ApiError, PageError};

/// How this server behaves; everything has a safe default.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Demonstration mode: privileged demo accounts may sign in with a one-time code instead
    /// of a security key. Refused outside `contactpoint demo`.
    pub demo_mode: bool,
    /// Mark cookies Secure (set when served behind TLS).
    pub secure_cookies: bool,
    /// The address people reach this server at, e.g. `https://contactpoint.example.gov.uk`;
    /// security keys are bound to its host. `http://localhost:8080` when not set.
    pub public_origin: Option<String>,
}

impl WebSettings {
    pub fn origin(&self) -> String {
        self.public_origin
            .clone()
            .unwrap_or_else(|| "http://localhost:8080".into())
    }
}

/// What every handler can reach. No global state: the server builds one of these.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub settings: WebSettings,
    pub hasher: SecretHasher,
    /// Checked against when a user has no token, so that costs the same as one who has.
    pub dummy_totp: Arc<TotpSecret>,
    /// Security keys for this server's origin; `None` if the origin cannot carry them.
    pub security_keys: Option<SecurityKeys>,
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: WebSettings) -> Self {
        let security_keys = match SecurityKeys::new(&settings.origin()) {
            Ok(keys) => Some(keys),
            Err(error) => {
                tracing::warn!(%error, "security keys are unavailable on this server");
                None
            }
        };
        Self {
            store,
            clock,
            settings,
            hasher: SecretHasher::default(),
            dummy_totp: Arc::new(TotpSecret::generate()),
            security_keys,
        }
    }
}

/// The caller's address, for throttling sign-in; `unknown` when the server does not know it.
#[derive(Debug, Clone)]
pub struct SourceAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SourceAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(Self(address))
    }
}

/// Who may reach a route at all; the handler then asks the policy about the exact action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the home page, sign-in, health, the OpenAPI document; and the routes that check
    /// a client credential themselves (sessions, suppliers' systems).
    Public,
    /// Any signed-in user (their own account).
    SignedIn,
    /// Only the local ContactPoint team or national administrators.
    Administration,
}

/// One route of the router.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// Every route, with who may reach it. The router is built from this table and nothing
/// else, so a test that walks it walks the whole router.
pub fn route_table() -> Vec<(RouteInfo, MethodRouter<AppState>)> {
    use Access::*;
    let r = |method, path, access| RouteInfo {
        method,
        path,
        access,
    };
    vec![
        (r("GET", "/", Public), get(pages::home)),
        (r("GET", "/healthz", Public), get(health::healthz)),
        (r("GET", "/sign-in", Public), get(pages::sign_in::show)),
        (r("POST", "/sign-in", Public), post(pages::sign_in::submit)),
        (
            r("POST", "/sign-out", SignedIn),
            post(pages::sign_in::sign_out),
        ),
        (
            r("POST", "/sign-in/security-key-challenge", Public),
            post(security_key::sign_in_challenge),
        ),
        (r("GET", "/account", SignedIn), get(pages::account::show)),
        (
            r("GET", "/account/password", SignedIn),
            get(pages::account::show_password),
        ),
        (
            r("POST", "/account/password", SignedIn),
            post(pages::account::change_password),
        ),
        (
            r("GET", "/account/security-key", SignedIn),
            get(security_key::enrol_page),
        ),
        (
            r("POST", "/account/security-key/challenge", SignedIn),
            post(security_key::enrol_challenge),
        ),
        (
            r("POST", "/account/security-key", SignedIn),
            post(security_key::enrol),
        ),
        (
            r("POST", "/account/sign-out-everywhere", SignedIn),
            post(pages::account::sign_out_everywhere),
        ),
        (
            r("GET", "/account/security-token", SignedIn),
            get(pages::account::show_enrol),
        ),
        (
            r("POST", "/account/security-token", SignedIn),
            post(pages::account::enrol),
        ),
        (
            r("GET", "/admin/users", Administration),
            get(pages::admin::users),
        ),
        (
            r("POST", "/admin/users", Administration),
            post(pages::admin::create_user),
        ),
        (
            r("GET", "/admin/users/{id}", Administration),
            get(pages::admin::user_detail),
        ),
        (
            r("POST", "/admin/users/{id}/state", Administration),
            post(pages::admin::set_user_state),
        ),
        (
            r("POST", "/admin/users/{id}/vetting", Administration),
            post(pages::admin::set_vetting),
        ),
        (
            r("GET", "/admin/organisations", Administration),
            get(pages::admin::organisations),
        ),
        (
            r(
                "POST",
                "/admin/organisations/{id}/accreditation",
                Administration,
            ),
            post(pages::admin::set_accreditation),
        ),
        (r("GET", "/api/openapi.json", Public), get(api::openapi)),
        (
            r("POST", "/api/sessions", Public),
            post(api::sessions::create_session),
        ),
        (
            r("DELETE", "/api/sessions", SignedIn),
            axum::routing::delete(api::sessions::delete_session),
        ),
        (
            r("GET", "/api/me", SignedIn),
            get(api::sessions::current_user),
        ),
        (
            r("GET", "/api/users", Administration),
            get(api::admin::list_users),
        ),
        (
            r("POST", "/api/users", Administration),
            post(api::admin::create_user),
        ),
        (
            r("POST", "/api/users/{id}/state", Administration),
            post(api::admin::set_user_state),
        ),
        (
            r("PUT", "/api/users/{id}/vetting", Administration),
            put(api::admin::set_user_vetting),
        ),
        (
            r("GET", "/api/organisations", Administration),
            get(api::admin::list_organisations),
        ),
        (
            r(
                "PUT",
                "/api/organisations/{id}/accreditation",
                Administration,
            ),
            put(api::admin::set_accreditation),
        ),
        (
            r(
                "POST",
                "/api/organisations/{id}/api-clients",
                Administration,
            ),
            post(api::admin::register_client),
        ),
        (
            r("POST", "/api/api-clients/{id}/revoke", Administration),
            post(api::admin::revoke_client),
        ),
        (
            r("GET", "/api/audit", Administration),
            get(api::audit::list),
        ),
        (
            r("GET", "/audit", Administration),
            get(pages::audit::review),
        ),
        (
            r("GET", "/audit/usage", Administration),
            get(pages::audit::usage),
        ),
        (
            r("GET", "/audit/children/{id}", Administration),
            get(pages::audit::child_history),
        ),
        (
            r("GET", "/api/audit/usage", Administration),
            get(api::audit::usage),
        ),
        (
            r("GET", "/api/children/{id}/access-history", Administration),
            get(api::audit::child_history),
        ),
        (
            r("GET", "/admin/shield-alerts", Administration),
            get(pages::alerts::list),
        ),
        (
            r(
                "POST",
                "/admin/shield-alerts/{id}/acknowledge",
                Administration,
            ),
            post(pages::alerts::acknowledge),
        ),
        (
            r("GET", "/api/shield-alerts", Administration),
            get(api::alerts::list),
        ),
        (
            r(
                "POST",
                "/api/shield-alerts/{id}/acknowledge",
                Administration,
            ),
            post(api::alerts::acknowledge),
        ),
        (
            r("GET", "/admin/exceptions", Administration),
            get(pages::data_management::exceptions),
        ),
        (
            r("GET", "/admin/exceptions/{id}", Administration),
            get(pages::data_management::exception),
        ),
        (
            r("POST", "/admin/exceptions/{id}/resolve", Administration),
            post(pages::data_management::resolve),
        ),
        (
            r("GET", "/admin/merges", Administration),
            get(pages::data_management::merges),
        ),
        (
            r("GET", "/admin/merges/compare", Administration),
            get(pages::data_management::compare),
        ),
        (
            r("POST", "/admin/merges", Administration),
            post(pages::data_management::merge),
        ),
        (
            r("POST", "/admin/merges/{id}/unmerge", Administration),
            post(pages::data_management::unmerge),
        ),
        (
            r("GET", "/api/supply-exceptions", Administration),
            get(api::data_management::list_exceptions),
        ),
        (
            r("GET", "/api/supply-exceptions/{id}", Administration),
            get(api::data_management::get_exception),
        ),
        (
            r(
                "POST",
                "/api/supply-exceptions/{id}/resolve",
                Administration,
            ),
            post(api::data_management::resolve_exception),
        ),
        (
            r("GET", "/api/merges", Administration),
            get(api::data_management::list_merges),
        ),
        (
            r("GET", "/api/merges/compare", Administration),
            get(api::data_management::compare),
        ),
        (
            r("POST", "/api/merges", Administration),
            post(api::data_management::merge),
        ),
        (
            r("POST", "/api/merges/{id}/unmerge", Administration),
            post(api::data_management::unmerge),
        ),
        (
            r("GET", "/admin/supplier-accounts", Administration),
            get(pages::supplier_accounts::list),
        ),
        (
            r("POST", "/admin/supplier-accounts", Administration),
            post(pages::supplier_accounts::register),
        ),
        (
            r(
                "POST",
                "/admin/supplier-accounts/{id}/revoke",
                Administration,
            ),
            post(pages::supplier_accounts::revoke),
        ),
        (
            r("GET", "/api/supplier-accounts", Administration),
            get(api::supplier_accounts::list),
        ),
        (
            r("POST", "/api/supplier-accounts", Administration),
            post(api::supplier_accounts::register),
        ),
        (
            r("POST", "/api/supplier-accounts/{id}/revoke", Administration),
            post(api::supplier_accounts::revoke),
        ),
        (
            r(
                "POST",
                "/admin/merge-requests/{id}/decision",
                Administration,
            ),
            post(pages::data_management::decide_merge_request),
        ),
        (
            r("GET", "/api/merge-requests", Administration),
            get(api::data_management::list_merge_requests),
        ),
        (
            r("POST", "/api/merge-requests/{id}/decision", Administration),
            post(api::data_management::decide_merge_request),
        ),
        (
            r(
                "POST",
                "/admin/merge-requests/{id}/withdraw",
                Administration,
            ),
            post(pages::data_management::withdraw_merge_request),
        ),
        (
            r("POST", "/api/merge-requests/{id}/withdraw", Administration),
            post(api::data_management::withdraw_merge_request),
        ),
        (
            r("POST", "/api/supply/children", Public),
            post(api::supply::supply_children)
                .layer(DefaultBodyLimit::max(api::supply::MAX_BODY_BYTES)),
        ),
        (
            r("POST", "/api/supply/involvements", Public),
            post(api::supply::supply_involvements)
                .layer(DefaultBodyLimit::max(api::supply::MAX_BODY_BYTES)),
        ),
        (
            r("GET", "/children", SignedIn),
            get(pages::children::search),
        ),
        (
            r("GET", "/children/{id}", SignedIn),
            get(pages::children::ask_reason),
        ),
        (
            r("POST", "/children/{id}/view", SignedIn),
            post(pages::children::view),
        ),
        (
            r("GET", "/api/children", SignedIn),
            get(api::children::search),
        ),
        (
            r("POST", "/api/children/{id}/view", SignedIn),
            post(api::children::view),
        ),
    ]
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (info, method_router) in route_table() {
        router = router.route(info.path, method_router);
    }
    router.fallback(error::not_found).with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
