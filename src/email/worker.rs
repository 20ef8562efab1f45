//! The worker that empties the outbox: spawned by `serve` and `demo`, woken when rows are added and every
//! [`super::POLL_INTERVAL`] otherwise. It also queues the reminders that are due.
//!
//! Each message: claimed (`sending`, and for a customer e-mail a fresh onboarding link whose hash goes
//! into `invite_links`) in one transaction; composed and handed to the transport; then recorded `sent`
//! (with the server's reply, and an `invite.sent` audit event), queued again with backoff (4xx, no
//! connection), or `failed` (5xx). Every timestamp comes from the `now` given, so tests drive the
//! clock.

use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::watch;

use std::sync::Arc;

use crate::db::Pool;

use super::compose::{self, CampaignEvent, CampaignFacts, ComposeError, Composed, CredentialFacts, InviteFacts, StaffEvent, StaffFacts};
use super::transport::Outcome;
use super::{EmailSettings, Kind, Mailer};
use crate::config::Config;
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::db::outbox::{NewMessage, OutboxRow};
use crate::domain::{AuditKind, InviteStatus, InviteToken, SharedClock, Timestamp};
use crate::i18n::Language;

/// The running worker (see [`crate::background::Worker`]).
pub use crate::background::Worker;

/// What the worker works with: the database, the configuration (e-mail settings, and what e-mails say
/// of the partner and the portal) and the mailer (its transport, and the bell that wakes the worker).
#[derive(Clone)]
pub struct Context {
    pub db: Pool,
    pub config: Arc<Config>,
    pub mailer: Arc<Mailer>,
    /// The time of each pass.
    pub clock: SharedClock,
}

/// Starts the worker. Rows a previous process left `sending` become `interrupted` first.
pub fn spawn(context: impl Into<Context>) -> Worker {
    let context: Context = context.into();
    Worker::spawn(
        "the e-mail worker did not finish in time; an e-mail being sent will show as interrupted",
        move |mut stopping| async move {
            // A SQLite database has one portal: what it left `sending` was interrupted. Replicas on
            // PostgreSQL share the outbox: only claims whose lease ran out are, checked at every pass.
            if !context.db.is_postgres() {
                report_interrupted(db::outbox::mark_interrupted(&context.db, None).await);
            }
            while !*stopping.borrow() {
                if let Err(error) = run_pass(&context, context.clock.now(), Some(&stopping)).await {
                    tracing::error!(%error, "the e-mail worker failed; it tries again");
                }
                tokio::select! {
                    () = context.mailer.woken() => {}
                    () = tokio::time::sleep(super::POLL_INTERVAL) => {}
                    _ = stopping.changed() => {}
                }
            }
        },
    )
}

fn report_interrupted(marked: Result<u64, sqlx::Error>) {
    match marked {
        Ok(0) => {}
        Ok(count) => tracing::warn!(count, "e-mails were interrupted while sending; staff can resend them from /outbox"),
        Err(error) => tracing::error!(%error, "cannot check the outbox for interrupted e-mails"),
    }
}

/// How long a replica holds an e-mail it claimed: far longer than a delivery takes (the SMTP client's
/// timeouts are a minute), so a row still `sending` after it was left by a replica that stopped.
const SENDING_LEASE: time::Duration = time::Duration::minutes(10);

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub reminders_queued: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub cancelled: usize,
}

/// One pass at `now`: queue the reminders that are due, then send every message due.
pub async fn run_once(context: impl Into<Context>, now: OffsetDateTime) -> Result<Pass, sqlx::Error> {
    run_pass(&context.into(), now, None).await
}

/// A pass that ends early, between two messages, once `stopping` says so.
async fn run_pass(context: &Context, now: OffsetDateTime, stopping: Option<&watch::Receiver<bool>>) -> Result<Pass, sqlx::Error> {
    if context.db.is_postgres() {
        report_interrupted(db::outbox::mark_interrupted(&context.db, Some(Timestamp::new(now))).await);
    }
    let mut pass = Pass { reminders_queued: queue_reminders(&context.db, &context.config.email, now).await?, ..Pass::default() };
    // Campaigns complete (and staff are told) whether or not e-mails can be sent.
    let notify: Vec<String> =
        if context.config.email.enabled() { context.config.email.notify.iter().map(ToString::to_string).collect() } else { Vec::new() };
    // A campaign that cannot be moved on now is tried again at the next pass; it holds no e-mail back.
    if let Err(error) = crate::campaigns::progress::advance(&context.db, &notify, &context.config.webhooks, Timestamp::new(now)).await {
        tracing::error!(%error, "cannot move the re-consent campaigns on; trying again at the next pass");
    }
    if !context.config.email.enabled() {
        return Ok(pass);
    }
    while !stopping.is_some_and(|s| *s.borrow())
        && let Some(result) = deliver_next(context, now).await?
    {
        match result {
            Delivery::Sent => pass.sent += 1,
            Delivery::Retried => pass.retried += 1,
            Delivery::Failed => pass.failed += 1,
            Delivery::Cancelled => pass.cancelled += 1,
        }
    }
    Ok(pass)
}

