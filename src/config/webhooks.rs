//! The webhook settings: where events go (`PORTAL_WEBHOOK_URLS`, checked) and the key they are signed
//! with (`PORTAL_WEBHOOK_SECRET`, a Standard Webhooks secret). The `webhooks` module delivers with them.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use url::Url;

use super::{ConfigError, is_loopback_host, problem};

/// The prefix Standard Webhooks secrets are shown with; accepted, not required.
pub const SECRET_PREFIX: &str = "whsec_";

/// Bytes of a secret, decoded: the range the Standard Webhooks specification asks for.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// One configured receiver.
#[derive(Clone)]
pub struct WebhookEndpoint {
    /// The URL events are posted to. It may carry a token (in its path or query), so it is never
    /// logged, shown or stored: `key` and `origin` stand for it.
    url: Url,
    /// A stable name for the URL, stored with each delivery: the hex SHA-256 of the URL, shortened.
    pub key: String,
    /// `scheme://host[:port]`, shown to staff.
    pub origin: String,
}

impl WebhookEndpoint {
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = Url::parse(value.trim()).map_err(|e| format!("{:?} is not an absolute URL ({e})", origin_of_text(value)))?;
        let origin = url.origin().ascii_serialization();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("the URL of {origin} must not carry a user name or password"));
        }
        if url.fragment().is_some() {
            return Err(format!("the URL of {origin} must not have a fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(url.host()) => {}
            "http" => {
                return Err(format!(
                    "{origin} must use https: plain http is accepted only for a loopback host such as 127.0.0.1 (events carry \
                     customer names and are signed, not encrypted)"
                ));
            }
            other => return Err(format!("must be https URLs, not {other}:")),
        }
        let digest = hex::encode(Sha256::digest(url.as_str().as_bytes()));
        Ok(Self { key: digest[..32].to_owned(), origin, url })
    }

    /// The URL itself, for the request only.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

/// What an unparsable value is called in the error: never the whole value, which may hold a token.
fn origin_of_text(value: &str) -> String {
    value.trim().split(['/', '?']).take(3).collect::<Vec<_>>().join("/")
}

impl fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookEndpoint({} #{})", self.origin, self.key)
    }
}

