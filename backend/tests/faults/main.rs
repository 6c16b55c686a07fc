//! Fault tests: the real `backend` binary as a child process, hurt the way
//! production gets hurt, then checked for what must survive.
//!
//! - `crash`: `kill -9` of the server during a burst of audited writes, and
//!   of `rotate-keys` and `rotate-signing-key` mid-run; after a restart
//!   nothing acknowledged is lost, the audit chain verifies and every
//!   encrypted row decrypts.
//! - `pg_restart`: a throwaway PostgreSQL cluster (its own `initdb`, port and
//!   socket folder; never the machine's shared server) stopped and started
//!   under traffic: `503` with `Retry-After` during the outage, `200` after,
//!   with no restart of the app.
//! - `full_disk`: SQLite on a small tmpfs filled to the last byte: writes
//!   answer `503`, the file stays intact, writes resume when space returns.
//!
//! Needs root (`mount`, and `runuser` to run PostgreSQL as `postgres`) and
//! PostgreSQL's server binaries (`scripts/ensure-tools --faults`); a missing
//! one fails the test with a message saying so, never a silent skip.
//! Run by `scripts/test` as its own step (`cargo test -p backend --test
//! faults`); on SQLite (the crash tests), whatever `TEST_DATABASE_URL` says.

// Test helpers may fail loudly: a panic is a failed test, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crash;
mod full_disk;
mod pg_restart;
mod support;
