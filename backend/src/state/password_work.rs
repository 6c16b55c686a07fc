//! Where Argon2id runs: on blocking threads (never on the request workers),
//! and at most one hash per core at a time. A burst of logins queues here
//! instead of crowding the cores with more hashes than they can run — which
//! would only add latency to every other request and allocate 19 MiB per
//! hash at once — while the hashes that do run keep every core busy, so
//! login throughput stays at what the cores can hash.

use crate::error::{AppError, AppResult};
use crate::security::password::{self, HashMemory};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::sync::Semaphore;

pub struct PasswordWork {
    slots: Semaphore,
    /// Verifications waiting for a slot.
    queued: AtomicUsize,
    /// Hash memories handed from a finished verification to a queued one.
    /// Kept only while verifications queue: once the queue is empty they are
    /// freed, so an idle server does not hold 19 MiB per core.
    spare: Mutex<Vec<HashMemory>>,
    /// Argon2id verifications and hashes run since start: the work a
    /// request did, which the enumeration tests compare across sign-in paths
    /// (a path that skipped the hash would be told apart by its time).
    verified: AtomicU64,
    hashed: AtomicU64,
}

/// How much Argon2id work has run ([`PasswordWork::done`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkDone {
    pub verifications: u64,
    pub hashes: u64,
}

impl Default for PasswordWork {
    /// One slot per core.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_slots(cores)
    }
}

/// Counts a verification as queued until it holds a slot, or gives up
/// waiting (its request was dropped).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PasswordWork {
    fn with_slots(slots: usize) -> Self {
        Self {
            slots: Semaphore::new(slots),
            queued: AtomicUsize::new(0),
            spare: Mutex::new(Vec::new()),
            verified: AtomicU64::new(0),
            hashed: AtomicU64::new(0),
        }
    }

    /// The verifications and hashes that have run to the end so far.
    pub fn done(&self) -> WorkDone {
        WorkDone {
            verifications: self.verified.load(Ordering::SeqCst),
            hashes: self.hashed.load(Ordering::SeqCst),
        }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let _slot = self.slots.acquire().await.map_err(AppError::internal)?;
        actix_web::web::block(f).await.map_err(AppError::internal)
    }

    /// [`Self::run`] for a job that works in a hash memory: one left by the
    /// previous job when there is one, so a burst of logins allocates it
    /// once per slot rather than once per login.
    async fn run_in_memory<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> AppResult<T> {
        let queued = Queued::enter(&self.queued);
        let _slot = self.slots.acquire().await.map_err(AppError::internal)?;
        drop(queued);
        let memory = self.take_spare();
        let (result, memory) = actix_web::web::block(move || {
            let mut memory = memory.unwrap_or_default();
            (f(&mut memory), memory)
        })
        .await
        .map_err(AppError::internal)?;
        self.put_back(memory);
        Ok(result)
    }

    fn take_spare(&self) -> Option<HashMemory> {
        self.spare.lock().ok()?.pop()
    }

    fn put_back(&self, memory: HashMemory) {
        let Ok(mut spare) = self.spare.lock() else {
            return;
        };
        if self.queued.load(Ordering::SeqCst) > 0 {
            spare.push(memory);
        } else {
            spare.clear();
        }
    }

    /// Whether `password` matches the PHC string `phc`.
    pub async fn verify(&self, password: String, phc: String) -> AppResult<bool> {
        let matches = self
            .run_in_memory(move |memory| password::verify_in(&password, &phc, memory))
            .await?;
        self.verified.fetch_add(1, Ordering::SeqCst);
        Ok(matches)
    }

    /// A new PHC string for `password`.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        let phc = self
            .run(move || password::hash(&password))
            .await?
            .map_err(|e| AppError::internal(anyhow::anyhow!("hashing failed: {e}")))?;
        self.hashed.fetch_add(1, Ordering::SeqCst);
        Ok(phc)
    }
}

#[cfg(test)]
mod tests {
    use super::{PasswordWork, Queued};
    use crate::security::password::HashMemory;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    #[actix_web::test]
    async fn no_more_hashes_run_at_once_than_there_are_slots() {
        let work = Arc::new(PasswordWork::with_slots(2));
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..6).map(|_| {
            let (work, running, peak) = (work.clone(), running.clone(), peak.clone());
            async move {
                work.run_in_memory(move |_| {
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

    #[actix_web::test]
    async fn a_queue_reuses_memory_and_an_empty_one_frees_it() {
        let work = Arc::new(PasswordWork::with_slots(1));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let jobs = (1..=4u64).map(|n| {
            let (work, seen) = (work.clone(), seen.clone());
            async move {
                work.run_in_memory(move |memory| {
                    seen.lock().unwrap().push(memory.marked());
                    memory.mark(n);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                })
                .await
            }
        });
        for result in futures_util::future::join_all(jobs).await {
            result.unwrap();
        }
        // One slot, four jobs queued at once: the first starts on fresh
        // memory, each later one on the memory its predecessor marked.
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[0], 0);
        assert!(seen[1..].iter().all(|&m| m != 0), "{seen:?}");
        // Nobody queued any more: nothing is kept.
        assert!(work.spare.lock().unwrap().is_empty());
    }

    #[test]
    fn memory_is_kept_only_for_someone_waiting() {
        let work = PasswordWork::with_slots(1);
        work.put_back(HashMemory::new());
        assert!(work.take_spare().is_none());
        let waiting = Queued::enter(&work.queued);
        work.put_back(HashMemory::new());
        drop(waiting);
        assert!(work.take_spare().is_some());
    }
}
