//! ASVS 5.0 V13 (configuration): the admin plane stays off the public
//! listener; the route table's wiring fails closed.

use crate::helpers::{signed_in_admin, spawn_app_with};
use serde_json::Value;

/// Item 14: with `ADMIN_ADDR` set, the workshop's progress board (who solved
/// what: an admin read) is hidden on the public listener like the rest of
/// the admin plane — 404 before any decision — and served on the
/// management listener.
#[tokio::test]
async fn the_workshop_progress_board_is_not_on_the_public_listener() {
    let app = spawn_app_with(&[("ADMIN_ADDR", "127.0.0.1:0"), ("APP_WORKSHOP", "1")]).await;
    let management = app.management_address.clone().unwrap();
    let (admin, _) = signed_in_admin(&app, "board_admin").await;
    for path in [
        "/api/v1/workshop/progress",
        "/api/v1/workshop//progress",
        "/api/v1/%77orkshop/progress",
    ] {
        for cookie in [None, Some(admin.as_str())] {
            let r = app.get(path, cookie).await;
            assert_eq!(r.status(), 404, "public {path}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["request_id"].as_str().unwrap().len(), 32);
        }
    }
    let r = app
        .client
        .get(format!("{management}/api/v1/workshop/progress"))
        .header("Cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "on the management listener");
    // The participants' own workshop API stays public.
    assert_eq!(
        app.get("/api/v1/workshop/challenges", Some(&admin))
            .await
            .status(),
        200
    );
}

/// A scope whose enforcement point finds no policy table in the app data
/// (the `cfg.app_data(table::TABLE)` line lost in a refactor) refuses
/// everything, even a public route, with a 500, and runs no handler.
#[tokio::test]
async fn without_the_policy_table_every_request_is_refused() {
    use actix_web::{middleware::from_fn, test, web, App};
    let app = spawn_app_with(&[]).await;
    let service = test::init_service(
        App::new().app_data(app.state.clone()).service(
            web::scope("/api/v1/auth")
                .wrap(from_fn(backend::http::enforce::enforce))
                .configure(|c| backend::routes::table::api_auth::register(c, &Default::default())),
        ),
    )
    .await;
    for (method, path) in [
        (actix_web::http::Method::GET, "/api/v1/auth/password-policy"),
        (actix_web::http::Method::POST, "/api/v1/auth/logout"),
    ] {
        let req = test::TestRequest::default()
            .method(method)
            .uri(path)
            .to_request();
        let r = test::call_service(&service, req).await;
        assert_eq!(r.status(), 500, "{path}");
        let body: Value = test::read_body_json(r).await;
        assert_eq!(
            body["error"], "internal server error",
            "{path}: no handler ran"
        );
    }
}

/// A group registered under a prefix other than the one its table entries
/// carry (`table.rs` and the `web::scope` nesting in `routes::configure`
/// drifting apart): the router's pattern is in no entry, so every route of
/// the group is refused (403, recorded as `no_policy`), an admin's
/// credentials included; it never runs under some other entry.
#[tokio::test]
async fn a_group_mounted_under_a_drifted_prefix_is_refused_not_allowed() {
    use actix_web::{middleware::from_fn, test, web, App};
    let app = spawn_app_with(&[]).await;
    let (admin, _) = signed_in_admin(&app, "drift_admin").await;
    let service = test::init_service(
        App::new()
            .app_data(app.state.clone())
            .app_data(backend::routes::table::TABLE)
            .service(
                web::scope("/api/v2")
                    .wrap(from_fn(backend::http::enforce::enforce))
                    .configure(|c| {
                        backend::routes::table::api_v1::register(c, &Default::default())
                    }),
            ),
    )
    .await;
    for path in [
        "/api/v2/me",
        "/api/v2/admin/users",
        "/api/v2/admin/policies",
    ] {
        let req = test::TestRequest::get()
            .uri(path)
            .insert_header(("Cookie", admin.as_str()))
            .to_request();
        let r = test::call_service(&service, req).await;
        assert_eq!(r.status(), 403, "{path}");
        let body: Value = test::read_body_json(r).await;
        assert_eq!(body["error"], "forbidden", "{path}");
    }
    let refused: Vec<(String, String)> = backend::db::run(&app.state.pool, |c| {
        use backend::db::schema::access_decisions::dsl::*;
        use diesel::prelude::*;
        Ok(access_decisions
            .filter(outcome.eq("deny"))
            .select((route, reason))
            .load(c)?)
    })
    .await
    .unwrap();
    for path in [
        "/api/v2/me",
        "/api/v2/admin/users",
        "/api/v2/admin/policies",
    ] {
        assert!(
            refused.contains(&(path.to_owned(), "no_policy".to_owned())),
            "{path}: {refused:?}"
        );
    }
}

/// The OpenAPI document is still public (no credentials, any client), and
/// the admin policy listing is the whole table: as many entries as
/// `POLICIES`, every registered route and page among them, every
/// documented operation among them, and the policies page renders a row
/// for each.
#[tokio::test]
async fn the_openapi_document_is_public_and_the_policy_listing_is_the_whole_table() {
    use backend::routes::table::POLICIES;
    let app = spawn_app_with(&[]).await;
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    let documented = doc["paths"].as_object().expect("paths");
    assert!(documented.len() > 30, "{}", documented.len());

    let (admin, _) = signed_in_admin(&app, "listing_admin").await;
    let r = app.get("/api/v1/admin/policies", Some(&admin)).await;
    assert_eq!(r.status(), 200);
    let listing: Value = r.json().await.unwrap();
    let listed: Vec<(String, String)> = listing["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["method"].as_str().unwrap().to_owned(),
                p["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(listed.len(), POLICIES.len());

    let limiters = backend::http::rate_limit::Limiters::new(&app.state).unwrap();
    let mut registered = None;
    let _ = actix_web::App::new().configure(|cfg| {
        registered = Some(backend::routes::configure(cfg, &limiters));
    });
    let registered = registered.unwrap().list();
    for (method, path) in &registered {
        assert!(
            listed.contains(&((*method).to_owned(), path.clone())),
            "registered {method} {path} is missing from the listing"
        );
    }
    for page in backend::startup::page_routes() {
        assert!(
            listed.contains(&("GET".to_owned(), page.path().to_owned())),
            "page {} is missing from the listing",
            page.path()
        );
    }
    for (path, operations) in documented {
        for method in operations.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            assert!(
                listed.contains(&(method.clone(), path.clone())),
                "documented {method} {path} is missing from the listing"
            );
        }
    }
    let r = app.get("/admin/policies", Some(&admin)).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert_eq!(
        html.matches("data-testid=\"policy-route-row\"").count(),
        POLICIES.len()
    );
}
