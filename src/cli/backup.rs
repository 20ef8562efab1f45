//! `consent-portal backup PATH`: a consistent copy of the live database, safe while the portal runs;
//! never overwrites a file.

use std::process::ExitCode;

use super::BackupArgs;
use crate::startup::refuse_to_start;
use crate::{config, db};

pub async fn run(args: BackupArgs) -> ExitCode {
    let location = match config::parse_database_url(&args.database.database_url) {
        Ok(location) => location,
        Err(error) => return refuse_to_start(error),
    };
    if !location.path.exists() {
        return refuse_to_start(format_args!("PORTAL_DATABASE_URL: {} does not exist: nothing to back up", location.path.display()));
    }
    let pool = match db::open(&location).await {
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
