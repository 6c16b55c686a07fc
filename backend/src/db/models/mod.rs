//! One file per entity: the row types ("local methods") and the queries that
//! read and write them ("database methods"). Every query goes through Diesel's
//! query builder, so every value is a bound parameter.

pub mod audit_entry;
pub mod decision;
pub mod device;
pub mod field_data_key;
pub mod instance;
pub mod mfa;
pub mod oauth;
pub mod refresh_token;
pub mod role_grant;
pub mod session;
pub mod session_key_id;
pub mod ssn;
pub mod user;
pub mod user_key;
pub mod workshop;
