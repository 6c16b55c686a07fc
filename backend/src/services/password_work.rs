//! Where Argon2id runs: on blocking threads (never on the request workers),
//! and at most one hash per core at a time. A burst of logins queues here
//! instead of crowding the cores with more hashes than they can run — which
//! would only add latency to every other request and allocate 19 MiB per
//! hash at once — while the hashes that do run keep every core busy, so
//! login throughput stays at what the cores can hash.

use crate::error::{AppError, AppResult};
use crate::security::password;
use crate::startup::AppState;
use tokio::sync::Semaphore;

pub struct PasswordWork {
    slots: Semaphore,
}

impl Default for PasswordWork {
    /// One slot per core.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            slots: Semaphore::new(cores),
        }
    }
}

impl PasswordWork {
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let _slot = self.slots.acquire().await.map_err(AppError::internal)?;
        actix_web::web::block(f).await.map_err(AppError::internal)
    }
}

/// Whether `password` matches the PHC string `phc`.
pub async fn verify(state: &AppState, password: String, phc: String) -> AppResult<bool> {
    state
        .password_work
        .run(move || password::verify(&password, &phc))
        .await
}

/// A new PHC string for `password`.
pub async fn hash(state: &AppState, password: String) -> AppResult<String> {
    state
        .password_work
        .run(move || password::hash(&password))
        .await?
        .map_err(|e| AppError::internal(anyhow::anyhow!("hashing failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::PasswordWork;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    #[actix_web::test]
    async fn no_more_hashes_run_at_once_than_there_are_slots() {
        let work = Arc::new(PasswordWork {
            slots: Semaphore::new(2),
        });
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..6).map(|_| {
            let (work, running, peak) = (work.clone(), running.clone(), peak.clone());
            async move {
                work.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }
        });
        for result in futures_util::future::join_all(jobs).await {
            result.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
