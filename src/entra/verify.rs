//! Token verification (docs/security.md, the tokens the portal validates): RS256 only; keys only from the
//! tenant's JWKS at the configured host; `aud`, `iss` (the template filled with this `tid`), `tid`,
//! `exp`/`nbf` with a small leeway; a `nonce` header (Microsoft Graph) means "not verifiable".
//!
//! Microsoft Graph's access tokens are signed over a hash of their `nonce` header, which only Graph can
//! check: for them [`EntraClient::read_claims_of_unverifiable_token`] checks the same claims without the
//! signature, and the check counts such a token as proven only when Graph's probe answers 200.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::Value;
use time::OffsetDateTime;

use super::EntraClient;
use super::jwks::JwksError;
use crate::domain::{Api, TenantId, hash_secret};

/// Leeway on `exp` and `nbf`.
const LEEWAY_S: u64 = 120;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("not a JWT")]
    Malformed,
    #[error("signed with {0}, only RS256 is accepted")]
    Algorithm(String),
    #[error("a nonce header: a Microsoft Graph token, not verifiable")]
    NotVerifiable,
    #[error("the key is not in the tenant's JWKS")]
    UnknownKey,
    #[error("the JWKS could not be fetched")]
    JwksUnavailable,
    #[error("the signature is not valid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the audience is not ours")]
    Audience,
    #[error("the issuer is not the tenant's")]
    Issuer,
    #[error("the tenant is not the one expected")]
    Tenant,
    #[error("the token was issued to another application")]
    Application,
    #[error("the nonce does not match the sign-in")]
    Nonce,
    #[error("a claim is missing or malformed: {0}")]
    Claim(&'static str),
}

/// What the portal learns from a verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub tenant_id: TenantId,
    pub object_id: String,
    pub upn: Option<String>,
    pub name: Option<String>,
    pub roles: Vec<String>,
}

/// The payload of a compact JWS, which must be a JSON object.
fn payload_claims(token: &str) -> Result<Value, VerifyError> {
    let payload = token.split('.').nth(1).ok_or(VerifyError::Malformed)?;
    URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(Value::is_object)
        .ok_or(VerifyError::Malformed)
}

/// The token's own `tid` (not verified yet), to know which tenant's keys and issuer to check it against.
fn claimed_tenant(claims: &Value) -> Result<TenantId, VerifyError> {
    let tid = claims.get("tid").and_then(Value::as_str).ok_or(VerifyError::Claim("tid"))?;
    TenantId::parse(tid).map_err(|_| VerifyError::Claim("tid"))
}

/// `exp` (required) and `nbf` (when present) with the leeway, `aud` (required; one of `audiences`, as a
/// string or in an array) and a present `iss` — as jsonwebtoken's validation does. Audiences compare
/// exactly: `https://graph.microsoft.com/` is not `https://graph.microsoft.com`.
fn check_time_and_audience(claims: &Value, audiences: &[&str], now: i64) -> Result<(), VerifyError> {
    let number = |name: &str| -> Result<Option<f64>, VerifyError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value.as_f64().map(Some).ok_or(VerifyError::Malformed),
        }
    };
    let leeway = LEEWAY_S as f64;
    let now = now as f64;
    let exp = number("exp")?.ok_or(VerifyError::Malformed)?;
    if exp < now - leeway {
        return Err(VerifyError::Expired);
    }
    if number("nbf")?.is_some_and(|nbf| nbf > now + leeway) {
        return Err(VerifyError::NotYetValid);
    }
    if claims.get("iss").is_none() {
        return Err(VerifyError::Malformed);
    }
    let audience_ok = match claims.get("aud") {
        None => return Err(VerifyError::Malformed),
        Some(Value::String(aud)) => audiences.contains(&aud.as_str()),
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str().is_some_and(|aud| audiences.contains(&aud))),
        Some(_) => false,
    };
    if !audience_ok {
        return Err(VerifyError::Audience);
    }
    Ok(())
}

