//! Integration tests: one binary, each test starting the real server on port 0.
//!
//! Without `TEST_DATABASE_URL` every test runs on a fresh SQLite file; with it
//! (as `scripts/test` and CI do in a second pass), on a fresh PostgreSQL schema.

// Test helpers may fail loudly: a panic is a failed test, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod atomic_audit;
mod attacks;
mod audit;
mod audit_chain;
mod auth;
mod backup;
mod cli;
mod conformance;
mod csrf;
mod enumeration;
mod field_keys;
mod forms;
mod guessing;
mod headers;
mod health;
mod helpers;
mod hsm;
mod identity_cache;
mod instances;
mod key_rotation;
mod limits;
mod lockout;
mod logs;
mod management;
mod metrics;
mod mfa;
mod oauth;
mod oauth_cli;
mod oauth_clients;
mod openapi_snapshot;
mod pages;
mod password_policy;
mod patterns;
mod playground;
mod policy_hints;
mod rate_limits;
mod seed;
mod session_keys;
mod sessions;
mod shared_limit;
mod shutdown;
mod ssn;
mod threat_model;
mod tls;
mod tokens;
mod user_keys;
mod workshop;
mod zero_trust;
