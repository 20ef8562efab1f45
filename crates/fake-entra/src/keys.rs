//! The fake's token-signing keys: RSA 2048, each with a self-signed certificate, published in the JWKS
//! the way Microsoft publishes them (`kid` = `x5t` = base64url SHA-1 of the certificate, `x5c`, `n`, `e`).
//! A rollover (`POST /_fake/keys/rotate`) signs with a new key and keeps publishing the previous one.
//!
//! Microsoft Graph access tokens are signed differently, as Microsoft signs them: their header carries a
//! `nonce`, and the signature covers the header with the base64url SHA-256 of that nonce in its place.
//! Only Graph (here, [`signed_input`]) knows to undo that; a standard JWT library fails on them.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Serialize;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// One signing key with its certificate. Signing goes through `ring` (several times faster than a
/// pure-Rust RSA): the fake signs a token for every check of a sweep over thousands of tenants.
pub struct SigningKey {
    pub kid: String,
    signer: ring::signature::RsaKeyPair,
    public: RsaPublicKey,
    certificate_der: Vec<u8>,
}

impl SigningKey {
    /// Generates a key and its certificate. Takes a moment: call it outside any lock.
    pub fn generate() -> anyhow::Result<Self> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
        let pkcs8 = private.to_pkcs8_der()?;
        let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_bytes().into(), &rcgen::PKCS_RSA_SHA256)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CommonName, "accounts.accesscontrol.windows.net");
        let certificate = params.self_signed(&key_pair)?;
        let certificate_der = certificate.der().to_vec();
        let kid = URL_SAFE_NO_PAD.encode(Sha1::digest(&certificate_der));
        let signer = ring::signature::RsaKeyPair::from_pkcs8(pkcs8.as_bytes()).map_err(|e| anyhow::anyhow!("ring refused the key: {e}"))?;
        Ok(Self { kid, signer, public: private.to_public_key(), certificate_der })
    }

    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_rsa_raw_components(&self.public.n().to_bytes_be(), &self.public.e().to_bytes_be())
    }

    /// Checks an RS256 signature made by this key (through `ring`, as signing).
    pub fn verifies(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        let public = ring::signature::RsaPublicKeyComponents { n: self.public.n().to_bytes_be(), e: self.public.e().to_bytes_be() };
        public.verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, signing_input, signature).is_ok()
    }

    /// The JWKS entry, as Microsoft publishes it; `issuer` is the v2 issuer template of the tenant.
    pub fn jwk(&self, issuer: &str) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
            "x5c": [STANDARD.encode(&self.certificate_der)],
            "issuer": issuer,
        })
    }
}

