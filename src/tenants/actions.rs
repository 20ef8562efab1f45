//! What staff do to a tenant: check it now, make a link for its customer to approve again, remove it.
//! Each names who did it in an audit event.

use crate::db::Pool;
use serde_json::json;

use super::{Error, Refusal};
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::db::tenants::TenantRow;
use crate::domain::{AuditKind, Clock, TenantId, clock};
use crate::i18n::Language;
use crate::invites::{self, CreatedInvite};
use crate::monitor::check::CheckOutcome;
use crate::monitor::sweep::{Sweeper, Target};
use crate::webhooks::{Event, EventType, TenantFacts, Webhooks};

/// How long a re-consent link stays valid, in days.
pub const RECONSENT_DAYS: i64 = 14;

async fn recorded(db: &Pool, tenant: TenantId) -> Result<TenantRow, Error> {
    Ok(db::tenants::find(db, tenant).await?.ok_or(Refusal::NotFound)?)
}

/// Checks `tenant` now (honouring a wait Microsoft asked for) and records the check; a `tenant.checked`
/// event names `actor`.
pub async fn check_now(db: &Pool, sweeper: &Sweeper, tenant: TenantId, actor: &str) -> Result<CheckOutcome, Error> {
    let row = recorded(db, tenant).await?;
    let outcome = sweeper.check_now(Target::new(tenant, Some(row.consented_at.as_datetime()))).await?;
    let event = NewAuditEvent {
        customer_id: Some(&row.customer_id),
        tenant_id: Some(tenant),
        detail: json!({ "status": outcome.status.as_str() }),
        ..NewAuditEvent::new(AuditKind::TenantChecked, Some(actor))
    };
    // The check is recorded; an audit event that cannot be written is logged, not a failed check.
    if let Err(error) = db::audit::record(db, event, clock::now(sweeper.clock().as_ref())).await {
        tracing::error!(%error, "cannot record an audit event");
    }
    Ok(outcome)
}

/// A new invite for the tenant's customer, pinned to the tenant, so that its admin can approve again
/// (after roles were added, or consent was removed); English, valid [`RECONSENT_DAYS`] days.
pub async fn reconsent(db: &Pool, clock: &dyn Clock, tenant: TenantId, actor: &str) -> Result<(TenantRow, CreatedInvite), Error> {
    let row = recorded(db, tenant).await?;
    let valid_for = time::Duration::days(RECONSENT_DAYS);
    let created = invites::create_for_customer(db, clock, &row.customer_id, tenant, Language::English, valid_for, actor).await?;
    Ok((row, created))
}

/// Removes `tenant` from the dashboard (offboarding: its row stays, marked removed), with a
/// `tenant.removed` audit event naming `actor` and webhook event, in one transaction. Removing it again
/// changes nothing.
pub async fn remove(db: &Pool, clock: &dyn Clock, webhooks: &Webhooks, tenant: TenantId, actor: &str) -> Result<TenantRow, Error> {
    let row = recorded(db, tenant).await?;
    let now = clock::now(clock);
    let mut tx = db::begin_write(db).await?;
    if db::tenants::mark_removed(&mut tx, tenant, now).await? {
        let event = NewAuditEvent {
            customer_id: Some(&row.customer_id),
            tenant_id: Some(tenant),
            detail: json!({}),
            ..NewAuditEvent::new(AuditKind::TenantRemoved, Some(actor))
        };
        db::audit::record(&mut tx, event, now).await?;
        if webhooks.enabled() {
            let missing = db::checks::latest(&mut tx, tenant).await?.map(|check| check.roles_missing.0).unwrap_or_default();
            let facts = TenantFacts { tenant_id: tenant, customer: &row.customer, status: row.status, roles_missing: &missing };
            let event = Event::tenant(EventType::TenantRemoved, &facts, json!({ "removed_by": actor }), now);
            crate::webhooks::enqueue(&mut tx, webhooks.settings(), &event, Some(actor)).await?;
        }
    }
    tx.commit().await?;
    webhooks.wake();
    Ok(row)
}
