//! The `credential_notices` table: which expiry e-mail (a threshold of days left) staff were sent for
//! which of the portal's own credentials, so that each goes out once, whichever process or restart
//! gets there first.

use super::engine::{Exec, on_engine};
use crate::domain::Timestamp;

/// Records that the e-mail of `threshold` days for `credential` (a key such as
/// `certificate:<thumbprint>`, never a secret) is being sent. False when it was recorded before.
pub async fn insert_once<'e>(db: impl Into<Exec<'e>>, credential: &str, threshold: i64, now: Timestamp) -> Result<bool, sqlx::Error> {
    let done = on_engine!(db, |executor| sqlx::query(
        "INSERT INTO credential_notices (credential, threshold, noticed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
    )
    .bind(credential)
    .bind(threshold)
    .bind(now)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}
