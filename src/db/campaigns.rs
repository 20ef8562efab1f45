//! The `campaigns` and `campaign_tenants` tables: who was asked to approve a new set of permissions,
//! with which invite, where, and each tenant's state — derived in SQL from the tenant, its invite and
//! its latest e-mail, so the page always tells the truth without anything to keep in step.

use super::engine::{Exec, on_engine};
use sqlx::FromRow;

use crate::domain::{CampaignTenantState, PermissionSet, TenantId, TenantStatus, Timestamp};
use crate::i18n::Language;

#[derive(Debug, Clone, FromRow)]
pub struct CampaignRow {
    pub id: String,
    pub created_at: Timestamp,
    pub created_by: String,
    pub permission_set_id: i64,
    /// The permissions the campaign asks for (its set).
    pub permissions: PermissionSet,
    /// When that set was first required: a check since then that shows every role counts as done.
    pub set_first_seen_at: Timestamp,
    /// `all` or `needs_reconsent`.
    pub selection: String,
    pub language_default: Language,
    pub half_notified_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub last_digest_at: Option<Timestamp>,
}

const CAMPAIGN: &str = "SELECT c.id, c.created_at, c.created_by, c.permission_set_id, s.permissions, s.first_seen_at AS set_first_seen_at, \
     c.selection, c.language_default, c.half_notified_at, c.completed_at, c.last_digest_at \
     FROM campaigns c JOIN permission_sets s ON s.id = c.permission_set_id";

/// A tenant's state in its campaign, as SQL (the columns of [`TENANTS_FROM`]; `$1` is now). The order
/// matters: a tenant that shows every role is done, whatever became of its link or e-mail. "Every role"
/// is [`crate::domain::TenantStatus::is_granted`], checked since the campaign's set was first required.
const STATE: &str = "CASE \
     WHEN t.removed_at IS NOT NULL THEN 'removed' \
     WHEN t.status IN ('verified', 'unproven') AND t.last_checked_at >= s.first_seen_at THEN 'reconsented' \
     WHEN ct.link_expires_at <= $1 THEN 'link_expired' \
     WHEN ct.recipient IS NULL OR ct.email_status IN ('failed', 'interrupted') THEN 'email_failed' \
     ELSE 'waiting' END";

/// The rows of one campaign (`$2`), with what their state is derived from.
const TENANTS_FROM: &str = "FROM campaign_tenants ct \
     JOIN campaigns cp ON cp.id = ct.campaign_id \
     JOIN permission_sets s ON s.id = cp.permission_set_id \
     JOIN tenants t ON t.tenant_id = ct.tenant_id \
     WHERE ct.campaign_id = $2";

pub struct NewCampaign<'a> {
    pub id: &'a str,
    pub created_by: &'a str,
    pub permission_set_id: i64,
    pub selection: &'a str,
    pub language_default: Language,
}

pub async fn insert<'e>(db: impl Into<Exec<'e>>, new: &NewCampaign<'_>, now: Timestamp) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO campaigns (id, created_at, created_by, permission_set_id, selection, language_default) VALUES ($1, $2, $3, $4, $5, $6)";
    on_engine!(db, |executor| sqlx::query(sql)
        .bind(new.id)
        .bind(now)
        .bind(new.created_by)
        .bind(new.permission_set_id)
        .bind(new.selection)
        .bind(new.language_default)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

pub struct NewCampaignTenant<'a> {
    pub campaign_id: &'a str,
    pub tenant_id: TenantId,
    pub customer: &'a str,
    pub invite_id: &'a str,
    pub recipient: Option<&'a str>,
    pub language: Language,
    pub outbox_id: Option<&'a str>,
    pub link_expires_at: Timestamp,
}

