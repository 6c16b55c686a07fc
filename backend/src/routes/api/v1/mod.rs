//! `/api/v1`: the JSON API the pages call and API clients use.

pub mod activity;
pub mod admin;
pub mod auth;
pub mod demo;
pub mod devices;
pub mod logs;
pub mod me;
pub mod mfa;
pub mod oauth_clients;
pub mod ssn;
pub mod workshop;
