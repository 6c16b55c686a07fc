//! ASVS 5.0 V14 (data protection): crypto-shredding a user's data —
//! who may, twice, and racing the user's own writes.

use crate::helpers::{signed_in_admin, spawn_app, TestApp};
use crate::key_rotation::ssn;
use crate::user_keys::{data_key_row, put_ssn, shred, ssn_row};
use backend::security::user_keys::DataKey;
use futures_util::future::join_all;
use serde_json::Value;

/// Alice with an SSN: (cookie, user id).
async fn alice_with_ssn(app: &TestApp, name: &str) -> (String, String) {
    let cookie = app.signed_in(name).await;
    let uid = app.user_id(&cookie).await;
    assert_eq!(put_ssn(app, &cookie, "123-45-6789").await.status(), 200);
    (cookie, uid)
}

/// Her data key and SSN are intact and readable, and no shred was recorded.
async fn nothing_shredded(app: &TestApp, alice: &str, a: &str) {
    assert!(data_key_row(app, a).await.is_some());
    let status: Value = app
        .get("/api/v1/me/ssn", Some(alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["masked"], "***-**-6789");
    assert!(!app
        .audit_actions()
        .await
        .iter()
        .any(|e| e.0 == "user_keys.shredded"));
}

#[tokio::test]
async fn a_user_cannot_shred_anyones_data_and_nothing_changes() {
    let app = spawn_app().await;
    let (alice, a) = alice_with_ssn(&app, "shred_alice").await;
    let mallory = app.signed_in("shred_mallory").await;
    let m = app.user_id(&mallory).await;
    for (who, target) in [(&mallory, &a), (&mallory, &m), (&alice, &a)] {
        let r = shred(&app, who, target).await;
        assert_eq!(r.status(), 403, "a user shredding {target}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].is_string());
    }
    // Her key and her SSN are intact and readable.
    nothing_shredded(&app, &alice, &a).await;
}

#[tokio::test]
async fn shredding_twice_or_a_missing_user_answers_clearly_not_500() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "shred_boss").await;
    let (alice, a) = alice_with_ssn(&app, "shred_anna").await;
    assert_eq!(shred(&app, &admin, &a).await.status(), 204);
    let r = shred(&app, &admin, &a).await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("nothing to shred"),
        "{body}"
    );
    let r = shred(&app, &admin, "no-such-user").await;
    assert_eq!(r.status(), 404);
    // Her SSN is gone: a clear "none stored", and the reveal a 404.
    let status: Value = app
        .get("/api/v1/me/ssn", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["stored"], false);
    // She may store a new one: under a new key, readable.
    assert_eq!(put_ssn(&app, &alice, "111-22-3333").await.status(), 200);
    let status: Value = app
        .get("/api/v1/me/ssn", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["masked"], "***-**-3333");
}

/// The rule (`services::user_keys`): a value is stored only in a
/// transaction holding the key it was sealed under; a shred deletes the
/// key first, then the values. Racing shreds and writes, each round ends
/// with either no SSN or one that decrypts under the key the database
/// holds for her: never a value under a destroyed key.
#[tokio::test]
async fn a_shred_racing_ssn_writes_never_leaves_a_value_under_a_destroyed_key() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "shred_chief").await;
    let (alice, a) = alice_with_ssn(&app, "shred_ada").await;
    let (mut shredded, mut written) = (0, 0);
    for round in 0..12 {
        let numbers: Vec<String> = (0..3)
            .map(|i| format!("123-45-{:04}", 1000 + round * 3 + i))
            .collect();
        let writes = numbers.iter().map(|n| put_ssn(&app, &alice, n));
        let (puts, shreds) = futures_util::future::join(
            join_all(writes),
            join_all([shred(&app, &admin, &a), shred(&app, &admin, &a)]),
        )
        .await;
        for r in &puts {
            let code = r.status().as_u16();
            assert!(code == 200 || code == 409, "a write answered {code}");
            written += usize::from(code == 200);
        }
        for r in &shreds {
            let code = r.status().as_u16();
            assert!(code == 204 || code == 409, "a shred answered {code}");
            shredded += usize::from(code == 204);
        }
        // The invariant, in the database: a stored value has its key.
        if let Some(stored) = ssn_row(&app, &a).await {
            let wrapped = data_key_row(&app, &a)
                .await
                .unwrap_or_else(|| panic!("round {round}: a value survived its key's destruction"));
            let key = DataKey::unwrap(&app.state.keys.fields, &a, &wrapped).unwrap();
            key.decrypt(ssn(&a), &stored)
                .unwrap_or_else(|e| panic!("round {round}: not under her key: {e}"));
            // And through the API.
            let r = app.get("/api/v1/me/ssn", Some(&alice)).await;
            assert_eq!(r.status(), 200, "round {round}");
        }
        // Make sure the next round starts with something to shred.
        assert_eq!(put_ssn(&app, &alice, "123-45-6789").await.status(), 200);
    }
    assert!(
        shredded > 0 && written > 0,
        "{shredded} shreds, {written} writes"
    );
}