pub async fn insert_tenant<'e>(db: impl Into<Exec<'e>>, new: &NewCampaignTenant<'_>) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO campaign_tenants (campaign_id, tenant_id, customer, invite_id, recipient, language, outbox_id, link_expires_at, email_status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT status FROM outbox WHERE id = $7))";
    on_engine!(db, |executor| sqlx::query(sql)
        .bind(new.campaign_id)
        .bind(new.tenant_id)
        .bind(new.customer)
        .bind(new.invite_id)
        .bind(new.recipient)
        .bind(new.language)
        .bind(new.outbox_id)
        .bind(new.link_expires_at)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The latest e-mail asked for a tenant of a campaign, and (after its link expired) its new invite.
pub async fn update_tenant<'e>(
    db: impl Into<Exec<'e>>,
    campaign_id: &str,
    tenant_id: TenantId,
    invite_id: &str,
    outbox_id: &str,
) -> Result<(), sqlx::Error> {
    on_engine!(db, |executor| sqlx::query(
        "UPDATE campaign_tenants SET invite_id = $1, outbox_id = $2, email_status = (SELECT status FROM outbox WHERE id = $2), \
         link_expires_at = (SELECT CASE WHEN revoked_at < expires_at THEN revoked_at ELSE expires_at END FROM invites WHERE id = $1) \
         WHERE campaign_id = $3 AND tenant_id = $4",
    )
    .bind(invite_id)
    .bind(outbox_id)
    .bind(campaign_id)
    .bind(tenant_id)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn find<'e>(db: impl Into<Exec<'e>>, id: &str) -> Result<Option<CampaignRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("{CAMPAIGN} WHERE c.id = $1")).bind(id).fetch_optional(executor).await)
}

/// Every campaign, newest first.
pub async fn list<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<CampaignRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("{CAMPAIGN} ORDER BY c.created_at DESC, c.id DESC")).fetch_all(executor).await)
}

/// Campaigns not completed yet, oldest first.
pub async fn running<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<CampaignRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("{CAMPAIGN} WHERE c.completed_at IS NULL ORDER BY c.created_at, c.id"))
        .fetch_all(executor)
        .await)
}

/// How many tenants of the campaign are in each state at `now`.
pub async fn counts<'e>(db: impl Into<Exec<'e>>, id: &str, now: Timestamp) -> Result<Vec<(CampaignTenantState, i64)>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("SELECT {STATE} AS state, COUNT(*) {TENANTS_FROM} GROUP BY state"))
        .bind(now)
        .bind(id)
        .fetch_all(executor)
        .await)
}

/// One tenant of a campaign, as its page and export show it.
#[derive(Debug, Clone, FromRow)]
pub struct CampaignTenantRow {
    pub tenant_id: TenantId,
    pub customer: String,
    pub status: TenantStatus,
    pub state: CampaignTenantState,
    pub invite_id: String,
    /// When the link stops working (or stopped: its expiry, or when it was revoked).
    pub invite_expires_at: Timestamp,
    pub recipient: Option<String>,
    pub language: Language,
    /// The state of the latest e-mail (of its copy, when staff resent it from the Outbox page); `None`:
    /// none asked yet.
    pub email_status: Option<String>,
    /// The latest e-mail asked for it, and when it was sent.
    pub outbox_id: Option<String>,
    pub email_sent_at: Option<String>,
    pub last_checked_at: Option<Timestamp>,
}

impl CampaignTenantRow {
    /// Is its latest e-mail still waiting to go (queued, or being sent)?
    pub fn email_waiting_to_go(&self) -> bool {
        matches!(self.email_status.as_deref(), Some("queued" | "sending"))
    }

    /// Can staff ask it again now: not re-consented, an address known, no e-mail of it waiting to go.
    pub fn can_ask_again(&self) -> bool {
        self.state.can_resend() && self.recipient.is_some() && !self.email_waiting_to_go()
    }
}

/// Which tenants of a campaign to read.
#[derive(Debug, Clone, Copy)]
pub enum Pick {
    /// Every tenant.
    All,
    /// A page of the tenants in a state (any state when `None`): `limit` from `offset`.
    Page { state: Option<CampaignTenantState>, limit: i64, offset: i64 },
}

/// Tenants of campaign `id` at `now`, by customer name. The state is computed for every tenant, but
/// only the page's rows leave SQLite: reading 10,000 rows out would take longer than the page may.
pub async fn tenants<'e>(db: impl Into<Exec<'e>>, id: &str, now: Timestamp, pick: Pick) -> Result<Vec<CampaignTenantRow>, sqlx::Error> {
    let (state, limit, offset) = match pick {
        Pick::All => (None, i64::MAX, 0),
        Pick::Page { state, limit, offset } => (state, limit, offset),
    };
    let sql = format!(
        "SELECT *, (SELECT sent_at FROM outbox WHERE id = outbox_id) AS email_sent_at FROM (SELECT ct.tenant_id, ct.customer, t.status, {STATE} AS state, ct.invite_id, ct.link_expires_at AS invite_expires_at, \
           ct.recipient, ct.language, ct.email_status, ct.outbox_id, t.last_checked_at {TENANTS_FROM} ORDER BY ct.customer, ct.tenant_id) AS campaign_rows \
         WHERE $3 IS NULL OR state = $3 LIMIT $4 OFFSET $5"
    );
    on_engine!(db, |executor| sqlx::query_as(&sql).bind(now).bind(id).bind(state).bind(limit).bind(offset).fetch_all(executor).await)
}

