//! Logging set-up: how lines look (`log_line`), the in-memory tail of the
//! admin log view (`recent_logs`) and the request id every line of a
//! request carries (`request_id`).
//!
//! Layer: infrastructure, below `error`; imports only its own submodules
//! (`log_line`, `recent_logs` -> `request_id`), never `config`.

pub mod log_line;
pub mod recent_logs;
pub mod request_id;

use log_line::{LineFormat, Style};
use std::io::IsTerminal;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// `LOG_FORMAT` (read by `config`): the shape of the lines on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Installs the global subscriber (once; later calls are ignored, which tests rely on).
/// The level comes from `RUST_LOG` (default `info`).
///
/// Lines are formatted on the thread that logs and written by a background
/// thread, which writes whatever has queued up in one system call: writing
/// each line as it comes cost a tenth of a request's CPU time
/// (docs/benchmarks.md). Nothing is dropped — a full queue makes the logger
/// wait. Keep the returned guard until exit: dropping it writes the rest.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> WorkerGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::new(std::io::stdout()));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // The HTTP client of the Vault provider logs whole bodies (secrets) at
    // trace level: it logs at info at most, whatever RUST_LOG says.
    let filter = match "ureq=info".parse() {
        Ok(cap) => filter.add_directive(cap),
        Err(_) => filter,
    };
    let style = match format {
        LogFormat::Json => Style::Json,
        // Colours only for a terminal: escape codes in a log file or a
        // collector are noise.
        LogFormat::Pretty => Style::Text {
            ansi: std::io::stdout().is_terminal(),
        },
    };
    let output = fmt::layer()
        .with_writer(writer)
        .event_format(LineFormat(style));
    // The same lines also go to the in-memory tail of the admin log view.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(recent_logs::RecentLogsLayer)
        .try_init();
    guard
}

/// Installs only the in-memory tail of the admin log view (info and above),
/// with no output: for tests, which read the tail and want quiet output.
pub fn init_tail_only() {
    let _ = tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(recent_logs::RecentLogsLayer)
        .try_init();
}

/// Makes a value safe to put in a log line: control characters (CR, LF, ANSI
/// escapes) are escaped, so user input cannot forge extra lines (ASVS 7.3.1).
pub fn log_safe(value: &str) -> String {
    value
        .chars()
        .flat_map(char::escape_default)
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asvs_7_3_1_log_values_cannot_forge_lines() {
        let forged = log_safe("alice\n2026-01-01 INFO admin logged in\x1b[31m");
        assert!(!forged.contains('\n'));
        assert!(!forged.contains('\x1b'));
        assert!(forged.starts_with("alice\\n"));
    }
}
