//! Tenants, the use cases: the list every export, the JSON API and the command line give; the
//! dashboard's page of tenants and one tenant's record; and the staff actions on a tenant — check it now,
//! make a link for it to approve again, remove it. Each answers with what it found or did, or why not.

mod actions;
mod listing;
mod records;

pub use actions::{RECONSENT_DAYS, check_now, reconsent, remove};
pub use listing::{ListedApi, TenantListing, find, list};
pub use records::{Degradation, Search, SearchPage, TenantRecord, record, search};

use crate::error::UseCaseError;

/// Why a tenant use case did not do what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such tenant is recorded (or, where it says so, it was removed).
    NotFound,
}

/// What a tenant use case answers instead of its outcome.
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
    use crate::domain::{Clock, ManualClock, TenantId, Timestamp};

    /// One list for the exports, the API and the command line: by customer whatever the case, removed
    /// tenants left out; removing twice records one event.
    #[tokio::test]
    async fn the_list_is_by_customer_regardless_of_case_and_leaves_removed_tenants_out() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = crate::db::open_sqlite(&dir.path().join("portal.db")).await.unwrap();
        let db = crate::db::Pool::from(sqlite.clone());
        let clock = ManualClock::at(datetime!(2026-11-25 10:00 UTC));
        let at = Timestamp::new(clock.now());
        let (apple, banana, cherry) = (TenantId::new_random(), TenantId::new_random(), TenantId::new_random());
        crate::db::monitoring::seed_tenants(&db, "Banana Ltd", &[banana], at).await.unwrap();
        crate::db::monitoring::seed_tenants(&db, "apple Ltd", &[apple], at).await.unwrap();
        crate::db::monitoring::seed_tenants(&db, "Cherry Ltd", &[cherry], at).await.unwrap();
        let webhooks = crate::webhooks::Webhooks::new(&crate::config::WebhookSettings::default());
        remove(&db, &clock, &webhooks, cherry, "alex").await.unwrap();
        remove(&db, &clock, &webhooks, cherry, "alex").await.unwrap();
        let listed: Vec<TenantId> = list(&db).await.unwrap().into_iter().map(|t| t.tenant_id).collect();
        assert_eq!(listed, [apple, banana]);
        assert!(matches!(find(&db, cherry).await, Err(Error::Refused(Refusal::NotFound))));
        assert!(matches!(remove(&db, &clock, &webhooks, TenantId::new_random(), "alex").await, Err(Error::Refused(Refusal::NotFound))));
        let removed: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'tenant.removed'").fetch_one(&sqlite).await.unwrap();
        assert_eq!(removed, 1);
    }
}
