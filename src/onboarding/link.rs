//! The invite of a link: the same refusal for every unknown token (only those count against the client
//! address's quota of failed lookups, so someone guessing from a customer's address does not lock the
//! customer out), and "gone" for a revoked or expired invite.

use std::net::IpAddr;

use super::{Error, Onboarding, Refusal, refused};
use crate::db;
use crate::db::invites::InviteWithCustomer;
use crate::domain::InviteToken;
use crate::error::Failure;

impl Onboarding {
    /// The invite of the link token `token`, opened from `client`.
    pub async fn open_link(&self, token: &str, client: IpAddr) -> Result<InviteWithCustomer, Error> {
        let invite = match InviteToken::parse(token) {
            Ok(token) => db::invites::find_by_token_hash(&self.db, &token.hash()).await?,
            Err(_) => None,
        };
        let Some(invite) = invite else {
            let refusal = if self.limiter.record_failure(client) { Refusal::UnknownLink } else { Refusal::TooManyLookups };
            return Err(refused(refusal, None));
        };
        if !invite.invite.link_works(self.timestamp()) {
            return Err(refused(Refusal::LinkGone, Some(invite.invite.language)));
        }
        Ok(invite)
    }

    /// The invite of a browser's onboarding, to start it again ("sign in again").
    pub async fn reopen(&self, invite_id: &str) -> Result<InviteWithCustomer, Error> {
        match db::invites::find(&self.db, invite_id).await? {
            Some(invite) if invite.invite.link_works(self.timestamp()) => Ok(invite),
            invite => Err(refused(Refusal::LinkGone, invite.map(|i| i.invite.language))),
        }
    }

    /// For an invite pinned to a recorded tenant that lacks required permissions (a campaign's, or a
    /// re-consent link's): what the tenant's latest check showed it has, so its landing page says what
    /// is new and what stays. `None` for any other invite.
    pub async fn granted_before(&self, invite: &InviteWithCustomer) -> Result<Option<Vec<String>>, Failure> {
        let Some(tenant) = invite.invite.pinned_tenant_id else { return Ok(None) };
        let latest = db::checks::latest(&self.db, tenant).await?;
        Ok(latest.and_then(|check| crate::domain::api::granted_before(&self.config.required, &check.roles_present.names())))
    }

    /// The invite a browser's onboarding names, if it still exists.
    pub async fn invite(&self, invite_id: &str) -> Result<Option<InviteWithCustomer>, Failure> {
        Ok(db::invites::find(&self.db, invite_id).await?)
    }
}
