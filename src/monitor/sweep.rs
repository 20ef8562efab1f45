//! Sweeps: checking many tenants with bounded concurrency. One tenant's failure or slowness never holds
//! up the others beyond its timeout; a 429 is retried only after its `Retry-After`; 5xx and connection
//! errors are retried with exponential backoff and jitter. Results are written in batches (one
//! transaction per batch), so a sweep over 10,000 tenants is not 10,000 fsyncs.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use super::check::Target;
use super::check::{CheckContext, CheckOutcome, check_tenant, to_result};
use crate::db;
use crate::db::Pool;
use crate::db::monitoring::CheckResult;
use crate::domain::{SharedClock, TenantId, TenantStatus, Timestamp};

/// Attempts per tenant in one sweep (the first and up to three retries).
const MAX_ATTEMPTS: u32 = 4;
/// First backoff after a 5xx or a connection error; doubled at each retry, with ±50 % jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Results written per transaction, at most.
const BATCH: usize = 500;
/// How long a sweep holds its tenants unless configured (`PORTAL_CHECK_LEASE_SECONDS`).
const DEFAULT_LEASE: Duration = Duration::from_secs(600);
/// A partial batch is written after this long.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// A sweep's progress, for the page and the command line.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SweepProgress {
    pub running: bool,
    pub total: usize,
    pub done: usize,
    pub verified: usize,
    pub problems: usize,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// Runs sweeps, one at a time, and reports their progress.
pub struct Sweeper {
    ctx: CheckContext,
    db: Pool,
    concurrency: usize,
    timeout: Duration,
    /// How long the tenants of a sweep are this replica's (see [`db::monitoring::lease_due`]).
    lease: Duration,
    running: AtomicBool,
    total: AtomicUsize,
    done: AtomicUsize,
    verified: AtomicUsize,
    times: Mutex<(Option<String>, Option<String>)>,
}

impl Sweeper {
    pub fn new(ctx: CheckContext, db: Pool, concurrency: usize, timeout: Duration) -> Self {
        Self {
            ctx,
            db,
            concurrency: concurrency.max(1),
            timeout,
            lease: DEFAULT_LEASE,
            running: AtomicBool::new(false),
            total: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            verified: AtomicUsize::new(0),
            times: Mutex::new((None, None)),
        }
    }

    /// The same sweeper, holding the tenants of its sweeps for `lease`.
    pub fn leasing_for(self, lease: Duration) -> Self {
        Self { lease, ..self }
    }

    /// The end of a lease taken now.
    pub fn lease_until(&self) -> Timestamp {
        Timestamp::new(self.clock().now() + self.lease)
    }

    pub fn progress(&self) -> SweepProgress {
        let (started_at, finished_at) = self.times.lock().map(|t| t.clone()).unwrap_or_default();
        let done = self.done.load(Ordering::Relaxed);
        let verified = self.verified.load(Ordering::Relaxed);
        SweepProgress {
            running: self.running.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            done,
            verified,
            problems: done.saturating_sub(verified),
            started_at,
            finished_at,
        }
    }

    /// Checks one tenant now, once, and stores the result (the first check after a consent, "check
    /// now"); independent of any sweep.
    pub async fn check_now(&self, target: Target) -> Result<CheckOutcome, sqlx::Error> {
        // The stored wait, read now: another check (a sweep, `validate`, another replica) may have been
        // told to wait since the target was made.
        let stored = db::monitoring::not_before(&self.db, target.tenant).await?.map(Timestamp::as_datetime);
        let target = Target { not_before: target.not_before.max(stored), ..target };
        let started_at = self.ctx.clock.now();
        let outcome = check_tenant(&self.ctx, &target).await;
        db::monitoring::record_results_with(
            &self.db,
            &[to_result(&self.ctx, target.tenant, outcome.clone(), started_at, target.consented_at)],
            &self.ctx.notify,
            self.ctx.webhooks.settings(),
        )
        .await?;
        self.ctx.webhooks.wake();
        tracing::info!(tenant = %target.tenant, status = %outcome.status, "tenant checked");
        Ok(outcome)
    }

