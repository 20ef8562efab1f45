//! What comes back from Microsoft to the portal's redirect URIs (`/auth/callback` after a sign-in,
//! `/consent/callback` after an admin consent): the query of the redirect, read once, and the sign-in
//! that was waiting for it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::SignInRequest;
use crate::domain::aadsts;
use crate::domain::hash_secret;

/// How long a sign-in may take between the button and the callback.
pub const SIGN_IN_LIFETIME: time::Duration = time::Duration::minutes(15);

/// The query of a redirect from Microsoft. A parameter given twice is refused (a sign of tampering).
#[derive(Debug, Clone, Default)]
pub struct Answer {
    params: HashMap<String, String>,
}

/// A redirect whose query names a parameter twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a parameter is given twice")]
pub struct RepeatedParameter;

impl Answer {
    pub fn parse(query: Option<&str>) -> Result<Self, RepeatedParameter> {
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if params.insert(name.into_owned(), value.into_owned()).is_some() {
                return Err(RepeatedParameter);
            }
        }
        Ok(Self { params })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn state(&self) -> Option<&str> {
        self.get("state")
    }

    pub fn code(&self) -> Option<&str> {
        self.get("code")
    }

    /// The error Microsoft redirected with, if it did.
    pub fn error(&self) -> Option<MicrosoftError> {
        let error = self.get("error")?;
        Some(MicrosoftError {
            // Both shapes of the admin's Cancel: the older `error_subcode=cancel` and the current
            // `access_denied` with AADSTS65004.
            cancelled: aadsts::is_cancel(Some(error), self.get("error_subcode"), self.get("error_description")),
            aadsts: self.get("error_description").and_then(aadsts::code_in),
            error: Some(error).filter(|e| e.len() <= 40 && e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).map(str::to_owned),
        })
    }
}

/// An error redirect from Microsoft, as far as the portal reads it: whether the person chose Cancel, and
/// the AADSTS code of its description. The description itself is never used: anyone can write a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrosoftError {
    pub cancelled: bool,
    pub aadsts: Option<u32>,
    /// The OAuth `error` value, when it is a short plain word (`access_denied`).
    pub error: Option<String>,
}

impl MicrosoftError {
    /// The code to show: `AADSTS…` when there is one, else the `error` value.
    pub fn shown(&self) -> Option<String> {
        self.aadsts.map(|c| format!("AADSTS{c}")).or_else(|| self.error.clone())
    }
}

/// Who a sign-in is for: a customer's admin on the way to consent, or a partner staff member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInPurpose {
    Onboarding,
    Staff,
}

/// A sign-in on its way to Microsoft and back: what it is for, hashes of its state and nonce, and the
/// PKCE verifier (useless without the one-time code). The browser's session keeps it until the callback.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub purpose: SignInPurpose,
    pub state_hash: String,
    pub nonce_hash: String,
    pub pkce_verifier: String,
    /// The tenant of the authorize endpoint (`organizations`, a pinned tenant, the partner's tenant): its
    /// token endpoint redeems the code.
    pub tenant_segment: String,
    /// Unix seconds.
    pub started_at: i64,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn").field("purpose", &self.purpose).field("started_at", &self.started_at).finish_non_exhaustive()
    }
}

impl PendingSignIn {
    pub fn new(purpose: SignInPurpose, request: SignInRequest, tenant_segment: String, now: OffsetDateTime) -> Self {
        Self {
            purpose,
            state_hash: hash_secret(&request.state),
            nonce_hash: hash_secret(&request.nonce),
            pkce_verifier: request.pkce_verifier,
            tenant_segment,
            started_at: now.unix_timestamp(),
        }
    }

    /// Does `answer` carry this sign-in's state (compared in constant time)?
    pub fn answered_by(&self, answer: &Answer) -> bool {
        answer.state().is_some_and(|state| bool::from(hash_secret(state).as_bytes().ct_eq(self.state_hash.as_bytes())))
    }

    /// Has it taken longer than [`SIGN_IN_LIFETIME`] at `now`?
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        now.unix_timestamp() - self.started_at > SIGN_IN_LIFETIME.whole_seconds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_given_twice_is_refused() {
        assert_eq!(Answer::parse(Some("code=a&code=b")).unwrap_err(), RepeatedParameter);
        assert_eq!(Answer::parse(Some("code=a&state=b")).unwrap().code(), Some("a"));
        assert!(Answer::parse(None).unwrap().error().is_none());
    }

    #[test]
    fn an_error_redirect_is_read_for_its_code_never_its_words() {
        let answer = Answer::parse(Some("error=consent_required&error_description=AADSTS65004%3A+declined.+%3Cscript%3E")).unwrap();
        let error = answer.error().unwrap();
        assert_eq!((error.cancelled, error.aadsts, error.shown().as_deref()), (false, Some(65004), Some("AADSTS65004")));
        let cancelled = Answer::parse(Some("error=access_denied&error_subcode=cancel")).unwrap().error().unwrap();
        assert!(cancelled.cancelled);
        let current = Answer::parse(Some("error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent")).unwrap();
        assert!(current.error().unwrap().cancelled, "the current shape of Cancel");
        let odd = Answer::parse(Some("error=%3Cb%3Enope%3C%2Fb%3E")).unwrap().error().unwrap();
        assert_eq!(odd.shown(), None, "an error value that is not a plain word is not shown");
    }

    #[test]
    fn a_pending_sign_in_knows_its_state_and_its_age() {
        let request = SignInRequest { url: String::new(), state: "s1".into(), nonce: "n1".into(), pkce_verifier: "v".into() };
        let started = time::macros::datetime!(2026-11-25 10:00 UTC);
        let pending = PendingSignIn::new(SignInPurpose::Staff, request, "organizations".into(), started);
        assert!(pending.answered_by(&Answer::parse(Some("state=s1")).unwrap()));
        assert!(!pending.answered_by(&Answer::parse(Some("state=s2")).unwrap()));
        assert!(!pending.answered_by(&Answer::parse(None).unwrap()));
        assert!(!pending.expired(started + SIGN_IN_LIFETIME));
        assert!(pending.expired(started + SIGN_IN_LIFETIME + time::Duration::seconds(1)));
    }
}
