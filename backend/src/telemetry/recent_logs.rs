//! The server's most recent log lines, kept in memory for the admin log view
//! (`GET /api/v1/admin/logs`): a 500 shows the client only a request id, and
//! an administrator finds the cause here by that id without shell access.
//!
//! It holds exactly what the process writes to its log (the same filter, the
//! same fields), so the rule that no secret is ever logged covers it too.
//! Per process: with several instances, each shows its own lines.
//!
//! Layer: infrastructure, in `telemetry` above `request_id` (its only import).

use super::request_id::current_request_id;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// How many lines are kept (the oldest go first).
pub const CAPACITY: usize = 2000;

/// One log line as the admin view shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Increasing, so a client can ask for what came after.
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    pub level: String,
    /// The message and its fields (`key=value`), control characters escaped.
    pub text: String,
    pub request_id: Option<String>,
}

/// A kept line as written: formatted only when an administrator reads it,
/// since nearly every line is dropped unread.
struct Entry {
    seq: u64,
    at: chrono::DateTime<chrono::Utc>,
    level: Level,
    text: String,
    request_id: Option<String>,
}

impl Entry {
    fn to_line(&self) -> LogLine {
        LogLine {
            seq: self.seq,
            time: self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            level: self.level.to_string(),
            text: self.text.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// Error lines are kept in a ring of their own: a flood of other lines (a
/// load balancer's health checks, a scan, a burst of 429s) must not evict
/// the error an administrator looks up by the request id a 500 showed.
struct Buffer {
    next_seq: u64,
    lines: VecDeque<Entry>,
    errors: VecDeque<Entry>,
    capacity: usize,
}

impl Buffer {
    const fn new(capacity: usize) -> Self {
        Self {
            next_seq: 1,
            lines: VecDeque::new(),
            errors: VecDeque::new(),
            capacity,
        }
    }

    fn push(&mut self, level: Level, text: String, request_id: Option<String>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let ring = if level == Level::ERROR {
            &mut self.errors
        } else {
            &mut self.lines
        };
        if ring.len() >= self.capacity {
            ring.pop_front();
        }
        ring.push_back(Entry {
            seq,
            at: chrono::Utc::now(),
            level,
            text,
            request_id,
        });
    }

    fn recent(&self, q: &LogQuery) -> Vec<LogLine> {
        fn matching<'a>(ring: &'a VecDeque<Entry>, q: &LogQuery) -> Vec<&'a Entry> {
            ring.iter()
                .rev()
                .filter(|l| {
                    q.request_id
                        .as_deref()
                        .is_none_or(|id| l.request_id.as_deref() == Some(id))
                })
                .filter(|l| q.min_level.is_none_or(|min| l.level <= min))
                .take(q.limit)
                .collect()
        }
        // Both rings newest first; merged by sequence number.
        let mut found = matching(&self.lines, q);
        found.extend(matching(&self.errors, q));
        found.sort_unstable_by_key(|e| std::cmp::Reverse(e.seq));
        found
            .into_iter()
            .take(q.limit)
            .map(Entry::to_line)
            .collect()
    }
}

static BUFFER: Mutex<Buffer> = Mutex::new(Buffer::new(CAPACITY));

fn buffer() -> std::sync::MutexGuard<'static, Buffer> {
    BUFFER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Appends a line (the layer's job; public so tests can write one).
pub fn push(level: Level, text: String, request_id: Option<String>) {
    buffer().push(level, text, request_id);
}

/// What to look for.
#[derive(Clone, Debug, Default)]
pub struct LogQuery {
    /// Only the lines of this request.
    pub request_id: Option<String>,
    /// Only lines at this level or more severe (`ERROR` < `WARN` < `INFO`…).
    pub min_level: Option<Level>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// The newest lines matching `q`, newest first.
pub fn recent(q: &LogQuery) -> Vec<LogLine> {
    buffer().recent(q)
}

/// The tracing layer that feeds the buffer; `telemetry::init` installs it
/// beside the output layer, under the same filter.
pub struct RecentLogsLayer;

impl<S: Subscriber> Layer<S> for RecentLogsLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        // The id is task-local: this runs in the task that logged the line.
        push(*event.metadata().level(), fields.text, current_request_id());
    }
}

#[derive(Default)]
struct Fields {
    text: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        let _ = Escaped::new(&mut self.text).write_str(value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.name(field);
        let _ = write!(Escaped::new(&mut self.text), "{value:?}");
    }
}

impl Fields {
    /// Starts a field: the message bare, any other as `name=`.
    fn name(&mut self, field: &Field) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        if field.name() != "message" {
            self.text.push_str(field.name());
            self.text.push('=');
        }
    }
}

