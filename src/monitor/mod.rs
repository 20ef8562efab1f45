//! Checking tenants (src/monitor/ owns every decision about a tenant's health): one check
//! (`check`), many at once (`sweep`), and when (`schedule`).

pub mod check;
pub mod schedule;
pub mod sweep;

use std::sync::Arc;

use crate::config::Config;
use crate::domain::{RequirementHistory, SharedClock};
use crate::entra::EntraClient;

/// The sweeper of a running portal, checking by the time of `clock`.
pub fn sweeper(
    config: &Config,
    entra: &EntraClient,
    db: crate::db::Pool,
    clock: SharedClock,
    history: Arc<RequirementHistory>,
) -> Arc<sweep::Sweeper> {
    let ctx = check::CheckContext {
        clock,
        history,
        entra: entra.clone(),
        required: config.required.clone(),
        api_probe: config.checks.api_probe,
        interval: config.checks.interval,
        notify: config.email.notify.iter().map(ToString::to_string).collect(),
        webhooks: crate::webhooks::Webhooks::new(&config.webhooks),
    };
    let sweeper = sweep::Sweeper::new(ctx, db, config.checks.concurrency, config.checks.timeout);
    Arc::new(sweeper.leasing_for(config.checks.lease))
}