    /// The clock the checks run on.
    pub fn clock(&self) -> &SharedClock {
        &self.ctx.clock
    }

    /// The webhooks the checks' events go to (the application shares them).
    pub fn webhooks(&self) -> &Arc<crate::webhooks::Webhooks> {
        &self.ctx.webhooks
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// Checks every tenant in the background, unless a sweep is running; false if one was. The sweep
    /// shows as running from this call on.
    pub fn start_all(self: &Arc<Self>) -> bool {
        if self.running.swap(true, Ordering::SeqCst) {
            return false;
        }
        self.reset(0);
        let sweeper = self.clone();
        tokio::spawn(async move {
            match db::monitoring::lease_all(&sweeper.db, sweeper.lease_until()).await {
                Ok(rows) => {
                    let targets = rows.iter().map(Target::from_row).collect();
                    if let Err(error) = sweeper.run(targets).await {
                        tracing::error!(%error, "sweep failed");
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "cannot list tenants to check");
                    sweeper.running.store(false, Ordering::SeqCst);
                }
            }
        });
        true
    }

    /// Checks `targets` and stores every result; returns the final progress. Refuses (returns the
    /// current progress) when another sweep is running.
    pub async fn sweep(&self, targets: Vec<Target>) -> Result<SweepProgress, sqlx::Error> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Ok(self.progress());
        }
        self.run(targets).await
    }

    fn reset(&self, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.verified.store(0, Ordering::Relaxed);
        if let Ok(mut times) = self.times.lock() {
            *times = (Some(Timestamp::new(self.ctx.clock.now()).to_string()), None);
        }
    }

    /// The sweep itself; `running` is already set, and is cleared at the end.
    async fn run(&self, targets: Vec<Target>) -> Result<SweepProgress, sqlx::Error> {
        self.reset(targets.len());
        tracing::info!(tenants = targets.len(), concurrency = self.concurrency, "sweep started");
        let (sender, receiver) = mpsc::channel::<CheckResult>(BATCH * 2);
        let writer = tokio::spawn(write_batches(self.db.clone(), self.ctx.notify.clone(), self.ctx.webhooks.clone(), receiver));
        let concurrency = self.concurrency;
        futures::stream::iter(targets)
            .for_each_concurrent(concurrency, |target| {
                let sender = sender.clone();
                async move {
                    let started_at = self.ctx.clock.now();
                    let outcome = self.check_with_retries(target).await;
                    if outcome.status == TenantStatus::Verified {
                        self.verified.fetch_add(1, Ordering::Relaxed);
                    }
                    let result = to_result(&self.ctx, target.tenant, outcome, started_at, target.consented_at);
                    let _ = sender.send(result).await;
                    self.done.fetch_add(1, Ordering::Relaxed);
                }
            })
            .await;
        drop(sender);
        let written = writer.await.unwrap_or_else(|e| Err(sqlx::Error::Protocol(format!("writer task: {e}"))));
        if let Ok(mut times) = self.times.lock() {
            times.1 = Some(Timestamp::new(self.ctx.clock.now()).to_string());
        }
        self.running.store(false, Ordering::SeqCst);
        let progress = self.progress();
        tracing::info!(done = progress.done, verified = progress.verified, "sweep finished");
        written.map(|()| progress)
    }

    /// One tenant, within its timeout: retried after a 429's `Retry-After` (never sooner) and with
    /// backoff after a 5xx or a connection error, while the timeout allows.
    async fn check_with_retries(&self, target: Target) -> CheckOutcome {
        let deadline = Instant::now() + self.timeout;
        let attempts = async {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let outcome = check_tenant(&self.ctx, &target).await;
                let wait = match outcome.status {
                    TenantStatus::Throttled => outcome.retry_after.unwrap_or(Duration::from_secs(5)),
                    TenantStatus::Unreachable => backoff(attempt),
                    _ => return outcome,
                };
                if attempt >= MAX_ATTEMPTS || Instant::now() + wait >= deadline {
                    return outcome;
                }
                tokio::time::sleep(wait).await;
            }
        };
        match tokio::time::timeout_at(deadline, attempts).await {
            Ok(outcome) => outcome,
            Err(_) => CheckOutcome::failed(
                &self.ctx.required,
                TenantStatus::Unreachable,
                format!("Microsoft did not answer within {} s.", self.timeout.as_secs()),
            ),
        }
    }
}

