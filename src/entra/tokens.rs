//! Token requests: app-only tokens (client credentials, v2 `scope`), and redeeming codes (sign-in, and
//! the v1 consent link). The client authenticates with its secret, or with a certificate assertion
//! (PS256, `x5t#S256`, `aud` = the token endpoint, a new `jti`, ten minutes).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::RsaKeyPair;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::EntraClient;
use crate::config::{ClientCredential, TokenVersion};
use crate::domain::TenantId;

/// A token request that did not give a token: what Microsoft said (never the raw description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// HTTP status; 0 when Microsoft could not be reached.
    pub status: u16,
    /// The OAuth `error` value.
    pub error: String,
    pub aadsts: Option<u32>,
    pub trace_id: Option<String>,
    /// Seconds, when Microsoft asked to wait.
    pub retry_after_s: Option<u64>,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.aadsts {
            Some(code) => write!(f, "{} (AADSTS{code}, HTTP {})", self.error, self.status),
            None => write!(f, "{} (HTTP {})", self.error, self.status),
        }
    }
}

/// An app-only token, with what the check needs of it. The raw token stays in memory only.
pub struct AppToken {
    pub raw: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_codes: Option<Vec<u32>>,
    error_description: Option<String>,
    trace_id: Option<String>,
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    id_token: Option<String>,
}

/// The tokens of a redeemed code.
pub struct RedeemedTokens {
    pub access_token: Option<String>,
    pub id_token: Option<String>,
}

impl EntraClient {
    fn client_authentication(
        &self,
        credential: &ClientCredential,
        token_endpoint: &str,
    ) -> Result<Vec<(&'static str, String)>, TokenError> {
        match credential {
            ClientCredential::Secret(secret) => Ok(vec![("client_secret", secret.expose().to_owned())]),
            ClientCredential::Certificate { certificate_pem, key_pem } => {
                let failure = |what: &str| TokenError {
                    status: 0,
                    error: format!("certificate credential: {what}"),
                    aadsts: None,
                    trace_id: None,
                    retry_after_s: None,
                };
                let certificate = CertificateDer::from_pem_slice(certificate_pem.as_bytes()).map_err(|_| failure("no certificate"))?;
                let key = rsa_key_pair(key_pem.expose()).ok_or_else(|| failure("the key is not an RSA key"))?;
                let header = json!({
                    "alg": "PS256", "typ": "JWT",
                    "x5t#S256": URL_SAFE_NO_PAD.encode(Sha256::digest(certificate.as_ref())),
                });
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let claims = json!({
                    "aud": token_endpoint, "iss": self.client_id, "sub": self.client_id,
                    "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600,
                });
                let assertion = sign_ps256(&header, &claims, &key).ok_or_else(|| failure("cannot sign the assertion"))?;
                Ok(vec![
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into()),
                    ("client_assertion", assertion),
                ])
            }
        }
    }

    /// Posts to the token endpoint with the credential in use; when Microsoft refuses that credential
    /// as unknown or expired, with each other one in turn (`super::credentials`).
    async fn post_token(&self, endpoint: &str, form: Vec<(&'static str, String)>) -> Result<TokenBody, TokenError> {
        let chain = &self.credentials;
        let first = chain.current();
        let mut last_error = None;
        for step in 0..chain.len() {
            let index = (first + step) % chain.len();
            let Some(credential) = chain.get(index) else { break };
            match self.post_token_with(&credential.credential, endpoint, form.clone()).await {
                Ok(body) => {
                    chain.worked(index);
                    return Ok(body);
                }
                Err(error) if super::credentials::is_refused_credential(error.aadsts) && step + 1 < chain.len() => {
                    chain.refused(index, error.aadsts);
                    last_error = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or(TokenError {
            status: 0,
            error: "no client credential configured".into(),
            aadsts: None,
            trace_id: None,
            retry_after_s: None,
        }))
    }

    async fn post_token_with(
        &self,
        credential: &ClientCredential,
        endpoint: &str,
        mut form: Vec<(&'static str, String)>,
    ) -> Result<TokenBody, TokenError> {
        form.push(("client_id", self.client_id.clone()));
        form.extend(self.client_authentication(credential, endpoint)?);
        let unreachable = |error: String| TokenError { status: 0, error, aadsts: None, trace_id: None, retry_after_s: None };
        let grant_type = form.iter().find(|(name, _)| *name == "grant_type").map(|(_, value)| value.clone()).unwrap_or_default();
        let started = std::time::Instant::now();
        let response = self
            .http
            .post(endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| unreachable(if e.is_timeout() { "timeout".into() } else { format!("unreachable: {}", e.without_url()) }));
        crate::metrics::observe_token_request(&grant_type, started.elapsed());
        let response = response?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            crate::metrics::count_throttled("token");
        }
        let retry_after_s =
            response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        let body = response.bytes().await.map_err(|e| unreachable(format!("unreadable answer: {}", e.without_url())))?;
        if status.is_success() {
            return serde_json::from_slice::<TokenBody>(&body).map_err(|_| TokenError {
                status: status.as_u16(),
                error: "invalid_response".into(),
                aadsts: None,
                trace_id: None,
                retry_after_s,
            });
        }
        let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        let error = TokenError {
            status: status.as_u16(),
            error: parsed
                .as_ref()
                .and_then(|b| b.error.clone())
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_ascii_lowercase().replace(' ', "_")),
            aadsts: parsed.as_ref().and_then(|b| {
                b.error_codes
                    .as_ref()
                    .and_then(|c| c.first().copied())
                    .or_else(|| b.error_description.as_deref().and_then(crate::domain::aadsts::code_in))
            }),
            trace_id: parsed.and_then(|b| b.trace_id).filter(|t| t.len() <= 64 && t.chars().all(|c| c.is_ascii_hexdigit() || c == '-')),
            retry_after_s,
        };
        Err(error)
    }

    /// A fresh app-only token for `resource` in `tenant` (never cached: a cached token would hide a
    /// revocation).
    pub async fn app_only_token(&self, tenant: TenantId, resource: &str) -> Result<AppToken, TokenError> {
        let (endpoint, form) = match self.token_version {
            TokenVersion::V2 => (
                format!("{}/{tenant}/oauth2/v2.0/token", self.authority),
                vec![("grant_type", "client_credentials".to_owned()), ("scope", format!("{resource}/.default"))],
            ),
            TokenVersion::V1 => (
                format!("{}/{tenant}/oauth2/token", self.authority),
                vec![("grant_type", "client_credentials".to_owned()), ("resource", resource.to_owned())],
            ),
        };
        let body = self.post_token(&endpoint, form).await?;
        body.access_token.map(|raw| AppToken { raw }).ok_or(TokenError {
            status: 200,
            error: "invalid_response".into(),
            aadsts: None,
            trace_id: None,
            retry_after_s: None,
        })
    }

    /// Redeems a sign-in code (with its PKCE verifier) at `{tenant}`'s v2 token endpoint.
    pub async fn redeem_sign_in_code(&self, tenant: &str, code: &str, pkce_verifier: &str) -> Result<RedeemedTokens, TokenError> {
        let endpoint = format!("{}/{tenant}/oauth2/v2.0/token", self.authority);
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", self.sign_in_redirect_uri()),
            ("code_verifier", pkce_verifier.to_owned()),
            ("scope", "openid profile".to_owned()),
        ];
        let body = self.post_token(&endpoint, form).await?;
        Ok(RedeemedTokens { access_token: body.access_token, id_token: body.id_token })
    }

    /// Redeems the code of the v1 consent link at `/common/oauth2/token`.
    pub async fn redeem_v1_consent_code(&self, code: &str) -> Result<RedeemedTokens, TokenError> {
        let endpoint = format!("{}/common/oauth2/token", self.authority);
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", self.consent_redirect_uri()),
            ("resource", self.consent_resource.clone()),
        ];
        let body = self.post_token(&endpoint, form).await?;
        Ok(RedeemedTokens { access_token: body.access_token, id_token: body.id_token })
    }
}

