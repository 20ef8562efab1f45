//! Reading campaigns (their progress, a page of their tenants, every tenant for the export) and telling
//! staff how they go: one notification when a campaign passes half way, one when it completes, and a
//! weekly digest until it completes. The e-mail worker runs [`advance`] on each
//! of its passes.

use crate::db::Pool;
use serde_json::json;

use super::{Error, Refusal};
use crate::config::WebhookSettings;
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::db::campaigns::{CampaignRow, CampaignTenantRow, Pick};
use crate::domain::{AuditKind, CampaignTenantState, Progress, Timestamp};
use crate::webhooks::Event;

/// Tenants shown per page of a campaign.
pub const TENANTS_PAGE_SIZE: i64 = 50;

/// How often staff get a digest of a running campaign.
pub const DIGEST_EVERY: time::Duration = time::Duration::days(7);

/// One campaign as its page shows it.
pub struct CampaignView {
    pub campaign: CampaignRow,
    pub progress: Progress,
    /// The page of tenants asked for.
    pub tenants: Vec<CampaignTenantRow>,
    /// How many tenants match the state asked for (all states: every tenant).
    pub matching: i64,
}

pub async fn progress(pool: &Pool, id: &str, now: Timestamp) -> Result<Progress, sqlx::Error> {
    Ok(Progress::from_counts(&db::campaigns::counts(pool, id, now).await?))
}

/// Campaign `id`: its progress at `now`, and page `page` (from 1) of its tenants in `state`.
pub async fn show(pool: &Pool, id: &str, now: Timestamp, state: Option<CampaignTenantState>, page: i64) -> Result<CampaignView, Error> {
    let campaign = db::campaigns::find(pool, id).await?.ok_or(Refusal::NotFound)?;
    let progress = progress(pool, id, now).await?;
    let matching = state.map_or(progress.total() + progress.removed, |state| progress.count(state));
    let pages = ((matching + TENANTS_PAGE_SIZE - 1) / TENANTS_PAGE_SIZE).max(1);
    let pick = Pick::Page { state, limit: TENANTS_PAGE_SIZE, offset: (page.clamp(1, pages) - 1) * TENANTS_PAGE_SIZE };
    let tenants = db::campaigns::tenants(pool, id, now, pick).await?;
    Ok(CampaignView { campaign, progress, tenants, matching })
}

/// Every tenant of campaign `id`, for the export.
pub async fn all_tenants(pool: &Pool, id: &str, now: Timestamp) -> Result<(CampaignRow, Vec<CampaignTenantRow>), Error> {
    let campaign = db::campaigns::find(pool, id).await?.ok_or(Refusal::NotFound)?;
    let tenants = db::campaigns::tenants(pool, id, now, Pick::All).await?;
    Ok((campaign, tenants))
}

/// Every campaign, newest first, with its progress at `now`.
pub async fn list(pool: &Pool, now: Timestamp) -> Result<Vec<(CampaignRow, Progress)>, Error> {
    let mut listed = Vec::new();
    for campaign in db::campaigns::list(pool).await? {
        let progress = progress(pool, &campaign.id, now).await?;
        listed.push((campaign, progress));
    }
    Ok(listed)
}

/// What [`advance`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Advanced {
    pub half_way: usize,
    pub completed: usize,
    pub digests: usize,
}

/// Moves each running campaign on at `now`: records its completion (a `campaign.completed` event) and
/// queues the staff notifications that are due — half way, completed, the weekly digest — one per
/// address of `notify` (none when `notify` is empty). Each milestone is marked in the transaction that
/// queues it, so it is told once.
///
/// A completion also queues a `campaign.completed` webhook event for `webhooks`, in its transaction.
pub async fn advance(pool: &Pool, notify: &[String], webhooks: &WebhookSettings, now: Timestamp) -> Result<Advanced, sqlx::Error> {
    let mut advanced = Advanced::default();
    for campaign in db::campaigns::running(pool).await? {
        let progress = progress(pool, &campaign.id, now).await?;
        let milestone = if progress.complete() {
            Some("completed")
        } else if progress.half_done() && campaign.half_notified_at.is_none() {
            Some("half_way")
        } else {
            None
        };
        let last_digest = campaign.last_digest_at.unwrap_or(campaign.created_at);
        let digest_due = milestone.is_none() && now.as_datetime() - last_digest.as_datetime() >= DIGEST_EVERY;
        if milestone.is_none() && !digest_due {
            continue;
        }
        let detail = json!({ "campaign": campaign.id, "milestone": milestone, "progress": progress, "created_at": campaign.created_at });
        let mut tx = db::begin_write(pool).await?;
        let kind = match milestone {
            Some("completed") => {
                if !db::campaigns::mark_completed(&mut tx, &campaign.id, now).await? {
                    continue;
                }
                let event = NewAuditEvent {
                    detail: json!({ "campaign": campaign.id, "progress": progress }),
                    ..NewAuditEvent::new(AuditKind::CampaignCompleted, Some("system"))
                };
                db::audit::record(&mut tx, event, now).await?;
                let progress = serde_json::to_value(progress).unwrap_or_default();
                let event = Event::campaign_completed(&campaign.id, &campaign.created_by, campaign.created_at, progress, now);
                crate::webhooks::enqueue(&mut tx, webhooks, &event, None).await?;
                advanced.completed += 1;
                "campaign_progress"
            }
            Some(_) => {
                db::campaigns::mark_half_notified(&mut tx, &campaign.id, now).await?;
                advanced.half_way += 1;
                "campaign_progress"
            }
            None => {
                db::campaigns::mark_digest(&mut tx, &campaign.id, now).await?;
                advanced.digests += 1;
                "campaign_digest"
            }
        };
        db::outbox::insert_staff_notices(&mut tx, kind, None, detail, notify, now).await?;
        tx.commit().await?;
    }
    Ok(advanced)
}
