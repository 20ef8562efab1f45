//! The schedule: every half minute, the tenants whose next check is due are taken (leased: replicas
//! sharing a database never take the same tenant) and swept. After a consent the
//! next checks fall at about 1, 5, 15 and 60 minutes while roles are propagating (see
//! `check::next_check`); then every PORTAL_CHECK_INTERVAL_HOURS.

use std::sync::Arc;
use std::time::Duration;

use super::sweep::{Sweeper, Target};
use crate::db;
use crate::domain::Timestamp;

const TICK: Duration = Duration::from_secs(30);
/// The most tenants a replica takes at one tick.
pub const PER_TICK: i64 = 5_000;

/// Starts the schedule in the background.
pub fn spawn(sweeper: Arc<Sweeper>, pool: crate::db::Pool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        loop {
            if !sweeper.is_running() {
                let now = Timestamp::new(sweeper.clock().now());
                match db::monitoring::lease_due(&pool, now, PER_TICK, sweeper.lease_until()).await {
                    Ok(rows) if !rows.is_empty() => {
                        let targets: Vec<Target> = rows.iter().map(Target::from_row).collect();
                        if let Err(error) = sweeper.sweep(targets).await {
                            tracing::error!(%error, "scheduled sweep failed");
                        }
                    }
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "cannot read the schedule"),
                }
            }
            tokio::time::sleep(TICK).await;
        }
    })
}
