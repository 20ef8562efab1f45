//! `consent-portal bench overview --tenants N --days D --requests R`: the fleet overview (the staff
//! home) over N tenants with D days of checks, four a day (the default interval of six hours) — 3.6
//! million checks for 10,000 tenants and 90 days — and a day of `fleet_days` each. Some tenants got
//! worse in the last week, some have been missing roles for weeks, the rest stay verified. Prints
//! `tenants=… days=… checks=… seed_s=… requests=… median_ms=… p95_ms=… peak_rss_mb=…`, timed as seen by
//! a client on loopback (an upper bound of the server's time).

use std::time::Instant;

use time::OffsetDateTime;

use super::bench::{SignedInPortal, peak_rss_mb};
use crate::domain::{TenantId, TenantStatus, Timestamp};

#[derive(Debug, clap::Args)]
pub struct OverviewBenchArgs {
    /// Tenants in the database.
    #[arg(long, default_value_t = 10_000)]
    pub tenants: usize,
    /// Days of checks (four a day) before now.
    #[arg(long, default_value_t = 90)]
    pub days: usize,
    /// Page requests to time.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
}

/// Checks a day per tenant.
const CHECKS_PER_DAY: usize = 4;

use crate::db::fleet::SEED_ROWS_PER_STATEMENT as ROWS_PER_STATEMENT;

pub async fn run(args: OverviewBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.tenants > 0 && args.requests > 0 && args.days > 0, "--tenants, --days and --requests must be positive");
    let mut seed_s = 0.0;
    let mut checks = 0;
    let portal = SignedInPortal::start(async |pool| {
        let started = Instant::now();
        checks = seed(pool, args.tenants, args.days).await?;
        seed_s = started.elapsed().as_secs_f64();
        Ok(())
    })
    .await?;
    // The page must show what it is timed on.
    let page = portal.client.get(format!("{}/", portal.url)).send().await?.text().await?;
    anyhow::ensure!(page.contains("id=\"fleet-trend\"") && page.contains("id=\"worse-"), "the overview does not show the seeded fleet");
    let (median, p95) = portal.time_pages(&["/"], args.requests).await?;
    println!(
        "tenants={} days={} checks={checks} seed_s={seed_s:.1} requests={} median_ms={median:.2} p95_ms={p95:.2} peak_rss_mb={:.1}",
        args.tenants,
        args.days,
        args.requests,
        peak_rss_mb()
    );
    Ok(())
}

/// What tenant `index` went through: 5 in 100 got worse on one of the last 7 days, 3 in 100 have been
/// missing roles throughout, the rest stay verified.
fn status_of(index: usize, days_ago: usize) -> TenantStatus {
    match index % 100 {
        0..=4 if days_ago <= index % 7 => [TenantStatus::ConsentRemoved, TenantStatus::MissingRoles, TenantStatus::Throttled][index % 3],
        5..=7 => TenantStatus::MissingRoles,
        _ => TenantStatus::Verified,
    }
}

/// Seeds the tenants, their checks and the days; returns how many checks.
async fn seed(pool: &crate::db::Pool, tenants: usize, days: usize) -> anyhow::Result<usize> {
    let now = OffsetDateTime::now_utc();
    let ids: Vec<TenantId> = (0..tenants).map(|_| TenantId::new_random()).collect();
    let consented = Timestamp::new(now - time::Duration::days(days as i64 + 1));
    for (customer, chunk) in ids.chunks(tenants.div_ceil(100).max(1)).enumerate() {
        crate::db::monitoring::seed_tenants(pool, &format!("Customer {customer}"), chunk, consented).await?;
    }
    let mut tx = crate::db::begin_write(pool).await?;
    let mut rows: Vec<(TenantId, TenantStatus, Timestamp)> = Vec::with_capacity(ROWS_PER_STATEMENT);
    let mut count = 0;
    // In time order, as a running portal writes them.
    for step in (0..days * CHECKS_PER_DAY).rev() {
        let at = Timestamp::new(now - time::Duration::hours((step * 24 / CHECKS_PER_DAY) as i64) - time::Duration::minutes(5));
        let days_ago = step / CHECKS_PER_DAY;
        for (index, id) in ids.iter().enumerate() {
            rows.push((*id, status_of(index, days_ago), at));
            if rows.len() == ROWS_PER_STATEMENT {
                crate::db::fleet::seed_checks(&mut tx, &rows).await?;
                count += rows.len();
                rows.clear();
            }
        }
    }
    if !rows.is_empty() {
        crate::db::fleet::seed_checks(&mut tx, &rows).await?;
        count += rows.len();
    }
    for (index, id) in ids.iter().enumerate() {
        let status = status_of(index, 0);
        crate::db::fleet::seed_status(&mut tx, *id, status, &format!("Seeded as {}.", status.label()), Timestamp::new(now)).await?;
    }
    tx.commit().await?;
    for days_ago in (1..days).rev() {
        let verified = (0..tenants).filter(|index| status_of(*index, days_ago) == TenantStatus::Verified).count() as i64;
        let day = crate::db::fleet::FleetDay {
            day: (now.date() - time::Duration::days(days_ago as i64)).to_string(),
            verified,
            needs_attention: tenants as i64 - verified,
            total: tenants as i64,
        };
        crate::db::fleet::record_day(pool, &day, Timestamp::new(now)).await?;
    }
    Ok(count)
}
