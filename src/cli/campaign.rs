//! `consent-portal campaign create|list|show`: re-consent campaigns from the command line. `create`
//! reads the portal's configuration (the permissions it requires now, whether it can send e-mails), as
//! `serve` does; the e-mails it queues leave through a running portal's outbox.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::{AdminArgs, failure, open_database};
use crate::campaigns::{self, CampaignRequest};
use crate::domain::{CampaignTenantState, Progress, Selection, Timestamp};
use crate::i18n::Language;
use crate::startup::refuse_to_start;

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Start a campaign: an invite pinned to each tenant asked, and (with --send) its e-mail queued.
    Create(Box<CreateArgs>),
    /// List the campaigns, newest first, with their progress.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// One campaign: its progress, and each tenant's state.
    Show {
        /// The campaign's id (from `campaign list`).
        #[arg(value_name = "ID")]
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// `campaign create [--all | --needs-reconsent] [--send] [--language-default en|it] [--json]`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Ask every tenant on the dashboard.
    #[arg(long, conflicts_with = "needs_reconsent")]
    pub all: bool,
    /// Ask only the tenants whose latest check shows "needs re-consent" (the default).
    #[arg(long)]
    pub needs_reconsent: bool,
    /// Queue each tenant's e-mail now (needs PORTAL_SMTP_URL); otherwise send them from the campaign's page.
    #[arg(long)]
    pub send: bool,
    /// The language of a customer whose language the portal does not know.
    #[arg(long, value_name = "en|it", default_value = "en")]
    pub language_default: String,
    /// Print JSON: {"id", "tenants", "emails_queued"}.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: crate::config::ConfigArgs,
}

pub async fn run(command: CampaignCommand) -> ExitCode {
    match command {
        CampaignCommand::Create(args) => create(*args).await,
        CampaignCommand::List { json, admin } => list(json, &admin).await,
        CampaignCommand::Show { id, json, admin } => show(&id, json, &admin).await,
    }
}

fn now() -> Timestamp {
    Timestamp::new(time::OffsetDateTime::now_utc())
}

async fn create(args: CreateArgs) -> ExitCode {
    let Some(language_default) = Language::parse(&args.language_default).filter(|l| l.code() == args.language_default.trim()) else {
        return refuse_to_start(format_args!("--language-default: {:?} is not en or it", args.language_default));
    };
    let config = match crate::config::Config::from_args(&args.config) {
        Ok(config) => config,
        Err(error) => return refuse_to_start(error),
    };
    if args.send && !config.email.enabled() {
        return refuse_to_start("--send: PORTAL_SMTP_URL is not set: the portal cannot send e-mails");
    }
    let pool = match crate::db::open(&config.database).await {
        Ok(pool) => pool,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")),
    };
    let request = CampaignRequest {
        selection: if args.all { Selection::All } else { Selection::NeedsReconsent },
        send: args.send,
        language_default,
        actor: "cli",
        required: &config.required,
        emails_enabled: config.email.enabled(),
    };
    let created = campaigns::create(&pool, now(), request).await;
    pool.close().await;
    let created = match created {
        Ok(created) => created,
        Err(campaigns::Error::Refused(refusal)) => return failure(refusal.message()),
        Err(error) => return failure(error),
    };
    if args.json {
        println!("{}", json!(created));
    } else {
        println!("campaign {} started: {} tenants asked, {} e-mails queued", created.id, created.tenants, created.emails_queued);
        if created.emails_queued == 0 {
            println!("no e-mail queued: send them from the campaign's page (/campaigns/{}) or run again with --send", created.id);
        }
    }
    ExitCode::SUCCESS
}

/// A campaign's progress as JSON.
fn progress_json(progress: &Progress) -> serde_json::Value {
    json!({
        "total": progress.total(),
        "reconsented": progress.reconsented,
        "waiting": progress.waiting,
        "email_failed": progress.email_failed,
        "link_expired": progress.link_expired,
        "removed": progress.removed,
        "percent_done": progress.percent_done(),
    })
}

async fn list(json: bool, admin: &AdminArgs) -> ExitCode {
    let pool = match open_database(admin).await {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let listed = campaigns::list(&pool, now()).await;
    pool.close().await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(error) => return failure(error),
    };
    if json {
        let items: Vec<serde_json::Value> = listed
            .iter()
            .map(|(c, progress)| {
                json!({
                    "id": c.id,
                    "created_at": c.created_at,
                    "created_by": c.created_by,
                    "selection": c.selection,
                    "permissions": c.permissions.as_slice(),
                    "completed_at": c.completed_at,
                    "progress": progress_json(progress),
                })
            })
            .collect();
        println!("{}", serde_json::Value::from(items));
    } else if listed.is_empty() {
        println!("no campaigns yet");
    } else {
        println!("{:<36}  {:<20}  {:>7}  {:>12}  state", "campaign", "started", "tenants", "re-consented");
        for (c, progress) in &listed {
            let state = if c.completed_at.is_some() { "completed" } else { "running" };
            println!(
                "{:<36}  {:<20}  {:>7}  {:>8} {:>2}%  {state}",
                c.id,
                c.created_at.to_string(),
                progress.total(),
                progress.reconsented,
                progress.percent_done()
            );
        }
    }
    ExitCode::SUCCESS
}

async fn show(id: &str, json: bool, admin: &AdminArgs) -> ExitCode {
    let Ok(id) = uuid::Uuid::parse_str(id.trim()) else {
        return refuse_to_start(format_args!("{id:?} is not a campaign id"));
    };
    let pool = match open_database(admin).await {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    let id = id.to_string();
    let found = async {
        let progress = campaigns::progress::progress(&pool, &id, now()).await.map_err(campaigns::Error::from)?;
        let (campaign, tenants) = campaigns::progress::all_tenants(&pool, &id, now()).await?;
        Ok::<_, campaigns::Error>((campaign, progress, tenants))
    }
    .await;
    pool.close().await;
    let (campaign, progress, tenants) = match found {
        Ok(found) => found,
        Err(campaigns::Error::Refused(refusal)) => return failure(refusal.message()),
        Err(error) => return failure(error),
    };
    if json {
        let tenants: Vec<serde_json::Value> = tenants
            .iter()
            .map(|t| {
                json!({
                    "tenant_id": t.tenant_id,
                    "customer": t.customer,
                    "state": t.state,
                    "tenant_status": t.status,
                    "recipient": t.recipient,
                    "language": t.language.code(),
                    "email_status": t.email_status,
                    "link_expires_at": t.invite_expires_at,
                })
            })
            .collect();
        let value = json!({
            "id": campaign.id,
            "created_at": campaign.created_at,
            "created_by": campaign.created_by,
            "selection": campaign.selection,
            "permissions": campaign.permissions.as_slice(),
            "completed_at": campaign.completed_at,
            "progress": progress_json(&progress),
            "tenants": tenants,
        });
        println!("{value}");
    } else {
        println!(
            "campaign {} started {} by {}: {} of {} re-consented ({}%)",
            campaign.id,
            campaign.created_at,
            campaign.created_by,
            progress.reconsented,
            progress.total(),
            progress.percent_done()
        );
        for state in CampaignTenantState::ALL {
            println!("  {:<13} {}", state.label(), progress.count(state));
        }
        for t in &tenants {
            println!("{:<38}  {:<13}  {}", t.tenant_id, t.state.label(), t.customer);
        }
    }
    ExitCode::SUCCESS
}
