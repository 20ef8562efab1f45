//! Starting a campaign: the tenants to ask, each with an invite pinned to it (only its own admin can
//! complete it), where and in which language to ask it, and — when asked to send — its e-mail queued in
//! the outbox; the campaign and its `campaign.created` event. All in one write transaction: a campaign
//! is there whole or not at all. The e-mails leave at the SMTP server's pace, through the outbox.

use crate::db::Pool;
use serde_json::json;
use uuid::Uuid;

use super::{Error, Refusal};
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::db::campaigns::{Candidate, NewCampaign, NewCampaignTenant};
use crate::db::invites::NewInvite;
use crate::domain::email_address::parse_address;
use crate::domain::{AuditKind, InviteToken, PermissionSet, RequiredApi, Selection, Timestamp};
use crate::i18n::Language;

/// How long a campaign's links work: long enough for a customer to get to it between other work.
pub const CAMPAIGN_LINK_DAYS: i64 = 30;

/// What staff ask for.
pub struct CampaignRequest<'a> {
    pub selection: Selection,
    /// Queue each tenant's e-mail now (else staff send them later from the campaign's page).
    pub send: bool,
    /// The language of a customer whose language the portal does not know.
    pub language_default: Language,
    /// Who asks: a staff UPN, "cli", "demo".
    pub actor: &'a str,
    /// The permissions the portal requires now: the campaign's set.
    pub required: &'a [RequiredApi],
    /// Can e-mails be sent at all?
    pub emails_enabled: bool,
}

/// A created campaign, as `campaign create --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CreatedCampaign {
    pub id: String,
    pub tenants: usize,
    pub emails_queued: usize,
}

pub async fn create(pool: &Pool, now: Timestamp, request: CampaignRequest<'_>) -> Result<CreatedCampaign, Error> {
    if request.send && !request.emails_enabled {
        return Err(Refusal::EmailsOff.into());
    }
    let expires_at = now + time::Duration::days(CAMPAIGN_LINK_DAYS);
    let mut tx = db::begin_write(pool).await?;
    let candidates = db::campaigns::candidates(&mut tx, request.selection == Selection::NeedsReconsent, now).await?;
    if candidates.is_empty() {
        return Err(Refusal::NoTenants.into());
    }
    let set = PermissionSet::of(request.required);
    let permission_set_id = db::permission_sets::insert_once(&mut tx, &set, now).await?;
    let id = Uuid::now_v7().to_string();
    let campaign = NewCampaign {
        id: &id,
        created_by: request.actor,
        permission_set_id,
        selection: request.selection.as_str(),
        language_default: request.language_default,
    };
    db::campaigns::insert(&mut tx, &campaign, now).await?;
    let mut emails_queued = 0;
    for candidate in &candidates {
        let language = candidate.language.unwrap_or(request.language_default);
        let recipient = address_of(candidate);
        let token = InviteToken::generate();
        let new_invite = NewInvite {
            customer_id: &candidate.customer_id,
            token_hash: &token.hash(),
            pinned_tenant_id: Some(candidate.tenant_id),
            pinned_domain: None,
            language,
            expires_at,
        };
        let invite = db::invites::insert(&mut tx, new_invite, now).await?;
        let event = NewAuditEvent {
            customer_id: Some(&candidate.customer_id),
            invite_id: Some(&invite.id),
            tenant_id: Some(candidate.tenant_id),
            detail: json!({ "expires_at": invite.expires_at, "reconsent": true, "campaign": id }),
            ..NewAuditEvent::new(AuditKind::InviteCreated, Some(request.actor))
        };
        db::audit::record(&mut tx, event, now).await?;
        let outbox_id = match (&recipient, request.send) {
            (Some(address), true) => {
                emails_queued += 1;
                Some(db::outbox::enqueue_onboarding(&mut tx, &invite.id, address.as_ref(), language.code(), request.actor, now).await?)
            }
            _ => None,
        };
        let row = NewCampaignTenant {
            campaign_id: &id,
            tenant_id: candidate.tenant_id,
            customer: &candidate.customer,
            invite_id: &invite.id,
            recipient: recipient.as_ref().map(AsRef::as_ref),
            language,
            outbox_id: outbox_id.as_deref(),
            link_expires_at: expires_at,
        };
        db::campaigns::insert_tenant(&mut tx, &row).await?;
    }
    let event = NewAuditEvent {
        detail: json!({
            "campaign": id,
            "selection": request.selection.as_str(),
            "tenants": candidates.len(),
            "emails_queued": emails_queued,
            "permissions": set.as_slice(),
        }),
        ..NewAuditEvent::new(AuditKind::CampaignCreated, Some(request.actor))
    };
    db::audit::record(&mut tx, event, now).await?;
    tx.commit().await?;
    Ok(CreatedCampaign { id, tenants: candidates.len(), emails_queued })
}

/// Where to ask a tenant: the admin who gave its latest consent, else the address the customer's
/// latest onboarding e-mail went to, else the customer's contact address — the first that is an
/// e-mail address (a UPN usually is one, but need not be).
fn address_of(candidate: &Candidate) -> Option<lettre::Address> {
    [&candidate.consented_by_upn, &candidate.invited_address, &candidate.contact_email]
        .into_iter()
        .flatten()
        .find_map(|address| parse_address(address).ok())
}
