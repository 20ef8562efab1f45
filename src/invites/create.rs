//! Creating invites: a customer (found by name or created), a fresh token (only its hash is stored), an
//! expiry, an optional pinned tenant, and the `invite.created` audit event — in one transaction.

use crate::db::Pool;
use serde_json::json;

use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::domain::email_address::parse_address;
use crate::domain::{AuditKind, Clock, CustomerName, InviteToken, TenantId, clock};
use crate::i18n::Language;

/// What staff ask for.
pub struct InviteRequest<'a> {
    pub customer: &'a CustomerName,
    pub email: Option<&'a str>,
    pub pinned_tenant: Option<TenantId>,
    /// The verified domain the tenant was pinned by, for display.
    pub pinned_domain: Option<&'a str>,
    pub language: Language,
    /// How long the link works, from now.
    pub valid_for: time::Duration,
    /// Who asks: a staff UPN, "cli", "demo".
    pub actor: &'a str,
    /// Queue the onboarding e-mail to this address, in the same transaction.
    pub send_to: Option<lettre::Address>,
}

/// A created invite and its token (to put in the link; it is not kept anywhere else).
pub struct CreatedInvite {
    pub invite: db::invites::Invite,
    pub token: InviteToken,
    /// The queued onboarding e-mail, when one was asked for.
    pub outbox_id: Option<String>,
}

impl CreatedInvite {
    pub fn url(&self, public_url: &str) -> String {
        format!("{}/onboard/{}", public_url.trim_end_matches('/'), self.token.expose())
    }
}

/// Checks a customer's name and contact address before anything is written; the name, parsed.
pub fn validate_customer(name: &str, email: Option<&str>) -> Result<CustomerName, String> {
    let name = CustomerName::parse(name).map_err(|e| e.to_string())?;
    if let Some(email) = email {
        parse_address(email)?;
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.chars().any(char::is_whitespace);
        if !valid {
            return Err(format!("{email:?} is not an e-mail address"));
        }
    }
    Ok(name)
}

pub async fn create(pool: &Pool, clock: &dyn Clock, request: InviteRequest<'_>) -> Result<CreatedInvite, sqlx::Error> {
    let now = clock::now(clock);
    let name = request.customer.as_str();
    let token = InviteToken::generate();
    let mut tx = db::begin_write(pool).await?;
    let customer = match db::customers::find_by_name(&mut tx, name).await? {
        Some(customer) => customer,
        None => db::customers::insert(&mut tx, name, request.email, now).await?,
    };
    let new = db::invites::NewInvite {
        customer_id: &customer.id,
        token_hash: &token.hash(),
        pinned_tenant_id: request.pinned_tenant,
        pinned_domain: request.pinned_domain,
        language: request.language,
        expires_at: now + request.valid_for,
    };
    let invite = db::invites::insert(&mut tx, new, now).await?;
    let event = NewAuditEvent {
        customer_id: Some(&customer.id),
        invite_id: Some(&invite.id),
        tenant_id: request.pinned_tenant,
        detail: json!({ "expires_at": invite.expires_at, "pinned_domain": request.pinned_domain }),
        ..NewAuditEvent::new(AuditKind::InviteCreated, Some(request.actor))
    };
    db::audit::record(&mut tx, event, now).await?;
    let outbox_id = match &request.send_to {
        Some(address) => {
            Some(db::outbox::enqueue_onboarding(&mut tx, &invite.id, address.as_ref(), request.language.code(), request.actor, now).await?)
        }
        None => None,
    };
    tx.commit().await?;
    Ok(CreatedInvite { invite, token, outbox_id })
}

/// A new invite for an existing customer (a re-consent link from the dashboard), pinned to `tenant`,
/// with its `invite.created` audit event, in one transaction.
pub async fn create_for_customer(
    pool: &Pool,
    clock: &dyn Clock,
    customer_id: &str,
    tenant: TenantId,
    language: Language,
    valid_for: time::Duration,
    actor: &str,
) -> Result<CreatedInvite, sqlx::Error> {
    let now = clock::now(clock);
    let token = InviteToken::generate();
    let mut tx = db::begin_write(pool).await?;
    let new = db::invites::NewInvite {
        customer_id,
        token_hash: &token.hash(),
        pinned_tenant_id: Some(tenant),
        pinned_domain: None,
        language,
        expires_at: now + valid_for,
    };
    let invite = db::invites::insert(&mut tx, new, now).await?;
    let event = NewAuditEvent {
        customer_id: Some(customer_id),
        invite_id: Some(&invite.id),
        tenant_id: Some(tenant),
        detail: json!({ "expires_at": invite.expires_at, "reconsent": true }),
        ..NewAuditEvent::new(AuditKind::InviteCreated, Some(actor))
    };
    db::audit::record(&mut tx, event, now).await?;
    tx.commit().await?;
    Ok(CreatedInvite { invite, token, outbox_id: None })
}
