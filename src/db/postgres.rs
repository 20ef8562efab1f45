//! PostgreSQL, for several replicas sharing one database: its pool and its migrations
//! (`migrations/postgres/`, the same schema as SQLite's, which a test compares).
//!
//! Every statement of `db/` runs on either engine (see [`super::engine`]).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::OpenError;

/// The migrations in `migrations/postgres/`, embedded in the binary; as on SQLite, a migration that was
/// applied and has since changed stops start-up.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The key of the advisory lock that every write transaction takes (see [`super::begin_write`]): any
/// constant, the same in every replica; the bytes of "consent" read as a number.
pub const WRITE_LOCK: i64 = 0x63_6f6e_7365_6e74;

/// Opens a pool on the database of `url` (`postgres://` or `postgresql://`, with libpq's options:
/// `sslmode=require` or `verify-full`, `sslrootcert=` a CA file) and applies the migrations.
pub async fn open(url: &str) -> Result<PgPool, OpenError> {
    let shown = without_password(url);
    let options: PgConnectOptions = url.parse().map_err(|source| OpenError::Open { path: shown.clone(), source })?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|source| OpenError::Open { path: shown.clone(), source })?;
    MIGRATOR.run(&pool).await.map_err(|source| OpenError::Migrate { path: shown, source })?;
    Ok(pool)
}

/// Is this PostgreSQL saying it cannot take the statement now, for a reason that passes: a lost
/// connection (SQLSTATE class 08), too many connections or a full disk (53), the server shutting down
/// or restarting (57P01–57P03), or a standby that takes no writes (25006, after a failover).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    let Some(database_error) = error.as_database_error() else { return false };
    if database_error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_none() {
        return false;
    }
    let Some(code) = database_error.code() else { return false };
    code.starts_with("08") || code.starts_with("53") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "25006")
}

/// `url` as it may be shown in messages and logs: the password replaced by `***`.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        // Not a URL: nothing of it is shown, it could be anything.
        Err(_) => "(a PostgreSQL URL that does not parse)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_a_message() {
        let shown = without_password("postgres://portal:s3cr%40t@db.example:5432/portal?sslmode=require");
        assert_eq!(shown, "postgres://portal:***@db.example:5432/portal?sslmode=require");
        assert!(!without_password("postgres://portal:hunter2@[::1/portal").contains("hunter2"));
        assert_eq!(without_password("postgresql://db.example/portal"), "postgresql://db.example/portal");
    }
}
