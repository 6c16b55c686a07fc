//! A change and its audit entry commit together (issue 17): with the audit
//! insert made to fail (a test-only trigger on `audit_log`, on this test's
//! own database), every change made through the API answers a 5xx JSON
//! error and leaves no trace; with the trigger quiet, the same request
//! succeeds and changes what it should (so each check can see a change).
//! Also: a failed COMMIT leaves the pooled connection usable.

use crate::helpers::{enrol_totp, signed_in_admin, spawn_app, TestApp, PASSWORD};
use backend::db::schema::{
    devices, oauth_clients, sessions, user_mfa, user_roles, user_ssn, users,
};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Makes every insert into `audit_log` whose action is listed in
/// `fail_audit` fail, as a full disk or a lost connection would.
async fn install_audit_fault(app: &TestApp) {
    backend::db::run(&app.state.pool, |c| {
        let sql = match c {
            backend::db::DbConn::Sqlite(_) => {
                "CREATE TABLE fail_audit (action TEXT NOT NULL);
                 CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log
                 WHEN NEW.action IN (SELECT action FROM fail_audit)
                 BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END;"
            }
            backend::db::DbConn::Postgres(_) => {
                "CREATE TABLE fail_audit (action TEXT NOT NULL);
                 CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                   IF NEW.action IN (SELECT action FROM fail_audit) THEN
                     RAISE EXCEPTION 'injected audit failure';
                   END IF;
                   RETURN NEW;
                 END $$;
                 CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log
                 FOR EACH ROW EXECUTE FUNCTION fail_audit();"
            }
        };
        c.batch_execute(sql)?;
        Ok(())
    })
    .await
    .expect("fault installed");
}

/// Audit entries with `action` fail from now on (`None`: none fail).
async fn fail_audit_of(app: &TestApp, action: Option<&'static str>) {
    backend::db::run(&app.state.pool, move |c| {
        c.batch_execute("DELETE FROM fail_audit")?;
        if let Some(action) = action {
            // A fixed action name from the table below, not input.
            c.batch_execute(&format!(
                "INSERT INTO fail_audit (action) VALUES ('{action}')"
            ))?;
        }
        Ok(())
    })
    .await
    .expect("fault set");
}

/// One kind of change made through the API.
#[derive(Clone, Copy, Debug)]
enum Change {
    RoleGrant,
    RoleRevoke,
    AdminLock,
    AdminUnlock,
    MfaReset,
    MfaSetup,
    MfaDisable,
    RecoveryCodes,
    SsnSet,
    SsnRemove,
    ClientCreate,
    ClientUpdate,
    ClientSecret,
    ClientDelete,
    SessionRevoke,
    AdminSessionRevoke,
    RevokeOthers,
    NewPassword,
    DeviceRegister,
    DeviceRemove,
    DeviceCompliance,
    StepUp,
    Reauthenticate,
    Login,
    Register,
    Shred,
}

/// Each change, the audit action whose failure must undo it, and the
/// status it answers when the audit works.
const CHANGES: &[(Change, &str, u16)] = &[
    (Change::RoleGrant, "role.grant", 204),
    (Change::RoleRevoke, "role.revoke", 204),
    (Change::AdminLock, "account.locked", 204),
    (Change::AdminUnlock, "account.unlock", 204),
    (Change::MfaReset, "mfa.admin_reset", 204),
    (Change::MfaReset, "session.revoke_others", 204),
    (Change::MfaSetup, "mfa.setup", 200),
    (Change::MfaDisable, "mfa.disable", 204),
    (Change::RecoveryCodes, "mfa.recovery_codes_regenerated", 200),
    (Change::SsnSet, "ssn.set", 200),
    (Change::SsnRemove, "ssn.remove", 204),
    (Change::ClientCreate, "oauth.client_created", 201),
    (Change::ClientUpdate, "oauth.client_updated", 200),
    (Change::ClientSecret, "oauth.client_secret_rotated", 200),
    (Change::ClientDelete, "oauth.client_deleted", 204),
    (Change::SessionRevoke, "session.revoke", 204),
    (Change::AdminSessionRevoke, "session.revoke", 204),
    (Change::RevokeOthers, "session.revoke_others", 200),
    (Change::NewPassword, "account.password_change", 200),
    (Change::NewPassword, "session.revoke_others", 200),
    (Change::DeviceRegister, "device.register", 201),
    (Change::DeviceRemove, "device.remove", 204),
    (Change::DeviceCompliance, "device.compliance", 204),
    (Change::StepUp, "mfa.step_up", 204),
    (Change::Reauthenticate, "auth.reauthenticate", 204),
    (Change::Login, "auth.login", 200),
    (Change::Register, "account.register", 201),
    (Change::Shred, "user_keys.shredded", 204),
    (Change::Shred, "session.revoke_others", 204),
];

