//! Runs the load generator (wrk, from Debian) and reads its report.

use anyhow::{bail, Context};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// One wrk run, as wrk reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// Responses that were not 2xx/3xx: a run with any is not a measurement
    /// of the path it meant to measure, so [`run`] refuses it.
    pub non_2xx: u64,
    pub socket_errors: u64,
}

/// What to load and how hard.
pub struct Spec<'a> {
    pub url: &'a str,
    pub connections: u32,
    pub duration: Duration,
    pub headers: &'a [(&'a str, String)],
    /// A wrk Lua script (see [`script`]).
    pub script: &'a Path,
}

pub fn run(spec: &Spec<'_>) -> anyhow::Result<Load> {
    let mut cmd = Command::new("wrk");
    cmd.arg("--latency")
        .arg(format!("-t{}", spec.connections.clamp(1, 2)))
        .arg(format!("-c{}", spec.connections))
        .arg(format!("-d{}s", spec.duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("10s");
    for (name, value) in spec.headers {
        cmd.arg("-H").arg(format!("{name}: {value}"));
    }
    cmd.arg("-s").arg(spec.script);
    cmd.arg(spec.url);
    let out = cmd
        .output()
        .context("cannot run wrk (scripts/bench installs it)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let load = parse(&text).with_context(|| format!("unexpected wrk output:\n{text}"))?;
    if load.non_2xx > 0 || load.socket_errors > 0 || load.requests == 0 {
        bail!(
            "{}: {} of {} responses were not 2xx/3xx and {} socket errors; not a valid run",
            spec.url,
            load.non_2xx,
            load.requests,
            load.socket_errors
        );
    }
    Ok(load)
}

/// Writes a wrk Lua script: `setup` (Lua run before the first request, may
/// be empty) plus the report of the 95th percentile, which `--latency`
/// does not print.
pub fn script(dir: &Path, name: &str, setup: &str) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(format!("{name}.lua"));
    let text = format!(
        "{setup}\ndone = function(summary, latency, requests)\n  \
         io.write(string.format(\"P95 %d\\n\", latency:percentile(95)))\nend\n"
    );
    std::fs::write(&path, text)?;
    Ok(path)
}

/// A wrk Lua script that sends `paths` in turn.
pub fn rotating(paths: &[String]) -> String {
    let list: Vec<String> = paths.iter().map(|p| format!("{p:?}")).collect();
    format!(
        "local paths = {{ {} }}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  \
         return wrk.format(nil, paths[i])\nend\n",
        list.join(", ")
    )
}

/// Reads wrk's `--latency` report (and the `P95` line of [`script`]).
pub fn parse(text: &str) -> Option<Load> {
    let mut load = Load {
        requests_per_sec: f64::NAN,
        p50_ms: f64::NAN,
        p95_ms: f64::NAN,
        p99_ms: f64::NAN,
        requests: 0,
        non_2xx: 0,
        socket_errors: 0,
    };
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", value] => load.requests_per_sec = value.parse().ok()?,
            ["50%", value] => load.p50_ms = millis(value)?,
            ["99%", value] => load.p99_ms = millis(value)?,
            ["P95", micros] => load.p95_ms = micros.parse::<f64>().ok()? / 1000.0,
            [n, "requests", "in", ..] => load.requests = n.parse().ok()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => load.non_2xx = n.parse().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                load.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    let complete = [load.requests_per_sec, load.p50_ms, load.p95_ms, load.p99_ms]
        .iter()
        .all(|v| v.is_finite());
    complete.then_some(load)
}

/// wrk's durations: `812.00us`, `1.20ms`, `2.01s`, `1.50m`.
fn millis(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    Some(value * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 2s test @ http://127.0.0.1:8080/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.00us  200.00us   5.00ms   90.00%
    Req/Sec    60.00k     2.00k   65.00k    70.00%
  Latency Distribution
     50%  480.00us
     75%  600.00us
     90%  700.00us
     99%    1.20ms
  240000 requests in 2.00s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec: 120000.50
Transfer/sec:     15.00MB
P95 950
";

    #[test]
    fn reads_every_figure() {
        let load = parse(REPORT).unwrap();
        assert_eq!(load.requests_per_sec, 120000.5);
        assert!((load.p50_ms - 0.48).abs() < 1e-9);
        assert!((load.p99_ms - 1.2).abs() < 1e-9);
        assert!((load.p95_ms - 0.95).abs() < 1e-9);
        assert_eq!(load.requests, 240000);
        assert_eq!(load.non_2xx, 5);
        assert_eq!(load.socket_errors, 3);
    }

    #[test]
    fn an_incomplete_report_is_not_a_measurement() {
        assert!(parse("Running 2s test\nRequests/sec: 5.0\n").is_none());
        assert!(parse("").is_none());
    }

    #[test]
    fn scripts_report_the_95th_percentile_and_rotate_paths() {
        let dir = tempfile::tempdir().unwrap();
        let lua = std::fs::read_to_string(
            script(dir.path(), "x", &rotating(&["/a".into(), "/b?q=\"".into()])).unwrap(),
        )
        .unwrap();
        assert!(lua.contains("latency:percentile(95)"));
        assert!(
            lua.contains(r#"local paths = { "/a", "/b?q=\"" }"#),
            "{lua}"
        );
    }

    #[test]
    fn units() {
        assert_eq!(millis("2.5s"), Some(2500.0));
        assert_eq!(millis("1.00m"), Some(60_000.0));
        assert_eq!(millis("3.00ms"), Some(3.0));
        assert_eq!(millis("12"), None);
        assert_eq!(millis("1.0h"), None);
    }
}
