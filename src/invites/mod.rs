//! Invites, the use cases: create one (for a customer by name, or for a customer's tenant to approve
//! again), check what staff typed for one, revoke one, send its onboarding e-mail again. The command
//! line, the staff pages and the JSON API call these same functions; each writes in one transaction and
//! answers with what it did or why it did not.

mod create;
mod listing;
mod request;
mod resend;
mod revoke;

pub use create::{CreatedInvite, InviteRequest, create, create_for_customer, validate_customer};
pub use listing::{InvitesPage, ListedInvite, page};
pub use request::{CheckedInvite, DEFAULT_DAYS, InviteFields, MAX_DAYS, check_request};
pub use resend::resend;
pub use revoke::{Revoked, revoke};

use crate::error::UseCaseError;

/// Why an invite use case did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// There is no such invite.
    NotFound,
    /// What was asked for is not valid: a sentence for staff that names the field.
    Invalid(String),
    /// E-mails cannot be sent: no SMTP server is configured.
    EmailsOff,
    /// Only an open invite (not completed, revoked or expired) can be sent again.
    NotOpen,
    /// The invite has no e-mail address to send to.
    NoAddress,
}

/// What an invite use case answers instead of its outcome.
pub type Error = UseCaseError<Refusal>;

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::config::{EmailSettings, TransportSettings};
    use crate::domain::{CustomerName, ManualClock};
    use crate::i18n::Language;

    async fn database(dir: &tempfile::TempDir) -> crate::db::Pool {
        let path = dir.path().join("portal.db");
        crate::db::open_sqlite(&path).await.unwrap().into()
    }

    fn request<'a>(customer: &'a CustomerName, contact: Option<&'a str>) -> InviteRequest<'a> {
        InviteRequest {
            customer,
            email: contact,
            pinned_tenant: None,
            pinned_domain: None,
            language: Language::English,
            valid_for: time::Duration::days(1),
            actor: "test",
            send_to: None,
        }
    }

    /// Revoking says what it did, for the command line and the dashboard alike.
    #[tokio::test]
    async fn revoke_revokes_once_and_refuses_an_unknown_invite() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        let clock = ManualClock::at(datetime!(2026-11-25 10:00 UTC));
        let customer = CustomerName::parse("Contoso").unwrap();
        let created = create(&db, &clock, request(&customer, None)).await.unwrap();
        assert_eq!(revoke(&db, &clock, &created.invite.id, "cli").await.unwrap(), Revoked::Now);
        assert_eq!(revoke(&db, &clock, &created.invite.id, "cli").await.unwrap(), Revoked::Already);
        assert!(matches!(revoke(&db, &clock, "no-such-invite", "cli").await, Err(Error::Refused(Refusal::NotFound))));
        let revoked_at: String =
            crate::db::invites::find(&db, &created.invite.id).await.unwrap().unwrap().invite.revoked_at.unwrap().to_string();
        assert_eq!(revoked_at, "2026-11-25T10:00:00Z", "stamped by the clock given");
    }

    /// An invite's e-mail is sent again only while the invite is open, by the time of the clock given.
    #[tokio::test]
    async fn an_invite_is_sent_again_only_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        let clock = ManualClock::at(datetime!(2026-11-25 10:00 UTC));
        let customer = CustomerName::parse("Contoso").unwrap();
        let created = create(&db, &clock, request(&customer, Some("it@contoso.example"))).await.unwrap();
        assert_eq!(created.invite.expires_at.to_string(), "2026-11-26T10:00:00Z");
        let off = EmailSettings::default();
        assert!(matches!(resend(&db, &clock, &off, &created.invite.id, "alex").await, Err(Error::Refused(Refusal::EmailsOff))));
        let on = EmailSettings { transport: TransportSettings::Memory, ..EmailSettings::default() };
        assert!(resend(&db, &clock, &on, &created.invite.id, "alex").await.is_ok());
        clock.advance(time::Duration::days(1));
        assert!(matches!(resend(&db, &clock, &on, &created.invite.id, "alex").await, Err(Error::Refused(Refusal::NotOpen))));
    }
}
