//! The JWKS cache. Keys come only from the configured sign-in host's JWKS URLs (never from a token's
//! `jku`, `x5u` or `jwk` header). An unknown `kid` triggers at most one refresh a minute per URL, so a
//! flood of forged tokens cannot turn into a flood of requests to Microsoft.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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

struct Entry {
    keys: HashMap<String, RsaKey>,
    fetched_at: Instant,
}

pub struct JwksCache {
    http: reqwest::Client,
    entries: Mutex<HashMap<String, Entry>>,
    /// One fetch at a time per URL: a burst of unknown kids waits for the fetch in flight and then
    /// finds its result in the cache, rather than each fetching the JWKS.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
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
        Self { http, entries: Mutex::new(HashMap::new()), fetching: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, url: &str, kid: &str) -> (Option<RsaKey>, bool) {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(url) {
            Some(entry) => {
                let key = entry.keys.get(kid).filter(|_| entry.fetched_at.elapsed() < KEEP_FOR).cloned();
                (key, entry.fetched_at.elapsed() >= REFRESH_AT_MOST_EVERY)
            }
            None => (None, true),
        }
    }

    /// The key `kid` of the JWKS at `url`.
    pub async fn key(&self, url: &str, kid: &str) -> Result<RsaKey, JwksError> {
        let (key, may_refresh) = self.cached(url, kid);
        if let Some(key) = key {
            return Ok(key);
        }
        if !may_refresh {
            return Err(JwksError::UnknownKey(kid.to_owned()));
        }
        let gate = self.fetching.lock().unwrap_or_else(|p| p.into_inner()).entry(url.to_owned()).or_default().clone();
        let _fetching = gate.lock().await;
        // Another request may have refreshed the JWKS while this one waited.
        let (key, may_refresh) = self.cached(url, kid);
        if let Some(key) = key {
            return Ok(key);
        }
        if !may_refresh {
            return Err(JwksError::UnknownKey(kid.to_owned()));
        }
        let keys = self.fetch(url).await?;
        let key = keys.get(kid).cloned();
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).insert(url.to_owned(), Entry { keys, fetched_at: Instant::now() });
        key.ok_or_else(|| JwksError::UnknownKey(kid.to_owned()))
    }

    /// Fetches the JWKS at `url` unless a copy is cached, so that a verification soon after finds it
    /// (a check fetches the tenant's JWKS while Microsoft issues the token). Failures are left to the
    /// verification to report.
    pub async fn warm(&self, url: &str) {
        let fresh = |cache: &Self| {
            cache.entries.lock().unwrap_or_else(|p| p.into_inner()).get(url).is_some_and(|entry| entry.fetched_at.elapsed() < KEEP_FOR)
        };
        if fresh(self) {
            return;
        }
        let gate = self.fetching.lock().unwrap_or_else(|p| p.into_inner()).entry(url.to_owned()).or_default().clone();
        let _fetching = gate.lock().await;
        if fresh(self) {
            return;
        }
        if let Ok(keys) = self.fetch(url).await {
            self.entries.lock().unwrap_or_else(|p| p.into_inner()).insert(url.to_owned(), Entry { keys, fetched_at: Instant::now() });
        }
    }

    async fn fetch(&self, url: &str) -> Result<HashMap<String, RsaKey>, JwksError> {
        let response = self.http.get(url).send().await.map_err(|e| JwksError::Unreachable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(JwksError::Unreachable(format!("status {}", response.status())));
        }
        let jwks: Jwks = response.json().await.map_err(|e| JwksError::Unreachable(e.without_url().to_string()))?;
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
