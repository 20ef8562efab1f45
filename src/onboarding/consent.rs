//! The end of the admin consent: errors first; then the state (issued by the portal, to this browser
//! session and this invite, unused, unexpired); then the tenant (v2: the one that signed in; v1: the one
//! the redeemed code's token proves); then the consent is recorded, once, and the first check runs.

use serde_json::json;

use super::{Error, Onboarding, Refusal, SignedInAdmin, refused};
use crate::config::ConsentFlow;
use crate::db;
use crate::db::consent_states::ConsentState;
use crate::db::invites::InviteWithCustomer;
use crate::db::tenants::Recorded;
use crate::domain::{AuditKind, TenantId, TenantStatus, hash_secret, tokens_match};
use crate::entra::Answer;
use crate::error::Failure;
use crate::i18n::Language;
use crate::monitor::sweep::Target;

/// The consent state an answer carries, as the portal issued it, and whether this browser holds it.
pub struct Issued {
    state: Option<ConsentState>,
    /// Issued to this browser session and the invite its onboarding names.
    bound: bool,
    /// The invite of a state this browser holds.
    invite: Option<InviteWithCustomer>,
}

impl Issued {
    /// The language of the answer's pages: the invite's, when the browser holds the state.
    pub fn language(&self) -> Option<Language> {
        self.invite.as_ref().map(|i| i.invite.language)
    }
}

impl Onboarding {
    /// The state of a consent answer, checked against this browser's onboarding (its session binding
    /// and invite, when it has one).
    pub async fn issued(&self, answer: &Answer, session: Option<(&str, &str)>) -> Result<Issued, Failure> {
        let state = match answer.state() {
            Some(value) => db::consent_states::find(&self.db, &hash_secret(value)).await?,
            None => None,
        };
        let bound = state.as_ref().is_some_and(|state| {
            session.is_some_and(|(binding, invite_id)| tokens_match(binding, &state.session_binding) && invite_id == state.invite_id)
        });
        let invite = match state.as_ref().filter(|_| bound) {
            Some(state) => db::invites::find(&self.db, &state.invite_id).await?,
            None => None,
        };
        Ok(Issued { state, bound, invite })
    }

    /// Records the consent `answer` brings for `issued`; `admin` is who signed in (v2). Returns the
    /// recorded tenant, whose result page follows (also for an answer recorded already).
    pub async fn consent(&self, issued: Issued, answer: &Answer, admin: Option<&SignedInAdmin>) -> Result<TenantId, Error> {
        let language = issued.language();
        let refuse = |refusal| refused(refusal, language);
        // Error redirects are checked before anything else: admin_consent=True can come with an error.
        if let Some(error) = answer.error() {
            if let (Some(state), Some(invite)) = (issued.state.as_ref(), issued.invite.as_ref()) {
                let kind = if error.cancelled { AuditKind::InviteCancelled } else { AuditKind::InviteFailed };
                self.audit(kind, None, invite, state.tenant_id, json!({ "aadsts": error.aadsts })).await;
            }
            return Err(refuse(Refusal::Microsoft(error)));
        }
        let state = issued.state.ok_or_else(|| refuse(Refusal::ApprovalUnknown))?;
        if !issued.bound {
            return Err(refuse(Refusal::ApprovalElsewhere));
        }
        if state.used_at.is_some() {
            return state.result_tenant_id.ok_or_else(|| refuse(Refusal::StateUsed));
        }
        if state.expires_at <= self.timestamp() {
            return Err(refuse(Refusal::ApprovalSlow));
        }
        let invite = issued.invite.filter(|i| i.invite.link_works(self.timestamp())).ok_or_else(|| refuse(Refusal::LinkGone))?;
        let (tenant, upn, object_id) = match state.flow {
            ConsentFlow::V1 => self.prove_tenant_v1(answer, &invite).await?,
            ConsentFlow::V2 => {
                let tenant = answer.get("tenant").and_then(|t| TenantId::parse(t).ok());
                let (Some(tenant), Some("True")) = (tenant, answer.get("admin_consent")) else {
                    return Err(refuse(Refusal::IncompleteAnswer));
                };
                match admin.filter(|a| a.tenant_id == tenant && state.tenant_id == Some(tenant)) {
                    Some(admin) => (tenant, admin.upn.clone(), Some(admin.object_id.clone())),
                    None => return Err(refuse(Refusal::ApprovalTenant)),
                }
            }
        };
        let actor = upn.clone().or(object_id.clone()).unwrap_or_default();
        match self.record(&state, &invite, tenant, upn.as_deref(), object_id.as_deref()).await? {
            Some(Recorded::OtherCustomer { customer_id }) => Err(self.onboarded_elsewhere(&invite, tenant, &actor, &customer_id).await),
            Some(Recorded::InviteUsedByOtherTenant { tenant_id }) => Err(self.already_used(&invite, tenant, &actor, tenant_id).await),
            // Another copy of this callback recorded it first: the same page.
            None => Ok(tenant),
            Some(Recorded::New | Recorded::Reconsented) => {
                self.first_check(&invite, tenant).await;
                Ok(tenant)
            }
        }
    }

    /// v1: the code proves the tenant once redeemed, by the `tid` of the verified access token.
    async fn prove_tenant_v1(
        &self,
        answer: &Answer,
        invite: &InviteWithCustomer,
    ) -> Result<(TenantId, Option<String>, Option<String>), Error> {
        let refuse = |refusal| refused(refusal, Some(invite.invite.language));
        let code = answer.code().ok_or_else(|| refuse(Refusal::IncompleteAnswer))?;
        let tokens = self
            .entra
            .redeem_v1_consent_code(code)
            .await
            .map_err(|error| refuse(Refusal::CodeRefused { aadsts: error.aadsts, trace_id: error.trace_id }))?;
        let token = tokens.access_token.ok_or_else(|| refuse(Refusal::NoAccessToken))?;
        let (tenant, claims) =
            self.entra.verify_access_token(&token, None, self.entra.consent_api, &self.entra.consent_resource).await.map_err(|error| {
                tracing::warn!(%error, "the v1 consent token did not verify");
                refuse(Refusal::ConsentUnverified)
            })?;
        let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let upn = text("upn").or_else(|| text("unique_name"));
        if let Some(pinned) = invite.invite.pinned_tenant_id
            && pinned != tenant
        {
            return Err(self.wrong_tenant(invite, tenant, upn.as_deref(), pinned).await);
        }
        Ok((tenant, upn, text("oid")))
    }

    /// The first check of a tenant just recorded, and the event that says how it went.
    async fn first_check(&self, invite: &InviteWithCustomer, tenant: TenantId) {
        match self.sweeper.check_now(Target::new(tenant, Some(self.now()))).await {
            Ok(outcome) => {
                let kind = if outcome.status == TenantStatus::Verified { AuditKind::InviteVerified } else { AuditKind::InviteChecked };
                let detail = json!({ "status": outcome.status.as_str(), "missing": outcome.roles_missing });
                self.audit(kind, Some("system"), invite, Some(tenant), detail).await;
            }
            Err(error) => tracing::error!(%error, "cannot record the first check"),
        }
    }
}
