//! Browser sessions: one row per session id, its record MessagePack-encoded, in the table and format
//! that tower-sessions' SQLite and PostgreSQL stores use, so sessions opened before carry on. On
//! PostgreSQL every replica reads the same table, so a customer or staff member may land on any of them
//! mid-flow.

use sqlx::SqlitePool;
use time::OffsetDateTime;

use super::engine::{Exec, on_engine};

/// Creates the sessions' table when missing on SQLite (it predates the migrations that hold the rest;
/// PostgreSQL's migrations create it).
pub async fn create_table(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS tower_sessions (id TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL, expiry_date INTEGER NOT NULL)",
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// Stores a new session; `false` when the id is already taken (the caller draws another).
pub async fn insert_new<'e>(db: impl Into<Exec<'e>>, id: &str, data: &[u8], expiry: OffsetDateTime) -> Result<bool, sqlx::Error> {
    let inserted = on_engine!(db, |executor| sqlx::query("INSERT INTO tower_sessions (id, data, expiry_date) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(data)
        .bind(expiry)
        .execute(executor)
        .await
        .map(|_| ()));
    match inserted {
        Ok(()) => Ok(true),
        Err(error) if super::is_unique_violation(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Stores a session, replacing what was stored under its id.
pub async fn upsert<'e>(db: impl Into<Exec<'e>>, id: &str, data: &[u8], expiry: OffsetDateTime) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO tower_sessions (id, data, expiry_date) VALUES ($1, $2, $3) \
               ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_date = excluded.expiry_date";
    on_engine!(db, |executor| sqlx::query(sql).bind(id).bind(data).bind(expiry).execute(executor).await.map(|_| ()))
}

/// The record of a session that has not expired.
pub async fn load<'e>(db: impl Into<Exec<'e>>, id: &str, now: OffsetDateTime) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let sql = "SELECT data FROM tower_sessions WHERE id = $1 AND expiry_date > $2";
    on_engine!(db, |executor| sqlx::query_scalar(sql).bind(id).bind(now).fetch_optional(executor).await)
}

pub async fn delete<'e>(db: impl Into<Exec<'e>>, id: &str) -> Result<(), sqlx::Error> {
    on_engine!(db, |executor| sqlx::query("DELETE FROM tower_sessions WHERE id = $1").bind(id).execute(executor).await.map(|_| ()))
}

/// Deletes the sessions that expired before `now`, compared as [`load`] compares them.
pub async fn delete_expired<'e>(db: impl Into<Exec<'e>>, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    let sql = "DELETE FROM tower_sessions WHERE expiry_date < $1";
    on_engine!(db, |executor| sqlx::query(sql).bind(now).execute(executor).await.map(|done| done.rows_affected()))
}
