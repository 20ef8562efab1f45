//! A fake of the Microsoft identity platform (Entra ID) and of the APIs the portal checks access to
//! (Microsoft Graph's security API, the Defender XDR API, the Defender for Endpoint API), for demos and
//! tests; it is never Microsoft.
//!
//! consent-portal's `demo` runs against it, every test runs against it, and partners rehearse an
//! onboarding with it (`consent-portal fake-entra`). It behaves as Microsoft's documented endpoints do,
//! down to parameter names, status codes, error bodies and token claims; where it has to choose (an
//! AADSTS code Microsoft's documentation does not pin down), the choice is noted beside the code.
//!
//! Parts: [`directory`] (the model: [`apis`], the table of APIs, and [`permissions`] per API) and
//! [`demo`] (the demo's directory), [`keys`] (signing keys and JWKS), [`discovery`], [`token`] (the
//! token endpoint, with the benchmark's [`token_cache`]), [`interactive`] (sign-in and consent pages,
//! in the languages of [`i18n`]), the APIs' probes ([`graph_api`], [`defender_api`], [`mde_api`], on
//! what [`api_access`] checks of every call), [`control`] (the `/_fake` API that tests and tools
//! drive), [`home`] (the page at `/`), [`server`] (plain or TLS listener) and [`cli`] (running it on
//! its own).

// Handlers here return `Result<_, Response>` to answer early with Microsoft's error; a Response is
// large, and boxing it would only add noise to a test double.
#![allow(clippy::result_large_err)]

pub mod api_access;
pub mod apis;
mod authorization;
pub mod cli;
pub mod control;
mod cookies;
pub mod defender_api;
pub mod demo;
pub mod directory;
pub mod discovery;
pub mod errors;
pub mod graph_api;
pub mod home;
pub mod i18n;
pub mod interactive;
pub mod keys;
pub mod mde_api;
pub mod permissions;
pub mod server;
mod tenant_id;
pub mod token;
pub mod token_cache;

pub use tenant_id::{TenantId, TenantIdError};

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use directory::{Directory, Faults, Tenant};
use errors::AadError;
use keys::{KeySet, SigningKey};

/// The fake, shared by its handlers.
pub struct FakeEntra {
    /// What discovery documents and issuers name, e.g. `https://127.0.0.1:9443` (no trailing slash).
    pub public_url: String,
    state: Mutex<FakeState>,
    keys: RwLock<KeySet>,
    /// Set by [`FakeEntra::cache_app_tokens`]; `None`: every app-only token is signed afresh.
    app_token_cache: Mutex<Option<token_cache::AppTokenCache>>,
}

pub type SharedFake = Arc<FakeEntra>;

/// Everything that changes while the fake runs.
#[derive(Default)]
pub struct FakeState {
    pub directory: Directory,
    /// Authorization codes not yet redeemed.
    pub codes: HashMap<String, interactive::AuthCode>,
    /// Codes already redeemed (a second redemption is AADSTS54005).
    pub redeemed_codes: VecDeque<String>,
    /// Sign-in and consent pages in progress.
    pub interactions: HashMap<String, interactive::Interaction>,
    /// The fake's browser sessions, by cookie value.
    pub sessions: HashMap<String, interactive::BrowserSession>,
    /// Refresh tokens handed out and not expired.
    pub refresh_tokens: HashMap<String, token::RefreshGrant>,
    pub auto: AutoMode,
    pub log: Vec<LogEntry>,
    /// API calls in the last minute, per tenant and endpoint (rate limits).
    pub api_calls: HashMap<(TenantId, &'static str), VecDeque<Instant>>,
}

impl Default for Directory {
    fn default() -> Self {
        Directory::empty()
    }
}

/// `PUT /_fake/auto`: while `upn` is set, authorize signs that user in without a page; while `consent`
/// is set, admin consent answers without a page (`accept`, `cancel`, or `decline` for the AADSTS65004
/// shape).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AutoMode {
    pub upn: Option<String>,
    pub consent: Option<AutoConsent>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AutoConsent {
    Accept,
    Cancel,
    Decline,
}

/// One request the fake received (`GET /_fake/log`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    pub method: String,
    pub path: String,
    pub tenant: Option<String>,
    pub grant_type: Option<String>,
    /// The status answered; 0 when the connection was dropped on purpose.
    pub status: u16,
    /// When the request arrived (RFC 3339 with milliseconds).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Set on a response by a handler, for the log: the tenant (as resolved) and the grant type.
#[derive(Debug, Clone)]
pub struct LogDetail {
    pub tenant: Option<String>,
    pub grant_type: Option<String>,
}

/// Set on a response to make the server close the connection without answering (a fault).
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// A tenant path segment, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSegment {
    Organizations,
    Common,
    Consumers,
    Tenant(TenantId),
}

