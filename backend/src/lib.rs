//! The backend of the secure reference app: an actix-web server that serves
//! the JSON API under `/api/v1`, renders the Leptos pages, and applies the
//! security layers (headers, CSRF, sessions, audit) to every request.
//!
//! See ARCHITECTURE.md for the map.

// The pages' view types nest deeply; without `--cfg erase_components` (the
// debug builds' flag) the compiler needs more than the default 128 levels
// to lay them out in a release build.
#![recursion_limit = "256"]

pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod dev_banner;
pub mod error;
pub mod http;
pub mod identity;
#[cfg(test)]
mod invariants;
pub mod key_provider;
pub mod keys;
pub mod metrics;
pub mod request_meta;
pub mod routes;
pub mod secret_provider;
pub mod security;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tls;