/// Exponential backoff with ±50 % jitter: about 0.5 s, 1 s, 2 s…
fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_BASE.as_millis() as f64 * 2f64.powi(attempt.saturating_sub(1) as i32);
    let jitter = 0.5 + rand::random::<f64>();
    Duration::from_millis((base * jitter) as u64)
}

/// Writes results as they come, in batches; the sweep's checks never wait on the database. Every batch
/// goes through one connection, kept for the sweep (see [`db::monitoring::record_results_on`]).
async fn write_batches(
    db: Pool,
    notify: Vec<String>,
    webhooks: Arc<crate::webhooks::Webhooks>,
    mut receiver: mpsc::Receiver<CheckResult>,
) -> Result<(), sqlx::Error> {
    let mut writer = Writer { db, notify, webhooks, connection: None, first_error: None };
    let mut batch: Vec<CheckResult> = Vec::with_capacity(BATCH);
    loop {
        let next = if batch.is_empty() {
            receiver.recv().await
        } else {
            match tokio::time::timeout(FLUSH_EVERY, receiver.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    writer.flush(&mut batch).await;
                    continue;
                }
            }
        };
        match next {
            Some(result) => {
                batch.push(result);
                if batch.len() >= BATCH {
                    writer.flush(&mut batch).await;
                }
            }
            None => {
                writer.flush(&mut batch).await;
                return writer.first_error.map_or(Ok(()), Err);
            }
        }
    }
}

/// The sweep's writer: its connection, taken from the pool at the first batch, and the first error.
struct Writer {
    db: Pool,
    notify: Vec<String>,
    webhooks: Arc<crate::webhooks::Webhooks>,
    connection: Option<PoolConnection<Sqlite>>,
    first_error: Option<sqlx::Error>,
}

impl Writer {
    async fn flush(&mut self, batch: &mut Vec<CheckResult>) {
        if batch.is_empty() {
            return;
        }
        match self.write(batch).await {
            Ok(degraded) => {
                self.webhooks.wake();
                for (tenant, status) in degraded {
                    tracing::warn!(%tenant, %status, "a verified tenant got worse");
                }
            }
            Err(error) => {
                tracing::error!(%error, results = batch.len(), "cannot store check results");
                self.first_error.get_or_insert(error);
            }
        }
        batch.clear();
    }

    async fn write(&mut self, batch: &[CheckResult]) -> Result<Vec<(TenantId, TenantStatus)>, sqlx::Error> {
        let sqlite = match &self.db {
            Pool::Sqlite(sqlite) => sqlite,
            // PostgreSQL keeps its buffers for every connection: nothing to gain from keeping one.
            Pool::Postgres(_) => {
                return db::monitoring::record_results_with(&self.db, batch, &self.notify, self.webhooks.settings()).await;
            }
        };
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => sqlite.acquire().await?,
        };
        let written = db::monitoring::record_results_on(&mut connection, batch, &self.notify, self.webhooks.settings()).await;
        // After a failure the connection goes back to the pool, which closes it if the failure left it
        // inside a transaction (`db::is_reusable`); the next batch takes another.
        if written.is_ok() {
            self.connection = Some(connection);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_jitters() {
        for attempt in 1..=4 {
            let nominal = BACKOFF_BASE.as_millis() as u64 * 2u64.pow(attempt - 1);
            let wait = backoff(attempt).as_millis() as u64;
            assert!(wait >= nominal / 2 && wait <= nominal * 3 / 2, "{attempt}: {wait}");
        }
    }
}
