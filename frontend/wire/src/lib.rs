//! Wire types and parse-don't-validate newtypes, shared by the server and the
//! browser.
//!
//! Everything here compiles both into the server and into the wasm bundle, so a
//! form shows exactly the errors the server would return, before it is sent. A
//! crate of its own, with no Leptos: the server's security code depends on
//! these types, not on the pages (feature `openapi`: their OpenAPI schemas).

pub mod accounts;
pub mod activity;
pub mod admin;
pub mod audit;
pub mod demo;
pub mod fields;
pub mod logs;
pub mod oauth_clients;
pub mod password_policy;
pub mod patterns;
pub mod pkce;
pub mod ssn;
pub mod workshop;

pub use accounts::*;
pub use activity::ActivityEntry;
pub use admin::*;
pub use audit::{AuditChainBreak, AuditVerifyResult};
pub use fields::{Email, FieldError, LoginName, Username};
pub use logs::{LogLineInfo, LogsResponse};
pub use oauth_clients::{
    ClientName, NewOAuthClientRequest, OAuthClientCreated, OAuthClientInfo, OAuthClientList,
    OAuthClientSecret, OAuthScopeInfo, UpdateOAuthClientRequest,
};
pub use password_policy::{Password, PasswordContext, PasswordPolicy};
pub use ssn::{Ssn, SsnRequest, SsnRevealed, SsnStatus};
