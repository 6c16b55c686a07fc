//! The measurements, one function per budget of the suite. Each returns its
//! rows of the table; a figure that cannot be produced is an error.

use crate::api::Api;
use crate::report::Figure;
use crate::server::{self, Launch, Server};
use crate::wrk::{self, Load, Spec};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long and how big: the full suite, or the short variant the test
/// command runs so that the suite cannot rot.
pub struct Plan {
    pub run_for: Duration,
    /// Baseline and app runs alternate this many times (the machine is shared).
    pub rounds: usize,
    pub startup_runs: usize,
    pub seed_users: u64,
    pub seed_audit: u64,
    pub scratch: PathBuf,
}

impl Plan {
    pub fn new(quick: bool, scratch: PathBuf) -> Self {
        Self {
            rounds: if quick { 1 } else { 3 },
            run_for: Duration::from_secs(if quick { 1 } else { 10 }),
            startup_runs: if quick { 2 } else { 7 },
            seed_users: if quick { 2_000 } else { 1_000_000 },
            seed_audit: if quick { 10_000 } else { 5_000_000 },
            scratch,
        }
    }

    fn load(
        &self,
        url: &str,
        connections: u32,
        headers: &[(&str, String)],
        setup: &str,
        name: &str,
    ) -> anyhow::Result<Load> {
        let script = wrk::script(&self.scratch, name, setup)?;
        wrk::run(&Spec {
            url,
            connections,
            duration: self.run_for,
            headers,
            script: &script,
        })
    }
}

fn rate(load: &Load) -> String {
    format!(
        "{:.0} req/s (p50 {:.2} ms, p99 {:.2} ms)",
        load.requests_per_sec, load.p50_ms, load.p99_ms
    )
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    }
}

/// A test user and a bearer token for it.
pub struct Caller {
    pub login: String,
    pub password: String,
    pub token: String,
}

pub fn caller(api: &Api, login: &str) -> anyhow::Result<Caller> {
    let password = random_password();
    api.register(login, &password)?;
    let token = api.token(login, &password)?;
    Ok(Caller {
        login: login.to_owned(),
        password,
        token,
    })
}

/// An administrator with TOTP enrolled (as admin pages require), created by
/// the CLI as an operator would.
pub fn admin(launch: &Launch, api: &Api) -> anyhow::Result<String> {
    let password = random_password();
    launch.cli(
        &[
            "create-admin",
            "--username",
            "bench_admin",
            "--email",
            "bench_admin@bench.example",
        ],
        Some(&format!("{password}\n")),
    )?;
    let token = api.token("bench_admin", &password)?;
    api.enrol_totp(&token)?;
    Ok(token)
}

fn random_password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    // Random letters and digits, plus the classes the default policy asks for.
    format!("{}#a1A", Alphanumeric.sample_string(&mut rand::rng(), 24))
}

