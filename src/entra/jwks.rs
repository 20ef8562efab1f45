//! The JWKS cache. Keys come only from the configured sign-in host's JWKS URLs (never from a token's
//! `jku`, `x5u` or `jwk` header): the callers build every URL from the configured authority.
//!
//! A tenant's JWKS without an `appid` query holds the platform's signing keys, the same for every
//! tenant, so each distinct set is kept once and a key fetched from one tenant's URL verifies another
//! tenant's token: a sweep over 2,000 tenants fetches the set once, not 2,000 times. An unknown `kid`
//! still triggers at most one refresh a minute per URL, and one fetch runs at a time, so a flood of
//! forged tokens cannot turn into a flood of requests to Microsoft.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// An RSA public key of a JWKS: modulus and exponent, big-endian bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

impl RsaKey {
    /// Checks an RS256 (PKCS#1 v1.5, SHA-256) signature, through `ring`.
    pub fn verifies(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        let key = ring::signature::RsaPublicKeyComponents { n: &self.n, e: &self.e };
        key.verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, signing_input, signature).is_ok()
    }
}

/// The keys of a JWKS by `kid`; ordered, so that two fetches of the same set compare equal.
type Keys = BTreeMap<String, RsaKey>;

struct KeySet {
    keys: Keys,
    /// When a fetch last returned this set: a key is trusted for `KEEP_FOR` after Microsoft last
    /// published it.
    seen_at: Instant,
}

#[derive(Default)]
struct State {
    /// Distinct sets, the most recently seen first.
    sets: Vec<KeySet>,
    /// When each URL was last fetched, for the refresh limit; entries older than the limit mean
    /// nothing and are dropped.
    fetched: HashMap<String, Instant>,
    /// Fetches finished, and the error of the latest one if it failed: whoever waited for a fetch that
    /// failed gets its error instead of queueing a fetch of its own behind the host that just failed.
    fetches: u64,
    last_error: Option<String>,
}

enum Lookup {
    Found(RsaKey),
    /// Not known, and this URL was fetched less than a minute ago.
    Unknown,
    /// Not known; this URL may be fetched.
    MayRefresh,
}

impl State {
    fn lookup(&self, url: &str, kid: &str, now: Instant) -> Lookup {
        if let Some(key) = self.fresh_sets(now).find_map(|set| set.keys.get(kid)) {
            return Lookup::Found(key.clone());
        }
        match self.fetched.get(url) {
            Some(at) if now.saturating_duration_since(*at) < REFRESH_AT_MOST_EVERY => Lookup::Unknown,
            _ => Lookup::MayRefresh,
        }
    }

    fn fresh_sets(&self, now: Instant) -> impl Iterator<Item = &KeySet> {
        self.sets.iter().filter(move |set| now.saturating_duration_since(set.seen_at) < KEEP_FOR)
    }

    fn has_keys(&self, now: Instant) -> bool {
        self.fresh_sets(now).next().is_some()
    }

    fn store(&mut self, url: &str, keys: Keys, now: Instant) {
        self.fetched.retain(|_, at| now.saturating_duration_since(*at) < REFRESH_AT_MOST_EVERY);
        self.fetched.insert(url.to_owned(), now);
        self.sets.retain(|set| set.keys != keys && now.saturating_duration_since(set.seen_at) < KEEP_FOR);
        if !keys.is_empty() {
            self.sets.insert(0, KeySet { keys, seen_at: now });
        }
    }
}

pub struct JwksCache {
    http: reqwest::Client,
    state: Mutex<State>,
    /// One fetch at a time, whichever the URL: a burst of checks or of unknown kids waits for the fetch
    /// in flight and then finds its result in the cache, rather than each fetching the JWKS.
    gate: tokio::sync::Mutex<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the JWKS could not be fetched: {0}")]
    Unreachable(String),
    #[error("no key {0:?} in the tenant's JWKS")]
    UnknownKey(String),
}

impl JwksCache {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http, state: Mutex::new(State::default()), gate: tokio::sync::Mutex::new(()) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key `kid`, from any set fetched from the configured host, or else from the JWKS at `url`.
    pub async fn key(&self, url: &str, kid: &str) -> Result<RsaKey, JwksError> {
        let fetches_before = {
            let state = self.state();
            match state.lookup(url, kid, Instant::now()) {
                Lookup::Found(key) => return Ok(key),
                Lookup::Unknown => return Err(JwksError::UnknownKey(kid.to_owned())),
                Lookup::MayRefresh => state.fetches,
            }
        };
        let _fetching = self.gate.lock().await;
        {
            // The fetch this one waited for may have brought the key, or failed.
            let state = self.state();
            match state.lookup(url, kid, Instant::now()) {
                Lookup::Found(key) => return Ok(key),
                Lookup::Unknown => return Err(JwksError::UnknownKey(kid.to_owned())),
                Lookup::MayRefresh => {
                    if let (true, Some(error)) = (state.fetches != fetches_before, &state.last_error) {
                        return Err(JwksError::Unreachable(error.clone()));
                    }
                }
            }
        }
        let keys = self.fetch_and_store(url).await?;
        keys.get(kid).cloned().ok_or_else(|| JwksError::UnknownKey(kid.to_owned()))
    }

