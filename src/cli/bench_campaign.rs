//! `consent-portal bench campaign --tenants N --requests R`: a re-consent campaign over N tenants (each
//! with an address to ask), created with its e-mails queued, then R requests of its page (the first
//! page, a state filter, a later page). Prints `tenants=… create_s=… emails_queued=… median_ms=…
//! p95_ms=… peak_rss_mb=…`. The page is timed as seen by a client on loopback (an upper bound of the
//! server's time).

use std::time::Instant;

use time::OffsetDateTime;

use super::bench::{PageBenchArgs, SignedInPortal, peak_rss_mb, seed_checked_tenants};
use crate::campaigns::CampaignRequest;
use crate::domain::{Selection, Timestamp};
use crate::i18n::Language;

pub async fn run(args: PageBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.tenants > 0 && args.requests > 0, "--tenants and --requests must be positive");
    let portal = SignedInPortal::start(async |pool| {
        seed_checked_tenants(pool, args.tenants).await?;
        // Who consented, for each tenant: where its campaign e-mail goes.
        let crate::db::Pool::Sqlite(sqlite) = pool else { anyhow::bail!("the benchmark's portal runs on SQLite") };
        sqlx::query("UPDATE tenants SET consented_by_upn = 'admin-' || rowid || '@customer.example'").execute(sqlite).await?;
        Ok(())
    })
    .await?;
    let request = CampaignRequest {
        selection: Selection::All,
        send: true,
        language_default: Language::English,
        actor: "bench",
        required: &portal.state.config.required,
        emails_enabled: true,
    };
    let started = Instant::now();
    let created = crate::campaigns::create(&portal.state.db, Timestamp::new(OffsetDateTime::now_utc()), request).await?;
    let create_s = started.elapsed().as_secs_f64();
    let campaign = format!("/campaigns/{}", created.id);
    let pages = [campaign.clone(), format!("{campaign}?state=waiting"), format!("{campaign}?page=100")];
    let pages: Vec<&str> = pages.iter().map(String::as_str).collect();
    let (median, p95) = portal.time_pages(&pages, args.requests).await?;
    println!(
        "tenants={} create_s={create_s:.2} emails_queued={} requests={} median_ms={median:.2} p95_ms={p95:.2} peak_rss_mb={:.1}",
        created.tenants,
        created.emails_queued,
        args.requests,
        peak_rss_mb()
    );
    Ok(())
}
