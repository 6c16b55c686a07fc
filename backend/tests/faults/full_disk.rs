//! SQLite on a full disk: writes answer a clear `503` (never a hang, a crash
//! or a `500`), the database file stays intact, and writes resume as soon as
//! space returns — without a restart.

use crate::support::{
    assert_unavailable, cli, client, masked_ssn, put_ssn, require_root, run, signed_in, sqlite_url,
    Server,
};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A small tmpfs, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        require_root("mounting a small tmpfs to fill");
        let dir = tempfile::tempdir().unwrap();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
                dir.path().to_str().unwrap(),
            ],
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros to `path` until the disk refuses (ENOSPC).
fn fill(path: &PathBuf) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = file.write_all(&chunk) {
            assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
            break;
        }
    }
    // The last partial chunk too, to the last byte.
    while file.write_all(&[0u8; 512]).is_ok() {}
    while file.write_all(&[0u8]).is_ok() {}
}

fn integrity_check(url: &str) -> String {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let path = url.strip_prefix("sqlite://").unwrap();
    let mut conn = diesel::SqliteConnection::establish(path).unwrap();
    let rows: Vec<Row> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    rows.into_iter()
        .map(|r| r.integrity_check)
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_answers_503_stays_intact_and_resumes_when_space_returns() {
    let disk = SmallDisk::mount("24m");
    let logs = tempfile::tempdir().unwrap();
    let url = sqlite_url(disk.path());
    let mut server = Server::start(disk.path(), logs.path(), &url, &[]).await;
    server
        .wait_for("/readyz", 200, Duration::from_secs(60))
        .await;
    let cookie = signed_in(&server, "full_disk").await;
    let client = client();
    let r = put_ssn(&client, &server, &cookie, "123-45-1111")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Empty the write-ahead log into the database file, so the next write
    // needs new space (a used WAL would be rewritten in place).
    diesel::SqliteConnection::establish(url.strip_prefix("sqlite://").unwrap())
        .unwrap()
        .batch_execute("PRAGMA busy_timeout = 5000; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let filler = disk.path().join("filler");
    fill(&filler);

    // Writes: a clear 503 with Retry-After, quickly, and nothing else.
    let mut refused = 0;
    for i in 0..20 {
        let started = Instant::now();
        let r = put_ssn(&client, &server, &cookie, &format!("123-45-{}", 2000 + i))
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a write hung on the full disk"
        );
        match r.status().as_u16() {
            // Space left over in a page SQLite already had.
            200 => continue,
            _ => {
                assert_unavailable(r, "a write on the full disk").await;
                refused += 1;
                if refused >= 3 {
                    break;
                }
            }
        }
    }
    assert!(
        refused >= 3,
        "the full disk refused no write\n{}",
        server.log_text()
    );
    // Reads and liveness go on.
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(integrity_check(&url), "ok");
    assert!(server.is_running(), "the server survived the full disk");

    // Space returns: writes resume, no restart.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = put_ssn(&client, &server, &cookie, "123-45-3333")
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
    assert_eq!(
        masked_ssn(&server, &cookie).await.as_deref(),
        Some("***-**-3333")
    );
    server.stop();
    assert_eq!(integrity_check(&url), "ok");
    let (ok, out) = cli(disk.path(), &url, &["verify-audit"], &[]);
    assert!(ok && out.contains("audit log intact"), "{out}");
}