/// The campaign (and tenant) an invite was made for, if any.
pub async fn of_invite<'e>(db: impl Into<Exec<'e>>, invite_id: &str) -> Result<Option<(String, TenantId)>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as("SELECT campaign_id, tenant_id FROM campaign_tenants WHERE invite_id = $1")
        .bind(invite_id)
        .fetch_optional(executor)
        .await)
}

/// Records that staff were told the campaign passed half way.
pub async fn mark_half_notified<'e>(db: impl Into<Exec<'e>>, id: &str, now: Timestamp) -> Result<(), sqlx::Error> {
    on_engine!(db, |executor| sqlx::query("UPDATE campaigns SET half_notified_at = $1 WHERE id = $2 AND half_notified_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Marks the campaign completed; false when it already was (another pass got there first).
pub async fn mark_completed<'e>(db: impl Into<Exec<'e>>, id: &str, now: Timestamp) -> Result<bool, sqlx::Error> {
    let sql =
        "UPDATE campaigns SET completed_at = $1, half_notified_at = COALESCE(half_notified_at, $1) WHERE id = $2 AND completed_at IS NULL";
    let done = on_engine!(db, |executor| sqlx::query(sql).bind(now).bind(id).execute(executor).await.map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

pub async fn mark_digest<'e>(db: impl Into<Exec<'e>>, id: &str, now: Timestamp) -> Result<(), sqlx::Error> {
    on_engine!(db, |executor| sqlx::query("UPDATE campaigns SET last_digest_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// A tenant a new campaign could ask, with what says where and in which language to ask it.
#[derive(Debug, Clone, FromRow)]
pub struct Candidate {
    pub tenant_id: TenantId,
    pub customer_id: String,
    pub customer: String,
    /// Who gave the tenant's latest consent.
    pub consented_by_upn: Option<String>,
    /// The address the customer's latest onboarding e-mail went to.
    pub invited_address: Option<String>,
    pub contact_email: Option<String>,
    /// The language of the invite the tenant consented with, else of the customer's latest invite.
    pub language: Option<Language>,
}

/// How many tenants a campaign would ask now (see [`candidates`]).
pub async fn count_candidates<'e>(db: impl Into<Exec<'e>>, only_needs_reconsent: bool, now: Timestamp) -> Result<i64, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_scalar(&format!("SELECT COUNT(*) FROM tenants t WHERE {CANDIDATE}"))
        .bind(only_needs_reconsent)
        .bind(now)
        .fetch_one(executor)
        .await)
}

/// Which tenants a campaign asks (`$1`: only those that need re-consent; `$2`: now).
const CANDIDATE: &str = "t.removed_at IS NULL AND (NOT $1 OR t.status = 'needs_reconsent') \
     AND NOT EXISTS (SELECT 1 FROM campaign_tenants ct JOIN campaigns cp ON cp.id = ct.campaign_id JOIN invites i ON i.id = ct.invite_id \
                     WHERE ct.tenant_id = t.tenant_id AND cp.completed_at IS NULL AND i.revoked_at IS NULL \
                       AND i.completed_at IS NULL AND i.expires_at > $2)";

/// The tenants a campaign would ask: every tenant on the dashboard, or only those that need re-consent;
/// in both cases leaving out a tenant already asked by another campaign whose link still works.
pub async fn candidates<'e>(db: impl Into<Exec<'e>>, only_needs_reconsent: bool, now: Timestamp) -> Result<Vec<Candidate>, sqlx::Error> {
    let sql = format!(
        "SELECT t.tenant_id, t.customer_id, cu.name AS customer, t.consented_by_upn, \
           (SELECT o.recipient FROM invites iv JOIN outbox o ON o.invite_id = iv.id \
              WHERE iv.customer_id = t.customer_id AND o.kind IN ('onboarding', 'reminder') ORDER BY o.created_at DESC LIMIT 1) AS invited_address, \
           cu.contact_email, \
           COALESCE((SELECT language FROM invites WHERE id = t.invite_id), \
                    (SELECT language FROM invites WHERE customer_id = t.customer_id ORDER BY created_at DESC LIMIT 1)) AS language \
         FROM tenants t JOIN customers cu ON cu.id = t.customer_id WHERE {CANDIDATE} ORDER BY t.tenant_id"
    );
    on_engine!(db, |executor| sqlx::query_as(&sql).bind(only_needs_reconsent).bind(now).fetch_all(executor).await)
}
