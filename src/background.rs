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
