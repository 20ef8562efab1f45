//! The write probe of `/readyz`: one UPDATE of the single row of `write_probe` (migration 0006).
//!
//! It runs on its own, outside any transaction: when SQLite cannot take it (full disk, read-only file,
//! a lock held past the busy timeout, an I/O error), SQLite undoes the statement itself and the
//! connection goes back to the pool as it was.

use sqlx::SqlitePool;

/// Writes the time of the probe into the probe's row.
pub async fn write(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE write_probe SET probed_at = ? WHERE id = 1").bind(super::now_text()).execute(pool).await.map(|_| ())
}
