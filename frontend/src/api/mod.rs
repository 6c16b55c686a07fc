//! Wire types and parse-don't-validate newtypes.
//!
//! Everything here compiles both into the server and into the wasm bundle, so a
//! form shows exactly the errors the server would return, before it is sent.

pub mod admin;
pub mod audit;
pub mod fields;
pub mod password_policy;
pub mod ssn;
pub mod wire;

pub use admin::*;
pub use audit::{AuditChainBreak, AuditVerifyResult};
pub use fields::{Email, FieldError, LoginName, Username};
pub use password_policy::{Password, PasswordContext, PasswordPolicy};
pub use ssn::{Ssn, SsnRequest, SsnRevealed, SsnStatus};
pub use wire::*;