/// Part 1: `GET /api/v1/me` through the whole pipeline vs a bare actix handler.
pub fn verified_request(plan: &Plan, server: &Server, who: &Caller) -> anyhow::Result<Vec<Figure>> {
    let addr = server::free_port()?;
    let me = std::env::current_exe()?;
    let mut bare = std::process::Command::new(me)
        .args(["baseline-server", "--addr", &addr.to_string()])
        .spawn()
        .context("cannot start the baseline server")?;
    let started = Instant::now();
    while server::get_status(addr, "/").ok() != Some(200) {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = bare.kill();
            bail!("the baseline server did not start");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Alternating, so a noisy neighbour weighs on both; the median run of each.
    let auth = [("Authorization", format!("Bearer {}", who.token))];
    let (mut bare_runs, mut app_runs) = (Vec::new(), Vec::new());
    let mut measure = || -> anyhow::Result<()> {
        for _ in 0..plan.rounds {
            bare_runs.push(plan.load(&format!("http://{addr}/"), 64, &[], "", "bare")?);
            app_runs.push(plan.load(&server.url("/api/v1/me"), 64, &auth, "", "me")?);
        }
        Ok(())
    };
    let measured = measure();
    let _ = bare.kill();
    let _ = bare.wait();
    measured?;
    let baseline = median_run(bare_runs).context("no baseline run")?;
    let app = median_run(app_runs).context("no app run")?;
    let ratio = percent(app.requests_per_sec, baseline.requests_per_sec);
    Ok(vec![Figure::new(
        "1. Verified `GET /api/v1/me`, 64 connections",
        format!("{} = **{ratio:.0}%**", rate(&app)),
    )
    .baseline(format!("bare actix-web JSON: {}", rate(&baseline)))
    .budget("≥ 50% of bare", ratio >= 50.0)])
}

/// Part 2: login throughput vs raw Argon2id, and `GET /api/v1/me` latency
/// while logins keep every core busy.
pub fn login(plan: &Plan, server: &Server, who: &Caller) -> anyhow::Result<Vec<Figure>> {
    let raw = crate::argon::verifications_per_sec(plan.run_for)?;
    let body = serde_json::json!({ "login": who.login, "password": who.password }).to_string();
    let setup = format!(
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = {body:?}\n"
    );
    // An interactive user meanwhile: one request every 10 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let (stop, base, token) = (stop.clone(), server.url(""), who.token.clone());
        std::thread::spawn(move || -> anyhow::Result<Vec<f64>> {
            let api = Api::new(&base);
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let (status, _) = api.get("/api/v1/me", &token)?;
                if status != 200 {
                    bail!("GET /api/v1/me answered {status} during the login run");
                }
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(samples)
        })
    };
    let logins = plan.load(&server.url("/api/v1/auth/token"), 8, &[], &setup, "login");
    stop.store(true, Ordering::Relaxed);
    let samples = prober
        .join()
        .map_err(|_| anyhow::anyhow!("the prober panicked"))??;
    let logins = logins?;
    let p99 = percentile(samples.clone(), 99.0).context("no /me samples")?;
    let p50 = percentile(samples.clone(), 50.0).context("no /me samples")?;
    let ratio = percent(logins.requests_per_sec, raw);
    Ok(vec![
        Figure::new(
            "2a. Logins (`POST /api/v1/auth/token`), 8 connections",
            format!(
                "{:.1}/s (p50 {:.0} ms, p99 {:.0} ms) = **{ratio:.0}%**",
                logins.requests_per_sec, logins.p50_ms, logins.p99_ms
            ),
        )
        .baseline(format!("raw Argon2id verify, all cores: {raw:.1}/s"))
        .budget("≥ 90% of raw", ratio >= 90.0),
        Figure::new(
            "2b. `GET /api/v1/me` every 10 ms during 2a",
            format!(
                "p50 {p50:.2} ms, p99 **{p99:.2} ms** ({} requests)",
                samples.len()
            ),
        )
        .budget("p99 < 25 ms", p99 < 25.0),
    ])
}

/// The run with the median throughput.
fn median_run(mut runs: Vec<Load>) -> Option<Load> {
    runs.sort_by(|a, b| a.requests_per_sec.total_cmp(&b.requests_per_sec));
    let middle = runs.len() / 2;
    runs.into_iter().nth(middle)
}

/// The `pct` percentile (nearest rank) of `samples`.
pub fn percentile(mut samples: Vec<f64>, pct: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let rank = ((pct / 100.0) * samples.len() as f64).ceil().max(1.0) as usize;
    samples.get(rank.min(samples.len()) - 1).copied()
}

/// Part 3: server-rendered pages, the login page and the admin users page
/// with 50 rows (checked before the run: a "not allowed" page is 200 too).
pub fn pages(plan: &Plan, server: &Server, admin_token: &str) -> anyhow::Result<Vec<Figure>> {
    let cookie = [("Cookie", format!("__Host-access={admin_token}"))];
    let html = ureq::get(server.url("/admin/users"))
        .header("Cookie", &cookie[0].1)
        .call()?
        .body_mut()
        .read_to_string()?;
    let rows = html.matches("bench_u").count();
    if rows < 50 {
        bail!(
            "the admin users page shows {rows} bench users, not 50: the run would not measure it"
        );
    }
    let login = plan.load(&server.url("/login"), 8, &[], "", "login-page")?;
    let users = plan.load(&server.url("/admin/users"), 8, &cookie, "", "users-page")?;
    Ok(vec![
        Figure::new("3a. SSR `/login`, 8 connections", rate(&login)),
        Figure::new(
            "3b. SSR `/admin/users` (50 rows), 8 connections",
            rate(&users),
        ),
    ])
}