/// Queues one reminder for each invite that is due one at `now`: open (not completed, revoked or
/// expired), its latest onboarding or reminder e-mail sent at least `reminder_after_days` ago, nothing
/// of it waiting, fewer than `reminder_max` reminders so far. A reminder follows one sent e-mail (a
/// unique index), so the same due moment never gives two. Returns how many were queued.
pub async fn queue_reminders(pool: &crate::db::Pool, settings: &EmailSettings, now: OffsetDateTime) -> Result<usize, sqlx::Error> {
    if settings.reminder_max == 0 || !settings.enabled() {
        return Ok(0);
    }
    let now = Timestamp::new(now);
    let sent_before = now - time::Duration::days(i64::from(settings.reminder_after_days));
    let mut tx = db::begin_write(pool).await?;
    let candidates = db::outbox::reminder_candidates(&mut tx, now, sent_before, i64::from(settings.reminder_max)).await?;
    let mut queued = 0;
    let mut seen = std::collections::HashSet::new();
    for candidate in candidates {
        if !seen.insert(candidate.invite_id.clone()) {
            continue;
        }
        let new = NewMessage {
            kind: Kind::Reminder.as_str(),
            recipient: &candidate.recipient,
            language: &candidate.language,
            invite_id: Some(&candidate.invite_id),
            tenant_id: None,
            detail: json!({ "reminder": candidate.reminders + 1 }),
            follows: Some(&candidate.id),
            requested_by: "system",
        };
        if db::outbox::insert_once(&mut tx, new, now).await?.is_some() {
            queued += 1;
        }
    }
    tx.commit().await?;
    Ok(queued)
}

enum Delivery {
    Sent,
    Retried,
    Failed,
    Cancelled,
}

/// What a claimed row turned into before anything was sent.
enum Prepared {
    Ready { composed: Composed, customer_id: Option<String> },
    Cancel(String),
    Fail(String),
}

