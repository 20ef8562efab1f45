//! The customer's own pages of the onboarding: the landing page of a link, and the result.

use askama::Template;

use crate::config::{Config, ConsentFlow};
use crate::db::invites::InviteWithCustomer;
use crate::domain::aadsts::{self, Explanation};
use crate::domain::{TenantId, TenantStatus};
use crate::i18n::Messages;
use crate::onboarding::TenantResult;
use crate::web::language::PageLanguage;

#[derive(Template)]
#[template(path = "onboarding/landing.html")]
pub struct LandingPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    customer: &'a str,
    roles: Vec<(String, String)>,
    action: String,
    csrf: &'a str,
    pinned: Option<String>,
    /// The tenant a completed invite onboarded (and is bound to).
    connected_tenant: Option<String>,
    one_step: bool,
}

impl<'a> LandingPage<'a> {
    /// The page of `invite`, whose form posts to `action` with `csrf`.
    pub fn new(config: &'a Config, lang: PageLanguage, invite: &'a InviteWithCustomer, action: String, csrf: &'a str) -> Self {
        Self {
            roles: roles_in_plain_words(config, lang.tr),
            lang,
            partner: &config.partner_name,
            customer: &invite.customer_name,
            action,
            csrf,
            pinned: invite.invite.pinned(),
            connected_tenant: invite.invite.completed_tenant_id.map(|t| t.to_string()),
            one_step: config.consent_flow == ConsentFlow::V1,
        }
    }
}

#[derive(Template)]
#[template(path = "onboarding/result.html")]
pub struct ResultPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    customer: String,
    tenant_id: TenantId,
    consented_by: String,
    consented_at: String,
    client_id: &'a str,
    requested: Vec<(String, String)>,
    granted: Vec<String>,
    still_to_appear: Vec<String>,
    status_label: String,
    status_tone: &'static str,
    verified: bool,
    propagating: bool,
    problem: Option<Explanation>,
    code: Option<String>,
}

impl<'a> ResultPage<'a> {
    /// The result of a recorded tenant, for the customer: what was granted, what is still to appear, and
    /// in plain words what failed when the token itself failed.
    pub fn new(config: &'a Config, client_id: &'a str, lang: PageLanguage, result: TenantResult) -> Self {
        let TenantResult { tenant, check } = result;
        let status = tenant.status;
        Self {
            partner: &config.partner_name,
            consented_by: tenant.consented_by().unwrap_or_default().to_owned(),
            customer: tenant.customer,
            tenant_id: tenant.tenant_id,
            consented_at: lang.tr.date_time(tenant.consented_at.as_datetime()),
            client_id,
            requested: roles_in_plain_words(config, lang.tr),
            granted: check.as_ref().map(|c| c.roles_present.names()).unwrap_or_default(),
            still_to_appear: match check.as_ref() {
                Some(c) => c.roles_missing.names(),
                None => config.required_permissions(),
            },
            status_label: lang.tr.t(customer_status_key(status)),
            status_tone: status.tone(),
            verified: status == TenantStatus::Verified,
            propagating: status.awaits_roles(),
            problem: status.is_token_failure().then(|| aadsts::explain(check.as_ref().and_then(|c| c.aadsts())).words(lang.tr)),
            code: check.as_ref().and_then(|c| c.error_code).map(|c| format!("AADSTS{c}")),
            lang,
        }
    }
}

/// The roles the application asks for, each with its description in the page's language.
pub fn roles_in_plain_words(config: &Config, tr: Messages) -> Vec<(String, String)> {
    config
        .required_permissions()
        .into_iter()
        .map(|p| {
            let words = tr.t(aadsts::describe_role(&p));
            (p, words)
        })
        .collect()
}

/// The catalogue key of a tenant's status in the customer's words: the staff labels say more than a
/// customer can act on.
fn customer_status_key(status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Verified => "status-verified",
        TenantStatus::Propagating => "status-propagating",
        TenantStatus::MissingRoles => "status-missing-roles",
        TenantStatus::NeverChecked => "status-never-checked",
        _ => "status-problem",
    }
}
