//! The `webhook_deliveries` table: one row per event and endpoint, queued in the transaction of the
//! change it reports, and its delivery state. See `crate::webhooks` for how it is delivered.

use super::engine::{Exec, on_engine};
use sqlx::FromRow;

use crate::config::WebhookSettings;
use crate::domain::webhook_event::Event;
use crate::domain::{TenantId, Timestamp};

/// A delivery as the table keeps it, shown as it is on the Webhooks page.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub message_id: String,
    pub endpoint: String,
    pub endpoint_origin: String,
    pub event_type: String,
    pub tenant_id: Option<TenantId>,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub give_up_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    pub last_http_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub requested_by: Option<String>,
}

impl DeliveryRow {
    /// Can staff send it again? Once it was delivered or given up: one still queued goes by itself.
    pub fn resendable(&self) -> bool {
        matches!(self.status.as_str(), "delivered" | "failed")
    }
}

const COLUMNS: &str = "id, message_id, endpoint, endpoint_origin, event_type, tenant_id, body, status, attempts, next_attempt_at, \
                       give_up_at, last_attempt_at, last_http_status, last_error, created_at, delivered_at, requested_by";

/// One event for one endpoint, due at once.
pub struct NewDelivery<'a> {
    pub message_id: &'a str,
    pub endpoint: &'a str,
    pub endpoint_origin: &'a str,
    pub event_type: &'a str,
    pub tenant_id: Option<TenantId>,
    pub body: &'a str,
    pub give_up_at: Timestamp,
    pub requested_by: Option<&'a str>,
}

pub async fn insert<'e>(db: impl Into<Exec<'e>>, new: NewDelivery<'_>, now: Timestamp) -> Result<(), sqlx::Error> {
    on_engine!(db, |executor| sqlx::query(
        "INSERT INTO webhook_deliveries (message_id, endpoint, endpoint_origin, event_type, tenant_id, body, status, attempts, \
         next_attempt_at, give_up_at, created_at, requested_by) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $9, $10)",
    )
    .bind(new.message_id)
    .bind(new.endpoint)
    .bind(new.endpoint_origin)
    .bind(new.event_type)
    .bind(new.tenant_id)
    .bind(new.body)
    .bind(now)
    .bind(new.give_up_at)
    .bind(now)
    .bind(new.requested_by)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Queues `event` for every configured endpoint, inside the caller's transaction; nothing when
/// webhooks are off. Returns the event's `webhook-id`. Wake the worker ([`Webhooks::wake`]) after the
/// transaction commits.
pub async fn enqueue<'e>(
    db: impl Into<Exec<'e>>,
    settings: &WebhookSettings,
    event: &Event,
    requested_by: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    if !settings.enabled() {
        return Ok(None);
    }
    let mut db = db.into();
    let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let body = event.body();
    let give_up_at = event.at + time::Duration::try_from(settings.give_up_after).unwrap_or(time::Duration::DAY);
    for endpoint in &settings.endpoints {
        let new = NewDelivery {
            message_id: &message_id,
            endpoint: &endpoint.key,
            endpoint_origin: &endpoint.origin,
            event_type: event.event_type.as_str(),
            tenant_id: event.tenant_id,
            body: &body,
            give_up_at,
            requested_by,
        };
        insert(db.reborrow(), new, event.at).await?;
    }
    Ok(Some(message_id))
}

/// Claims the next due delivery (`queued` → `sending`, one more attempt) whose endpoint is still
/// configured (`endpoints`) and that no earlier event of the same tenant to the same endpoint is still
/// waiting for: a tenant's events arrive in order. Run inside a write transaction.
pub async fn claim_next<'e>(db: impl Into<Exec<'e>>, endpoints: &[String], now: Timestamp) -> Result<Option<DeliveryRow>, sqlx::Error> {
    if endpoints.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "UPDATE webhook_deliveries SET status = 'sending', attempts = attempts + 1, last_attempt_at = $1 WHERE id = \
         (SELECT d.id FROM webhook_deliveries d WHERE d.status = 'queued' AND d.next_attempt_at <= $1 AND d.endpoint IN ({}) \
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint = d.endpoint AND e.tenant_id = d.tenant_id \
                          AND e.id < d.id AND e.status IN ('queued', 'sending')) \
          ORDER BY d.next_attempt_at, d.id LIMIT 1) AND status = 'queued' \
         RETURNING {COLUMNS}",
        super::placeholder_list(2, endpoints.len())
    );
    on_engine!(db, |executor| {
        let mut query = sqlx::query_as(&sql).bind(now);
        for endpoint in endpoints {
            query = query.bind(endpoint);
        }
        query.fetch_optional(executor).await
    })
}

