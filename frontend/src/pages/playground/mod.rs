//! Playgrounds: pages that walk through a security protocol one step at a
//! time, with the real server, showing every value.

#[cfg(feature = "hydrate")]
mod browser;
mod flow;
mod model;
pub mod oauth;