/// Part 4: Resident memory, idle and while 256 connections load the API.
pub fn memory(plan: &Plan, server: &Server, who: &Caller) -> anyhow::Result<Vec<Figure>> {
    std::thread::sleep(Duration::from_secs(1));
    let idle = server.rss_mib()?;
    let stop = Arc::new(AtomicBool::new(false));
    let pid_rss = {
        let stop = stop.clone();
        let pid = server.pid();
        std::thread::spawn(move || {
            let mut peak: f64 = 0.0;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(rss) = server::rss_mib(pid) {
                    peak = peak.max(rss);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        })
    };
    let auth = [("Authorization", format!("Bearer {}", who.token))];
    let load = plan.load(&server.url("/api/v1/me"), 256, &auth, "", "me-256");
    stop.store(true, Ordering::Relaxed);
    let peak = pid_rss
        .join()
        .map_err(|_| anyhow::anyhow!("the sampler panicked"))?;
    let load = load?;
    Ok(vec![
        Figure::new("4a. Resident memory, idle", format!("{idle:.1} MiB"))
            .budget("< 50 MB", idle < 50.0),
        Figure::new(
            "4b. Resident memory, 256 connections on `/api/v1/me`",
            format!("{peak:.1} MiB peak ({})", rate(&load)),
        )
        .budget("< 150 MB", peak < 150.0),
    ])
}

/// Part 5: Process start to `/readyz` 200, migrations already applied (median).
pub fn startup(plan: &Plan, launch: &Launch) -> anyhow::Result<(Vec<Figure>, Server)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..plan.startup_runs {
        drop(last.take());
        let server = launch.start()?;
        times.push(server.startup.as_secs_f64() * 1000.0);
        last = Some(server);
    }
    let server = last.context("no start-up run")?;
    let median = percentile(times.clone(), 50.0).context("no start-up time")?;
    let worst = times.iter().copied().fold(0.0, f64::max);
    Ok((
        vec![Figure::new(
            "5. Start-up to `/readyz` 200 (migrations applied)",
            format!(
                "median **{median:.0} ms**, worst {worst:.0} ms ({} starts)",
                times.len()
            ),
        )
        .budget("< 500 ms", median < 500.0)],
        server,
    ))
}

/// Part 6: admin user search and audit paging on a big database, and the
/// audit chain's verification rate.
pub fn scale(plan: &Plan, launch: &Launch, label: &str) -> anyhow::Result<Vec<Figure>> {
    let users = plan.seed_users.to_string();
    let audit = plan.seed_audit.to_string();
    let seeded_at = Instant::now();
    launch.cli(&["seed", "--users", &users, "--audit", &audit], None)?;
    let seeding = seeded_at.elapsed().as_secs_f64();
    let server = launch.start()?;
    let api = Api::new(&server.url(""));
    let token = admin(launch, &api)?;
    let bearer = [("Authorization", format!("Bearer {token}"))];

    // Real cursors and ids to page from, read through the API itself.
    let (status, page) = api.get("/api/v1/admin/audit", &token)?;
    if status != 200 {
        bail!("audit page: {status}");
    }
    let newest = page["entries"][0]["id"]
        .as_i64()
        .context("no audit entries")?;
    let (status, found) = api.get("/api/v1/admin/users?q=user", &token)?;
    if status != 200 {
        bail!("user search: {status}");
    }
    let first = &found["users"][0];
    let user_id = first["id"]
        .as_str()
        .context("the seeded users are not found by prefix")?;
    let after = found["next"].as_str().unwrap_or_default().to_owned();

    let searches: Vec<String> = [
        "/api/v1/admin/users".to_owned(),
        "/api/v1/admin/users?q=user".to_owned(),
        "/api/v1/admin/users?q=user00012".to_owned(),
        "/api/v1/admin/users?q=zzz".to_owned(),
        "/api/v1/admin/users?q=user0000042%40".to_owned(),
        format!("/api/v1/admin/users?q=user&after={after}"),
    ]
    .into();
    let step = (newest / 8).max(1);
    let mut pages: Vec<String> = (1..8)
        .map(|k| format!("/api/v1/admin/audit?before={}", newest - k * step))
        .collect();
    pages.push("/api/v1/admin/audit".to_owned());
    pages.push(format!("/api/v1/admin/audit?actor={user_id}"));
    pages.push("/api/v1/admin/audit?action=auth.login&outcome=failure".to_owned());
    let search = plan.load(
        &server.url("/"),
        4,
        &bearer,
        &wrk::rotating(&searches),
        "search",
    )?;
    let paging = plan.load(
        &server.url("/"),
        4,
        &bearer,
        &wrk::rotating(&pages),
        "audit",
    )?;
    drop(server);

    let verified_at = Instant::now();
    launch.cli(&["verify-audit"], None)?;
    let verify = verified_at.elapsed().as_secs_f64();
    let rows = plan.seed_audit as f64;
    let seeded_rows = (plan.seed_users + plan.seed_audit) as f64;
    let scale = format!("{} users, {} audit rows", plan.seed_users, plan.seed_audit);
    Ok(vec![
        p95_figure(format!("6a. Admin user search, {label} ({scale})"), &search),
        p95_figure(format!("6b. Audit log paging, {label}"), &paging),
        Figure::new(
            format!("6c. `verify-audit`, {label}"),
            format!("{:.0} rows/s ({verify:.1} s)", rows / verify),
        ),
        Figure::new(
            format!("6d. `seed`, {label}"),
            format!("{:.0} rows/s ({seeding:.1} s)", seeded_rows / seeding),
        ),
    ])
}

/// A read whose budget is its 95th percentile.
fn p95_figure(name: String, load: &Load) -> Figure {
    Figure::new(
        name,
        format!(
            "p95 **{:.1} ms** (p50 {:.1} ms, {:.0} req/s)",
            load.p95_ms, load.p50_ms, load.requests_per_sec
        ),
    )
    .budget("p95 < 50 ms", load.p95_ms < 50.0)
}

