//! The background check of the credentials' expiry: at start and every hour, each credential that
//! reached a threshold of days left ([`super::THRESHOLDS`]) gets one staff e-mail (to
//! PORTAL_NOTIFY_EMAILS, through the outbox) per threshold, and every credential within
//! [`super::WARN_DAYS`] a warning in the log.

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
                Ok(0) => {}
                Ok(queued) => {
                    tracing::info!(queued, "credential expiry e-mails queued");
                    state.mailer.wake();
                }
                Err(error) => tracing::error!(%error, "cannot check the credentials' expiry; trying again in an hour"),
            }
            tokio::time::sleep(INTERVAL).await;
        }
    })
}

/// One check at `now`: logs each credential within the warning days and queues the e-mails of the
/// thresholds reached that were not sent yet. Returns how many e-mails were queued.
pub async fn check(state: &AppState, now: OffsetDateTime) -> Result<usize, sqlx::Error> {
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
    // Without recipients nothing is recorded: once e-mails are configured, the threshold then reached
    // is still sent.
    if recipients.is_empty() {
        return Ok(0);
    }
    let now = Timestamp::new(now);
    let mut queued = 0;
    for credential in &expiring {
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
            queued += recipients.len();
        }
        tx.commit().await?;
    }
    Ok(queued)
}
