//! Creating invites: a customer (found by name or created), a fresh token (only its hash is stored), an
//! expiry, an optional pinned tenant, and the `invite.created` audit event — in one transaction. Used
//! by the command line, the demo and the staff pages.

use serde_json::json;
use sqlx::SqlitePool;
use time::OffsetDateTime;

use crate::db;
use crate::domain::{CustomerName, InviteToken, TenantId};

/// What staff ask for.
pub struct InviteRequest<'a> {
    pub customer: &'a CustomerName,
    pub email: Option<&'a str>,
    pub pinned_tenant: Option<TenantId>,
    /// The verified domain the tenant was pinned by, for display.
    pub pinned_domain: Option<&'a str>,
    pub language: &'a str,
    pub expires_at: OffsetDateTime,
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
        crate::email::parse_address(email)?;
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.chars().any(char::is_whitespace);
        if !valid {
            return Err(format!("{email:?} is not an e-mail address"));
        }
    }
    Ok(name)
}

pub async fn create(pool: &SqlitePool, request: InviteRequest<'_>) -> Result<CreatedInvite, sqlx::Error> {
    let name = request.customer.as_str();
    let token = InviteToken::generate();
    let mut tx = db::begin_write(pool).await?;
    let customer = match db::customers::find_by_name(&mut *tx, name).await? {
        Some(customer) => customer,
        None => db::customers::insert(&mut *tx, name, request.email).await?,
    };
    let pinned = request.pinned_tenant.map(|t| t.to_string());
    let invite = db::invites::insert(
        &mut *tx,
        db::invites::NewInvite {
            customer_id: &customer.id,
            token_hash: &token.hash(),
            pinned_tenant_id: pinned.as_deref(),
            pinned_domain: request.pinned_domain,
            language: request.language,
            expires_at: request.expires_at,
        },
    )
    .await?;
    let event = db::audit::NewAuditEvent {
        kind: "invite.created",
        actor: Some(request.actor),
        customer_id: Some(&customer.id),
        invite_id: Some(&invite.id),
        tenant_id: pinned.as_deref(),
        detail: json!({ "expires_at": invite.expires_at, "pinned_domain": request.pinned_domain }),
    };
    db::audit::record(&mut *tx, event).await?;
    let outbox_id = match &request.send_to {
        Some(address) => Some(crate::email::enqueue_onboarding(&mut tx, &invite.id, address, request.language, request.actor).await?),
        None => None,
    };
    tx.commit().await?;
    Ok(CreatedInvite { invite, token, outbox_id })
}

/// A new invite for an existing customer (a re-consent link from the dashboard), pinned to `tenant`,
/// with its `invite.created` audit event, in one transaction.
pub async fn create_for_customer(
    pool: &SqlitePool,
    customer_id: &str,
    tenant: TenantId,
    language: &str,
    expires_at: OffsetDateTime,
    actor: &str,
) -> Result<CreatedInvite, sqlx::Error> {
    let token = InviteToken::generate();
    let pinned = tenant.to_string();
    let mut tx = db::begin_write(pool).await?;
    let invite = db::invites::insert(
        &mut *tx,
        db::invites::NewInvite {
            customer_id,
            token_hash: &token.hash(),
            pinned_tenant_id: Some(&pinned),
            pinned_domain: None,
            language,
            expires_at,
        },
    )
    .await?;
    let event = db::audit::NewAuditEvent {
        kind: "invite.created",
        actor: Some(actor),
        customer_id: Some(customer_id),
        invite_id: Some(&invite.id),
        tenant_id: Some(&pinned),
        detail: json!({ "expires_at": invite.expires_at, "reconsent": true }),
    };
    db::audit::record(&mut *tx, event).await?;
    tx.commit().await?;
    Ok(CreatedInvite { invite, token, outbox_id: None })
}
