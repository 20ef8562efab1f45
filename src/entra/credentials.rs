//! Which of the app's credentials a token request authenticates with. During a rotation the portal
//! holds two (or more): it starts with the newest valid one (`credentials::preference_order`) and,
//! when Microsoft refuses it as unknown or expired (AADSTS7000215, AADSTS7000222, or AADSTS700027 for
//! a certificate), asks again with the next, and keeps the one that worked for the following requests.
//! The log names the credential by its label, never its value.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::config::ConfiguredCredential;

/// The AADSTS codes that mean "this credential is not (or no longer) valid for the app": an unknown
/// secret, an expired secret, a certificate not registered (or a bad signature).
pub const REFUSED_CREDENTIAL: [u32; 3] = [7000215, 7000222, 700027];

/// The credentials in the order they are tried, and the one currently used.
#[derive(Debug)]
pub struct CredentialChain {
    ordered: Vec<ConfiguredCredential>,
    current: AtomicUsize,
    /// Whether the credential in use was logged yet.
    announced: AtomicBool,
}

impl CredentialChain {
    /// The chain at `now`: the newest valid credential first.
    pub fn new(credentials: &[ConfiguredCredential], now: time::OffsetDateTime) -> Self {
        let ordered = crate::credentials::preference_order(credentials, now).into_iter().map(|index| credentials[index].clone()).collect();
        Self { ordered, current: AtomicUsize::new(0), announced: AtomicBool::new(false) }
    }

    pub fn len(&self) -> usize {
        self.ordered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }

    /// The index of the credential tried first.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed) % self.ordered.len().max(1)
    }

    pub fn get(&self, index: usize) -> Option<&ConfiguredCredential> {
        self.ordered.get(index)
    }

    /// The credential at `index` got a token: it is tried first from now on (logged when it changes).
    pub fn worked(&self, index: usize) {
        let previous = self.current.swap(index, Ordering::Relaxed);
        let first = !self.announced.swap(true, Ordering::Relaxed);
        if let Some(credential) = self.get(index)
            && (first || previous != index)
        {
            tracing::info!(credential = %credential.label(), "token requests authenticate with this credential");
        }
    }

    /// Microsoft refused the credential at `index`: logged, and the next is tried.
    pub fn refused(&self, index: usize, aadsts: Option<u32>) {
        if let Some(credential) = self.get(index) {
            tracing::warn!(
                credential = %credential.label(),
                aadsts = aadsts.unwrap_or_default(),
                "Microsoft refused the credential (unknown or expired); trying the next one configured"
            );
        }
    }
}

/// Does Microsoft's answer say the credential itself is not valid, so another may be?
pub fn is_refused_credential(aadsts: Option<u32>) -> bool {
    aadsts.is_some_and(|code| REFUSED_CREDENTIAL.contains(&code))
}
