//! Customer onboarding, the use cases: from an invite link to a proven tenant recorded for its customer.
//!
//! A tenant is recorded for a customer only when it is proven. In the v2 flow the person signs in with
//! OpenID Connect first: the verified ID token's `tid` is the tenant (and must equal the invite's pinned
//! tenant, if any); the consent redirect must then carry a `state` the portal issued for this invite,
//! this browser session and this tenant — unexpired, used once — and its `tenant` must equal that `tid`.
//! In the v1 flow the tenant is proven by redeeming the consent's code and verifying the token it gives.
//! The consent is recorded in one transaction that also uses the state, completes the invite (binding it
//! to the tenant) and queues the staff's notification; then the tenant's first check runs.
//!
//! Each step answers with what comes next or with a [`Refusal`], in the invite's language when the
//! invite is known; the web layer shows it on the customer's problem page.

mod consent;
mod link;
pub mod lookup_limiter;
mod record;
mod sign_in;
mod start;

use std::sync::Arc;

use crate::db::Pool;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use consent::Issued;
pub use record::TenantResult;
pub use sign_in::SignedIn;
pub use start::Started;

use crate::config::Config;
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::db::invites::InviteWithCustomer;
use crate::domain::{AuditKind, SharedClock, TenantId, Timestamp};
use crate::email::Mailer;
use crate::entra::{EntraClient, MicrosoftError};
use crate::error::Failure;
use crate::i18n::Language;
use crate::monitor::sweep::Sweeper;
use lookup_limiter::LookupLimiter;

/// How long a consent `state` stays valid.
pub const STEP_LIFETIME: time::Duration = time::Duration::minutes(15);

/// What onboarding works with.
#[derive(Clone)]
pub struct Onboarding {
    pub db: Pool,
    pub entra: EntraClient,
    pub config: Arc<Config>,
    /// The first check after a consent.
    pub sweeper: Arc<Sweeper>,
    /// Woken when a consent queued the staff's notification.
    pub mailer: Arc<Mailer>,
    /// Woken when a consent queued its `tenant.connected` event.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    pub clock: SharedClock,
    /// Failed link lookups per client address.
    pub limiter: Arc<LookupLimiter>,
}

/// Who signed in on the way to consent, proven by a verified ID token. The browser's onboarding session
/// keeps it between the sign-in and the consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedInAdmin {
    pub tenant_id: TenantId,
    pub upn: Option<String>,
    pub object_id: String,
}

/// Why a step of the onboarding was refused. Nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The link's token is not one the portal issued (or not a token at all).
    UnknownLink,
    /// Too many unknown tokens from this client address: guessing is slowed down.
    TooManyLookups,
    /// The invite was revoked or has expired.
    LinkGone,
    /// A form that did not come from the portal's own page (or its token is wrong).
    ForgedRequest,
    /// "Sign in again" from a browser that holds no onboarding.
    NoSession,
    /// A sign-in answer for a browser that started no onboarding.
    NoSignIn,
    /// A sign-in answer when this browser's sign-in was used already.
    SignInDone,
    /// A sign-in answer that does not carry this browser's sign-in state.
    SignInState,
    /// A sign-in that took longer than its lifetime.
    SignInSlow,
    /// Microsoft's answer lacks a part the flow needs (a forged or truncated redirect).
    IncompleteAnswer,
    /// Microsoft redirected with an error (or the person chose Cancel).
    Microsoft(MicrosoftError),
    /// Microsoft did not redeem the code.
    CodeRefused { aadsts: Option<u32>, trace_id: Option<String> },
    /// The redeemed sign-in code gave no ID token.
    NoIdToken,
    /// The redeemed consent code (v1) gave no access token.
    NoAccessToken,
    /// The ID token did not verify.
    SignInUnverified,
    /// The v1 consent's token did not verify.
    ConsentUnverified,
    /// Someone of another tenant than the invite's pinned one signed in.
    WrongTenant { signed_in: TenantId, signed_in_as: String, expected: String },
    /// The invite already onboarded another tenant.
    AlreadyUsed { signed_in: TenantId, signed_in_as: String, bound: TenantId },
    /// The tenant is onboarded for another customer.
    OtherCustomer,
    /// A consent answer whose state the portal never issued.
    ApprovalUnknown,
    /// A consent answer whose state was issued to another browser or invite.
    ApprovalElsewhere,
    /// A consent answer for another tenant than the one that signed in.
    ApprovalTenant,
    /// A consent state used already, by a callback that recorded nothing.
    StateUsed,
    /// A consent state past its lifetime.
    ApprovalSlow,
    /// The result of a tenant that is not recorded.
    TenantNotFound,
}

impl Refusal {
    /// Does the answer offer to sign in again, with another account?
    pub fn offers_retry(&self) -> bool {
        matches!(
            self,
            Self::Microsoft(_) | Self::CodeRefused { .. } | Self::NoIdToken | Self::WrongTenant { .. } | Self::AlreadyUsed { .. }
        )
    }
}

/// A refusal, and the language of the invite it concerns when the invite is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub refusal: Refusal,
    pub language: Option<Language>,
}

/// What a step answers instead of its outcome.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("refused: {0:?}")]
    Refused(Refused),
    #[error(transparent)]
    Failed(#[from] Failure),
}

impl Error {
    /// `refusal`, in `language` (the invite's, when it is known).
    pub fn refused(refusal: Refusal, language: Option<Language>) -> Self {
        Self::Refused(Refused { refusal, language })
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Self::Failed(error.into())
    }
}

fn refused(refusal: Refusal, language: Option<Language>) -> Error {
    Error::refused(refusal, language)
}

impl Onboarding {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn timestamp(&self) -> Timestamp {
        Timestamp::new(self.clock.now())
    }

    /// Records an audit event about `invite`; one that cannot be written is logged (the step it
    /// records already happened).
    async fn audit(
        &self,
        kind: AuditKind,
        actor: Option<&str>,
        invite: &InviteWithCustomer,
        tenant: Option<TenantId>,
        detail: serde_json::Value,
    ) {
        let event = NewAuditEvent {
            customer_id: Some(&invite.invite.customer_id),
            invite_id: Some(&invite.invite.id),
            tenant_id: tenant,
            detail,
            ..NewAuditEvent::new(kind, actor)
        };
        if let Err(error) = db::audit::record(&self.db, event, self.timestamp()).await {
            tracing::error!(%error, %kind, "cannot record an audit event");
        }
    }
}