impl FakeEntra {
    /// A fake with this directory, signing with a freshly generated key.
    pub fn new(public_url: &str, directory: Directory) -> anyhow::Result<SharedFake> {
        let key = SigningKey::generate()?;
        Ok(Arc::new(Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            state: Mutex::new(FakeState { directory, ..FakeState::default() }),
            keys: RwLock::new(KeySet::new(key)),
            app_token_cache: Mutex::new(None),
        }))
    }

    /// For benchmarks only, off by default: sign each app-only token once (per tenant, app, audience,
    /// credential, granted roles and signing key) and serve it again until it nears expiry, so that
    /// the fake's RSA signing does not dominate a sweep over thousands of tenants. Every check of the
    /// token request still runs; turning it off forgets the tokens kept.
    pub fn cache_app_tokens(&self, on: bool) {
        let mut cache = self.app_token_cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *cache = on.then(token_cache::AppTokenCache::default);
    }

    /// How many app-only tokens the cache of [`FakeEntra::cache_app_tokens`] holds (0 when off).
    pub fn cached_app_tokens(&self) -> usize {
        self.app_token_cache().as_ref().map_or(0, token_cache::AppTokenCache::len)
    }

    pub(crate) fn app_token_cache(&self) -> MutexGuard<'_, Option<token_cache::AppTokenCache>> {
        self.app_token_cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The mutable state. Never held across an `.await`.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn keys(&self) -> RwLockReadGuard<'_, KeySet> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Generates a new signing key and signs with it from now on.
    pub fn rotate_keys(&self) -> anyhow::Result<()> {
        let next = SigningKey::generate()?;
        self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()).rotate(next);
        // Tokens of the previous key are never served again: their entries would only take room.
        if let Some(cache) = self.app_token_cache().as_mut() {
            cache.clear();
        }
        Ok(())
    }

    pub fn directory(&self) -> Directory {
        self.state().directory.clone()
    }

    /// The part of the directory a token request needs: the APIs, this tenant and this app.
    /// (Cloning the whole directory per request would cost O(tenants) and make sweeps quadratic.)
    pub fn directory_for(&self, tenant: TenantId, client_id: &str) -> Directory {
        let state = self.state();
        let directory = &state.directory;
        Directory {
            apis: directory.apis.clone(),
            apps: directory.app(client_id).cloned().into_iter().collect(),
            tenants: directory.tenant(tenant).cloned().into_iter().collect(),
        }
    }

    /// Like [`FakeEntra::directory_for`], for the tenant of a user.
    pub fn directory_for_user(&self, user_id: &str, client_id: &str) -> Directory {
        let state = self.state();
        let directory = &state.directory;
        Directory {
            apis: directory.apis.clone(),
            apps: directory.app(client_id).cloned().into_iter().collect(),
            tenants: directory.user(user_id).map(|(tenant, _)| tenant.clone()).into_iter().collect(),
        }
    }

    /// Runs `change` on the directory.
    pub fn update_directory<T>(&self, change: impl FnOnce(&mut Directory) -> T) -> T {
        change(&mut self.state().directory)
    }

    /// The v2 issuer of a tenant: `{host}/{tid}/v2.0`.
    pub fn issuer_v2(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0", self.public_url)
    }
}

/// The v1 issuer, as Microsoft's public cloud names it whatever the sign-in host.
pub fn issuer_v1(tenant: impl std::fmt::Display) -> String {
    format!("https://sts.windows.net/{tenant}/")
}

