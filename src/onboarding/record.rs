//! Recording a consent, once: the state is used, the tenant recorded (or its consent renewed) and the
//! invite completed for it, with the audit event and the staff's "tenant connected" e-mails — in one
//! write transaction. And the result page's facts, read back from what was recorded.

use serde_json::json;

use super::{Error, Onboarding, Refusal, refused};
use crate::db::audit::NewAuditEvent;
use crate::db::checks::CheckRow;
use crate::db::consent_states::ConsentState;
use crate::db::invites::InviteWithCustomer;
use crate::db::tenants::{Recorded, TenantRow};
use crate::domain::{AuditKind, RoleList, TenantId, TenantStatus};
use crate::i18n::Language;
use crate::webhooks::{self, Event, EventType, TenantFacts};
use crate::{db, email};

/// What the result page shows of a recorded tenant: its row and its latest check (if any).
pub struct TenantResult {
    pub tenant: TenantRow,
    pub check: Option<CheckRow>,
}

impl Onboarding {
    /// Records the consent of `tenant` (by `upn`/`object_id`) for `invite` under `state`. `None`: another
    /// copy of the callback used the state first, and nothing changed. A refusal (`OtherCustomer`,
    /// `InviteUsedByOtherTenant`) changes nothing either.
    pub(super) async fn record(
        &self,
        state: &ConsentState,
        invite: &InviteWithCustomer,
        tenant: TenantId,
        upn: Option<&str>,
        object_id: Option<&str>,
    ) -> Result<Option<Recorded>, sqlx::Error> {
        let requested = RoleList::from(self.config.required_permissions());
        let now = self.timestamp();
        let mut tx = db::begin_write(&self.db).await?;
        if !db::consent_states::mark_used(&mut tx, &state.state_hash, tenant, now).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let consent = db::tenants::Consent {
            tenant_id: tenant,
            customer_id: &invite.invite.customer_id,
            invite_id: &invite.invite.id,
            upn,
            oid: object_id,
            flow: state.flow,
            roles_requested: &requested,
        };
        let recorded = db::tenants::record_consent(&mut tx, consent, now).await?;
        if matches!(recorded, Recorded::OtherCustomer { .. } | Recorded::InviteUsedByOtherTenant { .. }) {
            tx.rollback().await?;
            return Ok(Some(recorded));
        }
        let kind = if recorded == Recorded::New { AuditKind::TenantConsented } else { AuditKind::TenantReconsented };
        let event = NewAuditEvent {
            customer_id: Some(&invite.invite.customer_id),
            invite_id: Some(&invite.invite.id),
            tenant_id: Some(tenant),
            detail: json!({ "flow": db::types::flow_text(state.flow), "roles_requested": requested }),
            ..NewAuditEvent::new(kind, upn.or(object_id))
        };
        db::audit::record(&mut tx, event, now).await?;
        let notify = &self.config.email.notify;
        email::notify_tenant_connected(&mut tx, notify, tenant, &invite.customer_name, upn.or(object_id), kind, now).await?;
        if self.webhooks.enabled() {
            let status = db::tenants::find(&mut tx, tenant).await?.map_or(TenantStatus::NeverChecked, |row| row.status);
            let missing = db::checks::latest(&mut tx, tenant).await?.map(|check| check.roles_missing.0).unwrap_or_default();
            let facts = TenantFacts { tenant_id: tenant, customer: &invite.customer_name, status, roles_missing: &missing };
            let extra = json!({ "reconsent": kind == AuditKind::TenantReconsented, "consented_by": upn.or(object_id) });
            let event = Event::tenant(EventType::TenantConnected, &facts, extra, now);
            webhooks::enqueue(&mut tx, self.webhooks.settings(), &event, None).await?;
        }
        tx.commit().await?;
        self.mailer.wake();
        self.webhooks.wake();
        Ok(Some(recorded))
    }

    /// The result page's facts of `tenant`, from what the database holds (so a replayed callback shows
    /// the same page).
    pub async fn result(&self, tenant: TenantId, language: Option<Language>) -> Result<TenantResult, Error> {
        let row = db::tenants::find(&self.db, tenant).await?.ok_or_else(|| refused(Refusal::TenantNotFound, language))?;
        let check = db::checks::latest(&self.db, tenant).await?;
        Ok(TenantResult { tenant: row, check })
    }
}
