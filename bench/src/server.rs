//! The app under test: the real `backend` binary, started on loopback with
//! its own data folder, and what the operating system says about it.

use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to start the backend; one per database.
#[derive(Clone)]
pub struct Launch {
    pub binary: PathBuf,
    pub site_root: PathBuf,
    pub data_dir: PathBuf,
    pub database_url: String,
}

impl Launch {
    /// The environment every run shares. Rate limits are raised (not
    /// removed: the limiter still runs on every request) so that one
    /// loopback client can load the server; everything else is the default.
    fn command(&self, addr: SocketAddr) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("APP_ADDR", addr.to_string())
            .env("APP_DATA_DIR", &self.data_dir)
            .env("DATABASE_URL", &self.database_url)
            .env("SIGNING_KEYS_DIR", self.data_dir.join("keys"))
            .env("LEPTOS_SITE_ROOT", &self.site_root)
            .env("LEPTOS_OUTPUT_NAME", "frontend")
            .env("RATE_LIMIT_AUTH", "1000000/second")
            .env("RATE_LIMIT_API", "1000000/second")
            .env("RATE_LIMIT_USER", "1000000/second")
            .env("RATE_LIMIT_IP", "1000000/second")
            // The suite runs longer than the default 15 minutes.
            .env("ACCESS_TOKEN_TTL_SECS", "3600")
            // Production's log format and level: one JSON line per request.
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info");
        cmd
    }

    /// Runs a CLI command (`migrate`, `create-admin`, `seed`, ...) to completion.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let mut cmd = self.command(SocketAddr::from(([127, 0, 0, 1], 0)));
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("cannot start the backend binary")?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "backend {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts the server and waits for `/readyz`; the time that took is the
    /// start-up figure.
    pub fn start(&self) -> anyhow::Result<Server> {
        let addr = free_port()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("server.log"))?;
        let started = Instant::now();
        let child = self
            .command(addr)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start the backend binary")?;
        let mut server = Server {
            child,
            addr,
            startup: Duration::ZERO,
        };
        let deadline = started + Duration::from_secs(60);
        while Instant::now() < deadline {
            if get_status(addr, "/readyz").ok() == Some(200) {
                server.startup = started.elapsed();
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the backend exited ({status}) before it was ready; see {}",
                    self.data_dir.join("server.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        bail!("the backend was not ready within 60 s")
    }
}

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Process start to the first `/readyz` 200.
    pub startup: Duration,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory (VmRSS) in MiB, from /proc.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        rss_mib(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .context("no VmRSS in /proc status")?;
    Ok(kib / 1024.0)
}

pub fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// The status of a plain `GET` over a fresh connection (no client library
/// in the way of the start-up measurement).
pub fn get_status(addr: SocketAddr, path: &str) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let text = std::str::from_utf8(&head)?;
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .context("not an HTTP response")
}

/// The size of a file in bytes, raw and gzip-compressed (level 9, as a
/// server would precompress static assets).
pub fn sizes(path: &Path) -> anyhow::Result<(u64, u64)> {
    use flate2::{write::GzEncoder, Compression};
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&bytes)?;
    let compressed = gz.finish()?;
    Ok((bytes.len() as u64, compressed.len() as u64))
}
