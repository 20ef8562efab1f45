//! Command-line administration: `invite create`, `invite revoke`, `tenants list`. They work on the
//! database directly, so an operator can onboard customers before (or without) the staff pages.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::config::{self, DEFAULT_AUTHORITY_HOST, DEFAULT_DATABASE_URL};
use crate::db;
use crate::domain::TenantId;
use crate::domain::free_text::refuse_hidden;
use crate::startup::refuse_to_start;
use crate::{entra, invites};

/// What these commands need of the configuration.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The portal's public base URL (onboarding links are built from it).
    #[arg(long, env = "PORTAL_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// SQLite database, created when missing (with its folder).
    #[arg(long, env = "PORTAL_DATABASE_URL", value_name = "URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Microsoft identity platform sign-in host (resolves --domain).
    #[arg(long, env = "PORTAL_AUTHORITY_HOST", value_name = "URL", default_value = DEFAULT_AUTHORITY_HOST)]
    pub authority_host: String,
}

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Create an invite and print its onboarding URL.
    Create(CreateInviteArgs),
    /// Revoke an invite: its link stops working at once.
    Revoke {
        /// The invite's id.
        id: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

#[derive(Debug, Args)]
pub struct CreateInviteArgs {
    /// The customer's name (an existing customer of that exact name is reused).
    #[arg(long)]
    pub customer: String,
    /// The customer's contact e-mail address.
    #[arg(long)]
    pub email: Option<String>,
    /// Pin the invite to the tenant of this verified domain (resolved now, through Microsoft's discovery).
    #[arg(long, conflicts_with = "tenant_id")]
    pub domain: Option<String>,
    /// Pin the invite to this tenant id.
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// How long the link works, e.g. 14d, 36h.
    #[arg(long, value_name = "DURATION", default_value = "14d")]
    pub expires_in: String,
    /// Print JSON: {"id", "url", "expires_at"} (and "email_id" with --send).
    #[arg(long)]
    pub json: bool,
    /// Queue the onboarding e-mail to --email; the running portal sends it (needs PORTAL_SMTP_URL).
    #[arg(long, requires = "email")]
    pub send: bool,
    /// The invite's language: its pages and e-mails (en or it).
    #[arg(long, value_name = "en|it", default_value = "en")]
    pub language: String,
    /// SMTP server the running portal sends e-mails through (checked here: --send needs it).
    #[arg(long, env = "PORTAL_SMTP_URL", value_name = "URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    #[command(flatten)]
    pub admin: AdminArgs,
}

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

async fn open_database(admin: &AdminArgs) -> Result<sqlx::SqlitePool, ExitCode> {
    let location = config::parse_database_url(&admin.database_url).map_err(refuse_to_start)?;
    db::open(&location).await.map_err(|error| refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")))
}

fn failure(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

pub async fn invite(command: InviteCommand) -> ExitCode {
    match command {
        InviteCommand::Create(args) => create_invite(args).await,
        InviteCommand::Revoke { id, admin } => {
            let pool = match open_database(&admin).await {
                Ok(pool) => pool,
                Err(code) => return code,
            };
            let result = revoke_invite(&pool, &id).await;
            pool.close().await;
            match result {
                Ok(true) => {
                    println!("invite {id} revoked");
                    ExitCode::SUCCESS
                }
                Ok(false) => failure(format_args!("no invite {id} that is not revoked already")),
                Err(error) => failure(error),
            }
        }
    }
}

async fn revoke_invite(pool: &sqlx::SqlitePool, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db::begin_write(pool).await?;
    let invite = db::invites::find(&mut *tx, id).await?;
    if !db::invites::revoke(&mut *tx, id).await? {
        return Ok(false);
    }
    let customer_id = invite.as_ref().map(|i| i.invite.customer_id.clone());
    let event = db::audit::NewAuditEvent {
        kind: "invite.revoked",
        actor: Some("cli"),
        customer_id: customer_id.as_deref(),
        invite_id: Some(id),
        ..Default::default()
    };
    db::audit::record(&mut *tx, event).await?;
    tx.commit().await?;
    Ok(true)
}

async fn create_invite(args: CreateInviteArgs) -> ExitCode {
    let admin = &args.admin;
    let Some(public_url) = admin.public_url.as_deref() else {
        return refuse_to_start("PORTAL_PUBLIC_URL: is missing: onboarding links are built from it");
    };
    let public_url = match config::parse_public_url(public_url) {
        Ok(url) => url,
        Err(error) => return refuse_to_start(error),
    };
    let customer = match invites::validate_customer(&args.customer, args.email.as_deref()) {
        Ok(customer) => customer,
        Err(message) => return refuse_to_start(format_args!("--customer/--email: {message}")),
    };
    if let Some(domain) = &args.domain
        && let Err(error) = refuse_hidden("the domain", domain)
    {
        return refuse_to_start(format_args!("--domain: {error}"));
    }
    let Some(language) = crate::i18n::Language::parse(&args.language).filter(|l| l.code() == args.language.trim()) else {
        return refuse_to_start(format_args!("--language: {:?} is not en or it", args.language));
    };
    let send_to = if args.send {
        match args.smtp_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => return refuse_to_start("--send: PORTAL_SMTP_URL is not set: the portal cannot send e-mails"),
            Some(url) => {
                if let Err(error) = crate::email::SmtpUrl::parse(url) {
                    return refuse_to_start(format_args!("PORTAL_SMTP_URL: {error}"));
                }
            }
        }
        match args.email.as_deref().map(crate::email::parse_address) {
            Some(Ok(address)) => Some(address),
            Some(Err(message)) => return refuse_to_start(format_args!("--email: {message}")),
            None => return refuse_to_start("--send: needs --email"),
        }
    } else {
        None
    };
    let lifetime: Duration = match humantime::parse_duration(&args.expires_in) {
        Ok(lifetime) if lifetime >= Duration::from_secs(60) && lifetime <= Duration::from_secs(365 * 24 * 3600) => lifetime,
        _ => {
            return refuse_to_start(format_args!(
                "--expires-in: {:?} is not a duration between 1m and 365d, such as 14d or 36h",
                args.expires_in
            ));
        }
    };
    let pinned_tenant = match (&args.tenant_id, &args.domain) {
        (Some(tenant), _) => match TenantId::parse(tenant.trim()) {
            Ok(tenant) => Some(tenant),
            Err(error) => return refuse_to_start(format_args!("--tenant-id: {error}")),
        },
        (None, Some(domain)) => {
            let authority = match config::parse_authority_host(&admin.authority_host) {
                Ok(url) => url.as_str().trim_end_matches('/').to_owned(),
                Err(error) => return refuse_to_start(error),
            };
            let http = match entra::http_client() {
                Ok(http) => http,
                Err(error) => return failure(error),
            };
            match entra::resolve_domain(&http, &authority, &domain.trim().to_ascii_lowercase()).await {
                Ok(tenant) => Some(tenant),
                Err(error) => return failure(format_args!("--domain: {error}")),
            }
        }
        (None, None) => None,
    };
    let pool = match open_database(admin).await {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let domain = args.domain.as_deref().map(|d| d.trim().to_ascii_lowercase());
    let request = invites::InviteRequest {
        customer: &customer,
        email: args.email.as_deref(),
        pinned_tenant,
        pinned_domain: domain.as_deref(),
        language: language.code(),
        expires_at: OffsetDateTime::now_utc() + lifetime,
        actor: "cli",
        send_to: send_to.clone(),
    };
    let created = invites::create(&pool, request).await;
    pool.close().await;
    let created = match created {
        Ok(created) => created,
        Err(error) => return failure(error),
    };
    let url = created.url(public_url.as_str());
    let invite = created.invite;
    if args.json {
        println!("{}", json!({ "id": invite.id, "url": url, "expires_at": invite.expires_at, "email_id": created.outbox_id }));
    } else {
        println!("Invite {} for {customer} (expires {}):", invite.id, invite.expires_at);
        println!("{url}");
        if let (Some(address), Some(id)) = (&send_to, &created.outbox_id) {
            println!("Onboarding e-mail {id} queued to {address}: the running portal sends it (see its Outbox page).");
        }
    }
    ExitCode::SUCCESS
}

#[derive(Serialize)]
struct TenantListing {
    tenant_id: String,
    customer: String,
    status: String,
    status_reason: Option<String>,
    consented_at: String,
    consented_by: Option<String>,
    roles_present: Vec<String>,
    roles_missing: Vec<String>,
    last_checked_at: Option<String>,
}

pub async fn tenants(command: TenantsCommand) -> ExitCode {
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
    let roles: std::collections::HashMap<String, (Vec<String>, Vec<String>)> = roles
        .into_iter()
        .map(|(tenant, present, missing)| {
            let parse = |text: &str| serde_json::from_str::<Vec<String>>(text).unwrap_or_default();
            (tenant, (parse(&present), parse(&missing)))
        })
        .collect();
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

/// `validate [--all | --tenant T] [--concurrency N]`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Check every tenant.
    #[arg(long, conflicts_with = "tenant", required_unless_present = "tenant")]
    pub all: bool,
    /// Check this tenant only.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: Option<String>,
    /// Tenants checked at once [default: PORTAL_CHECK_CONCURRENCY].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    #[command(flatten)]
    pub config: crate::config::ConfigArgs,
}

/// Checks tenants now, with a progress bar on standard error; prints one line per tenant that is not
/// verified. Exit status 0 when every tenant checked is verified, 1 otherwise.
pub async fn validate(args: ValidateArgs) -> ExitCode {
    let mut config_args = args.config.clone();
    if let Some(concurrency) = args.concurrency {
        config_args.check_concurrency = concurrency;
    }
    let config = match crate::config::Config::from_args(&config_args) {
        Ok(config) => config,
        Err(error) => return refuse_to_start(error),
    };
    let pool = match db::open(&config.database).await {
        Ok(pool) => pool,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")),
    };
    let entra = match entra::EntraClient::new(&config) {
        Ok(entra) => entra,
        Err(error) => return failure(error),
    };
    let rows = match &args.tenant {
        Some(tenant) => match TenantId::parse(tenant.trim()) {
            Ok(tenant) => match db::monitoring::one(&pool, &tenant.to_string()).await {
                Ok(Some(row)) => vec![row],
                Ok(None) => return failure(format_args!("no tenant {tenant} is recorded")),
                Err(error) => return failure(error),
            },
            Err(error) => return refuse_to_start(format_args!("--tenant: {error}")),
        },
        None => match db::monitoring::all(&pool).await {
            Ok(rows) => rows,
            Err(error) => return failure(error),
        },
    };
    let targets: Vec<crate::monitor::sweep::Target> = rows.iter().filter_map(crate::monitor::sweep::Target::from_row).collect();
    let sweeper = crate::monitor::sweeper(&config, &entra, pool.clone());
    let bar = indicatif::ProgressBar::new(targets.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} checking tenants [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let sweep = {
        let sweeper = sweeper.clone();
        tokio::spawn(async move { sweeper.sweep(targets).await })
    };
    while !sweep.is_finished() {
        let progress = sweeper.progress();
        bar.set_position(progress.done as u64);
        bar.set_message(format!("{} verified, {} with problems", progress.verified, progress.problems));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = sweep.await;
    bar.finish_and_clear();
    let progress = match result {
        Ok(Ok(progress)) => progress,
        Ok(Err(error)) => return failure(error),
        Err(error) => return failure(error),
    };
    let rows = db::tenants::list(&pool).await.unwrap_or_default();
    pool.close().await;
    for row in rows.iter().filter(|r| r.status != "verified") {
        if args.tenant.as_deref().is_none_or(|t| t.trim().eq_ignore_ascii_case(&row.tenant_id)) {
            println!("{}  {:<16}  {}  {}", row.tenant_id, row.status, row.customer, row.status_reason.as_deref().unwrap_or(""));
        }
    }
    println!("{} checked: {} verified, {} with problems", progress.done, progress.verified, progress.problems);
    if progress.problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
