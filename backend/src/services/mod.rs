//! Use cases, between the thin HTTP handlers and the models: each function
//! validates, calls the pure security code and the database, and audits.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod audit_anchor;
pub mod audit_verify;
pub mod backup;
pub mod data_keys;
pub mod demo;
pub mod devices;
pub mod encrypted_columns;
pub mod field_keys;
pub mod identity_cache;
pub mod key_loading;
pub mod key_rotation;
pub mod lockout;
pub mod mfa;
pub mod oauth;
pub mod oauth_clients;
pub mod oauth_playground;
pub mod restore;
pub mod session_keys;
pub mod sessions;
pub mod ssn;
pub mod user_keys;
pub mod workshop;