/// Resolves a tenant path segment: a GUID, a verified domain, or `organizations`/`common`/`consumers`.
pub fn resolve_tenant(directory: &Directory, segment: &str) -> Result<TenantSegment, AadError> {
    match segment.to_ascii_lowercase().as_str() {
        "organizations" => return Ok(TenantSegment::Organizations),
        "common" => return Ok(TenantSegment::Common),
        "consumers" => return Ok(TenantSegment::Consumers),
        _ => {}
    }
    if let Ok(id) = TenantId::parse(segment) {
        return directory.tenant(id).map(|t| TenantSegment::Tenant(t.id)).ok_or_else(|| AadError::tenant_not_found(segment));
    }
    if looks_like_domain(segment) {
        return directory.tenant_by_domain(segment).map(|t| TenantSegment::Tenant(t.id)).ok_or_else(|| AadError::tenant_not_found(segment));
    }
    Err(AadError::malformed_tenant(segment))
}

fn looks_like_domain(value: &str) -> bool {
    value.contains('.')
        && value.len() <= 253
        && value
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// The faults set for a tenant, if any.
pub fn faults_of(fake: &FakeEntra, tenant: TenantId) -> Faults {
    fake.state().directory.tenant(tenant).map(|t: &Tenant| t.faults.clone()).unwrap_or_default()
}

/// The fake's whole router: the identity platform, the APIs' probes (their paths do not collide, so
/// one host serves them all) and the control API.
pub fn router(fake: SharedFake) -> Router {
    Router::new()
        .route("/", get(home::page))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(discovery::openid_configuration_v2))
        .route("/{tenant}/.well-known/openid-configuration", get(discovery::openid_configuration_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys_v2))
        .route("/{tenant}/discovery/keys", get(discovery::keys_v1))
        .route("/{tenant}/oauth2/v2.0/authorize", get(interactive::authorize_v2))
        .route("/{tenant}/oauth2/authorize", get(interactive::authorize_v1))
        .route("/{tenant}/v2.0/adminconsent", get(interactive::admin_consent))
        .route("/{tenant}/adminconsent", get(interactive::legacy_admin_consent))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token_v2))
        .route("/{tenant}/oauth2/token", post(token::token_v1))
        .route("/_fake/ui/login", post(interactive::pick_user))
        .route("/_fake/ui/consent", post(interactive::consent_decision))
        .route("/_fake/static/fake.css", get(stylesheet))
        .route("/api/incidents", get(defender_api::incidents))
        .route("/api/alerts", get(mde_api::alerts))
        .route("/v1.0/security/incidents", get(graph_api::incidents))
        .route("/v1.0/security/runHuntingQuery", post(graph_api::run_hunting_query))
        .merge(control::routes())
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not found") })
        .layer(axum::middleware::from_fn_with_state(fake.clone(), record_request))
        .layer(axum::middleware::from_fn(page_headers))
        .with_state(fake)
}

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../static/fake-entra.css"))
}

/// Headers of the fake's pages: nothing from other origins, no framing.
async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("text/html")) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    response
}

/// Records every request but those of the control API in the log.
async fn record_request(State(fake): State<SharedFake>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_fake/") {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let at = OffsetDateTime::now_utc();
    let response = next.run(request).await;
    let detail = response.extensions().get::<LogDetail>().cloned();
    let status = if response.extensions().get::<DropConnection>().is_some() { 0 } else { response.status().as_u16() };
    let tenant = detail.as_ref().and_then(|d| d.tenant.clone()).or_else(|| {
        // An identity-platform path starts with the tenant; an API's (`/api/…`, `/v1.0/…`) does not.
        let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        (!first.is_empty() && first != "api" && first != "v1.0").then(|| first.to_owned())
    });
    let entry = LogEntry { method, path, tenant, grant_type: detail.and_then(|d| d.grant_type), status, at };
    let mut state = fake.state();
    state.log.push(entry);
    // Keep the log bounded in a long demo.
    if state.log.len() > 10_000 {
        state.log.drain(..1_000);
    }
    response
}

/// Attaches the log detail to a response.
pub fn with_log_detail(mut response: Response, tenant: Option<String>, grant_type: Option<String>) -> Response {
    response.extensions_mut().insert(LogDetail { tenant, grant_type });
    response
}

/// A response that makes the server drop the connection.
pub fn dropped_connection() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

/// A random URL-safe value of 32 bytes (codes, session ids, interaction ids).
pub fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}