/// Writes into a line what [`crate::telemetry::log_safe`] would make of it (control
/// characters escaped, at most 200 characters), without a copy in between.
struct Escaped<'a> {
    out: &'a mut String,
    room: usize,
}

impl<'a> Escaped<'a> {
    fn new(out: &'a mut String) -> Self {
        Self { out, room: 200 }
    }
}

impl std::fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars().flat_map(char::escape_default) {
            if self.room == 0 {
                break;
            }
            self.out.push(c);
            self.room -= 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn the_layer_keeps_message_fields_and_request_id() {
        let subscriber = tracing_subscriber::registry().with(RecentLogsLayer);
        let marker = format!("marker-{}", uuid::Uuid::new_v4());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        tracing::subscriber::with_default(subscriber, || {
            rt.block_on(crate::telemetry::request_id::with_request_id(
                marker.clone(),
                async {
                    tracing::error!(cause = "disk full\nFAKE LINE", "{marker} failed");
                },
            ));
        });
        let lines = recent(&LogQuery {
            request_id: Some(marker.clone()),
            min_level: None,
            limit: 100,
        });
        let line = lines
            .iter()
            .find(|l| l.text.contains(&marker))
            .expect("the line is kept");
        assert_eq!(line.level, "ERROR");
        assert_eq!(line.request_id.as_deref(), Some(marker.as_str()));
        assert!(
            line.text.contains("cause=disk full\\nFAKE LINE"),
            "{}",
            line.text
        );
    }

    #[test]
    fn filters_by_request_and_level_newest_first() {
        let mut b = Buffer::new(10);
        b.push(Level::INFO, "first".into(), Some("a".into()));
        b.push(Level::ERROR, "second".into(), Some("a".into()));
        b.push(Level::ERROR, "other request".into(), Some("b".into()));
        let all = b.recent(&LogQuery {
            request_id: Some("a".into()),
            min_level: None,
            limit: 10,
        });
        let texts: Vec<&str> = all.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["second", "first"]);
        assert!(all[0].seq > all[1].seq);
        let errors = b.recent(&LogQuery {
            request_id: Some("a".into()),
            min_level: Some(Level::WARN),
            limit: 10,
        });
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].text, "second");
        let newest = b.recent(&LogQuery {
            limit: 1,
            ..LogQuery::default()
        });
        assert_eq!(newest[0].text, "other request");
    }

    #[test]
    fn values_are_escaped_and_cut_like_log_safe() {
        for value in ["plain", "two\nlines\x1b[31m", &"x".repeat(500), "é ü"] {
            let mut text = String::new();
            Escaped::new(&mut text).write_str(value).unwrap();
            assert_eq!(text, crate::telemetry::log_safe(value), "{value}");
        }
        let mut text = String::new();
        write!(Escaped::new(&mut text), "{:?}", "quoted\r").unwrap();
        assert_eq!(
            text,
            crate::telemetry::log_safe(&format!("{:?}", "quoted\r"))
        );
    }

    #[test]
    fn the_oldest_lines_make_room() {
        let mut b = Buffer::new(3);
        for i in 0..5 {
            b.push(Level::DEBUG, format!("line {i}"), None);
        }
        let kept = b.recent(&LogQuery {
            limit: usize::MAX,
            ..LogQuery::default()
        });
        let texts: Vec<&str> = kept.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["line 4", "line 3", "line 2"]);
    }

    #[test]
    fn a_flood_of_other_lines_does_not_evict_errors() {
        let mut b = Buffer::new(3);
        b.push(Level::ERROR, "the 500".into(), Some("r1".into()));
        for i in 0..10 {
            b.push(Level::INFO, format!("healthz {i}"), None);
            b.push(Level::WARN, format!("429 {i}"), None);
        }
        let kept = b.recent(&LogQuery {
            request_id: Some("r1".into()),
            ..LogQuery::default()
        });
        assert!(kept.is_empty(), "limit 0 finds nothing");
        let kept = b.recent(&LogQuery {
            request_id: Some("r1".into()),
            limit: 10,
            ..LogQuery::default()
        });
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].text, "the 500");
        // Merged newest first; the error ring has its own capacity too.
        let all = b.recent(&LogQuery {
            limit: 4,
            ..LogQuery::default()
        });
        let texts: Vec<&str> = all.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["429 9", "healthz 9", "429 8", "the 500"]);
        for i in 0..5 {
            b.push(Level::ERROR, format!("error {i}"), None);
        }
        let errors = b.recent(&LogQuery {
            min_level: Some(Level::ERROR),
            limit: 10,
            ..LogQuery::default()
        });
        let texts: Vec<&str> = errors.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["error 4", "error 3", "error 2"]);
    }
}
