//! PostgreSQL stopped and started under traffic: the app answers `503`
//! with `Retry-After` while the database is away, keeps answering `/healthz`,
//! and recovers by itself — same process — once it is back.

use crate::support::{assert_unavailable, client, put_ssn, require_root, run, signed_in, Server};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A PostgreSQL cluster of its own: `initdb` in a temporary folder, its own
/// port and socket folder, run as the `postgres` OS user (PostgreSQL refuses
/// root). Never the machine's shared server, which other tests use. Stopped
/// and removed on drop.
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PgCluster {
    pub fn start() -> Self {
        require_root("PostgreSQL must be run as the `postgres` user, through runuser");
        let bin = server_binaries();
        let dir = tempfile::tempdir().unwrap();
        run(
            "chown",
            &["-R", "postgres:postgres", dir.path().to_str().unwrap()],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self { bin, dir, port };
        cluster.as_postgres(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        cluster.pg_ctl_start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) -> String {
        let program = self.bin.join(tool).display().to_string();
        let mut all = vec!["-u", "postgres", "--", program.as_str()];
        all.extend_from_slice(args);
        run("runuser", &all)
    }

    pub fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// `-m fast`: every session is ended, as in a restart or a failover.
    pub fn stop(&self) {
        self.as_postgres("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl").display().to_string();
        let _ = std::process::Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                &program,
                "-D",
                &self.data(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

/// The newest installed `/usr/lib/postgresql/<version>/bin` holding
/// `initdb` and `pg_ctl` (Debian's layout; the `postgresql` package).
fn server_binaries() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .expect("PostgreSQL's server binaries (initdb, pg_ctl) are missing: run `scripts/ensure-tools --faults`")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_under_traffic_the_app_answers_503_then_recovers_by_itself() {
    let pg = PgCluster::start();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    // No identity cache: every request asks the database. A short checkout
    // timeout keeps the outage's answers quick.
    let env = [("IDENTITY_CACHE_SECS", "0"), ("DB_POOL_TIMEOUT_SECS", "2")];
    let mut server = Server::start(data.path(), logs.path(), &pg.url(), &env).await;
    server
        .wait_for("/readyz", 200, Duration::from_secs(60))
        .await;
    let cookie = signed_in(&server, "through_outage").await;
    // The probes below write as another user: two writes of one user's SSN
    // at once race on PostgreSQL (delete + insert; a known issue, not this
    // test's subject).
    let prober = signed_in(&server, "prober").await;

    // Traffic the whole time: reads and audited writes. No answer may be a
    // 500 (an outage is not a bug) and none may hang (the client's timeout).
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<u16>>> = Arc::default();
    let traffic = {
        let (stop, seen, base, cookie) = (
            stop.clone(),
            seen.clone(),
            server.base.clone(),
            cookie.clone(),
        );
        tokio::spawn(async move {
            let client = client();
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let me = client
                    .get(format!("{base}/api/v1/me"))
                    .header("Cookie", &cookie)
                    .send()
                    .await
                    .expect("an answer, not a hang");
                let write = client
                    .put(format!("{base}/api/v1/me/ssn"))
                    .header("Origin", &base)
                    .header("Cookie", &cookie)
                    .json(&serde_json::json!({ "ssn": format!("123-45-{}", 1000 + n % 8000) }))
                    .send()
                    .await
                    .expect("an answer, not a hang");
                seen.lock()
                    .unwrap()
                    .extend([me.status().as_u16(), write.status().as_u16()]);
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    pg.stop();
    // During the outage: 503 + Retry-After on readiness, the API and a
    // write; liveness stays up.
    server
        .wait_for("/readyz", 503, Duration::from_secs(30))
        .await;
    let client = client();
    let r = client.get(server.url("/readyz")).send().await.unwrap();
    assert_unavailable(r, "/readyz during the outage").await;
    let r = client
        .get(server.url("/api/v1/me"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_unavailable(r, "/api/v1/me during the outage").await;
    let r = put_ssn(&client, &server, &prober, "123-45-6789")
        .await
        .unwrap();
    assert_unavailable(r, "a write during the outage").await;
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    pg.pg_ctl_start();
    // Back by itself: the same process, no restart.
    let started = Instant::now();
    server
        .wait_for("/readyz", 200, Duration::from_secs(60))
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = put_ssn(&client, &server, &prober, "123-45-4321")
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes did not resume: {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered_in = started.elapsed();
    assert!(server.is_running(), "the app was not restarted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();

    let seen = seen.lock().unwrap().clone();
    let count = |s: u16| seen.iter().filter(|x| **x == s).count();
    assert!(count(503) > 0, "the traffic met the outage: {seen:?}");
    assert!(count(200) > 0);
    let other: Vec<&u16> = seen.iter().filter(|s| !matches!(**s, 200 | 503)).collect();
    assert!(
        other.is_empty(),
        "only 200 and 503 answers, got {other:?}\n{}",
        server.log_text()
    );
    eprintln!(
        "pg restart: {} requests ({} answered 503); writes resumed {:.1} s after the restart",
        seen.len(),
        count(503),
        recovered_in.as_secs_f64()
    );
    server.stop();
}
