//! The `invites` table.

use super::engine::{Exec, on_engine};
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{InviteDates, InviteStatus, TenantId, Timestamp};
use crate::i18n::Language;

#[derive(Debug, Clone, FromRow)]
pub struct Invite {
    pub id: String,
    pub customer_id: String,
    pub pinned_tenant_id: Option<TenantId>,
    pub pinned_domain: Option<String>,
    pub language: Language,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// The tenant the invite onboarded: once completed, an invite is bound to it.
    pub completed_tenant_id: Option<TenantId>,
}

impl Invite {
    pub fn dates(&self) -> InviteDates {
        InviteDates { expires_at: self.expires_at, revoked_at: self.revoked_at, completed_at: self.completed_at }
    }

    pub fn status(&self, now: Timestamp) -> InviteStatus {
        self.dates().status(now)
    }

    /// Does its link still open at `now` (neither revoked nor expired)?
    pub fn link_works(&self, now: Timestamp) -> bool {
        self.dates().link_works(now)
    }

    /// The pinned domain, or else the pinned tenant id, for display.
    pub fn pinned(&self) -> Option<String> {
        self.pinned_domain.clone().or_else(|| self.pinned_tenant_id.map(|t| t.to_string()))
    }
}

/// An invite with its customer's name, as pages show it.
#[derive(Debug, Clone, FromRow)]
pub struct InviteWithCustomer {
    #[sqlx(flatten)]
    pub invite: Invite,
    pub customer_name: String,
    pub contact_email: Option<String>,
}

pub struct NewInvite<'a> {
    pub customer_id: &'a str,
    pub token_hash: &'a str,
    pub pinned_tenant_id: Option<TenantId>,
    pub pinned_domain: Option<&'a str>,
    pub language: Language,
    pub expires_at: Timestamp,
}

const COLUMNS: &str = "i.id, i.customer_id, i.pinned_tenant_id, i.pinned_domain, i.language, i.created_at, i.expires_at, i.revoked_at, i.completed_at, \
     i.completed_tenant_id";

pub async fn insert<'e>(db: impl Into<Exec<'e>>, new: NewInvite<'_>, now: Timestamp) -> Result<Invite, sqlx::Error> {
    let invite = Invite {
        id: Uuid::now_v7().to_string(),
        customer_id: new.customer_id.to_owned(),
        pinned_tenant_id: new.pinned_tenant_id,
        pinned_domain: new.pinned_domain.map(str::to_owned),
        language: new.language,
        created_at: now,
        expires_at: new.expires_at,
        revoked_at: None,
        completed_at: None,
        completed_tenant_id: None,
    };
    on_engine!(db, |executor| sqlx::query(
        "INSERT INTO invites (id, customer_id, token_hash, pinned_tenant_id, pinned_domain, language, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&invite.id)
    .bind(&invite.customer_id)
    .bind(new.token_hash)
    .bind(invite.pinned_tenant_id)
    .bind(&invite.pinned_domain)
    .bind(invite.language)
    .bind(invite.created_at)
    .bind(invite.expires_at)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(invite)
}

/// The invite of a link: its own token (the link shown to staff) or the token of one of the e-mails
/// sent for it (`invite_links`); every one of them dies with the invite.
pub async fn find_by_token_hash<'e>(db: impl Into<Exec<'e>>, token_hash: &str) -> Result<Option<InviteWithCustomer>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!(
        "SELECT {COLUMNS}, c.name AS customer_name, c.contact_email FROM invites i JOIN customers c ON c.id = i.customer_id \
         WHERE i.token_hash = $1 OR i.id = (SELECT invite_id FROM invite_links WHERE token_hash = $2)"
    ))
    .bind(token_hash)
    .bind(token_hash)
    .fetch_optional(executor)
    .await)
}

pub async fn find<'e>(db: impl Into<Exec<'e>>, id: &str) -> Result<Option<InviteWithCustomer>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!(
        "SELECT {COLUMNS}, c.name AS customer_name, c.contact_email FROM invites i JOIN customers c ON c.id = i.customer_id WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(executor)
    .await)
}

/// Revokes an invite; false when there is no such invite or it was revoked already.
pub async fn revoke<'e>(db: impl Into<Exec<'e>>, id: &str, now: Timestamp) -> Result<bool, sqlx::Error> {
    let done = on_engine!(db, |executor| sqlx::query("UPDATE invites SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Whom an invite onboards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The invite is completed for this tenant (now, or it was already).
    ThisTenant,
    /// The invite already onboarded another tenant: nothing changed.
    OtherTenant { tenant_id: TenantId },
}

/// Marks the invite completed for `tenant`, binding it to that tenant, unless it already onboarded
/// another one. Run it in the write transaction that records the consent, so that two tenants racing
/// on one link cannot both be recorded.
pub async fn complete_for_tenant<'e>(db: impl Into<Exec<'e>>, id: &str, tenant: TenantId, now: Timestamp) -> Result<Binding, sqlx::Error> {
    let mut db = db.into();
    let done = on_engine!(db.reborrow(), |executor| sqlx::query(
        "UPDATE invites SET completed_at = COALESCE(completed_at, $1), completed_tenant_id = $2 \
         WHERE id = $3 AND (completed_tenant_id IS NULL OR completed_tenant_id = $4)",
    )
    .bind(now)
    .bind(tenant)
    .bind(id)
    .bind(tenant)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    if done == 1 {
        return Ok(Binding::ThisTenant);
    }
    let bound: Option<Option<TenantId>> =
        on_engine!(db.reborrow(), |executor| sqlx::query_scalar("SELECT completed_tenant_id FROM invites WHERE id = $1")
            .bind(id)
            .fetch_optional(executor)
            .await)?;
    match bound.flatten() {
        Some(tenant_id) => Ok(Binding::OtherTenant { tenant_id }),
        None => Err(sqlx::Error::RowNotFound),
    }
}

/// The newest invites first, a page at a time, with their customers.
pub async fn list_recent<'e>(db: impl Into<Exec<'e>>, limit: i64, offset: i64) -> Result<Vec<InviteWithCustomer>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!(
        "SELECT {COLUMNS}, c.name AS customer_name, c.contact_email FROM invites i JOIN customers c ON c.id = i.customer_id \
         ORDER BY i.created_at DESC, i.id DESC LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(executor)
    .await)
}

pub async fn count<'e>(db: impl Into<Exec<'e>>) -> Result<i64, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_scalar("SELECT COUNT(*) FROM invites").fetch_one(executor).await)
}
