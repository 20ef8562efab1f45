//! The fleet at a glance: tenants per status, the 30-day trend of verified tenants and of tenants that
//! need attention, and the tenants that got worse in the last 7 days, oldest problem first.
//!
//! The trend reads one row per day (`fleet_days`, rewritten every hour by [`spawn`] until the day ends),
//! not every tenant's history: the overview must stay fast with 10,000 tenants and months of checks.
//! The "got worse" list asks a few index lookups of each tenant that needs attention now, not its checks.

use std::collections::HashMap;
use std::time::Duration;

use time::OffsetDateTime;

use crate::db::fleet::FleetDay;
use crate::db::{self, Pool};
use crate::domain::{SharedClock, TenantId, TenantStatus, Timestamp};

/// Days of the trend, today included.
pub const TREND_DAYS: i64 = 30;

/// How far back a tenant that got worse is listed.
pub const WORSE_WITHIN_DAYS: i64 = 7;

/// How often today's counts are recorded.
pub const RECORD_INTERVAL: Duration = Duration::from_secs(3600);

/// Does a tenant in this status need someone to act (staff or the customer)? The statuses the
/// dashboard shows in amber or red: missing roles, re-consent, a refused or failing token, throttling.
pub fn needs_attention(status: TenantStatus) -> bool {
    matches!(status.tone(), "warn" | "bad")
}

/// Is a tenant in this status counted as verified in the trend (every role, proven or read)?
pub fn counts_as_verified(status: TenantStatus) -> bool {
    status.is_granted()
}

/// The statuses that need attention, in the order of [`TenantStatus::ALL`].
pub fn attention_statuses() -> Vec<TenantStatus> {
    TenantStatus::ALL.into_iter().filter(|s| needs_attention(*s)).collect()
}

/// Tenants in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    pub status: TenantStatus,
    pub count: i64,
}

/// One day of the trend; `None` for a day nothing was recorded (the portal was not running).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendDay {
    pub day: time::Date,
    pub counts: Option<(i64, i64)>,
}

impl TrendDay {
    pub fn verified(&self) -> Option<i64> {
        self.counts.map(|(verified, _)| verified)
    }

    pub fn needs_attention(&self) -> Option<i64> {
        self.counts.map(|(_, attention)| attention)
    }
}

/// A tenant that got worse in the last [`WORSE_WITHIN_DAYS`] days and still needs attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GotWorse {
    pub tenant_id: TenantId,
    pub customer: String,
    pub status: TenantStatus,
    /// Its status before the problem, if it had one.
    pub before: Option<TenantStatus>,
    /// When the problem began: the first check of its current run of checks that need attention;
    /// `None` when that run began before the window (the problem is older, and got worse since).
    pub since: Option<Timestamp>,
    /// The latest check's sentence, on one line.
    pub reason: String,
}

/// The overview at one moment.
#[derive(Debug, Clone)]
pub struct Overview {
    pub total: i64,
    /// Every status with tenants, in the order of [`TenantStatus::ALL`].
    pub counts: Vec<StatusCount>,
    pub verified: i64,
    pub needs_attention: i64,
    /// [`TREND_DAYS`] days, oldest first; today's are the live counts.
    pub trend: Vec<TrendDay>,
    /// Oldest problem first.
    pub worse: Vec<GotWorse>,
}

/// The counts per status of the tenants not removed, and today's figures of the trend from them.
async fn counts(db: &Pool) -> Result<(Vec<StatusCount>, FleetDay), sqlx::Error> {
    let found: HashMap<TenantStatus, i64> = db::fleet::status_counts(db).await?.into_iter().collect();
    let counts: Vec<StatusCount> = TenantStatus::ALL
        .into_iter()
        .filter_map(|status| found.get(&status).filter(|count| **count > 0).map(|count| StatusCount { status, count: *count }))
        .collect();
    let sum = |keep: fn(TenantStatus) -> bool| counts.iter().filter(|c| keep(c.status)).map(|c| c.count).sum::<i64>();
    let day =
        FleetDay { day: String::new(), verified: sum(counts_as_verified), needs_attention: sum(needs_attention), total: sum(|_| true) };
    Ok((counts, day))
}

/// The overview at `now`.
pub async fn overview(db: &Pool, now: OffsetDateTime) -> Result<Overview, sqlx::Error> {
    let (counts, today) = counts(db).await?;
    let first = now.date() - time::Duration::days(TREND_DAYS - 1);
    let recorded: HashMap<String, FleetDay> =
        db::fleet::days_from(db, &first.to_string()).await?.into_iter().map(|day| (day.day.clone(), day)).collect();
    let trend = (0..TREND_DAYS)
        .map(|offset| {
            let day = first + time::Duration::days(offset);
            let counts = if day == now.date() {
                Some((today.verified, today.needs_attention))
            } else {
                recorded.get(&day.to_string()).map(|d| (d.verified, d.needs_attention))
            };
            TrendDay { day, counts }
        })
        .collect();
    let worse = got_worse(db, now).await?;
    Ok(Overview { total: today.total, verified: today.verified, needs_attention: today.needs_attention, counts, trend, worse })
}

