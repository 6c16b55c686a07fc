//! The standing attack suite: each test is one attack on a running server
//! (the real binary's `Application`, port 0, SQLite or PostgreSQL) and the
//! exact refusal it expects. Modules are named after the OWASP ASVS 5.0
//! chapter they attack; `docs/threat-model.md` points at each test from the
//! threat it proves refused.
//!
//! Concurrency attacks send real parallel requests (`futures_util::future::join_all`
//! over separate connections), never a loop that waits for each answer.
//! No test asserts on wall-clock time.

mod v10_oauth;
mod v13_configuration;
mod v14_data_protection;
mod v16_logging;
mod v2_anti_automation;
mod v3_frontend;
mod v6_authentication;
mod v6_enumeration;
mod v7_sessions;
mod v8_authorization;
mod v8_page_reads;
mod v9_tokens;
