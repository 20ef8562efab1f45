//! The metrics settings: `PORTAL_METRICS_TOKEN` (the bearer token `/metrics` asks for on the main
//! listener) and `PORTAL_METRICS_BIND` (a separate listener for `/metrics` alone).

use std::net::SocketAddr;
use std::str::FromStr;

use super::{ConfigError, problem};
use crate::domain::Secret;

/// Where `/metrics` is served. Neither set: nowhere (`/metrics` answers 404).
#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// With it, `/metrics` on the main listener (and on the separate one) asks for `Authorization: Bearer <token>`.
    pub token: Option<Secret>,
    /// A listener of its own, serving `/metrics` only.
    pub bind: Option<SocketAddr>,
}

pub fn parse_metrics_settings(token: Option<&str>, bind: Option<&str>) -> Result<MetricsSettings, ConfigError> {
    let token = match token.map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) if token.len() < 32 => return Err(problem("PORTAL_METRICS_TOKEN", "is too short: use at least 32 random characters")),
        Some(token) if !token.chars().all(|c| c.is_ascii_graphic()) => {
            return Err(problem("PORTAL_METRICS_TOKEN", "must be printable ASCII without spaces (it is sent in a header)"));
        }
        Some(token) => Some(Secret::new(token)),
        None => None,
    };
    let bind = bind
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|value| {
            SocketAddr::from_str(value).map_err(|_| {
                problem("PORTAL_METRICS_BIND", format!("is not an address and port such as 127.0.0.1:9090 or [::]:9090: {value:?}"))
            })
        })
        .transpose()?;
    Ok(MetricsSettings { token, bind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_must_be_long_and_the_bind_an_address() {
        assert!(parse_metrics_settings(None, None).unwrap().token.is_none());
        assert_eq!(parse_metrics_settings(Some("short"), None).unwrap_err().variable, "PORTAL_METRICS_TOKEN");
        assert!(parse_metrics_settings(Some(&"x".repeat(32)), Some("127.0.0.1:9090")).unwrap().bind.is_some());
        assert_eq!(parse_metrics_settings(None, Some("9090")).unwrap_err().variable, "PORTAL_METRICS_BIND");
    }
}
