//! The portal's own credentials towards Microsoft (the app's client secrets and certificates): when
//! each stops working, the warnings staff get before that (a banner on every staff page from
//! [`WARN_DAYS`] before, an e-mail at each of [`THRESHOLDS`]), and which to try first.
//!
//! An expired credential stops every check and every sign-in at once, and Microsoft says nothing
//! before: the dates are read here from the configuration (a certificate's notAfter, a secret's
//! PORTAL_CLIENT_SECRET_EXPIRES_AT), so the warning does not depend on Microsoft.

pub mod notices;

use time::OffsetDateTime;

use crate::config::{Config, ConfiguredCredential};
pub use crate::domain::credential::{CredentialKind, certificate_not_after, certificate_thumbprint, parse_expiry};

/// From how many days before its expiry a credential is shown on staff pages.
pub const WARN_DAYS: i64 = 30;

/// The days left at which staff are e-mailed, once each per credential.
pub const THRESHOLDS: [i64; 4] = [30, 14, 7, 1];

/// When one credential stops working: what [`days_left`] gives for a gauge, an event or a page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CredentialExpiry {
    /// Names the credential without revealing it: kind, place, thumbprint, expiry.
    pub label: String,
    pub kind: CredentialKind,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Whole days left (rounded down); 0 on its last day, negative once expired.
    pub days_left: i64,
    /// Identifies the credential across restarts and reorderings (`certificate:<thumbprint>`,
    /// `secret:<expiry>`): what the e-mails already sent are recorded under.
    #[serde(skip)]
    pub key: String,
}

impl CredentialExpiry {
    pub fn has_expired(&self) -> bool {
        self.days_left < 0
    }

    /// Within a week of its expiry, or past it: the banner turns red.
    pub fn is_urgent(&self) -> bool {
        self.days_left < 7
    }

    /// The days left as the banner says them.
    pub fn left_in_words(&self) -> String {
        match self.days_left {
            days if days < 0 => "expired".to_owned(),
            0 => "expires today".to_owned(),
            1 => "1 day left".to_owned(),
            days => format!("{days} days left"),
        }
    }
}

/// Every configured credential whose expiry is known, the soonest to expire first, with the days left
/// at `now`. Takes `&Config` (or `&AppState.config`).
pub fn days_left(config: &Config, now: OffsetDateTime) -> Vec<CredentialExpiry> {
    expiries(&config.credentials, now)
}

/// [`days_left`] of a list of credentials.
pub fn expiries(credentials: &[ConfiguredCredential], now: OffsetDateTime) -> Vec<CredentialExpiry> {
    let mut found: Vec<CredentialExpiry> = credentials
        .iter()
        .filter_map(|credential| {
            let expires_at = credential.expires_at?;
            Some(CredentialExpiry {
                label: credential.label(),
                kind: credential.kind(),
                expires_at,
                days_left: whole_days_between(now, expires_at),
                key: key_of(credential, expires_at),
            })
        })
        .collect();
    found.sort_by(|a, b| a.expires_at.cmp(&b.expires_at).then_with(|| a.label.cmp(&b.label)));
    found
}

/// The credentials staff must be warned of at `now`: expiring within [`WARN_DAYS`], or expired.
pub fn expiring(config: &Config, now: OffsetDateTime) -> Vec<CredentialExpiry> {
    days_left(config, now).into_iter().filter(|c| c.days_left <= WARN_DAYS).collect()
}

/// Floor of the days from `now` to `then` (negative when `then` has passed).
fn whole_days_between(now: OffsetDateTime, then: OffsetDateTime) -> i64 {
    (then - now).whole_seconds().div_euclid(86_400)
}

/// The e-mail threshold a credential with `days_left` has reached: the smallest of [`THRESHOLDS`] at
/// or above it. A portal that was down past a threshold sends the one it is at, not each it missed.
pub fn threshold_for(days_left: i64) -> Option<i64> {
    THRESHOLDS.iter().copied().filter(|threshold| days_left <= *threshold).min()
}

fn key_of(credential: &ConfiguredCredential, expires_at: OffsetDateTime) -> String {
    if let crate::config::ClientCredential::Certificate { certificate_pem, .. } = &credential.credential
        && let Some(thumbprint) = certificate_thumbprint(certificate_pem)
    {
        return format!("certificate:{thumbprint}");
    }
    // A secret is known by its expiry only: its value must not reach the database, and its place in the
    // list changes when a new one is put before it.
    format!("{}:{}", credential.kind().as_str(), crate::domain::Timestamp::new(expires_at))
}

/// The order in which token requests try the credentials at `now` (indexes into `credentials`): those
/// not expired first, the latest expiry (the newest) first, those without a known expiry after them in
/// the order given; expired ones last, in case the clock is wrong.
pub fn preference_order(credentials: &[ConfiguredCredential], now: OffsetDateTime) -> Vec<usize> {
    let mut order: Vec<usize> = (0..credentials.len()).collect();
    // (expired, no known expiry, the later expiry first): `Reverse` on the date, false before true.
    order.sort_by_key(|&index| {
        let expires_at = credentials[index].expires_at;
        (expires_at.is_some_and(|at| at <= now), expires_at.is_none(), std::cmp::Reverse(expires_at))
    });
    order
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::config::ClientCredential;
    use crate::domain::Secret;

    fn secret(position: usize, expires_at: Option<OffsetDateTime>) -> ConfiguredCredential {
        ConfiguredCredential { credential: ClientCredential::Secret(Secret::new(format!("s{position}"))), expires_at, position }
    }

    #[test]
    fn days_left_round_down_and_thresholds_are_reached_once_each() {
        let now = datetime!(2027-01-01 12:00 UTC);
        let credentials =
            [secret(1, Some(datetime!(2027-01-31 13:00 UTC))), secret(2, None), secret(3, Some(datetime!(2027-01-01 11:00 UTC)))];
        let found = expiries(&credentials, now);
        assert_eq!(found.iter().map(|c| c.days_left).collect::<Vec<_>>(), [-1, 30]);
        assert!(found[0].has_expired());
        assert!(!found.iter().any(|c| c.label.contains("s1") || c.label.contains("s3")), "{found:?}");
        assert_eq!(
            [31, 30, 15, 14, 8, 7, 2, 1, 0, -5].map(threshold_for),
            [None, Some(30), Some(30), Some(14), Some(14), Some(7), Some(7), Some(1), Some(1), Some(1)]
        );
    }

    #[test]
    fn the_newest_valid_credential_comes_first() {
        let now = datetime!(2027-01-01 00:00 UTC);
        let credentials = [
            secret(1, None),
            secret(2, Some(datetime!(2027-02-01 00:00 UTC))),
            secret(3, Some(datetime!(2026-12-01 00:00 UTC))),
            secret(4, Some(datetime!(2027-06-01 00:00 UTC))),
        ];
        assert_eq!(preference_order(&credentials, now), [3, 1, 0, 2]);
    }
}
