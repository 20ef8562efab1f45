//! The Microsoft identity platform client: every URL and rule of Microsoft's protocol the portal uses
//! (docs/microsoft-protocol.md). Sign-in (authorization code with PKCE and nonce), admin consent links (v2 and
//! the v1 link of Microsoft's partner page), token requests (client secret or certificate assertion),
//! the JWKS cache, and token verification.
//!
//! The HTTP client follows no redirects, has connect and total timeouts, and talks only to the
//! configured sign-in host.

pub mod credentials;
pub mod jwks;
pub mod probe;
pub mod redirect;
pub mod tokens;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope};
use serde::Deserialize;

use crate::config::{Config, TokenVersion};
use crate::domain::{Api, Cloud, RoleName, TenantId};

pub use redirect::{Answer, MicrosoftError, PendingSignIn, SignInPurpose};
pub use tokens::{AppToken, TokenError};
pub use verify::{IdTokenClaims, VerifyError};

/// How long a token request or a JWKS fetch may take in all.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The client, shared by handlers and checks.
#[derive(Clone)]
pub struct EntraClient {
    pub(crate) http: reqwest::Client,
    /// The sign-in host, without a trailing slash.
    pub(crate) authority: String,
    pub(crate) client_id: String,
    /// The app's credentials, tried newest valid first.
    pub(crate) credentials: Arc<credentials::CredentialChain>,
    /// The API and resource the admin-consent request names (one `/.default` consents to everything
    /// configured on the app registration, across APIs); the v1 flow's code is redeemed for it.
    pub(crate) consent_api: Api,
    pub(crate) consent_resource: String,
    pub(crate) cloud: Cloud,
    pub(crate) public_url: String,
    pub(crate) token_version: TokenVersion,
    /// Where the probes go instead of each API's host (`PORTAL_API_BASE`), without a trailing slash.
    pub(crate) api_base: Option<String>,
    pub(crate) jwks: Arc<jwks::JwksCache>,
}

/// A sign-in request: the URL to send the browser to, and what the callback must check.
pub struct SignInRequest {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("the sign-in host did not answer: {0}")]
    Unreachable(String),
    #[error("Microsoft does not know the domain {0}")]
    UnknownDomain(String),
    #[error("the discovery document for {0} names no tenant")]
    NoTenant(String),
}

