//! The end of the sign-in (v2): the answer is checked before anything is redeemed, then the code is
//! redeemed and the ID token verified; the tenant it proves must be the invite's pinned tenant (if
//! any), the one the invite is bound to (if completed), and not another customer's. Then a consent
//! `state` is issued for that tenant.

use serde_json::json;

use super::{Error, Onboarding, Refusal, SignedInAdmin, refused};
use crate::config::ConsentFlow;
use crate::db;
use crate::db::invites::InviteWithCustomer;
use crate::domain::{AuditKind, TenantId};
use crate::entra::{Answer, PendingSignIn};
use crate::i18n::Language;

/// A sign-in that proved its tenant: who signed in, and the admin consent to send them to.
pub struct SignedIn {
    pub admin: SignedInAdmin,
    pub consent_url: String,
}

impl Onboarding {
    /// Checks the answer to `pending` before anything is redeemed, in this order: an error Microsoft
    /// redirected with, the state, the sign-in's age, the code. Returns the code. `language` is the
    /// invite's.
    pub fn accept_sign_in_answer(&self, pending: &PendingSignIn, answer: &Answer, language: Option<Language>) -> Result<String, Error> {
        if let Some(error) = answer.error() {
            return Err(refused(Refusal::Microsoft(error), language));
        }
        if !pending.answered_by(answer) {
            return Err(refused(Refusal::SignInState, language));
        }
        if pending.expired(self.now()) {
            return Err(refused(Refusal::SignInSlow, language));
        }
        answer.code().map(str::to_owned).ok_or_else(|| refused(Refusal::IncompleteAnswer, language))
    }

    /// Redeems the sign-in's `code`, proves the tenant, and issues the consent state for this browser
    /// session (`binding`) and `invite` (as the session names it; `None` when it no longer exists).
    pub async fn sign_in(
        &self,
        invite: Option<InviteWithCustomer>,
        pending: &PendingSignIn,
        code: &str,
        binding: &str,
    ) -> Result<SignedIn, Error> {
        let language = invite.as_ref().map(|i| i.invite.language);
        let refuse = |refusal| refused(refusal, language);
        let tokens = self.entra.redeem_sign_in_code(&pending.tenant_segment, code, &pending.pkce_verifier).await.map_err(|error| {
            tracing::warn!(%error, "sign-in code redemption refused");
            refuse(Refusal::CodeRefused { aadsts: error.aadsts, trace_id: error.trace_id })
        })?;
        let id_token = tokens.id_token.ok_or_else(|| refuse(Refusal::NoIdToken))?;
        let claims = self.entra.verify_id_token(&id_token, &pending.nonce_hash).await.map_err(|error| {
            tracing::warn!(%error, "an ID token did not verify");
            refuse(Refusal::SignInUnverified)
        })?;
        let invite = invite.filter(|i| i.invite.link_works(self.timestamp())).ok_or_else(|| refuse(Refusal::LinkGone))?;
        let tenant = claims.tenant_id;
        let actor = claims.upn.clone().unwrap_or_else(|| claims.object_id.clone());
        self.refuse_another_tenant(&invite, tenant, &actor).await?;
        self.audit(AuditKind::InviteSignedIn, Some(&actor), &invite, Some(tenant), json!({ "object_id": claims.object_id })).await;
        let state = self.issue_consent_state(binding, &invite, Some(tenant), ConsentFlow::V2).await?;
        Ok(SignedIn {
            admin: SignedInAdmin { tenant_id: tenant, upn: claims.upn, object_id: claims.object_id },
            consent_url: self.entra.admin_consent_url(tenant, &state),
        })
    }

    /// Refuses (and records why) a signed-in `tenant` that is not the invite's pinned tenant, not the
    /// tenant a completed invite is bound to, or onboarded for another customer.
    async fn refuse_another_tenant(&self, invite: &InviteWithCustomer, tenant: TenantId, actor: &str) -> Result<(), Error> {
        if let Some(pinned) = invite.invite.pinned_tenant_id
            && pinned != tenant
        {
            return Err(self.wrong_tenant(invite, tenant, Some(actor), pinned).await);
        }
        if let Some(bound) = invite.invite.completed_tenant_id
            && bound != tenant
        {
            return Err(self.already_used(invite, tenant, actor, bound).await);
        }
        if let Some(other) = db::tenants::find(&self.db, tenant).await?.filter(|t| t.customer_id != invite.invite.customer_id) {
            return Err(self.onboarded_elsewhere(invite, tenant, actor, &other.customer_id).await);
        }
        Ok(())
    }

    /// Someone of `tenant` signed in for an invite pinned to another tenant: recorded, and refused.
    pub(super) async fn wrong_tenant(&self, invite: &InviteWithCustomer, tenant: TenantId, actor: Option<&str>, pinned: TenantId) -> Error {
        self.audit(AuditKind::InviteWrongTenant, actor, invite, Some(tenant), json!({ "expected": pinned.to_string() })).await;
        let refusal = Refusal::WrongTenant {
            signed_in: tenant,
            signed_in_as: actor.unwrap_or_default().to_owned(),
            expected: invite.invite.pinned().unwrap_or_default(),
        };
        refused(refusal, Some(invite.invite.language))
    }

    /// An invite that onboarded `bound` used for `tenant`: recorded, and refused. Nothing changes.
    pub(super) async fn already_used(&self, invite: &InviteWithCustomer, tenant: TenantId, actor: &str, bound: TenantId) -> Error {
        self.audit(AuditKind::InviteAlreadyUsed, Some(actor), invite, Some(tenant), json!({ "bound_to": bound.to_string() })).await;
        refused(Refusal::AlreadyUsed { signed_in: tenant, signed_in_as: actor.to_owned(), bound }, Some(invite.invite.language))
    }

    /// A tenant already onboarded for another customer: recorded for staff, and refused. Nothing of the
    /// other customer changes.
    pub(super) async fn onboarded_elsewhere(
        &self,
        invite: &InviteWithCustomer,
        tenant: TenantId,
        actor: &str,
        other_customer: &str,
    ) -> Error {
        let detail = json!({ "onboarded_for_customer": other_customer });
        self.audit(AuditKind::TenantConflict, Some(actor), invite, Some(tenant), detail).await;
        refused(Refusal::OtherCustomer, Some(invite.invite.language))
    }
}
