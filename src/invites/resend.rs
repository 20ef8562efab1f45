//! Sending an open invite's onboarding e-mail again, with a new link of its own, to the address of its
//! last e-mail or else the customer's contact address.

use crate::db::Pool;

use super::{Error, Refusal};
use crate::config::EmailSettings;
use crate::db;
use crate::domain::email_address::parse_address;
use crate::domain::{Clock, InviteStatus, clock};

/// Queues the onboarding e-mail of invite `id` again, for `actor`; the id of the queued e-mail.
pub async fn resend(db: &Pool, clock: &dyn Clock, settings: &EmailSettings, id: &str, actor: &str) -> Result<String, Error> {
    if !settings.enabled() {
        return Err(Refusal::EmailsOff.into());
    }
    let now = clock::now(clock);
    let invite = db::invites::find(db, id).await?.ok_or(Refusal::NotFound)?;
    if invite.invite.status(now) != InviteStatus::Pending {
        return Err(Refusal::NotOpen.into());
    }
    let previous = db::outbox::for_invite(db, id).await?;
    let recipient = previous.iter().rev().map(|row| row.recipient.clone()).next().or(invite.contact_email.clone());
    let Some(address) = recipient.as_deref().and_then(|r| parse_address(r).ok()) else {
        return Err(Refusal::NoAddress.into());
    };
    let mut tx = db::begin_write(db).await?;
    let outbox_id =
        db::outbox::enqueue_onboarding(&mut tx, &invite.invite.id, address.as_ref(), invite.invite.language.code(), actor, now).await?;
    tx.commit().await?;
    Ok(outbox_id)
}
