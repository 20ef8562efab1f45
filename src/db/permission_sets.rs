//! The `permission_sets` table: each distinct set of required permissions the portal started with, and
//! when it was first seen.

use super::engine::{Exec, on_engine};
use sqlx::FromRow;

use crate::domain::{PermissionSet, Timestamp};

#[derive(Debug, Clone, FromRow)]
pub struct PermissionSetRow {
    pub id: i64,
    pub permissions: PermissionSet,
    pub first_seen_at: Timestamp,
}

/// Every set, oldest first.
pub async fn all<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<PermissionSetRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as("SELECT id, permissions, first_seen_at FROM permission_sets ORDER BY first_seen_at, id")
        .fetch_all(executor)
        .await)
}

/// Records `set` as first seen at `first_seen_at`, unless it is known; its id either way.
pub async fn insert_once<'e>(db: impl Into<Exec<'e>>, set: &PermissionSet, first_seen_at: Timestamp) -> Result<i64, sqlx::Error> {
    let mut db = db.into();
    on_engine!(db.reborrow(), |executor| sqlx::query(
        "INSERT INTO permission_sets (permissions, first_seen_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    )
    .bind(set)
    .bind(first_seen_at)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    on_engine!(db.reborrow(), |executor| sqlx::query_scalar("SELECT id FROM permission_sets WHERE permissions = $1")
        .bind(set)
        .fetch_one(executor)
        .await)
}

/// What consents asked for, each distinct list with its earliest consent: the history of the sets the
/// portal required before it kept one (each consent records the permissions required at the time).
pub async fn asked_by_consents<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<(PermissionSet, Timestamp)>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(
        "SELECT roles_requested, MIN(consented_at) FROM consents WHERE roles_requested <> '[]' GROUP BY roles_requested"
    )
    .fetch_all(executor)
    .await)
}

/// The set asked for by the latest consent, if any.
pub async fn asked_by_latest_consent<'e>(db: impl Into<Exec<'e>>) -> Result<Option<PermissionSet>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_scalar(
        "SELECT roles_requested FROM consents WHERE roles_requested <> '[]' ORDER BY consented_at DESC, id DESC LIMIT 1"
    )
    .fetch_optional(executor)
    .await)
}
