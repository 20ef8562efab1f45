//! The background check of the credentials' expiry: at start and every hour, each credential that
//! reached a threshold of days left ([`super::THRESHOLDS`]) gets one staff e-mail (to
//! PORTAL_NOTIFY_EMAILS, through the outbox) per threshold, and every credential within
//! [`super::WARN_DAYS`] a warning in the log. [`check`] returns the thresholds newly reached, for
//! whatever else must hear of them once (an event to other systems).

use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;

use crate::app::AppState;
use crate::db;
use crate::domain::Timestamp;
use crate::email::Kind;

/// How often the check runs.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// Runs [`check`] at start and every [`INTERVAL`].
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match check(&state, state.clock.now()).await {
                Ok(reached) if reached.is_empty() => {}
                Ok(reached) => {
                    tracing::info!(thresholds = reached.len(), "credential expiry notices recorded and e-mails queued");
                    state.mailer.wake();
                    state.webhooks.wake();
                }
                Err(error) => tracing::error!(%error, "cannot check the credentials' expiry; trying again in an hour"),
            }
            tokio::time::sleep(INTERVAL).await;
        }
    })
}

/// A credential that reached a threshold of days left for the first time (what a `credential.expiring`
/// event says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub credential: super::CredentialExpiry,
    /// 30, 14, 7 or 1.
    pub threshold: i64,
}

/// One check at `now`: logs each credential within the warning days, records each threshold newly
/// reached (once per credential, whichever process gets there first) and, in the same transaction,
/// queues its e-mail to every staff recipient (none while e-mails are off). Returns the thresholds newly
/// reached.
pub async fn check(state: &AppState, now: OffsetDateTime) -> Result<Vec<Reached>, sqlx::Error> {
    // The gauge shows every credential whose expiry is known, whatever its days left (the set only
    // changes with the configuration, at a restart).
    for credential in super::days_left(&state.config, now) {
        crate::metrics::set_credential_days_left(&credential.label, credential.days_left);
    }
    let expiring = super::expiring(&state.config, now);
    for credential in &expiring {
        tracing::warn!(
            credential = %credential.label,
            days_left = credential.days_left,
            "the portal's {} {}: add a new one to the app registration in Entra, deploy it, then remove the old one",
            credential.kind.as_str(),
            if credential.has_expired() { "has expired".to_owned() } else { format!("expires in {} days", credential.days_left) },
        );
    }
    let recipients: Vec<String> =
        if state.config.email.enabled() { state.config.email.notify.iter().map(ToString::to_string).collect() } else { Vec::new() };
    let now = Timestamp::new(now);
    let mut reached = Vec::new();
    for credential in expiring {
        let Some(threshold) = super::threshold_for(credential.days_left) else { continue };
        let mut tx = db::begin_write(&state.db).await?;
        if db::credential_notices::insert_once(&mut tx, &credential.key, threshold, now).await? {
            let detail = json!({
                "label": credential.label,
                "kind": credential.kind.as_str(),
                "expires_at": Timestamp::new(credential.expires_at),
                "days_left": credential.days_left,
                "threshold": threshold,
            });
            db::outbox::insert_staff_notices(&mut tx, Kind::CredentialExpiring.as_str(), None, detail, &recipients, now).await?;
            // Other systems hear of it once too, in the same transaction (when webhooks are configured).
            crate::webhooks::enqueue_credential_expiring(
                &mut tx,
                &state.config.webhooks,
                &credential.label,
                credential.kind.as_str(),
                Timestamp::new(credential.expires_at),
                credential.days_left,
                now,
            )
            .await?;
            reached.push(Reached { credential, threshold });
        }
        tx.commit().await?;
    }
    Ok(reached)
}
