//! The Patterns area's live demonstrations (`/api/v1/me/token`,
//! `/api/v1/demo/*`). Each shows a control of the real app holding; none
//! weakens one. Nothing here stores, logs or audits a password or a token.

use crate::db::models::user::escape_like;
use crate::db::{self, schema::audit_log};
use crate::error::{AppError, AppResult};
use crate::security::{blocklist, jwt};
use crate::services::sessions;
use crate::state::AppState;
use diesel::prelude::*;
use wire::demo::{DemoSearchResult, PasswordCheckResponse, PolicyVerdict, TokenView};
use wire::password_policy::{PasswordContext, PasswordPolicy, PolicyKind};

/// The longest search text the demo accepts (characters).
pub const SEARCH_MAX_CHARS: usize = 100;
/// How many matches the demo search returns at most.
const SEARCH_LIMIT: i64 = 20;

/// The decoded header and verified claims of `token`, the access token the
/// current request was authenticated with. The token itself is not part of
/// the answer.
pub fn token_view(state: &AppState, token: &str) -> AppResult<TokenView> {
    let now = chrono::Utc::now().timestamp();
    let keys = state.keys.signing.current();
    let claims = jwt::verify(&keys, &sessions::token_policy(state), token, now)
        .map_err(|_| AppError::Unauthenticated)?;
    let header = jsonwebtoken::decode_header(token).map_err(|_| AppError::Unauthenticated)?;
    Ok(TokenView {
        header: serde_json::to_value(&header).map_err(AppError::internal)?,
        expires_in_secs: (claims.exp - now).max(0),
        claims: serde_json::to_value(&claims).map_err(AppError::internal)?,
    })
}

/// Searches the actions of the caller's own audit entries for `q`. The text
/// is bound as one parameter of a query-builder query (LIKE wildcards
/// escaped), so `' OR '1'='1` is looked for literally and matches nothing.
pub async fn search(state: &AppState, user_id: &str, q: &str) -> AppResult<DemoSearchResult> {
    let query = q.trim().to_owned();
    if query.chars().count() > SEARCH_MAX_CHARS {
        return Err(AppError::bad_request("search text too long"));
    }
    let pattern = format!("%{}%", escape_like(&query.to_lowercase()));
    let (me, bound) = (user_id.to_owned(), pattern.clone());
    let matches = db::run(&state.pool, move |c| {
        Ok(audit_log::table
            .filter(audit_log::actor.eq(me))
            .filter(audit_log::action.like(bound).escape('\\'))
            .select(audit_log::action)
            .distinct()
            .order(audit_log::action.asc())
            .limit(SEARCH_LIMIT)
            .load::<String>(c)?)
    })
    .await?;
    Ok(DemoSearchResult {
        query,
        bound_pattern: pattern,
        matches,
    })
}

/// An internal failure made on purpose: the caller sees the generic 500 body
/// with the request id; the detail below goes to the log only.
pub fn fail() -> AppError {
    AppError::internal(anyhow::anyhow!(
        "demo failure: simulated outage of the ledger database at ledger-db.internal:5432 \
         (this detail is for the server log only)"
    ))
}

fn verdict(kind: PolicyKind, password: &str) -> PolicyVerdict {
    let problems: Vec<String> = PasswordPolicy::new(kind)
        .with_blocklist(blocklist::contains)
        .check(password, PasswordContext::default())
        .into_iter()
        .map(|e| e.code)
        .collect();
    PolicyVerdict {
        policy: kind.as_str().to_owned(),
        accepted: problems.is_empty(),
        problems,
    }
}

/// The verdicts of both password policies on `password`, with the real
/// policy code and the server's big blocklist. Neither stored nor logged.
pub fn password_check(state: &AppState, password: &str) -> PasswordCheckResponse {
    PasswordCheckResponse {
        length: password.chars().count(),
        catalogue: verdict(PolicyKind::Catalogue, password),
        nist: verdict(PolicyKind::Nist, password),
        in_force: state.settings.password_policy.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_policies_disagree_on_a_long_lowercase_passphrase() {
        let phrase = "correct horse battery staple";
        let cat = verdict(PolicyKind::Catalogue, phrase);
        let nist = verdict(PolicyKind::Nist, phrase);
        assert!(!cat.accepted);
        assert!(cat.problems.iter().any(|p| p == "missing_upper"));
        assert!(nist.accepted, "{:?}", nist.problems);
    }

    #[test]
    fn a_short_complex_password_passes_only_the_catalogue() {
        let cat = verdict(PolicyKind::Catalogue, "Tr0ub4dor&3x!");
        let nist = verdict(PolicyKind::Nist, "Tr0ub4dor&3x!");
        assert!(cat.accepted, "{:?}", cat.problems);
        assert!(nist.problems.iter().any(|p| p == "passphrase_too_short"));
    }

    #[test]
    fn the_failure_is_internal() {
        assert!(matches!(fail(), AppError::Internal(_)));
    }
}