/// Claims, composes, sends and records the next due message; `None` when nothing is due.
async fn deliver_next(context: &Context, now: OffsetDateTime) -> Result<Option<Delivery>, sqlx::Error> {
    let mut tx = db::begin_write(&context.db).await?;
    let Some(row) = db::outbox::claim_next(&mut tx, Timestamp::new(now), Timestamp::new(now + SENDING_LEASE)).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    let prepared = prepare(context, &mut tx, &row, now).await?;
    let (composed, customer_id) = match prepared {
        Prepared::Ready { composed, customer_id } => (composed, customer_id),
        Prepared::Cancel(reason) => {
            db::outbox::mark_final(&mut tx, &row.id, "cancelled", &reason).await?;
            tx.commit().await?;
            return Ok(Some(Delivery::Cancelled));
        }
        Prepared::Fail(reason) => {
            tracing::warn!(outbox_id = %row.id, kind = %row.kind, reason, "an e-mail cannot be composed");
            db::outbox::mark_final(&mut tx, &row.id, "failed", &reason).await?;
            tx.commit().await?;
            return Ok(Some(Delivery::Failed));
        }
    };
    let host = context.config.public_url.host_str().unwrap_or("consent-portal").to_owned();
    let message = match &context.config.email.from {
        Some(from) => compose::message(from, &row.recipient, &composed, &row.id, &host).map_err(|e| e.to_string()),
        None => Err("PORTAL_MAIL_FROM is not set".to_owned()),
    };
    let message = match message {
        Ok(message) => message,
        Err(reason) => {
            db::outbox::mark_final(&mut tx, &row.id, "failed", &reason).await?;
            tx.commit().await?;
            return Ok(Some(Delivery::Failed));
        }
    };
    // The claim (and the link's hash) is committed before the server is contacted: a crash from here on
    // leaves the row `sending`, which the next start turns into `interrupted`.
    tx.commit().await?;

    let outcome = context.mailer.transport.send(message, &composed, &row.id, &row.recipient).await;
    // The answer must be recorded: a row left `sending` would wait for the next start. The database
    // may be busy for a moment, so try a few times.
    let mut tries = 0;
    loop {
        match record(context, &row, customer_id.as_deref(), &outcome, now).await {
            Ok(delivery) => return Ok(Some(delivery)),
            Err(error) if tries < RECORD_TRIES => {
                tries += 1;
                tracing::warn!(%error, outbox_id = %row.id, "cannot record the server's answer yet; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Times the server's answer is recorded again after a database error.
const RECORD_TRIES: u32 = 5;

/// Records what the server answered for `row`, in one transaction.
async fn record(
    context: &Context,
    row: &OutboxRow,
    customer_id: Option<&str>,
    outcome: &Outcome,
    now: OffsetDateTime,
) -> Result<Delivery, sqlx::Error> {
    let now = Timestamp::new(now);
    let mut tx = db::begin_write(&context.db).await?;
    let delivery = match outcome {
        Outcome::Accepted(reply) => {
            db::outbox::mark_sent(&mut tx, &row.id, reply, now).await?;
            if Kind::parse(&row.kind).is_some_and(Kind::is_for_customer) {
                let event = NewAuditEvent {
                    customer_id,
                    invite_id: row.invite_id.as_deref(),
                    detail: json!({ "outbox_id": row.id, "email": row.kind, "to": row.recipient }),
                    ..NewAuditEvent::new(AuditKind::InviteSent, row.requested_by.as_deref())
                };
                db::audit::record(&mut tx, event, now).await?;
            }
            tracing::info!(outbox_id = %row.id, kind = %row.kind, "e-mail sent");
            Delivery::Sent
        }
        Outcome::Retry(reply) => {
            let delay = backoff(row.attempts, &context.config.email);
            let next = now + delay;
            db::outbox::mark_retry(&mut tx, &row.id, reply, next).await?;
            tracing::warn!(outbox_id = %row.id, kind = %row.kind, attempts = row.attempts, reply, next = %next, "e-mail not sent; it will be retried");
            Delivery::Retried
        }
        Outcome::Rejected(reply) => {
            db::outbox::mark_final(&mut tx, &row.id, "failed", reply).await?;
            tracing::warn!(outbox_id = %row.id, kind = %row.kind, reply, "e-mail refused by the server");
            Delivery::Failed
        }
    };
    tx.commit().await?;
    Ok(delivery)
}

/// Composes a claimed row; for a customer e-mail, mints its link (stored as a hash, in the claiming
/// transaction).
async fn prepare(context: &Context, tx: &mut db::WriteTransaction, row: &OutboxRow, now: OffsetDateTime) -> Result<Prepared, sqlx::Error> {
    let config = &context.config;
    let Some(kind) = Kind::parse(&row.kind) else {
        return Ok(Prepared::Fail(format!("unknown kind {:?}", row.kind)));
    };
    let detail: serde_json::Value = serde_json::from_str(&row.detail).unwrap_or_default();
    let composed: Result<Composed, ComposeError> = match kind {
        Kind::Onboarding | Kind::Reminder => {
            let Some(invite) = db::invites::find(&mut *tx, row.invite_id.as_deref().unwrap_or_default()).await? else {
                return Ok(Prepared::Cancel("the invite no longer exists".into()));
            };
            let not_sent = match invite.invite.status(Timestamp::new(now)) {
                InviteStatus::Pending => None,
                InviteStatus::Revoked => Some("not sent: the invite was revoked"),
                InviteStatus::Completed => Some("not sent: the customer completed the onboarding"),
                InviteStatus::Expired => Some("not sent: the invite expired"),
            };
            if let Some(reason) = not_sent {
                return Ok(Prepared::Cancel(reason.into()));
            }
            // An invite pinned to a recorded tenant that lacks required permissions (a campaign's, or a
            // re-consent link's) asks it to consent again: the e-mail says what is new and what stays.
            let latest_check = match invite.invite.pinned_tenant_id {
                Some(tenant) => db::checks::latest(&mut *tx, tenant).await?,
                None => None,
            };
            let granted_before =
                latest_check.as_ref().and_then(|check| crate::domain::api::granted_before(&config.required, &check.roles_present.names()));
            // A campaign's tenant that got every permission meanwhile (another way) is not asked again.
            let has_everything = latest_check.as_ref().is_some_and(|check| check.status.is_granted()) && granted_before.is_none();
            if has_everything && db::campaigns::of_invite(&mut *tx, &invite.invite.id).await?.is_some() {
                return Ok(Prepared::Cancel("not sent: the tenant already has every required permission".into()));
            }
            let token = InviteToken::generate();
            db::outbox::insert_link(&mut *tx, &token.hash(), &invite.invite.id, &row.id, Timestamp::new(now)).await?;
            let link = config.public_url_for(&format!("/onboard/{}", token.expose()));
            let facts = InviteFacts {
                reminder: kind == Kind::Reminder,
                language: Language::parse(&row.language).unwrap_or_default(),
                partner: &config.partner_name,
                customer: &invite.customer_name,
                link: &link,
                expires_at: invite.invite.expires_at.as_datetime(),
                contact: config.partner_contact.as_deref(),
                required: &config.required,
                granted_before: granted_before.as_deref(),
            };
            let composed = compose::invite_email(&facts);
            return Ok(match composed {
                Ok(composed) => Prepared::Ready { composed, customer_id: Some(invite.invite.customer_id) },
                Err(error) => Prepared::Fail(error.to_string()),
            });
        }
        Kind::TenantConnected | Kind::TenantDegraded => {
            let Some(tenant) = row.tenant_id else {
                return Ok(Prepared::Fail("the notification names no tenant".into()));
            };
            let customer = db::tenants::find(&mut *tx, tenant).await?.map(|t| t.customer).unwrap_or_else(|| "(unknown customer)".into());
            let link = config.public_url_for(&format!("/tenants/{tenant}"));
            let tenant_id = tenant.to_string();
            let text = |name: &str| detail.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let (by, from, to, reason) = (text("consented_by"), text("from"), text("to"), text("reason"));
            let what = if kind == Kind::TenantConnected {
                StaffEvent::Connected {
                    consented_by: Some(by.as_str()).filter(|b| !b.is_empty()),
                    reconsent: detail.get("reconsent").and_then(|v| v.as_bool()).unwrap_or(false),
                }
            } else {
                StaffEvent::Degraded { from: &from, to: &to, reason: &reason }
            };
            compose::staff_email(&StaffFacts { customer: &customer, tenant_id: &tenant_id, link: &link, what })
        }
        Kind::CampaignProgress | Kind::CampaignDigest => {
            let campaign_id = detail.get("campaign").and_then(|v| v.as_str()).unwrap_or_default();
            let Some(campaign) = db::campaigns::find(&mut *tx, campaign_id).await? else {
                return Ok(Prepared::Fail("the campaign no longer exists".into()));
            };
            let progress = serde_json::from_value(detail.get("progress").cloned().unwrap_or_default()).unwrap_or_default();
            let what = match (kind, detail.get("milestone").and_then(|v| v.as_str())) {
                (Kind::CampaignDigest, _) => CampaignEvent::WeeklyDigest,
                (_, Some("completed")) => CampaignEvent::Completed,
                _ => CampaignEvent::HalfWay,
            };
            let link = config.public_url_for(&format!("/campaigns/{}", campaign.id));
            compose::campaign_email(&CampaignFacts {
                what,
                created_at: campaign.created_at.as_datetime(),
                created_by: &campaign.created_by,
                progress,
                link: &link,
            })
        }
        Kind::CredentialExpiring => {
            let text = |name: &str| detail.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let number = |name: &str| detail.get(name).and_then(|v| v.as_i64()).unwrap_or_default();
            let expires_at = text("expires_at");
            let Some(expires_at) = Timestamp::parse(&expires_at).ok() else {
                return Ok(Prepared::Fail("the notification names no expiry".into()));
            };
            compose::credential_email(&CredentialFacts {
                label: &text("label"),
                kind: &text("kind"),
                expires_at: expires_at.as_datetime(),
                days_left: number("days_left"),
                link: &config.public_url_for("/"),
            })
        }
    };
    Ok(match composed {
        Ok(composed) => Prepared::Ready { composed, customer_id: None },
        Err(error) => Prepared::Fail(error.to_string()),
    })
}

/// The wait before attempt `attempts + 1`: the base doubled per attempt, capped, with ±20 % jitter.
pub fn backoff(attempts: i64, settings: &EmailSettings) -> time::Duration {
    crate::background::retry_delay(attempts, settings.retry_base, 2.0, settings.retry_cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let settings = EmailSettings::default();
        let first = backoff(1, &settings).whole_seconds();
        assert!((48..=72).contains(&first), "{first}");
        let third = backoff(3, &settings).whole_seconds();
        assert!((192..=288).contains(&third), "{third}");
        let late = backoff(40, &settings).whole_seconds();
        assert!((2880..=4320).contains(&late), "{late}");
    }
}