/// The tenants that got worse within [`WORSE_WITHIN_DAYS`] of `now` and need attention still.
async fn got_worse(db: &Pool, now: OffsetDateTime) -> Result<Vec<GotWorse>, sqlx::Error> {
    let since = Timestamp::new(now - time::Duration::days(WORSE_WITHIN_DAYS));
    let troubled = db::fleet::troubled(db, &attention_statuses(), since).await?;
    let mut worse: Vec<GotWorse> = troubled
        .into_iter()
        .filter_map(|tenant| {
            let (since, before) = worsened(tenant.status, tenant.status_before, tenant.last_fine_status, tenant.run_start)?;
            let reason = one_line(tenant.status_reason.as_deref().unwrap_or_default());
            Some(GotWorse { tenant_id: tenant.tenant_id, customer: tenant.customer, status: tenant.status, before, since, reason })
        })
        .collect();
    worse.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.customer.cmp(&b.customer)).then_with(|| a.tenant_id.cmp(&b.tenant_id)));
    Ok(worse)
}

/// Did a tenant now in `status` (which needs attention) get worse within the window? Its current run of
/// checks that need attention began within it — after a check that did not (`last_fine`, in the
/// window), or at the window's first check when its status before the window (`before`) did not need
/// attention or it had no check — or that run began earlier and `status` is more severe than `before`.
/// Returns when the run began (`None`: before the window) and the status before it.
fn worsened(
    status: TenantStatus,
    before: Option<TenantStatus>,
    last_fine: Option<TenantStatus>,
    run_start: Option<Timestamp>,
) -> Option<(Option<Timestamp>, Option<TenantStatus>)> {
    if let Some(fine) = last_fine {
        return run_start.map(|at| (Some(at), Some(fine)));
    }
    match before {
        Some(previous) if needs_attention(previous) => (status.severity() > previous.severity()).then_some((None, Some(previous))),
        _ => run_start.map(|at| (Some(at), before)),
    }
}

/// The first line of `text`, at most 200 characters.
fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Records today's counts (UTC) in `fleet_days`, rewriting today's row.
pub async fn record_today(db: &Pool, now: OffsetDateTime) -> Result<FleetDay, sqlx::Error> {
    let (_, mut day) = counts(db).await?;
    day.day = now.date().to_string();
    db::fleet::record_day(db, &day, Timestamp::new(now)).await?;
    Ok(day)
}

/// Records today's counts at start and every [`RECORD_INTERVAL`].
pub fn spawn(db: Pool, clock: SharedClock) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(error) = record_today(&db, clock.now()).await {
                tracing::error!(%error, "cannot record today's fleet counts; trying again in an hour");
            }
            tokio::time::sleep(RECORD_INTERVAL).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_tenant_got_worse_when_its_current_problem_began_or_deepened_in_the_window() {
        use TenantStatus::*;
        let day = |d: i64| Some(Timestamp::new(datetime!(2027-01-01 00:00 UTC) + time::Duration::days(d)));
        // Verified, then consent removed on day 2: since day 2, from verified.
        assert_eq!(worsened(ConsentRemoved, Some(Verified), Some(Verified), day(2)), Some((day(2), Some(Verified))));
        // Verified before the window, failing from its first check in it.
        assert_eq!(worsened(Throttled, Some(Verified), None, day(1)), Some((day(1), Some(Verified))));
        // A new tenant whose first checks fail.
        assert_eq!(worsened(MissingRoles, None, None, day(1)), Some((day(1), None)));
        // Missing roles for weeks, unchanged: not listed.
        assert_eq!(worsened(MissingRoles, Some(MissingRoles), None, day(1)), None);
        // Missing roles for weeks, then the consent removed: listed, its problem older than the window.
        assert_eq!(worsened(ConsentRemoved, Some(MissingRoles), None, day(1)), Some((None, Some(MissingRoles))));
        // Better within the problem (consent removed → missing roles) is not worse.
        assert_eq!(worsened(MissingRoles, Some(ConsentRemoved), None, day(1)), None);
        // No check in the window: nothing to say.
        assert_eq!(worsened(MissingRoles, Some(Verified), None, None), None);
    }

    #[test]
    fn reasons_are_one_short_line() {
        assert_eq!(one_line("First line.\nSecond."), "First line.");
        assert_eq!(one_line(&"x".repeat(300)).chars().count(), 201);
    }
}
