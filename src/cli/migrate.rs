//! `consent-portal migrate`: apply the database migrations and exit.

use std::process::ExitCode;

use super::DatabaseArgs;
use crate::startup::refuse_to_start;
use crate::{config, db};

pub async fn run(args: DatabaseArgs) -> ExitCode {
    let location = match config::parse_database_url(&args.database_url) {
        Ok(location) => location,
        Err(error) => return refuse_to_start(error),
    };
    match db::open(&location).await {
        Ok(pool) => {
            pool.close().await;
            println!("migrations applied to {}", location.shown());
            ExitCode::SUCCESS
        }
        Err(error) => refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")),
    }
}
