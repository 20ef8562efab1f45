//! The write probe of `/readyz`: one UPDATE of the single row of `write_probe` (migration 0006).
//!
//! It runs on its own, outside any transaction: when SQLite cannot take it (full disk, read-only file,
//! a lock held past the busy timeout, an I/O error), SQLite undoes the statement itself and the
//! connection goes back to the pool as it was.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Mutex;

use super::Pool;
use super::engine::{Exec, on_engine};

/// How long one write probe's answer stands: `/readyz` is unauthenticated and polled, and each probe
/// is a synced write, so however often it is asked the database sees at most one probe a second.
const PROBE_STANDS_FOR: Duration = Duration::from_secs(1);

/// Writes the time of the probe into the probe's row, to the nanosecond: SQLite writes nothing at all
/// for an UPDATE that leaves a row as it was, so two probes within one second (start-up's and the first
/// `/readyz`) would both "succeed" on a full disk if the time were stored to the second.
pub async fn write<'e>(db: impl Into<Exec<'e>>) -> Result<(), sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    let probed_at = now.format(&Rfc3339).unwrap_or_else(|_| super::timestamp_text(now));
    on_engine!(db, |executor| sqlx::query("UPDATE write_probe SET probed_at = $1 WHERE id = 1")
        .bind(&probed_at)
        .execute(executor)
        .await
        .map(|_| ()))
}

/// The last write probe's answer, shared by the requests of the next second. Requests that come
/// while a probe runs wait for it (one probe at a time) and take its answer.
#[derive(Debug, Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, bool)>>,
}

impl Readiness {
    pub async fn database_takes_writes(&self, db: &Pool) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = *last
            && at.elapsed() < PROBE_STANDS_FOR
        {
            return answer;
        }
        let answer = match write(db).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "readiness check: the database does not take a write");
                false
            }
        };
        *last = Some((Instant::now(), answer));
        answer
    }
}
