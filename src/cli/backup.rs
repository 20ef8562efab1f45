//! `consent-portal backup PATH`: a consistent copy of the live database, safe while the portal runs;
//! never overwrites a file.

use std::process::ExitCode;

use super::BackupArgs;
use crate::startup::refuse_to_start;
use crate::{config, db};

/// What `backup` answers on PostgreSQL (exit 2).
pub const POSTGRES_BACKUP: &str = "the database is PostgreSQL: back it up with pg_dump (for example pg_dump --format=custom --file=portal.dump \"$PORTAL_DATABASE_URL\"); `backup` copies SQLite files only";

pub async fn run(args: BackupArgs) -> ExitCode {
    let location = match config::parse_database_url(&args.database.database_url) {
        Ok(location) => location,
        Err(error) => return refuse_to_start(error),
    };
    let path = match &location {
        config::DatabaseLocation::Sqlite { path, .. } => path,
        // A copy that is consistent while other replicas write is PostgreSQL's own tool's job.
        config::DatabaseLocation::Postgres { .. } => return refuse_to_start(POSTGRES_BACKUP),
    };
    if !path.exists() {
        return refuse_to_start(format_args!("PORTAL_DATABASE_URL: {} does not exist: nothing to back up", path.display()));
    }
    let pool = match db::open_sqlite(path).await {
        Ok(pool) => pool,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")),
    };
    let result = db::backup(&pool, &args.path).await;
    pool.close().await;
    match result {
        Ok(()) => {
            println!("backup written to {}", args.path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
