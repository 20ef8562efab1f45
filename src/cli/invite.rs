//! `consent-portal invite create` and `invite revoke`: onboarding links from the command line, on the
//! database directly, so an operator can onboard customers before (or without) the staff pages.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::json;

use super::{AdminArgs, failure, open_database};
use crate::config;
use crate::domain::free_text::refuse_hidden;
use crate::domain::{SystemClock, TenantId};
use crate::entra;
use crate::invites::{self, Revoked};
use crate::startup::refuse_to_start;

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

pub async fn run(command: InviteCommand) -> ExitCode {
    match command {
        InviteCommand::Create(args) => create_invite(args).await,
        InviteCommand::Revoke { id, admin } => {
            let pool = match open_database(&admin).await {
                Ok(pool) => pool,
                Err(code) => return code,
            };
            let result = invites::revoke(&pool, &SystemClock, &id, "cli").await;
            pool.close().await;
            match result {
                Ok(Revoked::Now) => {
                    println!("invite {id} revoked");
                    ExitCode::SUCCESS
                }
                Ok(Revoked::Already) | Err(invites::Error::Refused(_)) => {
                    failure(format_args!("no invite {id} that is not revoked already"))
                }
                Err(invites::Error::Failed(error)) => failure(error),
            }
        }
    }
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
        language,
        valid_for: time::Duration::try_from(lifetime).unwrap_or(time::Duration::days(14)),
        actor: "cli",
        send_to: send_to.clone(),
    };
    let created = invites::create(&pool, &SystemClock, request).await;
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
