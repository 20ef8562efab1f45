//! The permission sets the portal has run with. At each start the configured set is recorded (a new set
//! gets its first-seen time); a set that differs from the one the portal last ran with is a
//! `permissions.changed` audit event, shown on the dashboard, and every tenant is checked again soon,
//! so that its status says what the new set lacks.

use crate::db::Pool;
use serde_json::json;

use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::domain::{AuditKind, PermissionSet, RequiredApi, RequirementHistory, Timestamp};

/// A change of the required permissions, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at: Timestamp,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Records the configured set at start (at `now`), and returns the history the checks classify with.
///
/// On the first start of a database that has consents but no sets yet (one that predates this
/// record), the sets are first rebuilt from the consents: each recorded what was required when it was
/// given, so the earliest consent asking for a set is when that set was first seen.
pub async fn record_at_start(pool: &Pool, required: &[RequiredApi], now: Timestamp) -> Result<RequirementHistory, sqlx::Error> {
    let current = PermissionSet::of(required);
    let mut tx = db::begin_write(pool).await?;
    if db::permission_sets::all(&mut tx).await?.is_empty() {
        for (set, first_seen) in db::permission_sets::asked_by_consents(&mut tx).await? {
            db::permission_sets::insert_once(&mut tx, &set, first_seen).await?;
        }
    }
    let previous = match last_recorded(&mut tx).await? {
        Some(set) => Some(set),
        None => db::permission_sets::asked_by_latest_consent(&mut tx).await?,
    };
    db::permission_sets::insert_once(&mut tx, &current, now).await?;
    if previous.as_ref() != Some(&current) {
        let added = previous.as_ref().map_or_else(Vec::new, |previous| current.added_since(previous));
        let removed = previous.as_ref().map_or_else(Vec::new, |previous| previous.added_since(&current));
        let event = NewAuditEvent {
            detail: json!({
                "permissions": current.as_slice(),
                "previous": previous.as_ref().map(PermissionSet::as_slice),
                "added": added,
                "removed": removed,
            }),
            ..NewAuditEvent::new(AuditKind::PermissionsChanged, Some("system"))
        };
        db::audit::record(&mut tx, event, now).await?;
        if previous.is_some() {
            // Every status was judged against the old set: check each tenant again at the next pass.
            db::tenants::check_all_at_next_pass(&mut tx).await?;
            tracing::warn!(
                added = %added.join(","),
                removed = %removed.join(","),
                "the required permissions changed: every tenant is checked again; tenants that consented before need re-consent"
            );
        }
    }
    let history = history_of(&db::permission_sets::all(&mut tx).await?);
    tx.commit().await?;
    Ok(history)
}

/// The history as recorded, with the configured set counted from `now` if it is not recorded yet
/// (commands that check tenants without serving, such as `validate`).
pub async fn history(pool: &Pool, required: &[RequiredApi], now: Timestamp) -> Result<RequirementHistory, sqlx::Error> {
    let mut rows = db::permission_sets::all(pool).await?;
    let current = PermissionSet::of(required);
    if !rows.iter().any(|row| row.permissions == current) {
        rows.push(db::permission_sets::PermissionSetRow { id: 0, permissions: current, first_seen_at: now });
    }
    Ok(history_of(&rows))
}

/// The history of `rows` (oldest first). The first set counts from the beginning: before it the portal
/// required nothing, so no tenant consented before it (a tenant recorded otherwise, imported or seeded,
/// is taken to have consented under it).
fn history_of(rows: &[db::permission_sets::PermissionSetRow]) -> RequirementHistory {
    RequirementHistory::new(rows.iter().enumerate().map(|(index, row)| {
        let since = if index == 0 { time::OffsetDateTime::UNIX_EPOCH } else { row.first_seen_at.as_datetime() };
        (&row.permissions, since)
    }))
}

/// The set of the latest `permissions.changed` event: the set the portal last started with.
async fn last_recorded<'e>(db: impl Into<db::engine::Exec<'e>>) -> Result<Option<PermissionSet>, sqlx::Error> {
    let event = db::audit::latest_of_kind(db, AuditKind::PermissionsChanged).await?;
    Ok(event.and_then(|event| permissions_in(&event.detail, "permissions")))
}

fn permissions_in(detail: &str, field: &str) -> Option<PermissionSet> {
    let value: serde_json::Value = serde_json::from_str(detail).ok()?;
    let list = value.get(field)?.as_array()?;
    Some(PermissionSet::from_entries(list.iter().filter_map(|v| v.as_str().map(str::to_owned))))
}

/// The latest change of the required permissions (not the first start, which changes nothing).
pub async fn latest_change(pool: &Pool) -> Result<Option<Change>, sqlx::Error> {
    let Some(event) = db::audit::latest_of_kind(pool, AuditKind::PermissionsChanged).await? else {
        return Ok(None);
    };
    let (Some(current), Some(previous)) = (permissions_in(&event.detail, "permissions"), permissions_in(&event.detail, "previous")) else {
        return Ok(None);
    };
    Ok(Some(Change { at: event.at, added: current.added_since(&previous), removed: previous.added_since(&current) }))
}
