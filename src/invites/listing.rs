//! The invites page's read: the newest invites first, a page at a time, each with its status now and
//! its timeline (its audit events, oldest first).

use std::collections::HashMap;

use crate::db::Pool;

use crate::db;
use crate::db::audit::AuditEvent;
use crate::db::invites::InviteWithCustomer;
use crate::domain::{Clock, InviteStatus, clock};
use crate::error::Failure;

/// One invite as the page lists it.
pub struct ListedInvite {
    pub invite: InviteWithCustomer,
    pub status: InviteStatus,
    pub timeline: Vec<AuditEvent>,
}

/// A page of invites.
pub struct InvitesPage {
    pub invites: Vec<ListedInvite>,
    /// From 1; a page past the end is the last page.
    pub page: i64,
    pub pages: i64,
}

/// Page `page` of `page_size` invites.
pub async fn page(db: &Pool, clock: &dyn Clock, page: i64, page_size: i64) -> Result<InvitesPage, Failure> {
    let total = db::invites::count(db).await?;
    let pages = ((total + page_size - 1) / page_size).max(1);
    let page = page.clamp(1, pages);
    let listed = db::invites::list_recent(db, page_size, (page - 1) * page_size).await?;
    let ids: Vec<String> = listed.iter().map(|i| i.invite.id.clone()).collect();
    let mut timelines: HashMap<String, Vec<AuditEvent>> = HashMap::new();
    for event in db::audit::for_invites(db, &ids).await? {
        if let Some(invite_id) = event.invite_id.clone() {
            timelines.entry(invite_id).or_default().push(event);
        }
    }
    let now = clock::now(clock);
    let invites = listed
        .into_iter()
        .map(|invite| ListedInvite {
            status: invite.invite.status(now),
            timeline: timelines.remove(&invite.invite.id).unwrap_or_default(),
            invite,
        })
        .collect();
    Ok(InvitesPage { invites, page, pages })
}
