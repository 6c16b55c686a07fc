//! Security-critical logic, free of any web or database framework so it can be
//! read and unit-tested in isolation. Nothing in here imports actix-web or diesel.
//!
//! Stricter lints than the rest of the crate (on top of the workspace's
//! unwrap/expect/panic bans): no unchecked indexing or slicing, which can
//! panic on attacker-sized input, and no silently truncating casts (tests
//! may index: a panic there is a failed test).
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap
    )
)]

pub mod audit_anchor;
pub mod audit_chain;
pub mod blocklist;
pub mod brute_force;
pub mod client_ip;
pub mod csv;
pub mod field_crypto;
pub mod jwt;
pub mod origin;
pub mod password;
pub mod percent;
pub mod pkce;
pub mod policy;
pub mod policy_table;
pub mod recovery_codes;
pub mod refresh_token;
pub mod session_keys;
pub mod signing_keys;
pub mod totp;
pub mod user_keys;
pub mod workshop;
