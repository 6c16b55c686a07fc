//! The login baseline: raw Argon2id verifications per second on every core,
//! with the app's own parameters and code (`backend::security::password`),
//! each thread reusing one hash memory as the server's hashing slots do.

use backend::security::password;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn verifications_per_sec(duration: Duration) -> anyhow::Result<f64> {
    let phc =
        password::hash("benchmark password").map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (phc, stop, done) = (phc.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let mut memory = password::HashMemory::new();
                while !stop.load(Ordering::Relaxed) {
                    if password::verify_in("benchmark password", &phc, &mut memory) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join()
            .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))?;
    }
    // Hashes finished after `stop` count too, so divide by the real time.
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}
