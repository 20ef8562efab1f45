//! "Continue with Microsoft": the v2 flow starts a sign-in (against the pinned tenant, or any work
//! account); the v1 flow goes straight to Microsoft's one-step consent with a state issued for it.

use super::Onboarding;
use crate::config::ConsentFlow;
use crate::db;
use crate::db::invites::InviteWithCustomer;
use crate::domain::{TenantId, hash_secret, random_value};
use crate::entra::{PendingSignIn, SignInPurpose};
use crate::error::Failure;
use crate::i18n::Language;

/// Where the browser goes next.
pub enum Started {
    /// Signs in first; the browser's session keeps the pending sign-in.
    SignIn { url: String, pending: PendingSignIn },
    /// Straight to the consent (v1).
    Consent { url: String },
}

impl Onboarding {
    /// Starts the onboarding of `invite` for the browser session bound by `binding`. `select_account`
    /// makes Microsoft ask which account ("sign in again"); its pages speak `language`.
    pub async fn start(
        &self,
        invite: &InviteWithCustomer,
        binding: &str,
        select_account: bool,
        language: Language,
    ) -> Result<Started, Failure> {
        match self.config.consent_flow {
            ConsentFlow::V2 => {
                let segment = invite.invite.pinned_tenant_id.map_or_else(|| "organizations".to_owned(), |t| t.to_string());
                let request = self.entra.sign_in(&segment, None, select_account, Some(language.code()))?;
                let url = request.url.clone();
                Ok(Started::SignIn { url, pending: PendingSignIn::new(SignInPurpose::Onboarding, request, segment, self.now()) })
            }
            ConsentFlow::V1 => {
                let state = self.issue_consent_state(binding, invite, None, ConsentFlow::V1).await?;
                Ok(Started::Consent { url: self.entra.v1_consent_url(&state) })
            }
        }
    }

    /// A new consent `state` for this browser session and invite (and the signed-in tenant, in v2): only
    /// its hash is stored. Returns the value to send to Microsoft.
    pub(super) async fn issue_consent_state(
        &self,
        binding: &str,
        invite: &InviteWithCustomer,
        tenant: Option<TenantId>,
        flow: ConsentFlow,
    ) -> Result<String, sqlx::Error> {
        let value = random_value();
        let now = self.timestamp();
        let new = db::consent_states::NewConsentState {
            state_hash: &hash_secret(&value),
            session_binding: binding,
            invite_id: &invite.invite.id,
            tenant_id: tenant,
            flow,
            expires_at: now + super::STEP_LIFETIME,
        };
        db::consent_states::insert(&self.db, new, now).await?;
        Ok(value)
    }
}
