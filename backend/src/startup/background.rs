//! What runs beside the server while it serves: this instance's row and
//! heartbeat in `app_instances`, the signing-key reload, the audit anchor
//! timer and the counters' flush. Each task stops when the application is
//! dropped.

use crate::services::{access, field_keys};
use crate::state::AppState;
use actix_web::web;
use std::sync::Arc;
use std::time::Duration;

/// This server in `app_instances`: its field key ids and a heartbeat, so
/// `rotate-keys` and `keys status` know what the running servers hold
/// (`services::field_keys`).
pub(super) struct Instance {
    id: String,
    label: String,
    stopped: Arc<std::sync::atomic::AtomicBool>,
}

impl Instance {
    /// Writes the row before the server answers anything: a server
    /// `rotate-keys` cannot see would be one it cannot wait for.
    pub(super) async fn announce(state: &web::Data<AppState>) -> anyhow::Result<Self> {
        let instance = Self {
            id: uuid::Uuid::new_v4().to_string(),
            label: field_keys::instance_label(),
            stopped: Arc::default(),
        };
        field_keys::beat(
            &state.pool,
            instance.id.clone(),
            instance.label.clone(),
            &state.keys.fields,
            &state.keys.session,
            chrono::Utc::now().naive_utc(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot register this instance in app_instances: {e}"))?;
        Ok(instance)
    }

    pub(super) fn beat_periodically(&self, state: &web::Data<AppState>) {
        let weak = Arc::downgrade(&state.clone().into_inner());
        let (id, label, stopped) = (self.id.clone(), self.label.clone(), self.stopped.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(field_keys::HEARTBEAT_EVERY).await;
                let Some(state) = weak.upgrade() else { break };
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let now = chrono::Utc::now().naive_utc();
                let beat = field_keys::beat(
                    &state.pool,
                    id.clone(),
                    label.clone(),
                    &state.keys.fields,
                    &state.keys.session,
                    now,
                );
                if let Err(e) = beat.await {
                    tracing::error!(error = ?e, "could not write this instance's heartbeat");
                }
            }
        });
    }

    /// A clean stop: the row goes at once. (A heartbeat already under way
    /// may write it again; it then stops counting as live after
    /// `LIVE_WITHIN`, like a crashed instance's.)
    pub(super) async fn stop(&self, state: &web::Data<AppState>) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = field_keys::forget_instance(&state.pool, self.id.clone()).await {
            tracing::error!(error = ?e, "could not remove this instance from app_instances");
        }
    }
}

/// Picks up keys added by `backend rotate-signing-key` (or mounted by a
/// deployment) without a restart. Stops when the application is dropped.
pub(super) fn reload_signing_keys_periodically(state: &web::Data<AppState>) {
    let weak = Arc::downgrade(&state.clone().into_inner());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            let Some(state) = weak.upgrade() else { break };
            if let Err(e) = state.keys.signing.reload() {
                tracing::error!(error = %e, "could not reload the signing keys; keeping the loaded ones");
            }
        }
    });
}

/// Anchors the audit head outside the table every `ANCHOR_EVERY` when it
/// moved (`services::audit_anchor`). A chain that no longer reaches the
/// newest anchor is an alert, and is not anchored.
pub(super) fn anchor_audit_periodically(state: &web::Data<AppState>) {
    let weak = Arc::downgrade(&state.clone().into_inner());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(crate::services::audit_anchor::ANCHOR_EVERY).await;
            let Some(state) = weak.upgrade() else { break };
            let keys = state.keys.signing.current();
            let anchored = crate::services::audit_anchor::anchor(
                &state.pool,
                &keys,
                &state.settings.data_dir,
                "periodic",
            );
            if let Err(e) = anchored.await {
                tracing::error!(error = %e, "could not anchor the audit log");
            }
        }
    });
}

/// Writes the rate-limit hits and the allowed-decision counts once a minute.
pub(super) fn flush_counters_periodically(state: &web::Data<AppState>) {
    let weak = Arc::downgrade(&state.clone().into_inner());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            let Some(state) = weak.upgrade() else { break };
            if let Err(e) = state.rate_limits.flush(&state.pool).await {
                tracing::error!(error = ?e, "could not record rate-limit hits");
            }
            if let Err(e) = access::flush(&state).await {
                tracing::error!(error = ?e, "could not record decision counts");
            }
        }
    });
}