impl EntraClient {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let http = http_client()?;
        let consent_api = crate::config::consent_api(&config.required);
        let consent_resource = config
            .required
            .iter()
            .find(|required| required.api == consent_api)
            .map(|required| required.resource.clone())
            .unwrap_or_default();
        Ok(Self {
            authority: config.authority().to_owned(),
            client_id: config.client_id.clone(),
            credentials: Arc::new(credentials::CredentialChain::new(&config.credentials, time::OffsetDateTime::now_utc())),
            consent_api,
            consent_resource,
            cloud: config.cloud(),
            public_url: config.public_url_for(""),
            token_version: config.checks.token_version,
            api_base: config.api_base.as_ref().map(|base| base.as_str().trim_end_matches('/').to_owned()),
            jwks: Arc::new(jwks::JwksCache::new(http.clone())),
            http,
        })
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// `{public}/auth/callback`: where sign-ins return.
    pub fn sign_in_redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.public_url)
    }

    /// `{public}/consent/callback`: where admin consent returns.
    pub fn consent_redirect_uri(&self) -> String {
        format!("{}/consent/callback", self.public_url)
    }

    /// OpenID Connect sign-in against `tenant` (`organizations`, or a tenant id), with PKCE (S256),
    /// a nonce and a state. `select_account` makes Microsoft ask which account, for "sign in again".
    /// `ui_locales` (OpenID Connect's parameter, e.g. `it`) asks Microsoft to show its sign-in pages in
    /// the customer's language; without it Microsoft follows the browser's.
    pub fn sign_in(
        &self,
        tenant: &str,
        login_hint: Option<&str>,
        select_account: bool,
        ui_locales: Option<&str>,
    ) -> anyhow::Result<SignInRequest> {
        let auth_url = AuthUrl::new(format!("{}/{tenant}/oauth2/v2.0/authorize", self.authority))?;
        let client = oauth2::basic::BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(auth_url)
            .set_redirect_uri(RedirectUrl::new(self.sign_in_redirect_uri())?);
        let (challenge, verifier): (PkceCodeChallenge, PkceCodeVerifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random();
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", nonce.secret())
            .add_extra_param("response_mode", "query");
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint);
        }
        if select_account {
            request = request.add_extra_param("prompt", "select_account");
        }
        if let Some(locales) = ui_locales {
            request = request.add_extra_param("ui_locales", locales);
        }
        let (url, state) = request.url();
        Ok(SignInRequest {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// The v2 admin-consent link for a proven tenant.
    pub fn admin_consent_url(&self, tenant: TenantId, state: &str) -> String {
        let mut url = url::Url::parse(&format!("{}/{tenant}/v2.0/adminconsent", self.authority)).unwrap_or_else(|_| self.authority_url());
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.consent_redirect_uri())
            .append_pair("scope", &format!("{}/.default", self.consent_resource))
            .append_pair("state", state);
        url.to_string()
    }

    /// The v1 link of Microsoft's partner page, with our redirect and a state: consent in one step; the
    /// tenant is proven when the returned code is redeemed.
    pub fn v1_consent_url(&self, state: &str) -> String {
        let mut url = url::Url::parse(&format!("{}/common/oauth2/authorize", self.authority)).unwrap_or_else(|_| self.authority_url());
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &self.consent_redirect_uri())
            .append_pair("resource", &self.consent_resource)
            .append_pair("prompt", "admin_consent")
            .append_pair("state", state);
        url.to_string()
    }

    fn authority_url(&self) -> url::Url {
        url::Url::parse(&self.authority).unwrap_or_else(|_| url::Url::parse("https://login.microsoftonline.com").expect("a valid URL"))
    }

    /// Resolves a verified domain to its tenant id (see [`resolve_domain`]).
    pub async fn resolve_domain(&self, domain: &str) -> Result<TenantId, DiscoveryError> {
        resolve_domain(&self.http, &self.authority, domain).await
    }
}

/// A client for the sign-in host: no redirects, connect and total timeouts.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("consent-portal/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Resolves a verified domain to its tenant id through the discovery document, whose issuer names the
/// tenant GUID (`{authority}/{domain}/v2.0/.well-known/openid-configuration`).
pub async fn resolve_domain(http: &reqwest::Client, authority: &str, domain: &str) -> Result<TenantId, DiscoveryError> {
    #[derive(Deserialize)]
    struct Discovery {
        issuer: String,
    }
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain.contains('.')
        && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid {
        return Err(DiscoveryError::UnknownDomain(domain.to_owned()));
    }
    let url = format!("{authority}/{domain}/v2.0/.well-known/openid-configuration");
    let response = http.get(&url).send().await.map_err(|e| DiscoveryError::Unreachable(e.without_url().to_string()))?;
    if response.status().is_client_error() {
        return Err(DiscoveryError::UnknownDomain(domain.to_owned()));
    }
    if !response.status().is_success() {
        return Err(DiscoveryError::Unreachable(format!("status {}", response.status())));
    }
    let discovery: Discovery = response.json().await.map_err(|e| DiscoveryError::Unreachable(e.without_url().to_string()))?;
    let tenant = discovery.issuer.trim_end_matches('/').trim_end_matches("/v2.0").rsplit('/').next().unwrap_or_default().to_owned();
    TenantId::parse(&tenant).map_err(|_| DiscoveryError::NoTenant(domain.to_owned()))
}

/// The roles a token carries that are among the required ones, and those missing. A `roles` claim that
/// is absent, empty or not an array means every role is missing.
pub fn roles_diff(required: &[RoleName], roles_claim: Option<&serde_json::Value>) -> (Vec<String>, Vec<String>) {
    let granted: Vec<&str> =
        roles_claim.and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|r| r.as_str()).collect()).unwrap_or_default();
    let (present, missing): (Vec<&RoleName>, Vec<&RoleName>) = required.iter().partition(|role| granted.contains(&role.as_str()));
    (present.into_iter().map(ToString::to_string).collect(), missing.into_iter().map(ToString::to_string).collect())
}
