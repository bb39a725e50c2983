//! Every route of the router, walked from the one route table: anonymous callers get 401 and
//! a role the route is not for gets 403, on pages and API alike.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use contactpoint_domain::Role;
use contactpoint_web::{route_table, Access};

fn concrete(path: &str, id: i64) -> String {
    path.replace("{id}", &id.to_string())
}

on_both_backends!(
    every_route_refuses_anonymous_callers_and_the_wrong_role,
    |app| {
        let practitioner = app
            .user("walker.practitioner", Role::Practitioner, &[], 0)
            .await;
        let cookie = app.web_sign_in(&practitioner).await;
        let csrf = app
            .get("/account", Some(&cookie))
            .await
            .hidden("csrf")
            .unwrap();
        app.next_step();
        let bearer = app.api_sign_in(&practitioner).await;
        let table = route_table();
        assert!(table.len() > 20);
        let mut checked = 0;
        for (route, _) in &table {
            let path = concrete(route.path, practitioner.id);
            let is_api = route.path.starts_with("/api/");
            let anonymous = Request::builder()
                .method(route.method)
                .uri(&path)
                .body(Body::empty())
                .unwrap();
            let reply = app.send(anonymous).await;
            match route.access {
                Access::Public => {
                    // Public routes answer anyone (createSession answers a missing sign-in with its own 401).
                    assert!(
                        ![
                            StatusCode::NOT_FOUND,
                            StatusCode::FORBIDDEN,
                            StatusCode::METHOD_NOT_ALLOWED
                        ]
                        .contains(&reply.status),
                        "{} {} is public",
                        route.method,
                        route.path
                    );
                    continue;
                }
                Access::SignedIn | Access::Administration => {
                    assert_eq!(
                        reply.status,
                        StatusCode::UNAUTHORIZED,
                        "anonymous {} {}",
                        route.method,
                        route.path
                    );
                    if is_api {
                        assert_eq!(
                            reply.json()["error"]["code"],
                            "unauthenticated",
                            "{}",
                            route.path
                        );
                    } else {
                        assert!(
                            reply.body.contains("/sign-in"),
                            "{} offers sign-in",
                            route.path
                        );
                    }
                }
            }
            if route.access == Access::Administration {
                let request = if is_api {
                    Request::builder()
                        .method(route.method)
                        .uri(&path)
                        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from("{}"))
                        .unwrap()
                } else {
                    Request::builder()
                        .method(route.method)
                        .uri(&path)
                        .header(header::COOKIE, format!("cp_session={cookie}"))
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(Body::from(format!("csrf={}", urlencode(&csrf))))
                        .unwrap()
                };
                let reply = app.send(request).await;
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "a practitioner at {} {}: {}",
                    route.method,
                    route.path,
                    reply.body
                );
            }
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} protected routes");
        // Still signed in: none of that ended the sessions.
        assert_eq!(
            app.get("/account", Some(&cookie)).await.status,
            StatusCode::OK
        );
    }
);

#[tokio::test]
async fn the_openapi_document_describes_every_api_route_with_the_contracted_names() {
    let app = TestApp::new(contactpoint_storage::Backend::Sqlite)
        .await
        .unwrap();
    let reply = app.get("/api/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let operation = |path: &str, method: &str| {
        doc["paths"][path][method]["operationId"]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(
        operation("/api/sessions", "post").as_deref(),
        Some("createSession")
    );
    assert_eq!(
        operation("/api/sessions", "delete").as_deref(),
        Some("deleteSession")
    );
    for (route, _) in route_table() {
        if route.path.starts_with("/api/") && route.path != "/api/openapi.json" {
            assert!(
                operation(route.path, &route.method.to_lowercase()).is_some(),
                "{} {} is missing from the OpenAPI document",
                route.method,
                route.path
            );
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["ErrorEnvelope"].is_object() && schemas["SignInRequest"].is_object());
}
