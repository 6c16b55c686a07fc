//! Token renewal, start-up retries and dynamic database credentials,
//! against a stand-in for Vault with state (the one in `vault::tests`
//! answers fixed reads only).

// A module of its own so the source checks in `invariants` see test code.
#[cfg(test)]
mod tests {

    use super::super::{load, VaultSecrets};
    use crate::db::Pool;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    const ROLE_ID: &str = "role-3f2a";
    const SECRET_ID: &str = "secret-id-9c1e-do-not-print";

    #[derive(Default)]
    struct State {
        requests: Vec<String>,
        logins: usize,
        /// Answer 503 (sealed) to this many requests first.
        sealed_for: usize,
        token_ttl: u64,
        /// What a token renewal grants (less than `token_ttl`: max TTL).
        renew_ttl: u64,
        refuse_token_renewal: bool,
        refuse_lease_renewal: bool,
        /// Roles created for `database/creds/app`: (name, password).
        roles: Vec<(String, String)>,
    }

    /// Vault on 127.0.0.1 with AppRole, token renewal, the KV read, database
    /// credentials and lease renewal. With `pg` (a superuser URL) the
    /// credentials are real PostgreSQL roles with rights on `schema`.
    struct FakeVault {
        addr: String,
        state: Arc<Mutex<State>>,
        pg: Option<(String, String)>,
    }

