//! Sending a failed or interrupted e-mail again, once, as a new message (a new id, and for a customer
//! e-mail a new link when it is sent).

use crate::db::Pool;

use super::EmailSettings;
use crate::db;
use crate::domain::Timestamp;
use crate::error::Failure;

/// Why an e-mail is not sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// E-mails cannot be sent: no SMTP server is configured.
    EmailsOff,
    NotFound,
    /// Only a failed or interrupted e-mail can be sent again.
    NotResendable,
    /// It was sent again already (a second click, or a second admin).
    AlreadyResent,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Failed(#[from] Failure),
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Self::Failed(error.into())
    }
}

/// Queues e-mail `id` again for `requested_by`, at `now`; the id of the copy. A reminder goes again as
/// an onboarding e-mail.
pub async fn send_again(db: &Pool, settings: &EmailSettings, now: Timestamp, id: &str, requested_by: &str) -> Result<String, Error> {
    if !settings.enabled() {
        return Err(Error::Refused(Refusal::EmailsOff));
    }
    let row = db::outbox::find(db, id).await?.ok_or(Error::Refused(Refusal::NotFound))?;
    if !row.resendable() {
        return Err(Error::Refused(Refusal::NotResendable));
    }
    let kind = if row.kind == "reminder" { "onboarding" } else { row.kind.as_str() };
    let mut tx = db::begin_write(db).await?;
    let new = db::outbox::NewMessage {
        kind,
        recipient: &row.recipient,
        language: &row.language,
        invite_id: row.invite_id.as_deref(),
        tenant_id: row.tenant_id,
        detail: serde_json::from_str(&row.detail).unwrap_or_default(),
        follows: None,
        requested_by,
    };
    let copy = db::outbox::insert(&mut tx, new, now).await?;
    if !db::outbox::mark_resent(&mut tx, &row.id, &copy).await? {
        tx.rollback().await?;
        return Err(Error::Refused(Refusal::AlreadyResent));
    }
    tx.commit().await?;
    Ok(copy)
}
