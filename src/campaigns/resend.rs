//! Asking a campaign's tenants again: one tenant, or every one not re-consented yet. Each gets a new
//! e-mail (with a new link, minted when it is sent); a tenant whose link expired first gets a new
//! invite, pinned to it like the first. A tenant whose e-mail is still waiting to go, or for which no
//! address is known, is left as it is.

use crate::db::Pool;
use serde_json::json;

use super::{Error, Refusal};
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::db::campaigns::CampaignTenantRow;
use crate::db::invites::NewInvite;
use crate::domain::email_address::parse_address;
use crate::domain::{AuditKind, CampaignTenantState, InviteToken, TenantId, Timestamp};

/// Queues the e-mails of campaign `id` again: of `tenant`, or of every tenant not re-consented yet.
/// Returns how many were queued (the caller wakes the e-mail worker).
pub async fn resend(
    pool: &Pool,
    now: Timestamp,
    emails_enabled: bool,
    id: &str,
    tenant: Option<TenantId>,
    actor: &str,
) -> Result<usize, Error> {
    if !emails_enabled {
        return Err(Refusal::EmailsOff.into());
    }
    let campaign = db::campaigns::find(pool, id).await?.ok_or(Refusal::NotFound)?;
    let mut tx = db::begin_write(pool).await?;
    let rows = db::campaigns::tenants(&mut tx, id, now, db::campaigns::Pick::All).await?;
    let targets: Vec<&CampaignTenantRow> = match tenant {
        Some(tenant) => {
            let row = rows.iter().find(|row| row.tenant_id == tenant).ok_or(Refusal::NotFound)?;
            vec![row]
        }
        None => rows.iter().collect(),
    };
    let mut queued = 0;
    for row in targets.into_iter().filter(|row| row.can_ask_again()) {
        let Some(address) = row.recipient.as_deref().and_then(|a| parse_address(a).ok()) else { continue };
        let invite_id = if row.state == CampaignTenantState::LinkExpired {
            let customer_id = db::invites::find(&mut tx, &row.invite_id).await?.ok_or(sqlx::Error::RowNotFound)?.invite.customer_id;
            let token = InviteToken::generate();
            let new = NewInvite {
                customer_id: &customer_id,
                token_hash: &token.hash(),
                pinned_tenant_id: Some(row.tenant_id),
                pinned_domain: None,
                language: row.language,
                expires_at: now + time::Duration::days(super::CAMPAIGN_LINK_DAYS),
            };
            let invite = db::invites::insert(&mut tx, new, now).await?;
            let event = NewAuditEvent {
                customer_id: Some(&customer_id),
                invite_id: Some(&invite.id),
                tenant_id: Some(row.tenant_id),
                detail: json!({ "expires_at": invite.expires_at, "reconsent": true, "campaign": id, "replaces": row.invite_id }),
                ..NewAuditEvent::new(AuditKind::InviteCreated, Some(actor))
            };
            db::audit::record(&mut tx, event, now).await?;
            invite.id
        } else {
            row.invite_id.clone()
        };
        let outbox_id = db::outbox::enqueue_onboarding(&mut tx, &invite_id, address.as_ref(), row.language.code(), actor, now).await?;
        db::campaigns::update_tenant(&mut tx, id, row.tenant_id, &invite_id, &outbox_id).await?;
        queued += 1;
    }
    let event = NewAuditEvent {
        tenant_id: tenant,
        detail: json!({ "campaign": campaign.id, "emails_queued": queued }),
        ..NewAuditEvent::new(AuditKind::CampaignResent, Some(actor))
    };
    db::audit::record(&mut tx, event, now).await?;
    tx.commit().await?;
    Ok(queued)
}
