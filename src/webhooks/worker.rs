//! The worker that posts queued events: spawned by `serve` and `demo`, woken when events are queued,
//! and otherwise asleep until the next retry is due (at most [`POLL_INTERVAL`]).
//!
//! Each delivery: claimed (`sending`, one more attempt) in one transaction, committed; posted with its
//! signature headers; then recorded `delivered` (2xx), queued again with backoff, or `failed` once the
//! next attempt would fall after the event's 24 hours. A delivery found `sending` at start-up (the
//! process stopped mid-post) is queued again: at least once, under the same `webhook-id`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::{Webhooks, sign};
use crate::config::{WebhookEndpoint, WebhookSettings};
use crate::db::webhooks::DeliveryRow;
use crate::db::{self, Pool};
use crate::domain::{SharedClock, Timestamp};

/// The longest the worker sleeps without being woken.
pub const POLL_INTERVAL: Duration = Duration::from_secs(30);

/// How long a shutdown waits for the post in flight: one attempt's timeout, and a little more.
pub fn stop_grace(settings: &WebhookSettings) -> Duration {
    settings.timeout + Duration::from_secs(2)
}

/// What the worker works with.
#[derive(Clone)]
pub struct Context {
    pub db: Pool,
    pub webhooks: Arc<Webhooks>,
    pub clock: SharedClock,
}

/// The running worker (see [`crate::background::Worker`]).
pub use crate::background::Worker;

/// Starts the worker: deliveries left `sending` are queued again, and those of endpoints no longer
/// configured are given up, first.
pub fn spawn(context: Context) -> Worker {
    Worker::spawn(
        "the webhook worker did not finish in time; the event being posted will be posted again at the next start",
        move |mut stopping| async move {
            if let Err(error) = prepare(&context).await {
                tracing::error!(%error, "cannot look for interrupted webhook deliveries");
            }
            if !context.webhooks.enabled() {
                return;
            }
            while !*stopping.borrow() {
                let pause = match run_pass(&context, Some(&stopping)).await {
                    Ok(()) => until_next_due(&context).await,
                    Err(error) => {
                        tracing::error!(%error, "the webhook worker failed; it tries again");
                        Duration::from_secs(5)
                    }
                };
                tokio::select! {
                    () = context.webhooks.woken() => {}
                    () = tokio::time::sleep(pause) => {}
                    _ = stopping.changed() => {}
                }
            }
        },
    )
}

async fn prepare(context: &Context) -> Result<(), sqlx::Error> {
    // A SQLite database has one portal: what it left `sending` was interrupted. Replicas on PostgreSQL
    // share the table: only claims older than a post can take are, looked for at every pass.
    if !context.db.is_postgres() {
        requeue_interrupted(context, None).await?;
    }
    let keys = keys(context.webhooks.settings());
    let dropped = db::webhooks::fail_unconfigured(&context.db, &keys).await?;
    if dropped > 0 {
        tracing::warn!(count = dropped, "queued webhook deliveries were given up: their endpoint is no longer configured");
    }
    Ok(())
}

/// How long a claimed delivery is the claiming replica's: far longer than a post may take (the
/// receiver's timeout), so a delivery still `sending` after it was left by a replica that stopped.
const CLAIM_LEASE: time::Duration = time::Duration::minutes(5);

/// Queues again the deliveries left `sending` (all of them, or those claimed before `claimed_before`),
/// to be posted with the same webhook-id.
async fn requeue_interrupted(context: &Context, claimed_before: Option<Timestamp>) -> Result<(), sqlx::Error> {
    let now = Timestamp::new(context.clock.now());
    let requeued = db::webhooks::requeue_interrupted(&context.db, now, claimed_before).await?;
    if requeued > 0 {
        tracing::warn!(
            count = requeued,
            "webhook deliveries were interrupted while posting; they are posted again with the same webhook-id"
        );
    }
    Ok(())
}

/// On PostgreSQL, the deliveries of a replica that stopped while posting them, once their claim is old.
async fn requeue_abandoned(context: &Context) -> Result<(), sqlx::Error> {
    if context.db.is_postgres() {
        requeue_interrupted(context, Some(Timestamp::new(context.clock.now() - CLAIM_LEASE))).await?;
    }
    Ok(())
}

fn keys(settings: &WebhookSettings) -> Vec<String> {
    if settings.enabled() { settings.endpoints.iter().map(|e| e.key.clone()).collect() } else { Vec::new() }
}

