//! `consent-portal tenants list`: the recorded tenants, as a table or JSON.

use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;

use super::{AdminArgs, failure, open_database};
use crate::db;
use crate::domain::{RoleList, TenantId, TenantStatus, Timestamp};

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

#[derive(Serialize)]
struct TenantListing {
    tenant_id: TenantId,
    customer: String,
    status: TenantStatus,
    status_reason: Option<String>,
    consented_at: Timestamp,
    consented_by: Option<String>,
    roles_present: RoleList,
    roles_missing: RoleList,
    last_checked_at: Option<Timestamp>,
}

pub async fn run(command: TenantsCommand) -> ExitCode {
    let TenantsCommand::List { json, admin } = command;
    let pool = match open_database(&admin).await {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let rows = db::tenants::list(&pool).await;
    let roles = db::monitoring::latest_roles(&pool).await;
    pool.close().await;
    let (rows, roles) = match (rows, roles) {
        (Ok(rows), Ok(roles)) => (rows, roles),
        (Err(error), _) | (_, Err(error)) => return failure(error),
    };
    let roles: std::collections::HashMap<TenantId, (RoleList, RoleList)> =
        roles.into_iter().map(|(tenant, present, missing)| (tenant, (present, missing))).collect();
    let listing: Vec<TenantListing> = rows
        .into_iter()
        .map(|row| TenantListing {
            roles_present: roles.get(&row.tenant_id).map(|r| r.0.clone()).unwrap_or_default(),
            roles_missing: roles.get(&row.tenant_id).map(|r| r.1.clone()).unwrap_or_default(),
            tenant_id: row.tenant_id,
            customer: row.customer,
            status: row.status,
            status_reason: row.status_reason,
            consented_at: row.consented_at,
            consented_by: row.consented_by_upn.or(row.consented_by_oid),
            last_checked_at: row.last_checked_at,
        })
        .collect();
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
