//! The `outbox` table (one row per e-mail to send: what to say and to whom, its delivery state) and
//! `invite_links` (the hash of the onboarding link each sent e-mail carries).

use super::engine::{Engine, Exec, on_engine};
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{TenantId, Timestamp};

/// An e-mail as the outbox keeps it. Its fields are the outbox's own text (kind, status, times), shown
/// as they are on the Outbox page.
#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub language: String,
    pub invite_id: Option<String>,
    pub tenant_id: Option<TenantId>,
    pub detail: String,
    pub follows: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_reply: Option<String>,
    pub requested_by: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// The copy staff queued of this failed or interrupted e-mail.
    pub resent_as: Option<String>,
}

impl OutboxRow {
    /// Can staff send it again? A failed or interrupted e-mail, once.
    pub fn resendable(&self) -> bool {
        matches!(self.status.as_str(), "failed" | "interrupted") && self.resent_as.is_none()
    }
}

const COLUMNS: &str = "id, kind, recipient, language, invite_id, tenant_id, detail, follows, status, attempts, next_attempt_at, \
                       last_reply, requested_by, created_at, sent_at, resent_as";

pub struct NewMessage<'a> {
    pub kind: &'a str,
    pub recipient: &'a str,
    pub language: &'a str,
    pub invite_id: Option<&'a str>,
    pub tenant_id: Option<TenantId>,
    pub detail: serde_json::Value,
    pub follows: Option<&'a str>,
    pub requested_by: &'a str,
}

/// Queues a message, due at once. Returns its id (a reminder that follows an e-mail already followed
/// is not inserted: the id is then `None`).
pub async fn insert_once<'e>(conn: impl Into<Exec<'e>>, new: NewMessage<'_>, now: Timestamp) -> Result<Option<String>, sqlx::Error> {
    let id = Uuid::now_v7().to_string();
    let done = on_engine!(conn, |executor| sqlx::query(
        "INSERT INTO outbox (id, kind, recipient, language, invite_id, tenant_id, detail, follows, status, attempts, \
         next_attempt_at, requested_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $10, $11) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(new.kind)
    .bind(new.recipient)
    .bind(new.language)
    .bind(new.invite_id)
    .bind(new.tenant_id)
    .bind(new.detail.to_string())
    .bind(new.follows)
    .bind(now)
    .bind(new.requested_by)
    .bind(now)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok((done == 1).then_some(id))
}

/// Queues a message, due at once. Returns its id.
pub async fn insert<'e>(conn: impl Into<Exec<'e>>, new: NewMessage<'_>, now: Timestamp) -> Result<String, sqlx::Error> {
    insert_once(conn, new, now).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Queues the onboarding e-mail of an invite (or a resend of it, or a campaign's re-consent e-mail:
/// the worker composes each by its invite), inside the caller's transaction. Returns the outbox id.
pub async fn enqueue_onboarding<'e>(
    conn: impl Into<Exec<'e>>,
    invite_id: &str,
    recipient: &str,
    language: &str,
    requested_by: &str,
    now: Timestamp,
) -> Result<String, sqlx::Error> {
    let row = NewMessage {
        // `email::Kind::Onboarding`, as stored.
        kind: "onboarding",
        recipient,
        language,
        invite_id: Some(invite_id),
        tenant_id: None,
        detail: serde_json::json!({}),
        follows: None,
        requested_by,
    };
    insert(conn, row, now).await
}

/// Records that `id` (failed or interrupted) was sent again as `copy`. False when it was already
/// resent, or is not failed or interrupted: a second click queues nothing.
pub async fn mark_resent<'e>(conn: impl Into<Exec<'e>>, id: &str, copy: &str) -> Result<bool, sqlx::Error> {
    let done = on_engine!(conn, |executor| sqlx::query(
        "UPDATE outbox SET resent_as = $1 WHERE id = $2 AND resent_as IS NULL AND status IN ('failed', 'interrupted')"
    )
    .bind(copy)
    .bind(id)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// One staff notification about a tenant per recipient.
pub async fn insert_staff_notifications<'e>(
    conn: impl Into<Exec<'e>>,
    kind: &str,
    tenant_id: TenantId,
    detail: serde_json::Value,
    recipients: &[String],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    insert_staff_notices(conn, kind, Some(tenant_id), detail, recipients, now).await
}

/// One staff notification per recipient, about a tenant or not (a campaign's says which in `detail`).
pub async fn insert_staff_notices<'e>(
    conn: impl Into<Exec<'e>>,
    kind: &str,
    tenant_id: Option<TenantId>,
    detail: serde_json::Value,
    recipients: &[String],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let mut conn = conn.into();
    for recipient in recipients {
        let new = NewMessage {
            kind,
            recipient,
            language: "en",
            invite_id: None,
            tenant_id,
            detail: detail.clone(),
            follows: None,
            requested_by: "system",
        };
        insert(conn.reborrow(), new, now).await?;
    }
    Ok(())
}

