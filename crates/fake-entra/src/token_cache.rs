//! The benchmark's option ([`crate::FakeEntra::cache_app_tokens`], off unless asked for): an app-only
//! token, once signed, is served again for the same tenant, app, audience, credential, granted roles
//! and signing key until it nears expiry. A sweep benchmark checks thousands of tenants against the
//! fake in the portal's own process; without this, the fake's RSA signing (Microsoft's work in
//! production) would be most of what it measures.
//!
//! Each entry keeps what varies from one signing to the next (the times, the opaque `aio`/`rh`/`uti`,
//! a Graph token's header nonce) and the signature, about 350 bytes, rather than the token (about
//! 1.4 kB): a sweep over 10,000 tenants and two APIs holds 20,000 of them.

use std::collections::HashMap;

/// Served until this many seconds before the token's `exp` (then signed afresh).
pub const RENEW_BEFORE_EXPIRY_S: i64 = 300;
/// Beyond this many entries the cache starts over (a bound for a long demo left with it on).
const MAX_ENTRIES: usize = 200_000;

/// What varies between two signings of the same token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// `iat` and `nbf`.
    pub issued_at: i64,
    pub expires_at: i64,
    /// The raw bytes of `aio`, `rh` and `uti`.
    pub opaque: [[u8; 16]; 3],
    /// A Graph token's header nonce (raw bytes), absent for the other APIs.
    pub nonce: Option<[u8; 32]>,
}

impl Variable {
    /// Fresh values for a token issued at `now` that lasts `lifetime_s`.
    pub fn fresh(now: i64, lifetime_s: i64, nonce: bool) -> Self {
        Self { issued_at: now, expires_at: now + lifetime_s, opaque: rand::random(), nonce: nonce.then(rand::random) }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    variable: Variable,
    signature: Box<[u8]>,
}

/// Signatures by the SHA-256 of everything else in the token (claims less the variable parts, the
/// signing key's id, whether it is a Graph token).
#[derive(Debug, Default)]
pub struct AppTokenCache {
    entries: HashMap<[u8; 32], Entry>,
}

impl AppTokenCache {
    /// The variable parts and signature for this key, unless absent or near expiry at `now`.
    pub fn get(&self, key: &[u8; 32], now: i64) -> Option<(Variable, Box<[u8]>)> {
        let entry = self.entries.get(key)?;
        (now < entry.variable.expires_at - RENEW_BEFORE_EXPIRY_S).then(|| (entry.variable.clone(), entry.signature.clone()))
    }

    pub fn put(&mut self, key: [u8; 32], variable: Variable, signature: Box<[u8]>) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(key, Entry { variable, signature });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_until_it_nears_expiry() {
        let mut cache = AppTokenCache::default();
        let variable = Variable::fresh(1_000, 3_599, false);
        cache.put([7; 32], variable.clone(), vec![1, 2, 3].into());
        assert_eq!(cache.get(&[7; 32], 1_000).map(|(v, _)| v), Some(variable.clone()));
        assert!(cache.get(&[7; 32], 1_000 + 3_599 - RENEW_BEFORE_EXPIRY_S - 1).is_some(), "still well before expiry");
        assert!(cache.get(&[7; 32], 1_000 + 3_599 - RENEW_BEFORE_EXPIRY_S).is_none(), "near expiry: signed afresh");
        assert!(cache.get(&[8; 32], 1_000).is_none());
        assert!(Variable::fresh(0, 1, true).nonce.is_some() && Variable::fresh(0, 1, false).nonce.is_none());
    }
}
