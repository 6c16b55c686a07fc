//! The benchmark suite (`scripts/bench`): starts the real server on
//! loopback with a fresh database and prints one table, every figure beside
//! a baseline measured in the same run on the same machine.

mod api;
mod argon;
mod baseline;
mod phases;
mod report;
mod server;
mod wrk;

use anyhow::Context;
use clap::{Parser, Subcommand};
use phases::Plan;
use report::Figure;
use server::Launch;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "bench", about = "The benchmark suite (see docs/benchmarks.md)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the suite.
    Run {
        /// Short runs and small data: proves every figure is produced (the
        /// test command runs this); budgets are shown, not enforced.
        #[arg(long)]
        quick: bool,
        /// The backend binary to measure.
        #[arg(long, default_value = "target/release/backend")]
        backend: PathBuf,
        /// The site (CSS, wasm) the binary serves.
        #[arg(long, default_value = "target/site")]
        site: PathBuf,
        /// Also measure the scale figures on this PostgreSQL database (a
        /// fresh schema is made and dropped).
        #[arg(long, env = "BENCH_DATABASE_URL")]
        postgres: Option<String>,
        /// Write the table into this file, between its result markers.
        #[arg(long)]
        write: Option<PathBuf>,
        /// Exit non-zero when a budget is missed.
        #[arg(long)]
        strict: bool,
        /// Only these parts (1–7, comma-separated), e.g. while profiling one.
        #[arg(long, value_delimiter = ',')]
        only: Vec<u8>,
    },
    /// The bare baseline server (started by `run`).
    #[command(hide = true)]
    BaselineServer {
        #[arg(long)]
        addr: std::net::SocketAddr,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::BaselineServer { addr } => baseline::serve(addr),
        Command::Run {
            quick,
            backend,
            site,
            postgres,
            write,
            strict,
            only,
        } => {
            let wanted = |part: u8| only.is_empty() || only.contains(&part);
            let figures = run(quick, &backend, &site, postgres.as_deref(), &wanted)?;
            let block = format!("{}\n{}", context(quick), report::table(&figures));
            println!("\n{block}");
            if let Some(path) = write {
                report::write_block(&path, &block)?;
                println!("written to {}", path.display());
            }
            let missed = figures
                .iter()
                .filter(|f| f.verdict == report::Verdict::Missed)
                .count();
            if strict && missed > 0 {
                anyhow::bail!("{missed} budget(s) missed");
            }
            Ok(())
        }
    }
}

fn run(
    quick: bool,
    backend: &std::path::Path,
    site: &std::path::Path,
    postgres: Option<&str>,
    wanted: &dyn Fn(u8) -> bool,
) -> anyhow::Result<Vec<Figure>> {
    let scratch = tempfile::tempdir()?;
    let plan = Plan::new(quick, scratch.path().to_owned());
    let backend = std::fs::canonicalize(backend)
        .with_context(|| format!("no backend binary at {}", backend.display()))?;
    let site = std::fs::canonicalize(site)
        .with_context(|| format!("no site at {} (cargo leptos build)", site.display()))?;
    let sqlite = |name: &str| -> anyhow::Result<Launch> {
        let data_dir = scratch.path().join(name);
        std::fs::create_dir_all(&data_dir)?;
        Ok(Launch {
            binary: backend.clone(),
            site_root: site.clone(),
            database_url: format!("sqlite://{}", data_dir.join("app.db").display()),
            data_dir,
        })
    };
    let mut figures = Vec::new();

    step("setting up (SQLite, fresh database)");
    let launch = sqlite("main")?;
    launch.cli(&["migrate"], None)?;
    let server = launch.start()?;
    let api = api::Api::new(&server.url(""));
    let admin = phases::admin(&launch, &api)?;
    let who = phases::caller(&api, "bench_caller")?;
    for i in 0..50 {
        phases::caller(&api, &format!("bench_u{i:02}"))?;
    }

    if wanted(1) {
        step("1. verified request vs bare actix-web");
        figures.extend(phases::verified_request(&plan, &server, &who)?);
    }
    if wanted(2) {
        step("2. logins vs raw Argon2id");
        figures.extend(phases::login(&plan, &server, &who)?);
    }
    if wanted(3) {
        step("3. server-rendered pages");
        figures.extend(phases::pages(&plan, &server, &admin)?);
    }
    drop(server);

    if wanted(4) || wanted(5) {
        step("5. start-up");
        let (startup, server) = phases::startup(&plan, &launch)?;
        if wanted(5) {
            figures.extend(startup);
        }
        if wanted(4) {
            step("4. memory");
            figures.extend(phases::memory(&plan, &server, &who)?);
        }
    }

    if wanted(6) {
        step("6. scale (SQLite)");
        figures.extend(phases::scale(&plan, &sqlite("scale")?, "SQLite")?);
    }
    if let Some(url) = postgres.filter(|_| wanted(6)) {
        step("6. scale (PostgreSQL)");
        let schema = format!("bench_{}", std::process::id());
        let pg = postgres_schema(url, &schema)?;
        let data_dir = scratch.path().join("pg");
        std::fs::create_dir_all(&data_dir)?;
        let result = phases::scale(
            &plan,
            &Launch {
                binary: backend.clone(),
                site_root: site.clone(),
                database_url: pg,
                data_dir,
            },
            "PostgreSQL",
        );
        psql(url, &format!("DROP SCHEMA {schema} CASCADE"))?;
        figures.extend(result?);
    }

    if wanted(7) {
        step("7. wasm bundle");
        figures.extend(phases::wasm(&site.join("pkg"))?);
    }
    Ok(figures)
}

fn step(what: &str) {
    eprintln!("==> {what}");
}

/// A fresh schema on `url`, and the URL that works in it.
fn postgres_schema(url: &str, schema: &str) -> anyhow::Result<String> {
    psql(url, &format!("CREATE SCHEMA {schema}"))?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-csearch_path%3D{schema}"))
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("psql")
        .args([url, "-qc", sql])
        .status()
        .context("cannot run psql")?;
    anyhow::ensure!(status.success(), "psql failed: {sql}");
    Ok(())
}

/// When, where and how the figures were measured.
fn context(quick: bool) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!(
        "Measured {} on {cores} cores ({cpu}), {mem:.0} GiB, by `scripts/bench{}`; the load generator (wrk) shares the cores.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        if quick { " --quick" } else { "" }
    )
}
