//! How one log event becomes one line: JSON for production (`LOG_FORMAT=json`)
//! or `key=value` text for a terminal, each with the id of the request whose
//! task logged it.
//!
//! The request id comes from the task-local of `telemetry::request_id`, set
//! per request, not from a tracing span: a span per request cost its fields'
//! formatting at creation and a JSON re-parse of them for every line, about
//! a sixth of a verified request's CPU time (docs/benchmarks.md). Lines are
//! built in one buffer and written with one call.
//!
//! Layer: infrastructure, in `telemetry` above `request_id` (its only import).

use super::request_id::current_request_id;
use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The two shapes of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `{"timestamp":…,"level":…,"message":…,"request_id":…,<fields>}`
    Json,
    /// `<time> <LEVEL> <message> request_id=… <fields>`, the level in colour
    /// when `ansi`.
    Text { ansi: bool },
}

/// The event formatter `telemetry::init` installs.
pub struct LineFormat(pub Style);

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let line = format_line(
            self.0,
            &now,
            *event.metadata().level(),
            current_request_id().as_deref(),
            |visitor| event.record(visitor),
        );
        writer.write_str(&line)
    }
}

/// One line (ending in a newline) from its parts; `record` feeds the
/// event's fields to the visitor it is given.
fn format_line(
    style: Style,
    time: &str,
    level: Level,
    request_id: Option<&str>,
    record: impl FnOnce(&mut dyn Visit),
) -> String {
    let mut fields = Fields {
        style,
        message: String::new(),
        rest: String::new(),
        names_request: false,
    };
    record(&mut fields);
    // An event that names its request itself is not given a second id.
    let request_id = request_id.filter(|_| !fields.names_request);
    let mut line = String::with_capacity(128 + fields.message.len() + fields.rest.len());
    match style {
        Style::Json => {
            line.push_str("{\"timestamp\":\"");
            line.push_str(time);
            let _ = write!(line, "\",\"level\":\"{level}\",\"message\":");
            push_json_str(&mut line, &fields.message);
            if let Some(id) = request_id {
                line.push_str(",\"request_id\":");
                push_json_str(&mut line, id);
            }
            line.push_str(&fields.rest);
            line.push('}');
        }
        Style::Text { ansi } => {
            let colour = match level {
                Level::ERROR => "31",
                Level::WARN => "33",
                Level::INFO => "32",
                _ => "34",
            };
            line.push_str(time);
            if ansi {
                let _ = write!(line, " \x1b[{colour}m{level:>5}\x1b[0m ");
            } else {
                let _ = write!(line, " {level:>5} ");
            }
            push_text(&mut line, &fields.message);
            if let Some(id) = request_id {
                line.push_str(" request_id=");
                push_text(&mut line, id);
            }
            line.push_str(&fields.rest);
        }
    }
    line.push('\n');
    line
}

/// Collects an event's fields in the style of the line: the message apart,
/// the others as `,"name":value` (JSON) or ` name=value` (text).
struct Fields {
    style: Style,
    message: String,
    rest: String,
    /// The event has a `request_id` field of its own.
    names_request: bool,
}

impl Fields {
    fn start(&mut self, field: &Field) {
        self.names_request |= field.name() == "request_id";
        match self.style {
            Style::Json => {
                self.rest.push(',');
                push_json_str(&mut self.rest, field.name());
                self.rest.push(':');
            }
            Style::Text { .. } => {
                self.rest.push(' ');
                self.rest.push_str(field.name());
                self.rest.push('=');
            }
        }
    }

    /// A number or a boolean: bare in both styles.
    fn bare(&mut self, field: &Field, value: impl fmt::Display) {
        self.start(field);
        let _ = write!(self.rest, "{value}");
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
            return;
        }
        self.start(field);
        match self.style {
            Style::Json => push_json_str(&mut self.rest, value),
            // Text lines are for people: a value with spaces is quoted.
            Style::Text { .. } if value.contains(' ') || value.is_empty() => {
                let _ = write!(self.rest, "{value:?}");
            }
            Style::Text { .. } => push_text(&mut self.rest, value),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
            return;
        }
        let text = format!("{value:?}");
        self.record_str(field, &text);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.bare(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.bare(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.bare(field, value);
    }
}

/// Appends `text` with its control characters escaped, so a value cannot
/// start a forged line of its own (ASVS 7.3.1).
fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
}

/// Appends `text` as a JSON string: quotes, backslashes and every control
/// character escaped, so no value can end the line or the object.
fn push_json_str(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A line for an event with these fields, formatted by a real subscriber.
    fn line(style: Style, request_id: Option<&str>, log: impl FnOnce()) -> String {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(LineFormat(style))
            .with_writer(move || Sink(sink.clone()))
            .finish();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        tracing::subscriber::with_default(subscriber, || match request_id {
            Some(id) => rt.block_on(crate::telemetry::request_id::with_request_id(
                id.into(),
                async { log() },
            )),
            None => log(),
        });
        let bytes = buffer.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_json_line_is_one_object_with_the_request_id_and_typed_fields() {
        let out = line(Style::Json, Some("req-1"), || {
            tracing::info!(
                status = 200u16,
                elapsed_ms = 3u64,
                ok = true,
                path = "/api/v1/me",
                "handled"
            );
        });
        assert!(out.ends_with('\n') && out.lines().count() == 1, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "handled");
        assert_eq!(v["request_id"], "req-1");
        assert_eq!(v["status"], 200);
        assert_eq!(v["elapsed_ms"], 3);
        assert_eq!(v["ok"], true);
        assert_eq!(v["path"], "/api/v1/me");
        assert!(chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str().unwrap()).is_ok());
    }

    #[test]
    fn no_value_can_break_out_of_its_json_string() {
        let nasty = "a\"b\\c\nd\re\u{1b}[31m\u{0}f\u{7f}";
        let out = line(Style::Json, None, || {
            tracing::warn!(cause = nasty, debugged = ?nasty, "first\nsecond");
        });
        assert_eq!(out.lines().count(), 1, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["cause"], nasty);
        assert_eq!(v["message"], "first\nsecond");
        assert_eq!(v["debugged"], format!("{nasty:?}"));
        assert!(v.get("request_id").is_none());
    }

    #[test]
    fn an_event_naming_its_request_keeps_one_id() {
        let out = line(Style::Json, Some("task-id"), || {
            tracing::info!(request_id = "own-id", "explicit");
        });
        assert_eq!(out.matches("request_id").count(), 1, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["request_id"], "own-id");
    }

    #[test]
    fn a_text_line_reads_as_key_value_pairs() {
        let out = line(Style::Text { ansi: false }, Some("req-2"), || {
            tracing::error!(
                status = 500u16,
                route = "/api/v1/demo/fail",
                note = "two words",
                "request failed"
            );
        });
        assert!(
            out.contains(" ERROR request failed request_id=req-2 status=500"),
            "{out}"
        );
        assert!(out.contains(" route=/api/v1/demo/fail"), "{out}");
        assert!(out.contains(" note=\"two words\""), "{out}");
        assert!(!out.contains('\x1b'), "{out}");
        let forged = line(Style::Text { ansi: false }, None, || {
            tracing::info!(user = "bob\nINFO admin signed in", "first\nsecond");
        });
        assert_eq!(forged.lines().count(), 1, "{forged}");
        let coloured = line(Style::Text { ansi: true }, None, || tracing::info!("hello"));
        assert!(
            coloured.contains("\x1b[32m INFO\x1b[0m hello"),
            "{coloured}"
        );
    }
}
