pub mod account;
pub mod admin;
// Rendered by the server for /oauth/authorize only; never hydrated.
#[cfg(feature = "ssr")]
pub mod consent;
pub mod devices;
pub mod home;
pub mod login;
pub mod not_found;
pub mod patterns;
pub mod playground;
pub mod register;
pub mod sessions;
pub mod ssn;
pub mod two_factor;
pub mod workshop;
