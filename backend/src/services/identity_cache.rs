//! Telling every instance to forget what a change concerns: this one's
//! identity cache at once (`state::identity_cache`, where the cache and why
//! it is safe are described), the others by a PostgreSQL NOTIFY
//! ([`crate::db::notify`]).

use crate::db::{self, connection::Target, notify};
use crate::state::identity_cache::{IdentityCache, Invalidation};
use crate::state::AppState;
use std::sync::Arc;

/// Forgets what `change` concerns on this instance at once, then tells the
/// other instances (PostgreSQL NOTIFY). Call after the change has committed.
pub async fn forget(state: &AppState, change: Invalidation) {
    state.identity_cache.forget(&change);
    let shared = matches!(
        Target::parse(secrecy::ExposeSecret::expose_secret(
            &state.settings.database_url
        )),
        Ok(Target::Postgres(_))
    );
    if !shared {
        return;
    }
    let payload = change.to_payload();
    if let Err(e) = db::run(&state.pool, move |c| Ok(notify::publish(c, &payload)?)).await {
        // The other instances still stop trusting their entries after TTL.
        tracing::warn!(error = ?e, "could not tell the other instances about a change");
    }
}

/// [`forget`] for one user.
pub async fn forget_user(state: &AppState, user_id: &str) {
    forget(state, Invalidation::User(user_id.to_owned())).await;
}

/// Starts listening for the other instances' changes (PostgreSQL only).
pub fn listen_for_changes(state: &AppState) -> anyhow::Result<()> {
    notify::listen(
        secrecy::ExposeSecret::expose_secret(&state.settings.database_url),
        Arc::downgrade(&state.identity_cache),
        |cache: &IdentityCache, payload| cache.forget(&Invalidation::from_payload(payload)),
        "all",
    )
}
