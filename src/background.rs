//! What the background workers (e-mail, webhooks) share: a task that runs until told to stop, and the
//! delay before a delivery's next attempt.
//!
//! A task that runs in the background until told to stop: the e-mail worker and the webhook worker.
//! Dropping it stops the task at once (tests); [`Worker::stop`] asks it to stop and waits a little for
//! the piece of work in flight (an e-mail being sent, an event being posted) to be recorded.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

pub struct Worker {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// What the log says when the task outlives the grace of [`Worker::stop`].
    late: &'static str,
}

impl Worker {
    /// Runs `body` in the background; it is handed the receiver that turns `true` when it must stop.
    pub fn spawn<Body, Task>(late: &'static str, body: Body) -> Self
    where
        Body: FnOnce(watch::Receiver<bool>) -> Task,
        Task: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopping) = watch::channel(false);
        Self { stop, task: Some(tokio::spawn(body(stopping))), late }
    }

    /// Asks the task to stop, and waits up to `grace` for it to end.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take()
            && tokio::time::timeout(grace, task).await.is_err()
        {
            tracing::warn!("{}", self.late);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The wait before attempt `attempts + 1` of a delivery (an e-mail, a webhook event): `base`, times
/// `growth` for each attempt after the first, at most `cap`, with ±20 % jitter, and at least a second.
pub fn retry_delay(attempts: i64, base: Duration, growth: f64, cap: Duration) -> time::Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 20) as i32;
    let grown = (base.as_secs_f64() * growth.powi(exponent)).min(cap.as_secs_f64());
    let jittered = grown * (0.8 + 0.4 * rand::random::<f64>());
    time::Duration::seconds_f64(jittered.max(1.0))
}
