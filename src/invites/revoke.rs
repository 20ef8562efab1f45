//! Revoking an invite: its links stop working at once (410), and an `invite.revoked` audit event names
//! who did it.

use crate::db::Pool;
use serde_json::json;

use super::{Error, Refusal};
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::domain::{AuditKind, Clock, clock};

/// What revoking did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now.
    Now,
    /// It was revoked already: nothing changed.
    Already,
}

/// Revokes invite `id` for `actor` (a staff UPN, "cli"), in one transaction with its audit event.
pub async fn revoke(db: &Pool, clock: &dyn Clock, id: &str, actor: &str) -> Result<Revoked, Error> {
    let now = clock::now(clock);
    let mut tx = db::begin_write(db).await?;
    let Some(invite) = db::invites::find(&mut tx, id).await? else {
        return Err(Refusal::NotFound.into());
    };
    if !db::invites::revoke(&mut tx, id, now).await? {
        return Ok(Revoked::Already);
    }
    let event = NewAuditEvent {
        customer_id: Some(&invite.invite.customer_id),
        invite_id: Some(&invite.invite.id),
        tenant_id: invite.invite.pinned_tenant_id,
        detail: json!({}),
        ..NewAuditEvent::new(AuditKind::InviteRevoked, Some(actor))
    };
    db::audit::record(&mut tx, event, now).await?;
    tx.commit().await?;
    Ok(Revoked::Now)
}