/// The signing key, decoded from base64. `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// `whsec_` followed by base64 (standard alphabet, padding optional), or the base64 alone: the form
    /// the Standard Webhooks libraries generate and accept.
    pub fn parse(value: &str) -> Result<Self, String> {
        let encoded = value.trim();
        let encoded = encoded.strip_prefix(SECRET_PREFIX).unwrap_or(encoded);
        let encoded = encoded.trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .map_err(|_| "is not base64 (with or without the whsec_ prefix)".to_owned())?;
        if !SECRET_BYTES.contains(&bytes.len()) {
            return Err(format!(
                "must decode to {} to {} bytes, not {}: generate one with `echo whsec_$(openssl rand -base64 32)`",
                SECRET_BYTES.start(),
                SECRET_BYTES.end(),
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }

    /// The key itself, for signing only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as the Standard Webhooks libraries take it (`whsec_` + base64): for tests.
    pub fn to_whsec(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The webhook settings of the configuration. Off (no endpoint) by default.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub endpoints: Vec<WebhookEndpoint>,
    pub secret: Option<WebhookSecret>,
    /// The wait after the first failed attempt; it grows four-fold per attempt up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How long an event is retried before it is given up (`failed`).
    pub give_up_after: Duration,
    /// How long one attempt may take, connection included.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            secret: None,
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(2 * 3600),
            give_up_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookSettings {
    /// Are events sent at all?
    pub fn enabled(&self) -> bool {
        !self.endpoints.is_empty() && self.secret.is_some()
    }
}

/// `PORTAL_WEBHOOK_URLS` and `PORTAL_WEBHOOK_SECRET`: both or neither.
pub fn parse_webhook_settings(urls: Option<&str>, secret: Option<&str>) -> Result<WebhookSettings, ConfigError> {
    const URLS: &str = "PORTAL_WEBHOOK_URLS";
    const SECRET: &str = "PORTAL_WEBHOOK_SECRET";
    let mut endpoints: Vec<WebhookEndpoint> = Vec::new();
    for part in urls.unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let endpoint = WebhookEndpoint::parse(part).map_err(|e| problem(URLS, e))?;
        if endpoints.iter().any(|e| e.key == endpoint.key) {
            return Err(problem(URLS, format!("lists a URL of {} twice", endpoint.origin)));
        }
        endpoints.push(endpoint);
    }
    let secret = secret.map(str::trim).filter(|s| !s.is_empty()).map(WebhookSecret::parse).transpose().map_err(|e| problem(SECRET, e))?;
    match (endpoints.is_empty(), &secret) {
        (false, None) => Err(problem(SECRET, "is missing: events to PORTAL_WEBHOOK_URLS are signed with it (whsec_ followed by base64)")),
        (true, Some(_)) => Err(problem(URLS, "is missing: PORTAL_WEBHOOK_SECRET is set, but no URL to send events to")),
        _ => Ok(WebhookSettings { endpoints, secret, ..WebhookSettings::default() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn https_and_loopback_http_are_accepted_and_other_http_is_refused() {
        let settings = parse_webhook_settings(Some("https://hooks.example.com/a?token=x, http://127.0.0.1:9000/h"), Some(SECRET)).unwrap();
        assert_eq!(settings.endpoints.len(), 2);
        assert_eq!(settings.endpoints[0].origin, "https://hooks.example.com");
        assert_eq!(settings.endpoints[1].origin, "http://127.0.0.1:9000");
        assert!(settings.enabled());
        let error = parse_webhook_settings(Some("http://hooks.example.com/a?token=s3cret"), Some(SECRET)).unwrap_err();
        assert_eq!(error.variable, "PORTAL_WEBHOOK_URLS");
        assert!(error.problem.contains("must use https"), "{error}");
        assert!(!error.to_string().contains("s3cret"), "the URL's token is never repeated: {error}");
        assert!(parse_webhook_settings(Some("ftp://hooks.example.com/"), Some(SECRET)).is_err());
        assert!(parse_webhook_settings(Some("https://u:p@hooks.example.com/"), Some(SECRET)).is_err());
        assert!(parse_webhook_settings(Some("https://a.example/x,https://a.example/x"), Some(SECRET)).is_err());
    }

    #[test]
    fn debug_output_shows_neither_the_secret_nor_the_urls_token() {
        let settings = parse_webhook_settings(Some("https://hooks.example.com/in/t0k3n-in-path?key=t0k3n-in-query"), Some(SECRET)).unwrap();
        let shown = format!("{settings:?}");
        assert!(shown.contains("https://hooks.example.com") && shown.contains("[redacted]"), "{shown}");
        assert!(!shown.contains("t0k3n") && !shown.contains(SECRET.trim_start_matches("whsec_")), "{shown}");
    }

    #[test]
    fn the_secret_goes_with_the_urls_and_its_prefix_is_optional() {
        assert!(!parse_webhook_settings(None, None).unwrap().enabled());
        assert_eq!(parse_webhook_settings(Some("https://a.example/"), None).unwrap_err().variable, "PORTAL_WEBHOOK_SECRET");
        assert_eq!(parse_webhook_settings(None, Some(SECRET)).unwrap_err().variable, "PORTAL_WEBHOOK_URLS");
        let with = WebhookSecret::parse(SECRET).unwrap();
        let without = WebhookSecret::parse(SECRET.trim_start_matches("whsec_")).unwrap();
        assert_eq!(with, without);
        assert_eq!(with.expose().len(), 24);
        assert_eq!(format!("{with:?}"), "[redacted]");
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err(), "too short");
        assert!(WebhookSecret::parse("whsec_not base64!").is_err());
    }
}