/// The time until the next queued delivery is due, within `[50 ms, POLL_INTERVAL]`.
async fn until_next_due(context: &Context) -> Duration {
    let next = match db::webhooks::next_due(&context.db, &keys(context.webhooks.settings())).await {
        Ok(Some(next)) => next,
        _ => return POLL_INTERVAL,
    };
    let wait = next.as_datetime() - context.clock.now();
    Duration::try_from(wait).unwrap_or_default().clamp(Duration::from_millis(50), POLL_INTERVAL)
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Posts every delivery due now, one at a time, then returns (tests drive the worker with this).
pub async fn run_once(context: &Context) -> Result<Pass, sqlx::Error> {
    requeue_abandoned(context).await?;
    let mut pass = Pass::default();
    while let Some(outcome) = deliver_next(context).await? {
        match outcome {
            Outcome::Delivered => pass.delivered += 1,
            Outcome::Retry => pass.retried += 1,
            Outcome::Failed => pass.failed += 1,
        }
    }
    Ok(pass)
}

/// Posts at most this many events at once, so that a receiver slow to answer (up to the timeout) holds
/// up neither the other receivers nor the other tenants. Order per tenant holds whatever the number: a
/// tenant's next event cannot be claimed while its earlier one is `sending`.
const LANES: usize = 4;

/// Posts every delivery due now, in [`LANES`] lanes, until none is left or `stopping` says so.
async fn run_pass(context: &Context, stopping: Option<&watch::Receiver<bool>>) -> Result<(), sqlx::Error> {
    requeue_abandoned(context).await?;
    let lane = async || -> Result<(), sqlx::Error> {
        while !stopping.is_some_and(|s| *s.borrow()) && deliver_next(context).await?.is_some() {}
        Ok(())
    };
    let lanes = futures::future::join_all((0..LANES).map(|_| lane())).await;
    lanes.into_iter().collect()
}

enum Outcome {
    Delivered,
    Retry,
    Failed,
}

/// What the receiver said.
struct Attempt {
    http_status: Option<i64>,
    error: Option<String>,
}

/// Claims, posts and records the next due delivery; `None` when nothing is due.
async fn deliver_next(context: &Context) -> Result<Option<Outcome>, sqlx::Error> {
    let settings = context.webhooks.settings();
    let keys = keys(settings);
    let now = Timestamp::new(context.clock.now());
    let mut tx = db::begin_write(&context.db).await?;
    let Some(row) = db::webhooks::claim_next(&mut tx, &keys, now).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    // The claim is committed before the receiver is contacted: a crash from here on leaves the row
    // `sending`, which the next start queues again.
    tx.commit().await?;
    let attempt = match (settings.endpoints.iter().find(|e| e.key == row.endpoint), &settings.secret) {
        (Some(endpoint), Some(secret)) => post(&context.webhooks.client, endpoint, secret.expose(), &row).await,
        _ => Attempt { http_status: None, error: Some("the endpoint is no longer in PORTAL_WEBHOOK_URLS".into()) },
    };
    let mut tries = 0;
    loop {
        match record(context, &row, &attempt).await {
            Ok(outcome) => return Ok(Some(outcome)),
            Err(error) if tries < 5 => {
                tries += 1;
                tracing::warn!(%error, delivery = row.id, "cannot record the receiver's answer yet; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// One POST with the Standard Webhooks headers. The timestamp is the wall clock's, which receivers
/// compare with their own (five minutes' tolerance in the reference libraries).
async fn post(client: &reqwest::Client, endpoint: &WebhookEndpoint, secret: &[u8], row: &DeliveryRow) -> Attempt {
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let signature = sign(secret, &row.message_id, timestamp, &row.body);
    let sent = client
        .post(endpoint.url().clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &row.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(row.body.clone())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => Attempt { http_status: Some(i64::from(response.status().as_u16())), error: None },
        Ok(response) => {
            let status = response.status();
            Attempt { http_status: Some(i64::from(status.as_u16())), error: Some(format!("the receiver answered HTTP {status}")) }
        }
        // Without the URL, which may hold a token.
        Err(error) if error.is_timeout() => Attempt { http_status: None, error: Some("no answer in time".into()) },
        Err(error) => Attempt { http_status: None, error: Some(error.without_url().to_string()) },
    }
}

/// Records an attempt, in one transaction.
async fn record(context: &Context, row: &DeliveryRow, attempt: &Attempt) -> Result<Outcome, sqlx::Error> {
    let now = context.clock.now();
    let mut tx = db::begin_write(&context.db).await?;
    let outcome = match &attempt.error {
        None => {
            db::webhooks::mark_delivered(&mut tx, row.id, attempt.http_status.unwrap_or(200), Timestamp::new(now)).await?;
            tracing::info!(delivery = row.id, webhook_id = %row.message_id, event = %row.event_type, endpoint = %row.endpoint_origin, "webhook delivered");
            Outcome::Delivered
        }
        Some(error) => {
            let next = Timestamp::new(now + backoff(row.attempts, context.webhooks.settings()));
            if next <= row.give_up_at {
                db::webhooks::mark_attempt_failed(&mut tx, row.id, attempt.http_status, error, Some(next)).await?;
                tracing::warn!(delivery = row.id, webhook_id = %row.message_id, endpoint = %row.endpoint_origin, attempts = row.attempts, error, next = %next, "webhook not delivered; it will be retried");
                Outcome::Retry
            } else {
                let error = format!("given up after {} attempts: {error}", row.attempts);
                db::webhooks::mark_attempt_failed(&mut tx, row.id, attempt.http_status, &error, None).await?;
                tracing::error!(delivery = row.id, webhook_id = %row.message_id, endpoint = %row.endpoint_origin, error, "webhook given up");
                Outcome::Failed
            }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// The wait before attempt `attempts + 1`: the base, four-fold per attempt, capped, with ±20 % jitter.
/// With the defaults: 5 s, 20 s, 80 s, 5 min, 21 min, 85 min, then every 2 hours until the 24 hours end.
pub fn backoff(attempts: i64, settings: &WebhookSettings) -> time::Duration {
    crate::background::retry_delay(attempts, settings.retry_base, 4.0, settings.retry_cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_four_fold_and_is_capped() {
        let settings = WebhookSettings::default();
        assert!((4..=6).contains(&backoff(1, &settings).whole_seconds()));
        assert!((16..=24).contains(&backoff(2, &settings).whole_seconds()));
        assert!((5760..=8640).contains(&backoff(30, &settings).whole_seconds()));
    }
}