/// Parallel writes of one user's SSN — her first (no data key yet: each
/// would create one) and later ones — each answer 200, or a clean 409 for
/// a write that lost a race, never a 500 (a delete-then-insert store, or
/// two new keys for one user, once gave a duplicate-key error on
/// PostgreSQL); and what is stored afterwards reads.
#[tokio::test]
async fn parallel_ssn_writes_of_one_user_never_fail_with_a_server_error() {
    let app = spawn_app().await;
    let alice = app.signed_in("ssn_racer").await;
    for round in 0..4 {
        let numbers: Vec<String> = (0..6)
            .map(|i| format!("123-45-{:04}", 2000 + round * 6 + i))
            .collect();
        let puts = join_all(numbers.iter().map(|n| put_ssn(&app, &alice, n))).await;
        let mut ok = 0;
        for r in puts {
            let code = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert!(code == 200 || code == 409, "round {round}: {code} {body}");
            if code == 409 {
                assert!(body["error"].is_string(), "{body}");
            }
            ok += usize::from(code == 200);
        }
        assert!(ok > 0, "round {round}: every write refused");
        let r = app.get("/api/v1/me/ssn", Some(&alice)).await;
        assert_eq!(r.status(), 200, "round {round}");
    }
}

/// Attack: a stepped-up admin's browser made to shred from another origin
/// (a page elsewhere, a sandboxed `Origin: null` frame, a forged
/// `X-Forwarded-Host` naming the attacker's site as ours, no `Origin` at
/// all), and shred paths with odd ids (NUL, very long, non-ASCII, dot
/// segments). Each is a clear 4xx, never a 500, and nothing is destroyed or
/// recorded as shredded.
#[tokio::test]
async fn a_cross_site_or_odd_id_shred_is_refused_and_destroys_nothing() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "shred_warden").await;
    let (alice, a) = alice_with_ssn(&app, "shred_ines").await;
    let url = app.url(&format!("/api/v1/admin/users/{a}/shred"));
    let evil = "https://evil.example";
    let attempts: [(&str, Option<&str>, Option<&str>); 4] = [
        ("another origin", Some(evil), None),
        ("Origin: null", Some("null"), None),
        (
            "a forged X-Forwarded-Host",
            Some(evil),
            Some("evil.example"),
        ),
        ("no Origin", None, None),
    ];
    for (what, origin, forwarded_host) in attempts {
        let mut req = app
            .client
            .post(&url)
            .header("Cookie", &admin)
            .header("Content-Type", "application/json")
            .body("{}");
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        if let Some(h) = forwarded_host {
            req = req.header("X-Forwarded-Host", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{what}");
    }
    let long = "a".repeat(5000);
    for id in ["%00", "%C3%A9%E2%80%AE", "..%2F..%2Fme", long.as_str()] {
        let r = shred(&app, &admin, id).await;
        let code = r.status().as_u16();
        assert!((400..500).contains(&code), "id {id:.40}: {code}");
    }
    // Nothing of hers was destroyed, and no shred was recorded.
    nothing_shredded(&app, &alice, &a).await;
    // The same admin, same origin: the shred goes through (the refusals
    // above were the origin's and the ids', not a broken session).
    assert_eq!(shred(&app, &admin, &a).await.status(), 204);
}
