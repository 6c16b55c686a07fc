//! Playgrounds: pages that walk through a security protocol one step at a
//! time, with the real server, showing every value.

mod flow;
pub mod oauth;
