use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The secret part of an onboarding link: 256 random bits from the operating system's CSPRNG,
/// base64url. Only its SHA-256 ([`InviteToken::hash`]) is stored; the token itself exists in the link
/// and nowhere else.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteToken(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an invite token")]
pub struct InviteTokenError;

impl InviteToken {
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
    }

    /// A token from a link: 43 base64url characters. Anything else cannot be ours, and is refused
    /// before the database is asked.
    pub fn parse(value: &str) -> Result<Self, InviteTokenError> {
        if value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            Ok(Self(value.to_owned()))
        } else {
            Err(InviteTokenError)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database keeps: SHA-256, hex.
    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }
}

/// A new random value of the same strength (256 bits from the operating system's CSPRNG, base64url):
/// `state` values, session bindings, CSRF tokens.
pub fn random_value() -> String {
    InviteToken::generate().0
}

/// Do two secret values match? Compared in constant time; an empty value matches nothing.
pub fn tokens_match(a: &str, b: &str) -> bool {
    !a.is_empty() && a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// SHA-256 of a secret value (invite token, `state`, nonce), hex: what is stored instead of the value.
pub fn hash_secret(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

impl fmt::Debug for InviteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_parse_back() {
        let a = InviteToken::generate();
        let b = InviteToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43, "256 bits in base64url");
        assert_eq!(InviteToken::parse(a.expose()), Ok(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn odd_values_are_refused() {
        for bad in ["", "short", &"a".repeat(44), &format!("{}+", "a".repeat(42)), "../../etc/passwd"] {
            assert_eq!(InviteToken::parse(bad), Err(InviteTokenError), "{bad}");
        }
    }
}