/// Claims the next due message: `queued` → `sending`, one more attempt, and its `next_attempt_at` set to
/// `lease_until`: a row still `sending` after that belonged to a replica that stopped mid-send (see
/// [`mark_interrupted`]). Run inside a write transaction, so two workers never claim the same row; on
/// PostgreSQL the row is also locked, and a row another replica holds is skipped, not waited for.
pub async fn claim_next<'e>(conn: impl Into<Exec<'e>>, now: Timestamp, lease_until: Timestamp) -> Result<Option<OutboxRow>, sqlx::Error> {
    let conn = conn.into();
    let skip_locked = match conn.engine() {
        Engine::Sqlite => "",
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2 WHERE id = \
         (SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT 1{skip_locked}) \
         RETURNING {COLUMNS}"
    );
    on_engine!(conn, |executor| sqlx::query_as(&sql).bind(now).bind(lease_until).fetch_optional(executor).await)
}

/// The server accepted the message.
pub async fn mark_sent<'e>(conn: impl Into<Exec<'e>>, id: &str, reply: &str, now: Timestamp) -> Result<(), sqlx::Error> {
    on_engine!(conn, |executor| sqlx::query(
        "UPDATE outbox SET status = 'sent', sent_at = $1, last_reply = $2 WHERE id = $3 AND status = 'sending'"
    )
    .bind(now)
    .bind(reply)
    .bind(id)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// A temporary failure: queued again for `next_attempt_at`. The attempt's link is kept: an error after the message went out (a lost `250`) can mean it arrived,
/// and its link must then work.
pub async fn mark_retry<'e>(conn: impl Into<Exec<'e>>, id: &str, reply: &str, next_attempt_at: Timestamp) -> Result<(), sqlx::Error> {
    on_engine!(conn, |executor| sqlx::query(
        "UPDATE outbox SET status = 'queued', next_attempt_at = $1, last_reply = $2 WHERE id = $3 AND status = 'sending'"
    )
    .bind(next_attempt_at)
    .bind(reply)
    .bind(id)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// A final state without delivery (`failed` or `cancelled`); the link minted for the attempt is dropped.
pub async fn mark_final<'e>(conn: impl Into<Exec<'e>>, id: &str, status: &str, reply: &str) -> Result<(), sqlx::Error> {
    let mut conn = conn.into();
    delete_links(conn.reborrow(), id).await?;
    on_engine!(conn.reborrow(), |executor| sqlx::query(
        "UPDATE outbox SET status = $1, last_reply = $2 WHERE id = $3 AND status IN ('sending', 'queued')"
    )
    .bind(status)
    .bind(reply)
    .bind(id)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Rows left `sending` by a process that stopped between talking to the server and recording the
/// answer. They may or may not have been delivered, so they are not sent again automatically. With
/// `lease_expired_before`, only the rows whose claim expired before it (another replica may still be
/// sending the others); without, every one (at the start of the only process of a SQLite database).
/// Returns how many.
pub async fn mark_interrupted<'e>(db: impl Into<Exec<'e>>, lease_expired_before: Option<Timestamp>) -> Result<u64, sqlx::Error> {
    let sql = "UPDATE outbox SET status = 'interrupted', \
         last_reply = 'interrupted while sending: it may or may not have been delivered' || COALESCE(' (last reply: ' || last_reply || ')', '') \
         WHERE status = 'sending' AND ($1 IS NULL OR next_attempt_at < $1)";
    let done =
        on_engine!(db, |executor| sqlx::query(sql).bind(lease_expired_before).execute(executor).await.map(|done| done.rows_affected()))?;
    Ok(done)
}

pub async fn insert_link<'e>(
    conn: impl Into<Exec<'e>>,
    token_hash: &str,
    invite_id: &str,
    outbox_id: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    on_engine!(conn, |executor| sqlx::query(
        "INSERT INTO invite_links (token_hash, invite_id, outbox_id, created_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(token_hash)
    .bind(invite_id)
    .bind(outbox_id)
    .bind(now)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

async fn delete_links<'e>(conn: impl Into<Exec<'e>>, outbox_id: &str) -> Result<(), sqlx::Error> {
    on_engine!(conn, |executor| sqlx::query("DELETE FROM invite_links WHERE outbox_id = $1")
        .bind(outbox_id)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn find<'e>(db: impl Into<Exec<'e>>, id: &str) -> Result<Option<OutboxRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await)
}

/// The newest messages first.
pub async fn list_recent<'e>(db: impl Into<Exec<'e>>, limit: i64) -> Result<Vec<OutboxRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1"))
        .bind(limit)
        .fetch_all(executor)
        .await)
}

