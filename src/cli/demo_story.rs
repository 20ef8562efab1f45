//! What the demo shows of a migration to Microsoft Graph: the portal ran for a year requiring only the
//! Defender XDR API's permissions; Fourth Coffee and Northwind consented back then. Since, the app
//! requires Graph's permissions too: Northwind's admin approved them in the Entra admin center (the
//! fake holds a full grant for it), Fourth Coffee's did not (its grant predates Graph) and needs
//! re-consent. A re-consent campaign asks both; Northwind counts as done, Fourth Coffee's Italian
//! e-mail waits in the in-memory mailbox. Seeded once per demo database.

use crate::db::Pool;
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_FOURTH_COFFEE, DEMO_FOURTH_COFFEE_CONSENT_AGE_DAYS, DEMO_NORTHWIND, demo_permissions};
use fake_entra::directory::Directory;
use time::OffsetDateTime;

use crate::app::AppState;
use crate::campaigns::{CampaignRequest, requirements};
use crate::config::ConsentFlow;
use crate::domain::api::{Cloud, group_by_api, parse_permission_list};
use crate::domain::{CustomerName, ManualClock, PermissionSet, RoleList, Selection, TenantId, Timestamp};
use crate::i18n::Language;
use crate::monitor::sweep::Target;
use crate::{db, invites};

/// What the portal required before Graph: the Defender XDR API's permissions.
const BEFORE_GRAPH: &str = "defender:Incident.Read.All,defender:AdvancedHunting.Read.All";

/// The customers of the story: name, tenant, the admin who consented, their language.
const CUSTOMERS: [(&str, &str, &str, Language); 2] = [
    ("Fourth Coffee", DEMO_FOURTH_COFFEE, "lidia@fourthcoffee.example", Language::Italian),
    ("Northwind Traders", DEMO_NORTHWIND, "lee@northwind.example", Language::English),
];

/// Northwind's admin approved the Graph permissions in the Entra admin center ten days ago.
pub fn grant_northwind_everything(directory: &mut Directory) {
    let now = OffsetDateTime::now_utc();
    if let Some(northwind) = directory.tenants.iter_mut().find(|t| t.id.to_string() == DEMO_NORTHWIND) {
        northwind.set_grant(DEMO_CLIENT_ID, demo_permissions(), true, now - time::Duration::days(10));
    }
}

/// Seeds the history and the consents before the portal starts (so it sees the change of permissions at
/// its start); `false` when the database already holds the story.
pub async fn seed_history(db: &Pool) -> anyhow::Result<bool> {
    let fourth_coffee = TenantId::parse(DEMO_FOURTH_COFFEE)?;
    if db::tenants::find(db, fourth_coffee).await?.is_some() {
        return Ok(false);
    }
    let now = OffsetDateTime::now_utc();
    let before_graph = group_by_api(&parse_permission_list(BEFORE_GRAPH)?, Cloud::Global).map_err(anyhow::Error::msg)?;
    requirements::record_at_start(db, &before_graph, Timestamp::new(now - time::Duration::days(400))).await?;
    let asked = RoleList(PermissionSet::of(&before_graph).as_slice().to_vec());
    for (customer, tenant, admin, language) in CUSTOMERS {
        let consented = now - time::Duration::days(DEMO_FOURTH_COFFEE_CONSENT_AGE_DAYS);
        let request = invites::InviteRequest {
            customer: &CustomerName::parse(customer)?,
            email: Some(admin),
            pinned_tenant: None,
            pinned_domain: None,
            language,
            valid_for: time::Duration::days(14),
            actor: "demo",
            send_to: None,
        };
        let created = invites::create(db, &ManualClock::at(consented - time::Duration::days(1)), request).await?;
        let consent = db::tenants::Consent {
            tenant_id: TenantId::parse(tenant)?,
            customer_id: &created.invite.customer_id,
            invite_id: &created.invite.id,
            upn: Some(admin),
            oid: None,
            flow: ConsentFlow::V2,
            roles_requested: &asked,
        };
        let mut tx = db::begin_write(db).await?;
        db::tenants::record_consent(&mut tx, consent, Timestamp::new(consented)).await?;
        tx.commit().await?;
    }
    Ok(true)
}

/// Once the portal runs: checks both tenants (Fourth Coffee needs re-consent, Northwind is verified)
/// and starts the campaign that asks them, its e-mails queued for the in-memory mailbox.
pub async fn start_campaign(state: &AppState) -> anyhow::Result<()> {
    for (_, tenant, _, _) in CUSTOMERS {
        if let Some(row) = db::monitoring::one(&state.db, TenantId::parse(tenant)?).await? {
            state.sweeper.check_now(Target::from_row(&row)).await?;
        }
    }
    let request = CampaignRequest {
        selection: Selection::All,
        send: true,
        language_default: Language::English,
        actor: "demo",
        required: &state.config.required,
        emails_enabled: state.config.email.enabled(),
    };
    let created = crate::campaigns::create(&state.db, Timestamp::new(state.clock.now()), request).await?;
    state.mailer.wake();
    tracing::info!(campaign = %created.id, tenants = created.tenants, "demo: a re-consent campaign is running");
    Ok(())
}
