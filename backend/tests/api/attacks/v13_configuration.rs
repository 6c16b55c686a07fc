//! ASVS 5.0 V13 (configuration): the admin plane stays off the public listener.

use crate::helpers::{signed_in_admin, spawn_app_with};

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
