//! PostgreSQL, for several replicas sharing one database: its pool and its migrations
//! (`migrations/postgres/`, the same schema as SQLite's, which a test compares).
//!
//! The portal's statements still run on SQLite only: this module opens a PostgreSQL database and keeps
//! its schema up to date, the first step of running every statement on either engine.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::OpenError;

/// The migrations in `migrations/postgres/`, embedded in the binary; as on SQLite, a migration that was
/// applied and has since changed stops start-up.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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