/// The RSA key of a PEM private key (PKCS#8 or PKCS#1).
fn rsa_key_pair(pem: &str) -> Option<RsaKeyPair> {
    match PrivateKeyDer::from_pem_slice(pem.as_bytes()).ok()? {
        PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).ok(),
        PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()).ok(),
        _ => None,
    }
}

/// A JWS in compact form, signed RSASSA-PSS with SHA-256 (PS256) through `ring`.
fn sign_ps256(header: &serde_json::Value, claims: &serde_json::Value, key: &RsaKeyPair) -> Option<String> {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).ok()?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).ok()?)
    );
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PSS_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature).ok()?;
    Some(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    use rsa::traits::PublicKeyParts;

    use super::*;

    /// The assertion is signed as a certificate credential's key comes: PKCS#8 or the older PKCS#1 PEM.
    #[test]
    fn assertions_are_ps256_with_a_pkcs8_or_pkcs1_key_and_other_keys_are_refused() {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let public = ring::signature::RsaPublicKeyComponents { n: private.n().to_bytes_be(), e: private.e().to_bytes_be() };
        let pkcs8 = private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let pkcs1 = private.to_pkcs1_pem(LineEnding::LF).unwrap().to_string();
        let header = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": "abc"});
        let claims = json!({"aud": "https://login.example/t/oauth2/v2.0/token", "iss": "app", "sub": "app"});
        for pem in [&pkcs8, &pkcs1] {
            let token = sign_ps256(&header, &claims, &rsa_key_pair(pem).unwrap()).unwrap();
            let (signing_input, signature) = token.rsplit_once('.').unwrap();
            let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
            public.verify(&ring::signature::RSA_PSS_2048_8192_SHA256, signing_input.as_bytes(), &signature).unwrap();
            let (encoded_header, encoded_claims) = signing_input.split_once('.').unwrap();
            let decoded = |part: &str| serde_json::from_slice::<serde_json::Value>(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap();
            assert_eq!(decoded(encoded_header), header);
            assert_eq!(decoded(encoded_claims), claims);
        }
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap().serialize_pem();
        assert!(rsa_key_pair(&ec).is_none());
        assert!(rsa_key_pair("not a key").is_none());
    }
}