impl EntraClient {
    /// Verifies a token's header and signature with the key of `jwks_url`, and the time and audience of
    /// its `claims` (its payload, decoded once by the caller); returns them for the caller's own checks.
    async fn verified_claims(&self, token: &str, claims: Value, jwks_url: &str, audiences: &[&str]) -> Result<Value, VerifyError> {
        // A JWS in compact form has exactly three parts: header, payload, signature.
        if token.split('.').count() != 3 {
            return Err(VerifyError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.nonce.is_some() || header.extras.inner().contains_key("nonce") {
            return Err(VerifyError::NotVerifiable);
        }
        if header.alg != Algorithm::RS256 {
            return Err(VerifyError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
        let key = self.jwks.key(jwks_url, &kid).await.map_err(|e| match e {
            JwksError::UnknownKey(_) => VerifyError::UnknownKey,
            JwksError::Unreachable(_) => VerifyError::JwksUnavailable,
        })?;
        // The signature, over the token's own first two parts, with the JWKS key (through `ring`).
        let (signing_input, signature) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')).map_err(|_| VerifyError::Signature)?;
        if !key.verifies(signing_input.as_bytes(), &signature) {
            return Err(VerifyError::Signature);
        }
        check_time_and_audience(&claims, audiences, OffsetDateTime::now_utc().unix_timestamp())?;
        Ok(claims)
    }

    /// Verifies a sign-in's ID token: signature (the tenant's v2 JWKS), `iss` =
    /// `{host}/{tid}/v2.0`, `aud` = our client id, `exp`, and `nonce` = the one this sign-in sent (its
    /// hash is what the session keeps).
    pub async fn verify_id_token(&self, token: &str, nonce_hash: &str) -> Result<IdTokenClaims, VerifyError> {
        let claims = payload_claims(token)?;
        let tenant = claimed_tenant(&claims)?;
        let jwks_url = format!("{}/{tenant}/discovery/v2.0/keys", self.authority);
        let claims = self.verified_claims(token, claims, &jwks_url, &[&self.client_id]).await?;
        if claims.get("iss").and_then(Value::as_str) != Some(format!("{}/{tenant}/v2.0", self.authority).as_str()) {
            return Err(VerifyError::Issuer);
        }
        let nonce = claims.get("nonce").and_then(Value::as_str).ok_or(VerifyError::Nonce)?;
        if hash_secret(nonce) != nonce_hash {
            return Err(VerifyError::Nonce);
        }
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(IdTokenClaims {
            tenant_id: tenant,
            object_id: text("oid").ok_or(VerifyError::Claim("oid"))?,
            upn: text("preferred_username").or_else(|| text("upn")),
            name: text("name"),
            roles: claims
                .get("roles")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    }

    /// Fetches `tenant`'s JWKS (for access tokens) unless it is cached.
    pub async fn warm_access_token_keys(&self, tenant: TenantId) {
        self.jwks.warm(&format!("{}/{tenant}/discovery/keys", self.authority)).await;
    }

    /// Verifies an access token issued to this app for `resource` (an URI of `api`) in `expected_tenant`
    /// (or, when `None`, in whichever tenant its `tid` names — the v1 consent flow learns the tenant this
    /// way): signature (the tenant's JWKS), `aud` = the resource exactly as asked for or the API's app id
    /// (v2 tokens carry the GUID), `iss` = `https://sts.windows.net/{tid}/` (or the v2 issuer), `appid`
    /// (or `azp`) = our client id. Returns the tenant and the claims.
    pub async fn verify_access_token(
        &self,
        token: &str,
        expected_tenant: Option<TenantId>,
        api: Api,
        resource: &str,
    ) -> Result<(TenantId, Value), VerifyError> {
        let claims = payload_claims(token)?;
        let tenant = claimed_tenant(&claims)?;
        if expected_tenant.is_some_and(|expected| expected != tenant) {
            return Err(VerifyError::Tenant);
        }
        let jwks_url = format!("{}/{tenant}/discovery/keys", self.authority);
        let claims = self.verified_claims(token, claims, &jwks_url, &[resource, api.app_id()]).await?;
        self.check_issuer_and_application(&claims, tenant)?;
        Ok((tenant, claims))
    }

    /// The claims of a token whose signature a client cannot check (Microsoft Graph's, signed over a
    /// hashed nonce), checked as [`EntraClient::verify_access_token`] checks them, signature aside: a
    /// compact JWS of three parts, RS256 declared, `tid` = `tenant`, `aud`, `iss`, `appid`, `exp`, `nbf`.
    /// Such claims are what the token says, not a proof: the caller proves the access with the API.
    pub fn read_claims_of_unverifiable_token(&self, token: &str, tenant: TenantId, api: Api, resource: &str) -> Result<Value, VerifyError> {
        if token.split('.').count() != 3 {
            return Err(VerifyError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(VerifyError::Algorithm(format!("{:?}", header.alg)));
        }
        let claims = payload_claims(token)?;
        if claimed_tenant(&claims)? != tenant {
            return Err(VerifyError::Tenant);
        }
        check_time_and_audience(&claims, &[resource, api.app_id()], OffsetDateTime::now_utc().unix_timestamp())?;
        self.check_issuer_and_application(&claims, tenant)?;
        Ok(claims)
    }

    /// `iss` is the tenant's (v1 or v2 form) and `appid` (v1) or `azp` (v2) is this app.
    fn check_issuer_and_application(&self, claims: &Value, tenant: TenantId) -> Result<(), VerifyError> {
        let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
        let accepted_issuers = [
            format!("https://sts.windows.net/{tenant}/"),
            format!("{}/{tenant}/v2.0", self.authority),
            format!("{}/{tenant}/", self.authority),
        ];
        if !accepted_issuers.iter().any(|accepted| accepted == issuer) {
            return Err(VerifyError::Issuer);
        }
        let app = claims.get("appid").or_else(|| claims.get("azp")).and_then(Value::as_str);
        if app.map(str::to_ascii_lowercase) != Some(self.client_id.to_ascii_lowercase()) {
            return Err(VerifyError::Application);
        }
        Ok(())
    }
}