    impl FakeVault {
        fn start(token_ttl: u64, pg: Option<(String, String)>) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = format!("http://{}", listener.local_addr().unwrap());
            let state = Arc::new(Mutex::new(State {
                token_ttl,
                renew_ttl: token_ttl,
                ..State::default()
            }));
            let (shared, db) = (state.clone(), pg.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let Some((status, body)) = answer(&stream, &shared, db.as_ref()) else {
                        continue;
                    };
                    let mut stream = stream;
                    let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                }
            });
            Self { addr, state, pg }
        }

        fn state(&self) -> std::sync::MutexGuard<'_, State> {
            self.state.lock().unwrap()
        }

        fn count(&self, line: &str) -> usize {
            self.state()
                .requests
                .iter()
                .filter(|r| r.starts_with(line))
                .count()
        }

        /// What Vault does when a lease ends: the role may no longer log in,
        /// and its sessions end.
        fn expire(&self, role: &str) {
            let (url, _) = self.pg.as_ref().unwrap();
            let mut c = PgConnection::establish(url).unwrap();
            c.batch_execute(&format!(
            "ALTER ROLE \"{role}\" NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
        ))
        .unwrap();
        }
    }

    fn answer(
        stream: &std::net::TcpStream,
        state: &Mutex<State>,
        pg: Option<&(String, String)>,
    ) -> Option<(u16, String)> {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let mut len = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).ok()?;
            if h.trim_end().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).ok()?;
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let mut s = state.lock().unwrap();
        let line = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
        s.requests.push(line.clone());
        if s.sealed_for > 0 {
            s.sealed_for -= 1;
            return Some((503, r#"{"errors":["Vault is sealed"]}"#.into()));
        }
        let json = |v: serde_json::Value| v.to_string();
        Some(match line.as_str() {
            "POST /v1/auth/approle/login" if body["secret_id"] == SECRET_ID => {
                s.logins += 1;
                let auth = serde_json::json!({ "client_token": format!("hvs.t{}", s.logins),
                "lease_duration": s.token_ttl, "renewable": true });
                (200, json(serde_json::json!({ "auth": auth })))
            }
            "POST /v1/auth/token/renew-self" if s.refuse_token_renewal => {
                (403, r#"{"errors":["permission denied"]}"#.into())
            }
            "POST /v1/auth/token/renew-self" => {
                let auth = serde_json::json!({ "lease_duration": s.renew_ttl, "renewable": true });
                (200, json(serde_json::json!({ "auth": auth })))
            }
            "POST /v1/auth/token/revoke-self" => (204, String::new()),
            "GET /v1/secret/data/app" => (
                200,
                json(
                    serde_json::json!({ "data": { "data": { "A": "a" }, "metadata": { "version": 1 } } }),
                ),
            ),
            "GET /v1/database/creds/app" => {
                let n = s.roles.len() + 1;
                let name = format!("v_app_{n}_{}", rand::random::<u32>());
                let password = format!("pw-{}", rand::random::<u64>());
                if let Some((url, schema)) = pg {
                    let mut c = PgConnection::establish(url).unwrap();
                    c.batch_execute(&format!(
                        "CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}' VALID UNTIL '{}'; \
                     GRANT USAGE ON SCHEMA \"{schema}\" TO \"{name}\"; \
                     GRANT SELECT ON ALL TABLES IN SCHEMA \"{schema}\" TO \"{name}\"; \
                     ALTER ROLE \"{name}\" SET search_path = \"{schema}\"",
                        (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()
                    ))
                    .unwrap();
                }
                s.roles.push((name.clone(), password.clone()));
                let reply = serde_json::json!({ "lease_id": format!("database/creds/app/{n}"),
                "lease_duration": 3600, "renewable": true,
                "data": { "username": name, "password": password } });
                (200, json(reply))
            }
            "PUT /v1/sys/leases/renew" if s.refuse_lease_renewal => {
                (400, r#"{"errors":["lease not found"]}"#.into())
            }
            "PUT /v1/sys/leases/renew" => (
                200,
                json(serde_json::json!({ "lease_id": body["lease_id"], "lease_duration": 3600 })),
            ),
            _ => (403, r#"{"errors":["permission denied"]}"#.into()),
        })
    }

    fn fetch(vault_addr: &str, extra: &[(&str, &str)]) -> Result<Arc<VaultSecrets>, String> {
        let mut map: HashMap<String, String> = [
            ("VAULT_ADDR", vault_addr),
            ("VAULT_ROLE_ID", ROLE_ID),
            ("VAULT_SECRET_ID", SECRET_ID),
            ("VAULT_SECRET_PATH", "app"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in extra {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
        load(&|n| map.get(n).cloned(), false)
            .map(Option::unwrap)
            .map_err(|e| e[0].to_string())
    }

    #[test]
    fn the_token_is_renewed_and_a_refused_renewal_logs_in_again() {
        let vault = FakeVault::start(3600, None);
        let secrets = fetch(&vault.addr, &[("VAULT_DB_ROLE", "app")]).unwrap();
        let session = &secrets.database().unwrap().session;
        assert_eq!(session.token().expose_secret(), "hvs.t1");

        session.renew().unwrap();
        assert_eq!(vault.count("POST /v1/auth/token/renew-self"), 1);
        assert_eq!(vault.state().logins, 1, "a full renewal keeps the token");

        vault.state().refuse_token_renewal = true;
        session.renew().unwrap();
        assert_eq!(vault.state().logins, 2);
        assert_eq!(session.token().expose_secret(), "hvs.t2");
        assert_eq!(vault.count("POST /v1/auth/token/revoke-self"), 1);

        // At its max TTL (granted less than issued): a new login too.
        vault.state().refuse_token_renewal = false;
        vault.state().renew_ttl = 10;
        session.renew().unwrap();
        assert_eq!(session.token().expose_secret(), "hvs.t3");
    }

    #[test]
    fn the_renewal_thread_renews_before_the_token_expires() {
        // A 3 s token: the thread renews after about 2 s, well before expiry.
        let vault = FakeVault::start(3, None);
        let _secrets = fetch(&vault.addr, &[("VAULT_DB_ROLE", "app")]).unwrap();
        for _ in 0..300 {
            if vault.count("POST /v1/auth/token/renew-self") > 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no renewal within 30 s: {:?}", vault.state().requests);
    }

    #[test]
    fn an_unreachable_vault_at_start_is_retried_then_named() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let err = fetch(&addr, &[("VAULT_START_TIMEOUT_SECS", "1")]).unwrap_err();
        assert!(
            err.starts_with(&format!("VAULT_ADDR: cannot reach Vault at {addr}")),
            "{err}"
        );
        assert!(err.contains("VAULT_START_TIMEOUT_SECS"), "{err}");
        let tries: usize = err
            .split("gave up after ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(tries > 1, "{err}");
        assert!(!err.contains(SECRET_ID) && !err.contains(ROLE_ID), "{err}");
    }

    #[test]
    fn a_vault_that_comes_up_within_the_window_is_used() {
        let vault = FakeVault::start(3600, None);
        vault.state().sealed_for = 3;
        let secrets = fetch(&vault.addr, &[("VAULT_START_TIMEOUT_SECS", "60")]).unwrap();
        assert!(secrets.names().contains(&"A"));
        assert_eq!(
            vault.state().requests.len(),
            6,
            "3 refused, then login, read, revoke"
        );

        // A Vault that stays sealed: the same clear error.
        let sealed = FakeVault::start(3600, None);
        sealed.state().sealed_for = usize::MAX;
        let err = fetch(&sealed.addr, &[("VAULT_START_TIMEOUT_SECS", "0")]).unwrap_err();
        assert!(
            err.starts_with("VAULT_ADDR:") && err.contains(&sealed.addr),
            "{err}"
        );
    }

    /// Real PostgreSQL roles (with `TEST_DATABASE_URL`, a superuser). The
    /// local pg_hba.conf says `trust` for 127.0.0.1, which checks neither the
    /// password nor VALID UNTIL; so the end of a lease is made real the way
    /// Vault's revocation does it: the role gets NOLOGIN and its sessions end.
    #[test]
    fn dynamic_database_credentials_rotate_without_failing_requests() {
        let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("skipped: TEST_DATABASE_URL is not set");
            return;
        };
        let schema = format!("vault_{}", rand::random::<u32>());
        let mut c = PgConnection::establish(&admin).unwrap();
        c.batch_execute(&format!(
        "CREATE SCHEMA \"{schema}\"; CREATE TABLE \"{schema}\".t (x int); INSERT INTO \"{schema}\".t VALUES (1)"
    ))
    .unwrap();
        let vault = FakeVault::start(3600, Some((admin.clone(), schema.clone())));
        let secrets = fetch(&vault.addr, &[("VAULT_DB_ROLE", "app")]).unwrap();
        let base = "postgres://127.0.0.1:5432/test";
        let creds = secrets.database().unwrap();
        let pool = creds.open_pool(base, 2).unwrap();
        let user = |pool: &Pool| match &mut *pool.get().unwrap() {
            crate::db::DbConn::Postgres(c) => {
                diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>("current_user"))
                    .get_result::<String>(c)
                    .unwrap()
            }
            crate::db::DbConn::Sqlite(_) => unreachable!(),
        };
        let first = vault.state().roles[0].clone();
        assert_eq!(user(&pool), first.0);

        // Requests all along: none may fail.
        let (stop, done, failed) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let worker = {
            let (pool, stop, done, failed) =
                (pool.clone(), stop.clone(), done.clone(), failed.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let ok = pool.get().is_ok_and(|mut conn| {
                        diesel::sql_query("SELECT x FROM t")
                            .execute(&mut *conn)
                            .is_ok()
                    });
                    let counter = if ok { &done } else { &failed };
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let wait_for_requests = |n: usize| {
            let goal = done.load(Ordering::SeqCst) + n;
            while done.load(Ordering::SeqCst) < goal && failed.load(Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        wait_for_requests(20);

        // A lease Vault renews: same credentials.
        creds.renew_or_switch(base, &pool).unwrap();
        assert_eq!(vault.count("PUT /v1/sys/leases/renew"), 1);
        assert_eq!(user(&pool), first.0);

        // A lease Vault no longer renews: new credentials, the pool moves over.
        vault.state().refuse_lease_renewal = true;
        creds.renew_or_switch(base, &pool).unwrap();
        let second = vault.state().roles[1].clone();
        assert_eq!(user(&pool), second.0);
        wait_for_requests(20);

        // The first lease ends: its credentials no longer connect, the app does.
        vault.expire(&first.0);
        let old = format!("postgres://{}:{}@127.0.0.1:5432/test", first.0, first.1);
        assert!(PgConnection::establish(&old).is_err());
        wait_for_requests(50);
        stop.store(true, Ordering::SeqCst);
        worker.join().unwrap();
        assert_eq!(
            failed.load(Ordering::SeqCst),
            0,
            "a request failed over the switch"
        );
        assert_eq!(user(&pool), second.0);

        drop(pool);
        let roles: Vec<String> = vault.state().roles.iter().map(|r| r.0.clone()).collect();
        for role in roles {
            vault.expire(&role);
            let _ = c.batch_execute(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""));
        }
        let _ = c.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"));
    }
}