    /// Fetches the JWKS at `url` unless a set with keys is known, so that a verification soon after
    /// finds it (a check warms the keys while Microsoft issues the token). Failures are left to the
    /// verification to report.
    pub async fn warm(&self, url: &str) {
        let fetches_before = {
            let state = self.state();
            if state.has_keys(Instant::now()) {
                return;
            }
            state.fetches
        };
        let _fetching = self.gate.lock().await;
        {
            let state = self.state();
            if state.has_keys(Instant::now()) || state.fetches != fetches_before {
                return;
            }
        }
        let _ = self.fetch_and_store(url).await;
    }

    /// Fetches the JWKS at `url` and keeps it; the caller holds the gate.
    async fn fetch_and_store(&self, url: &str) -> Result<Keys, JwksError> {
        let fetched = self.fetch(url).await;
        let mut state = self.state();
        state.fetches += 1;
        match fetched {
            Ok(keys) => {
                state.last_error = None;
                state.store(url, keys.clone(), Instant::now());
                Ok(keys)
            }
            Err(reason) => {
                state.last_error = Some(reason.clone());
                Err(JwksError::Unreachable(reason))
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<Keys, String> {
        let response = self.http.get(url).send().await.map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let jwks: Jwks = response.json().await.map_err(|e| e.without_url().to_string())?;
        Ok(jwks
            .keys
            .into_iter()
            .filter(|k| k.kty == "RSA")
            .filter_map(|k| {
                use base64::Engine;
                let decode = |part: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok();
                let key = RsaKey { n: decode(k.n.as_deref()?)?, e: decode(k.e.as_deref()?)? };
                Some((k.kid?, key))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "https://login.example/aaaa/discovery/keys";
    const B: &str = "https://login.example/bbbb/discovery/keys";
    const C: &str = "https://login.example/cccc/discovery/keys";

    fn keys(kids: &[&str]) -> Keys {
        kids.iter().map(|kid| ((*kid).to_owned(), RsaKey { n: kid.as_bytes().to_vec(), e: vec![1, 0, 1] })).collect()
    }

    fn found(state: &State, url: &str, kid: &str, now: Instant) -> bool {
        matches!(state.lookup(url, kid, now), Lookup::Found(_))
    }

    #[test]
    fn one_set_serves_every_tenant_and_the_refresh_limit_stays_per_url() {
        let mut state = State::default();
        let now = Instant::now();
        state.store(A, keys(&["k1", "k2"]), now);
        state.store(B, keys(&["k2", "k1"]), now);
        assert_eq!(state.sets.len(), 1, "the same keys in another order are the same set");
        assert!(found(&state, C, "k1", now), "a tenant never fetched finds the known key");
        assert!(matches!(state.lookup(C, "k9", now), Lookup::MayRefresh));
        assert!(matches!(state.lookup(A, "k9", now), Lookup::Unknown));
        assert!(matches!(state.lookup(A, "k9", now + REFRESH_AT_MOST_EVERY), Lookup::MayRefresh));
    }

    #[test]
    fn a_rolled_over_set_joins_the_old_one_and_each_expires_a_day_after_it_was_last_seen() {
        let mut state = State::default();
        let now = Instant::now();
        state.store(A, keys(&["k1", "k2"]), now);
        let later = now + Duration::from_secs(3600);
        state.store(B, keys(&["k2", "k3"]), later);
        assert_eq!(state.sets.len(), 2);
        assert!(found(&state, C, "k1", later) && found(&state, C, "k3", later));
        assert!(!found(&state, C, "k1", now + KEEP_FOR), "the first set, a day after it was seen");
        assert!(found(&state, C, "k3", now + KEEP_FOR));
        assert!(!state.has_keys(later + KEEP_FOR));
        state.store(C, Keys::new(), later + KEEP_FOR);
        assert!(state.sets.is_empty(), "expired sets are dropped, an empty one is not kept");
        assert_eq!(state.fetched.len(), 1, "only the URLs fetched within the refresh limit are remembered");
    }
}
