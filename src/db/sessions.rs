//! Browser sessions: one row per session id, its record MessagePack-encoded, in the table and format
//! that tower-sessions' SQLite store used, so sessions opened before carry on.

use sqlx::SqlitePool;
use time::OffsetDateTime;

/// Creates the sessions' table when missing (it predates the migrations that hold the rest).
pub async fn create_table(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS tower_sessions (id TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL, expiry_date INTEGER NOT NULL)",
    )
    .execute(pool)
    .await
    .map(|_| ())
}

/// Stores a new session; `false` when the id is already taken (the caller draws another).
pub async fn insert_new(pool: &SqlitePool, id: &str, data: &[u8], expiry: OffsetDateTime) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query("INSERT INTO tower_sessions (id, data, expiry_date) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(data)
        .bind(expiry)
        .execute(pool)
        .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(error) if super::is_unique_violation(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Stores a session, replacing what was stored under its id.
pub async fn upsert(pool: &SqlitePool, id: &str, data: &[u8], expiry: OffsetDateTime) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO tower_sessions (id, data, expiry_date) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_date = excluded.expiry_date",
    )
    .bind(id)
    .bind(data)
    .bind(expiry)
    .execute(pool)
    .await
    .map(|_| ())
}

/// The record of a session that has not expired.
pub async fn load(pool: &SqlitePool, id: &str, now: OffsetDateTime) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT data FROM tower_sessions WHERE id = $1 AND expiry_date > $2")
        .bind(id)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(data,)| data))
}

pub async fn delete(pool: &SqlitePool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM tower_sessions WHERE id = $1").bind(id).execute(pool).await.map(|_| ())
}

/// Deletes the sessions that expired before `now`, compared as [`load`] compares them.
pub async fn delete_expired(pool: &SqlitePool, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM tower_sessions WHERE expiry_date < $1").bind(now).execute(pool).await?;
    Ok(deleted.rows_affected())
}
