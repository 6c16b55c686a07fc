//! Security-critical logic, free of any web or database framework so it can be
//! read and unit-tested in isolation. Nothing in here imports actix-web or diesel.

pub mod audit_chain;
pub mod blocklist;
pub mod brute_force;
pub mod client_ip;
pub mod csv;
pub mod field_crypto;
pub mod jwt;
pub mod password;
pub mod pkce;
pub mod policy;
pub mod recovery_codes;
pub mod refresh_token;
pub mod signing_keys;
pub mod totp;
pub mod workshop;