/// The receiver answered 2xx.
pub async fn mark_delivered<'e>(db: impl Into<Exec<'e>>, id: i64, http_status: i64, now: Timestamp) -> Result<(), sqlx::Error> {
    on_engine!(db, |executor| sqlx::query(
        "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $1, last_http_status = $2, last_error = NULL \
         WHERE id = $3 AND status = 'sending'"
    )
    .bind(now)
    .bind(http_status)
    .bind(id)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The attempt failed: queued again for `next_attempt_at`, or (`next_attempt_at` `None`) given up.
pub async fn mark_attempt_failed<'e>(
    db: impl Into<Exec<'e>>,
    id: i64,
    http_status: Option<i64>,
    error: &str,
    next_attempt_at: Option<Timestamp>,
) -> Result<(), sqlx::Error> {
    let sql = match next_attempt_at {
        Some(_) => {
            "UPDATE webhook_deliveries SET status = 'queued', next_attempt_at = $1, last_http_status = $2, last_error = $3 \
             WHERE id = $4 AND status = 'sending'"
        }
        None => {
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = COALESCE($1, next_attempt_at), last_http_status = $2, \
             last_error = $3 WHERE id = $4 AND status = 'sending'"
        }
    };
    on_engine!(db, |executor| sqlx::query(sql)
        .bind(next_attempt_at)
        .bind(http_status)
        .bind(error)
        .bind(id)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Gives up the queued deliveries of endpoints no longer configured. Returns how many.
pub async fn fail_unconfigured<'e>(db: impl Into<Exec<'e>>, endpoints: &[String]) -> Result<u64, sqlx::Error> {
    let not_in = if endpoints.is_empty() {
        String::new()
    } else {
        format!(" AND endpoint NOT IN ({})", super::placeholder_list(1, endpoints.len()))
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = 'the endpoint is no longer in PORTAL_WEBHOOK_URLS' \
         WHERE status IN ('queued', 'sending'){not_in}"
    );
    on_engine!(db, |executor| {
        let mut query = sqlx::query(&sql);
        for endpoint in endpoints {
            query = query.bind(endpoint);
        }
        query.execute(executor).await.map(|done| done.rows_affected())
    })
}

/// At start-up: deliveries a previous process left `sending` are queued again, due at once (at least
/// once: the receiver may have seen it, and recognises it by its unchanged webhook-id). Returns how many.
///
/// With `claimed_before`, only the deliveries claimed before it (replicas share the table: a delivery
/// another replica claimed since is still being posted); without, every one (at the start of the only
/// process of a SQLite database).
pub async fn requeue_interrupted<'e>(
    db: impl Into<Exec<'e>>,
    now: Timestamp,
    claimed_before: Option<Timestamp>,
) -> Result<u64, sqlx::Error> {
    let sql = "UPDATE webhook_deliveries SET status = 'queued', next_attempt_at = $1, \
               last_error = 'interrupted while sending: sent again with the same webhook-id' \
               WHERE status = 'sending' AND ($2 IS NULL OR last_attempt_at < $2)";
    on_engine!(db, |executor| sqlx::query(sql).bind(now).bind(claimed_before).execute(executor).await.map(|done| done.rows_affected()))
}

/// Staff send a delivered or failed event again: the same row, the same body and webhook-id, due at
/// once, retried for another `give_up_at`. False when it is queued or sending already.
pub async fn resend<'e>(db: impl Into<Exec<'e>>, id: i64, give_up_at: Timestamp, actor: &str, now: Timestamp) -> Result<bool, sqlx::Error> {
    let done = on_engine!(db, |executor| {
        sqlx::query(
        "UPDATE webhook_deliveries SET status = 'queued', next_attempt_at = $1, give_up_at = $2, requested_by = $3, delivered_at = NULL \
         WHERE id = $4 AND status IN ('delivered', 'failed')"
    )
    .bind(now)
    .bind(give_up_at)
    .bind(actor)
    .bind(id)
    .execute(executor)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

pub async fn find<'e>(db: impl Into<Exec<'e>>, id: i64) -> Result<Option<DeliveryRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await)
}

/// The newest deliveries first.
pub async fn list_recent<'e>(db: impl Into<Exec<'e>>, limit: i64) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_deliveries ORDER BY id DESC LIMIT $1"))
        .bind(limit)
        .fetch_all(executor)
        .await)
}

/// When the next delivery that could be claimed is due, if any: the worker sleeps until then. One that
/// waits behind an earlier event of its tenant does not count (the earlier one's time does).
pub async fn next_due<'e>(db: impl Into<Exec<'e>>, endpoints: &[String]) -> Result<Option<Timestamp>, sqlx::Error> {
    if endpoints.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d WHERE d.status = 'queued' AND d.endpoint IN ({}) \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint = d.endpoint AND e.tenant_id = d.tenant_id \
                         AND e.id < d.id AND e.status IN ('queued', 'sending'))",
        super::placeholder_list(1, endpoints.len())
    );
    let found: Option<Option<Timestamp>> = on_engine!(db, |executor| {
        let mut query = sqlx::query_scalar(&sql);
        for endpoint in endpoints {
            query = query.bind(endpoint);
        }
        query.fetch_optional(executor).await
    })?;
    Ok(found.flatten())
}

/// How many deliveries are in each state.
pub async fn count_by_status<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as("SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status").fetch_all(executor).await)
}