/// What one case acts on: a fresh user (and what setting it up made).
struct Target {
    user_id: String,
    cookie: String,
    /// A second session of the user, a device or a client: the case's object.
    object: String,
    /// The user's TOTP secret, when the case enrolled one.
    secret: Option<backend::security::totp::TotpSecret>,
}

async fn other_session(app: &TestApp, cookie: &str) -> String {
    let list: Vec<Value> = app
        .get("/api/v1/me/sessions", Some(cookie))
        .await
        .json()
        .await
        .unwrap();
    list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const CLIENTS: &str = "/api/v1/admin/oauth/clients";

fn client_body(name: &str) -> Value {
    json!({
        "name": name,
        "redirect_uris": ["http://127.0.0.1/cb"],
        "public": false,
        "scopes": ["account"],
    })
}

/// A new user for case `n`, in the state the change starts from.
async fn setup(app: &TestApp, admin: &str, change: Change, n: usize) -> Target {
    let name = format!("case{n}");
    let cookie = app.signed_in(&name).await;
    let user_id = app.user_id(&cookie).await;
    let mut t = Target {
        user_id,
        cookie,
        object: name.clone(),
        secret: None,
    };
    let uid = t.user_id.clone();
    match change {
        Change::RoleRevoke => {
            let r = role(app, admin, &uid, true).await;
            assert_eq!(r.status(), 204);
        }
        Change::AdminUnlock => {
            let r = admin_post(app, admin, &format!("/api/v1/admin/users/{uid}/lock")).await;
            assert_eq!(r.status(), 204);
        }
        Change::MfaReset | Change::MfaDisable | Change::RecoveryCodes | Change::StepUp => {
            // A second session for the reset to end (before enrolling: a
            // password alone opens none afterwards).
            app.login(&name, PASSWORD).await;
            t.secret = Some(enrol_totp(app, &t.cookie).await);
            crate::helpers::next_totp_step(app);
        }
        Change::SsnRemove => {
            let r = put_ssn(app, &t.cookie).await;
            assert_eq!(r.status(), 200);
        }
        Change::Shred => {
            // A data key, an SSN under it and a factor (whose removal ends
            // the user's sessions, also recorded).
            let r = put_ssn(app, &t.cookie).await;
            assert_eq!(r.status(), 200);
            t.secret = Some(enrol_totp(app, &t.cookie).await);
        }
        Change::ClientUpdate | Change::ClientSecret | Change::ClientDelete => {
            let r = app
                .send(
                    Method::POST,
                    CLIENTS,
                    Some(&client_body(&name)),
                    Some(admin),
                )
                .await;
            assert_eq!(r.status(), 201);
            let created: Value = r.json().await.unwrap();
            t.object = created["client"]["id"].as_str().unwrap().to_owned();
        }
        Change::SessionRevoke
        | Change::AdminSessionRevoke
        | Change::RevokeOthers
        | Change::NewPassword => {
            app.login(&name, PASSWORD).await;
            t.object = other_session(app, &t.cookie).await;
        }
        Change::DeviceRegister => {
            t.secret = Some(enrol_totp(app, &t.cookie).await);
        }
        Change::DeviceRemove | Change::DeviceCompliance => {
            let (cookie, device) = app.with_device(&t.cookie, "Laptop").await;
            t.object = device;
            if let Change::DeviceRemove = change {
                // Removing the device the request comes from is allowed;
                // the plain cookie names none.
                t.cookie = cookie;
            }
        }
        _ => {}
    }
    t
}

async fn role(app: &TestApp, admin: &str, uid: &str, grant: bool) -> reqwest::Response {
    app.send(
        Method::PUT,
        &format!("/api/v1/admin/users/{uid}/roles"),
        Some(&json!({ "role": "auditor", "grant": grant })),
        Some(admin),
    )
    .await
}

async fn admin_post(app: &TestApp, admin: &str, path: &str) -> reqwest::Response {
    app.post_json(path, &json!({}), Some(admin)).await
}

async fn put_ssn(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.send(
        Method::PUT,
        "/api/v1/me/ssn",
        Some(&json!({ "ssn": "123-45-6789" })),
        Some(cookie),
    )
    .await
}

/// Makes the change through the API.
async fn perform(app: &TestApp, admin: &str, change: Change, t: &Target) -> reqwest::Response {
    let uid = &t.user_id;
    let code = || crate::helpers::totp_code(app, t.secret.as_ref().unwrap());
    match change {
        Change::RoleGrant => role(app, admin, uid, true).await,
        Change::RoleRevoke => role(app, admin, uid, false).await,
        Change::AdminLock => {
            admin_post(app, admin, &format!("/api/v1/admin/users/{uid}/lock")).await
        }
        Change::AdminUnlock => {
            admin_post(app, admin, &format!("/api/v1/admin/users/{uid}/unlock")).await
        }
        Change::MfaReset => {
            admin_post(app, admin, &format!("/api/v1/admin/users/{uid}/mfa/reset")).await
        }
        Change::MfaSetup => {
            app.post_json("/api/v1/me/mfa/totp/setup", &json!({}), Some(&t.cookie))
                .await
        }
        Change::MfaDisable => {
            let body = json!({ "password": PASSWORD, "code": code() });
            let r = app
                .post_json("/api/v1/me/mfa/disable", &body, Some(&t.cookie))
                .await;
            crate::helpers::next_totp_step(app);
            r
        }
        Change::RecoveryCodes => {
            app.post_json("/api/v1/me/mfa/recovery-codes", &json!({}), Some(&t.cookie))
                .await
        }
        Change::SsnSet => put_ssn(app, &t.cookie).await,
        Change::SsnRemove => {
            app.send(Method::DELETE, "/api/v1/me/ssn", None, Some(&t.cookie))
                .await
        }
        Change::ClientCreate => {
            app.send(
                Method::POST,
                CLIENTS,
                Some(&client_body("Created")),
                Some(admin),
            )
            .await
        }
        Change::ClientUpdate => {
            app.send(
                Method::PUT,
                &format!("{CLIENTS}/{}", t.object),
                Some(&json!({
                    "name": "Renamed",
                    "redirect_uris": ["http://127.0.0.1/cb"],
                    "scopes": ["account"],
                })),
                Some(admin),
            )
            .await
        }
        Change::ClientSecret => {
            admin_post(app, admin, &format!("{CLIENTS}/{}/secret", t.object)).await
        }
        Change::ClientDelete => {
            app.send(
                Method::DELETE,
                &format!("{CLIENTS}/{}", t.object),
                None,
                Some(admin),
            )
            .await
        }
        Change::SessionRevoke => {
            app.send(
                Method::DELETE,
                &format!("/api/v1/me/sessions/{}", t.object),
                None,
                Some(&t.cookie),
            )
            .await
        }
        Change::AdminSessionRevoke => {
            app.send(
                Method::DELETE,
                &format!("/api/v1/admin/sessions/{}", t.object),
                None,
                Some(admin),
            )
            .await
        }
        Change::RevokeOthers => {
            app.post_json(
                "/api/v1/me/sessions/revoke-others",
                &json!({}),
                Some(&t.cookie),
            )
            .await
        }
        Change::NewPassword => {
            let body = json!({ "current_password": PASSWORD, "new_password": "N3w-Passphrase!x" });
            app.post_json("/api/v1/me/password", &body, Some(&t.cookie))
                .await
        }
        Change::DeviceRegister => {
            app.post_json(
                "/api/v1/me/devices",
                &json!({ "label": "Phone" }),
                Some(&t.cookie),
            )
            .await
        }
        Change::DeviceRemove => {
            app.send(
                Method::DELETE,
                &format!("/api/v1/me/devices/{}", t.object),
                None,
                Some(&t.cookie),
            )
            .await
        }
        Change::DeviceCompliance => {
            app.send(
                Method::PUT,
                &format!("/api/v1/admin/devices/{}/compliance", t.object),
                Some(&json!({ "compliant": false })),
                Some(admin),
            )
            .await
        }
        Change::StepUp => {
            let body = json!({ "code": code() });
            let r = app
                .post_json("/api/v1/me/mfa/step-up", &body, Some(&t.cookie))
                .await;
            crate::helpers::next_totp_step(app);
            r
        }
        Change::Reauthenticate => {
            let body = json!({ "password": PASSWORD });
            app.post_json("/api/v1/me/reauthenticate", &body, Some(&t.cookie))
                .await
        }
        Change::Login => {
            let body = json!({ "login": t.object, "password": PASSWORD });
            app.post_json("/api/v1/auth/login", &body, None).await
        }
        Change::Register => {
            let name = format!("{}x", t.object);
            app.register(&name, &format!("{name}@example.org")).await
        }
        Change::Shred => admin_post(app, admin, &format!("/api/v1/admin/users/{uid}/shred")).await,
    }
}

/// Everything a case's change could touch, as text to compare: the user's
/// row, roles, sessions, factor, SSN and devices, and every client.
async fn snapshot(app: &TestApp, t: &Target) -> String {
    let uid = t.user_id.clone();
    backend::db::run(&app.state.pool, move |c| {
        let user: (String, Option<chrono::NaiveDateTime>, i32) = users::table
            .filter(users::id.eq(&uid))
            .select((users::password_hash, users::locked_until, users::failed_logins))
            .first(c)?;
        let roles: Vec<String> = user_roles::table
            .filter(user_roles::user_id.eq(&uid))
            .select(user_roles::role)
            .order(user_roles::role)
            .load(c)?;
        type SessionRow = (
            String,
            Option<chrono::NaiveDateTime>,
            Option<String>,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
        );
        let sessions: Vec<SessionRow> = sessions::table
            .filter(sessions::user_id.eq(&uid))
            .select((
                sessions::id,
                sessions::revoked_at,
                sessions::device_id,
                sessions::mfa_verified_at,
                sessions::reauthenticated_at,
            ))
            .order(sessions::id)
            .load(c)?;
        let accounts: i64 = users::table.count().get_result(c)?;
        let mfa: Vec<(String, Option<chrono::NaiveDateTime>)> = user_mfa::table
            .filter(user_mfa::user_id.eq(&uid))
            .select((user_mfa::secret, user_mfa::enabled_at))
            .load(c)?;
        let codes: Vec<String> = backend::db::schema::recovery_codes::table
            .filter(backend::db::schema::recovery_codes::user_id.eq(&uid))
            .select(backend::db::schema::recovery_codes::code_hash)
            .order(backend::db::schema::recovery_codes::code_hash)
            .load(c)?;
        let ssn: Vec<String> = user_ssn::table
            .filter(user_ssn::user_id.eq(&uid))
            .select(user_ssn::ciphertext)
            .load(c)?;
        // The data key: created with the first value, in its transaction.
        let data_key = backend::db::models::user_key::UserDataKey::find(c, &uid)?;
        let devices: Vec<(String, bool)> = devices::table
            .filter(devices::user_id.eq(&uid))
            .select((devices::id, devices::compliant))
            .order(devices::id)
            .load(c)?;
        let clients: Vec<(String, String, Option<String>)> = oauth_clients::table
            .select((oauth_clients::id, oauth_clients::name, oauth_clients::secret_hash))
            .order(oauth_clients::id)
            .load(c)?;
        Ok(format!(
            "{accounts}\n{user:?}\n{roles:?}\n{sessions:?}\n{mfa:?}\n{codes:?}\n{ssn:?}\n{data_key:?}\n{devices:?}\n{clients:?}"
        ))
    })
    .await
    .expect("snapshot")
}

#[tokio::test]
async fn a_change_whose_audit_entry_fails_is_not_made() {
    let app = spawn_app().await;
    let (admin, _) = signed_in_admin(&app, "root").await;
    let (admin, _) = app.with_device(&admin, "Admin laptop").await;
    install_audit_fault(&app).await;

    // Every kind is tried and every failure listed, not only the first.
    let mut failures = Vec::new();
    for (n, &(change, action, ok)) in CHANGES.iter().enumerate() {
        let t = setup(&app, &admin, change, n).await;
        let before = snapshot(&app, &t).await;

        let known = failures.len();
        fail_audit_of(&app, Some(action)).await;
        let r = perform(&app, &admin, change, &t).await;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if (status, body["error"].as_str()) != (500, Some("internal server error")) {
            failures.push(format!(
                "{change:?} with `{action}` failing answered {status} {body}"
            ));
        }
        app.forget_cached_identities();
        if snapshot(&app, &t).await != before {
            failures.push(format!(
                "{change:?}: changed although `{action}` could not be recorded"
            ));
        }

        fail_audit_of(&app, None).await;
        if failures.len() > known {
            continue; // the change was made already: nothing to redo
        }
        let r = perform(&app, &admin, change, &t).await;
        assert_eq!(r.status().as_u16(), ok, "{change:?} works with the audit");
        assert_ne!(
            snapshot(&app, &t).await,
            before,
            "{change:?} changes what the check looks at"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A COMMIT that fails (here a deferred foreign key, checked only then)
/// rolls the transaction back, and the same connection takes the next
/// write: before, SQLite left it inside the failed transaction, so the next
/// `BEGIN IMMEDIATE` on it failed ("cannot start a transaction within a
/// transaction") and every later use of that pooled connection with it.
#[tokio::test]
async fn a_failed_commit_rolls_back_and_the_connection_writes_again() {
    use backend::db::{self, DbConn};
    let app = spawn_app().await;
    let count = |c: &mut DbConn| -> Result<i64, backend::error::AppError> {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: Vec<N> = diesel::sql_query("SELECT COUNT(*) AS n FROM late_check").load(c)?;
        Ok(rows.first().map_or(0, |r| r.n))
    };
    let (failed, later, rows) = db::run(&app.state.pool, move |c| {
        c.batch_execute(
            "CREATE TABLE late_check (
                 id INTEGER PRIMARY KEY,
                 user_id TEXT REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED
             )",
        )?;
        // The insert passes; the foreign key is checked at COMMIT, and fails.
        let failed = db::write_transaction(c, |c| {
            c.batch_execute("INSERT INTO late_check (id, user_id) VALUES (1, 'nobody')")?;
            Ok(())
        });
        // The same connection, at once: a new write transaction.
        let later = db::write_transaction(c, |c| {
            c.batch_execute("INSERT INTO late_check (id, user_id) VALUES (2, NULL)")?;
            Ok(())
        });
        let rows = count(c)?;
        Ok((failed.is_err(), later.map_err(|e| format!("{e:?}")), rows))
    })
    .await
    .expect("the connection answers");
    assert!(failed, "the COMMIT with a dangling reference fails");
    assert_eq!(later, Ok(()), "the next write on that connection works");
    assert_eq!(
        rows, 1,
        "only the second row is there: the first was rolled back"
    );
}

/// A read that must be recorded (the SSN reveal) is not answered when its
/// entry cannot be written: a 5xx without the number.
#[tokio::test]
async fn an_ssn_reveal_whose_audit_entry_fails_shows_nothing() {
    let app = spawn_app().await;
    let cookie = app.signed_in("revealer").await;
    assert_eq!(put_ssn(&app, &cookie).await.status(), 200);
    enrol_totp(&app, &cookie).await;
    install_audit_fault(&app).await;
    let empty = json!({});
    let reveal = || app.post_json("/api/v1/me/ssn/reveal", &empty, Some(&cookie));

    fail_audit_of(&app, Some("ssn.reveal")).await;
    let r = reveal().await;
    assert_eq!(r.status(), 500);
    let body = r.text().await.unwrap();
    assert!(body.contains("internal server error"), "{body}");
    assert!(!body.contains("6789"), "no digit of the number: {body}");

    fail_audit_of(&app, None).await;
    let r = reveal().await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["ssn"], "123-45-6789");
}
