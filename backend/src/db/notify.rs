//! Messages between instances over PostgreSQL's LISTEN/NOTIFY: the only
//! thing several instances share is the database, so it carries the news
//! that one of them changed something the others may have cached.
//!
//! SQLite is one instance by construction, so publishing there does nothing.

use super::connection::{prepare_libpq, Target};
use super::DbConn;
use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryResult, RunQueryDsl};
use std::sync::Weak;
use std::time::Duration;

/// The one channel; the payload says what changed.
pub const CHANNEL: &str = "app_invalidate";
/// `LISTEN` takes an identifier, not a parameter; spelled out (and tested)
/// so that no SQL is ever assembled at run time.
const LISTEN_SQL: &str = "LISTEN app_invalidate";

/// How often the listener looks for news. A message reaches the other
/// instances within about this long after the change commits.
const POLL: Duration = Duration::from_millis(2);
/// How long to wait before reconnecting after the connection broke.
const RECONNECT: Duration = Duration::from_secs(1);

/// Tells every listening instance (this one included) about a change.
pub fn publish(conn: &mut DbConn, payload: &str) -> QueryResult<()> {
    match conn {
        DbConn::Postgres(pg) => {
            // Bound, not formatted: the payload may carry an id.
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<Text, _>(CHANNEL)
                .bind::<Text, _>(payload)
                .execute(pg)?;
            Ok(())
        }
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// For PostgreSQL, starts a thread that hands every message to `on_message`
/// while `target` is alive, and ends (closing its connection) once it is
/// dropped. After a reconnect it delivers `reconnected`, since messages sent
/// while it was away are lost. Does nothing for SQLite.
pub fn listen<T: Send + Sync + 'static>(
    database_url: &str,
    target: Weak<T>,
    on_message: fn(&T, &str),
    reconnected: &'static str,
) -> anyhow::Result<()> {
    let Target::Postgres(url) = Target::parse(database_url)? else {
        return Ok(());
    };
    prepare_libpq();
    std::thread::Builder::new()
        .name("pg-listen".into())
        .spawn(move || {
            let mut first = true;
            while target.strong_count() > 0 {
                match subscribe(&url) {
                    Ok(mut conn) => {
                        if !first {
                            if let Some(t) = target.upgrade() {
                                on_message(&t, reconnected);
                            }
                        }
                        first = false;
                        if let Err(e) = pump(&mut conn, &target, on_message) {
                            tracing::warn!(error = %e, "invalidation listener lost its connection");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "invalidation listener cannot connect"),
                }
                std::thread::sleep(RECONNECT);
            }
        })?;
    Ok(())
}

fn subscribe(url: &str) -> anyhow::Result<PgConnection> {
    let mut conn = PgConnection::establish(url)?;
    diesel::sql_query(LISTEN_SQL).execute(&mut conn)?;
    Ok(conn)
}

/// Delivers messages until the target is dropped (Ok) or the connection fails.
fn pump<T>(conn: &mut PgConnection, target: &Weak<T>, on_message: fn(&T, &str)) -> QueryResult<()> {
    loop {
        let Some(t) = target.upgrade() else {
            return Ok(());
        };
        for notification in conn.notifications_iter() {
            let notification = notification?;
            if notification.channel == CHANNEL {
                on_message(&t, &notification.payload);
            }
        }
        drop(t);
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn listens_on_the_channel_it_publishes_to() {
        assert_eq!(super::LISTEN_SQL, format!("LISTEN {}", super::CHANNEL));
    }
}