/// Part 7: The browser bundle, raw and gzip. `cargo leptos build --split`
/// cuts the wasm into a main module, which every page loads, and chunks that
/// the browser fetches only for the routes that need them (app.rs,
/// `lazy_pages`). The budget is for what the first page load downloads: the
/// main module and the JS beside it.
pub fn wasm(pkg_dir: &Path) -> anyhow::Result<Vec<Figure>> {
    let files = std::fs::read_dir(pkg_dir)
        .with_context(|| format!("no site bundle in {}", pkg_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect::<Vec<_>>();
    let bundle = Bundle::of(files).with_context(|| format!("no .wasm in {}", pkg_dir.display()))?;
    let total = |paths: &[PathBuf]| -> anyhow::Result<(u64, u64)> {
        paths.iter().try_fold((0, 0), |(raw, gz), p| {
            let (r, g) = server::sizes(p)?;
            Ok((raw + r, gz + g))
        })
    };
    let (raw, gz) = server::sizes(&bundle.main)?;
    let (_, js_gz) = total(&bundle.js)?;
    let (chunks_raw, chunks_gz) = total(&bundle.chunks)?;
    let kib = |b: u64| b as f64 / 1024.0;
    let first_load = gz + js_gz;
    Ok(vec![
        Figure::new(
            "7. Wasm bundle, first page load",
            format!(
                "main wasm {:.0} KiB raw, {:.0} KiB gzip; JS {:.0} KiB gzip; **{:.0} KiB gzip** in all",
                kib(raw),
                kib(gz),
                kib(js_gz),
                kib(first_load)
            ),
        )
        .budget("< 400 KB gzip", first_load < 400 * 1000),
        Figure::new(
            "7. Wasm lazy chunks (fetched per route)",
            format!(
                "{} chunks, {:.0} KiB raw, {:.0} KiB gzip in all",
                bundle.chunks.len(),
                kib(chunks_raw),
                kib(chunks_gz)
            ),
        ),
    ])
}

/// A site's `pkg` files, by when the browser fetches them.
#[derive(Debug, PartialEq)]
struct Bundle {
    /// The wasm the page's JS glue instantiates: `<name>.wasm` beside `<name>.js`.
    main: PathBuf,
    /// The JS glue and the split loader it imports; loaded with every page.
    js: Vec<PathBuf>,
    /// The other wasm files: lazily loaded chunks.
    chunks: Vec<PathBuf>,
}

impl Bundle {
    fn of(mut files: Vec<PathBuf>) -> Option<Self> {
        files.sort();
        let has_ext = |p: &PathBuf, ext: &str| p.extension().is_some_and(|x| x == ext);
        let wasm = files.iter().filter(|p| has_ext(p, "wasm"));
        let main = wasm
            .clone()
            .find(|p| files.contains(&p.with_extension("js")))
            .or_else(|| wasm.clone().next())?
            .clone();
        Some(Self {
            js: files.iter().filter(|p| has_ext(p, "js")).cloned().collect(),
            chunks: wasm.filter(|p| **p != main).cloned().collect(),
            main,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{percentile, Bundle};
    use std::path::PathBuf;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(samples.clone(), 50.0), Some(50.0));
        assert_eq!(percentile(samples.clone(), 99.0), Some(99.0));
        assert_eq!(percentile(samples, 100.0), Some(100.0));
        assert_eq!(percentile(vec![3.0], 99.0), Some(3.0));
        assert_eq!(percentile(vec![], 50.0), None);
    }

    #[test]
    fn the_main_wasm_is_the_one_beside_its_js_glue() {
        let paths = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        let split = paths(&[
            "pkg/split_b.wasm",
            "pkg/frontend.wasm",
            "pkg/frontend.js",
            "pkg/__wasm_split.js",
            "pkg/__wasm_split_manifest.json",
            "pkg/frontend.css",
            "pkg/split_a.wasm",
        ]);
        assert_eq!(
            Bundle::of(split),
            Some(Bundle {
                main: PathBuf::from("pkg/frontend.wasm"),
                js: paths(&["pkg/__wasm_split.js", "pkg/frontend.js"]),
                chunks: paths(&["pkg/split_a.wasm", "pkg/split_b.wasm"]),
            })
        );
        let single = paths(&["pkg/frontend.css", "pkg/frontend.wasm"]);
        assert_eq!(
            Bundle::of(single).map(|b| (b.main, b.chunks.len())),
            Some((PathBuf::from("pkg/frontend.wasm"), 0))
        );
        assert_eq!(Bundle::of(paths(&["pkg/frontend.css"])), None);
    }
}
