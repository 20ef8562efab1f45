//! `consent-portal tenants list`: the recorded tenants, as a table or JSON.

use std::process::ExitCode;

use clap::Subcommand;

use super::{AdminArgs, failure, open_database};
use crate::tenants;

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// List the recorded tenants.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

pub async fn run(command: TenantsCommand) -> ExitCode {
    let TenantsCommand::List { json, admin } = command;
    let pool = match open_database(&admin).await {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let listing = tenants::list(&pool).await;
    pool.close().await;
    let listing = match listing {
        Ok(listing) => listing,
        Err(error) => return failure(error),
    };
    if json {
        match serde_json::to_string_pretty(&listing) {
            Ok(text) => println!("{text}"),
            Err(error) => return failure(error),
        }
    } else if listing.is_empty() {
        println!("no tenants yet");
    } else {
        println!("{:<38}  {:<16}  {:<24}  customer", "tenant", "status", "consented by");
        for t in &listing {
            println!("{:<38}  {:<16}  {:<24}  {}", t.tenant_id, t.status, t.consented_by.as_deref().unwrap_or("-"), t.customer);
        }
    }
    ExitCode::SUCCESS
}