/// The messages of one invite, oldest first.
pub async fn for_invite<'e>(db: impl Into<Exec<'e>>, invite_id: &str) -> Result<Vec<OutboxRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE invite_id = $1 ORDER BY created_at, id"))
        .bind(invite_id)
        .fetch_all(executor)
        .await)
}

/// An invite's latest sent onboarding or reminder e-mail that is due for a reminder.
#[derive(Debug, Clone, FromRow)]
pub struct ReminderCandidate {
    /// The sent e-mail the reminder follows.
    pub id: String,
    pub invite_id: String,
    pub recipient: String,
    pub language: String,
    pub reminders: i64,
}

/// Invites that are open at `now` (not completed, revoked or expired), whose latest onboarding or
/// reminder e-mail was sent at or before `sent_before`, with nothing of theirs waiting to be sent, and
/// fewer than `max` reminders so far.
pub async fn reminder_candidates<'e>(
    db: impl Into<Exec<'e>>,
    now: Timestamp,
    sent_before: Timestamp,
    max: i64,
) -> Result<Vec<ReminderCandidate>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(
        "SELECT o.id, o.invite_id, o.recipient, o.language, \
           (SELECT COUNT(*) FROM outbox r WHERE r.invite_id = o.invite_id AND r.kind = 'reminder') AS reminders \
         FROM outbox o JOIN invites i ON i.id = o.invite_id \
         WHERE o.kind IN ('onboarding', 'reminder') AND o.status = 'sent' \
           AND i.revoked_at IS NULL AND i.completed_at IS NULL AND i.expires_at > $1 \
           AND o.sent_at <= $2 \
           AND o.id = (SELECT s.id FROM outbox s WHERE s.invite_id = o.invite_id AND s.kind IN ('onboarding', 'reminder') \
                       AND s.status = 'sent' ORDER BY s.sent_at DESC, s.id DESC LIMIT 1) \
           AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.invite_id = o.invite_id AND p.kind IN ('onboarding', 'reminder') \
                           AND p.status IN ('queued', 'sending')) \
           AND (SELECT COUNT(*) FROM outbox r WHERE r.invite_id = o.invite_id AND r.kind = 'reminder') < $3",
    )
    .bind(now)
    .bind(sent_before)
    .bind(max)
    .fetch_all(executor)
    .await)
}

/// How many e-mails are in each state: the `portal_emails` metric.
pub async fn count_by_status<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetch_all(executor).await)
}

/// When the oldest e-mail still waiting to be sent (queued or sending) was queued.
pub async fn oldest_pending<'e>(db: impl Into<Exec<'e>>) -> Result<Option<Timestamp>, sqlx::Error> {
    let found: Option<Option<Timestamp>> =
        on_engine!(db, |executor| sqlx::query_scalar("SELECT MIN(created_at) FROM outbox WHERE status IN ('queued', 'sending')")
            .fetch_optional(executor)
            .await)?;
    Ok(found.flatten())
}
