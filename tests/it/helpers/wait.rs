//! Waiting for something that happens in the background (a worker, a sweep, a child process), by
//! asking again until it has happened, never by sleeping a fixed time.

use std::time::{Duration, Instant};

/// How long a condition may take to come true: far longer than it takes, even on a busy machine.
const PATIENCE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(25);

/// Asks `probe` until it returns `Some`, and returns what it found; fails naming `what` if it has not
/// happened after 20 seconds.
pub async fn eventually<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    within(PATIENCE, probe).await.unwrap_or_else(|| panic!("still waiting for {what} after {PATIENCE:?}"))
}

/// Asks `probe` until it returns `Some` or `limit` has passed (`None`): for a test that says more when
/// it fails, or that has a deadline of its own.
pub async fn within<T>(limit: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `within` for a test without an async runtime (one that drives the real binary from its thread).
pub fn within_blocking<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}