/// The keys the fake publishes; the first one signs.
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    pub fn new(first: SigningKey) -> Self {
        Self { keys: vec![first] }
    }

    /// Signs with `next` from now on; the previous signing key stays published (tokens it signed stay
    /// valid), older ones are withdrawn.
    pub fn rotate(&mut self, next: SigningKey) {
        self.keys.insert(0, next);
        self.keys.truncate(2);
    }

    pub fn current(&self) -> &SigningKey {
        &self.keys[0]
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn jwks(&self, issuer: &str) -> Value {
        json!({ "keys": self.keys.iter().map(|k| k.jwk(issuer)).collect::<Vec<_>>() })
    }

    /// Signs claims RS256 with the current key; the header carries `typ`, `alg`, `x5t` and `kid`, in
    /// Microsoft's order.
    pub fn sign(&self, claims: &impl Serialize) -> anyhow::Result<String> {
        self.sign_parts(claims, None)
    }

    /// Signs like a Microsoft Graph access token: the header carries a random `nonce`, and the
    /// signature covers the header with that nonce replaced by its hash ([`hashed_nonce`]), so a
    /// client verifying the token as received fails, as it does against Microsoft's.
    pub fn sign_with_nonce_header(&self, claims: &impl Serialize) -> anyhow::Result<String> {
        let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        self.sign_parts(claims, Some(&nonce))
    }

    fn sign_parts(&self, claims: &impl Serialize, nonce: Option<&str>) -> anyhow::Result<String> {
        let (sent, signed) = self.unsigned_parts(claims, nonce)?;
        let signature = self.signature_over(&signed)?;
        Ok(format!("{sent}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// A token's first two parts as sent, and what its signature covers (the same, but for a Graph
    /// token's hashed nonce), for the current key.
    pub fn unsigned_parts(&self, claims: &impl Serialize, nonce: Option<&str>) -> anyhow::Result<(String, String)> {
        let kid = self.current().kid.as_str();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?);
        let header = |nonce: Option<&str>| -> anyhow::Result<String> {
            let header = Header { typ: "JWT", nonce, alg: "RS256", x5t: kid, kid };
            Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?))
        };
        let sent = format!("{}.{payload}", header(nonce)?);
        let signed = match nonce {
            Some(nonce) => format!("{}.{payload}", header(Some(&hashed_nonce(nonce)))?),
            None => sent.clone(),
        };
        Ok((sent, signed))
    }

    /// The RS256 signature of `signing_input` by the current key.
    pub fn signature_over(&self, signing_input: &str) -> anyhow::Result<Vec<u8>> {
        let key = self.current();
        let mut signature = vec![0; key.signer.public().modulus_len()];
        key.signer
            .sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
        Ok(signature)
    }
}

/// A JWT header as Microsoft writes an access token's: `typ`, a Graph token's `nonce`, `alg`, `x5t`,
/// `kid`, in that order (a struct, so the order holds whatever serde_json's map does).
#[derive(Serialize)]
struct Header<'a> {
    typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    alg: &'a str,
    x5t: &'a str,
    kid: &'a str,
}

/// What stands for a Graph token's nonce in the header its signature covers: the base64url (no
/// padding) SHA-256 of the nonce as sent.
pub fn hashed_nonce(nonce: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(nonce.as_bytes()))
}

/// What a token's signature covers: its first two parts, or, when its header carries a `nonce`, the
/// header with that nonce replaced by [`hashed_nonce`] (how Graph checks its own tokens). `None` for
/// a token that is not three base64url parts with a JSON header.
pub fn signed_input(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    let header_json = String::from_utf8(URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let parsed: Value = serde_json::from_str(&header_json).ok()?;
    let Some(nonce) = parsed.get("nonce") else {
        return Some(format!("{header}.{payload}"));
    };
    let nonce = nonce.as_str()?;
    let sent = format!("\"nonce\":{}", serde_json::to_string(nonce).ok()?);
    if header_json.matches(&sent).count() != 1 {
        return None;
    }
    let signed = header_json.replacen(&sent, &format!("\"nonce\":\"{}\"", hashed_nonce(nonce)), 1);
    Some(format!("{}.{payload}", URL_SAFE_NO_PAD.encode(signed)))
}

/// An unsigned token (`alg: none`), as the v1 token endpoint returns its ID token.
pub fn unsigned_token(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"none"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_token_verifies_only_over_the_hashed_nonce() {
        let keys = KeySet::new(SigningKey::generate().unwrap());
        let token = keys.sign_with_nonce_header(&json!({"aud": "https://graph.microsoft.com"})).unwrap();
        let (as_received, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let key = keys.current();
        assert!(!key.verifies(as_received.as_bytes(), &signature));
        assert!(key.verifies(signed_input(&token).unwrap().as_bytes(), &signature));

        let plain = keys.sign(&json!({"aud": "https://api.security.microsoft.com"})).unwrap();
        let (input, signature) = plain.rsplit_once('.').unwrap();
        assert_eq!(signed_input(&plain).unwrap(), input);
        assert!(key.verifies(input.as_bytes(), &URL_SAFE_NO_PAD.decode(signature).unwrap()));
        assert_eq!(signed_input("not.a-token"), None);
    }
}
