//! The customer's own pages of the onboarding: the landing page of a link, and the result.

use askama::Template;

use crate::config::{Config, ConsentFlow};
use crate::db::invites::InviteWithCustomer;
use crate::domain::aadsts::{self, ApiInWords, Explanation};
use crate::domain::{Api, RequiredApi, TenantId, TenantStatus};
use crate::i18n::Messages;
use crate::onboarding::TenantResult;
use crate::web::language::PageLanguage;

#[derive(Template)]
#[template(path = "onboarding/landing.html")]
pub struct LandingPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    customer: &'a str,
    /// The permissions asked for: all of them, or for a re-consent those not granted yet.
    apis: Vec<ApiInWords>,
    /// A re-consent: the permissions granted before, which stay (empty otherwise).
    kept: Vec<ApiInWords>,
    reconsent: bool,
    action: String,
    csrf: &'a str,
    pinned: Option<String>,
    /// The tenant a completed invite onboarded (and is bound to).
    connected_tenant: Option<String>,
    one_step: bool,
}

impl<'a> LandingPage<'a> {
    /// The page of `invite`, whose form posts to `action` with `csrf`.
    /// `granted_before`: for a tenant asked to consent again, what its latest check showed.
    pub fn new(
        config: &'a Config,
        lang: PageLanguage,
        invite: &'a InviteWithCustomer,
        action: String,
        csrf: &'a str,
        granted_before: Option<&[String]>,
    ) -> Self {
        let (asked, kept) = match granted_before {
            Some(granted) => crate::domain::api::split_by_granted(&config.required, granted),
            None => (config.required.clone(), Vec::new()),
        };
        Self {
            apis: aadsts::permissions_in_words(&asked, lang.tr),
            kept: aadsts::permissions_in_words(&kept, lang.tr),
            reconsent: granted_before.is_some(),
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
    requested: Vec<ApiInWords>,
    /// What the check found, per API.
    outcomes: Vec<ApiOutcome>,
    any_granted: bool,
    any_still_to_appear: bool,
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
        let (granted, still_to_appear) = match check.as_ref() {
            Some(c) => (c.roles_present.names(), c.roles_missing.names()),
            None => (Vec::new(), config.required_permissions()),
        };
        let outcomes = outcomes_per_api(&config.required, &granted, &still_to_appear, lang.tr);
        Self {
            partner: &config.partner_name,
            consented_by: tenant.consented_by().unwrap_or_default().to_owned(),
            customer: tenant.customer,
            tenant_id: tenant.tenant_id,
            consented_at: lang.tr.date_time(tenant.consented_at.as_datetime()),
            client_id,
            requested: roles_in_plain_words(config, lang.tr),
            any_granted: !granted.is_empty(),
            any_still_to_appear: !still_to_appear.is_empty(),
            outcomes,
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

/// The roles the application asks for, grouped by API, each with its description in the page's language.
pub fn roles_in_plain_words(config: &Config, tr: Messages) -> Vec<ApiInWords> {
    aadsts::permissions_in_words(&config.required, tr)
}

/// One API's part of a check, as the result page shows it: the roles granted and those still to appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOutcome {
    /// The API's short name (`graph`) for element ids; `other` for roles that name no API.
    pub id: &'static str,
    /// The API's name in the customer's words; none for roles that name no API.
    pub heading: Option<String>,
    pub granted: Vec<String>,
    pub still_to_appear: Vec<String>,
}

/// Sorts a check's `api:Role` entries under their API: every required API (even with nothing to show,
/// so "nothing still to appear" is said per API), then any other API they name, then the bare role
/// names of rows stored before the portal knew several APIs, which name no API and get no heading.
fn outcomes_per_api(required: &[RequiredApi], granted: &[String], still_to_appear: &[String], tr: Messages) -> Vec<ApiOutcome> {
    let split = |entry: &String| -> (Option<Api>, String) {
        match entry.split_once(':').and_then(|(api, role)| Api::parse(api).map(|api| (api, role))) {
            Some((api, role)) => (Some(api), role.to_owned()),
            None => (None, entry.clone()),
        }
    };
    let granted: Vec<(Option<Api>, String)> = granted.iter().map(split).collect();
    let still_to_appear: Vec<(Option<Api>, String)> = still_to_appear.iter().map(split).collect();
    let mut apis: Vec<Option<Api>> = required.iter().map(|r| Some(r.api)).collect();
    for (api, _) in granted.iter().chain(&still_to_appear) {
        if api.is_some() && !apis.contains(api) {
            apis.push(*api);
        }
    }
    if granted.iter().chain(&still_to_appear).any(|(api, _)| api.is_none()) {
        apis.push(None);
    }
    let on = |entries: &[(Option<Api>, String)], api: Option<Api>| -> Vec<String> {
        entries.iter().filter(|(a, _)| *a == api).map(|(_, role)| role.clone()).collect()
    };
    apis.into_iter()
        .map(|api| ApiOutcome {
            id: api.map_or("other", Api::name),
            heading: api.map(|api| tr.t(aadsts::describe_api(api))),
            granted: on(&granted, api),
            still_to_appear: on(&still_to_appear, api),
        })
        .collect()
}

/// The catalogue key of a tenant's status in the customer's words: the staff labels say more than a
/// customer can act on.
fn customer_status_key(status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Verified => "status-verified",
        // Granted, but not provable here (Graph's probe off): the customer has done their part.
        TenantStatus::Unproven => "status-unproven",
        TenantStatus::Propagating => "status-propagating",
        // The customer's part is the same either way: approve the permissions named.
        TenantStatus::MissingRoles | TenantStatus::NeedsReconsent => "status-missing-roles",
        TenantStatus::NeverChecked => "status-never-checked",
        _ => "status-problem",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api::{Cloud, group_by_api, parse_permission_list};
    use crate::i18n::Language;

    /// A customer whose grant the portal cannot prove (Graph's probe off) has done their part: they are
    /// told so, not that something needs attention.
    #[test]
    fn an_unproven_grant_is_granted_in_the_customers_words() {
        assert_eq!(customer_status_key(TenantStatus::Unproven), "status-unproven");
        assert_eq!(customer_status_key(TenantStatus::TokenInvalid), "status-problem");
    }

    /// An outcome as compared: id, heading, granted, still to appear.
    type Shown<'a> = (&'a str, Option<&'a str>, Vec<&'a str>, Vec<&'a str>);

    fn strs(list: &[String]) -> Vec<&str> {
        list.iter().map(String::as_str).collect()
    }

    fn names(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn a_checks_roles_are_shown_under_their_api_and_bare_ones_under_none() {
        let permissions =
            parse_permission_list("graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All,defender:Incident.Read.All").unwrap();
        let required = group_by_api(&permissions, Cloud::Global).unwrap();
        let granted = names(&["graph:SecurityIncident.Read.All", "defender:Incident.Read.All", "mde:Alert.Read.All", "Incident.Read.All"]);
        let missing = names(&["graph:ThreatHunting.Read.All"]);
        let outcomes = outcomes_per_api(&required, &granted, &missing, Messages::new(Language::Italian));
        let shown: Vec<Shown> = outcomes.iter().map(|o| (o.id, o.heading.as_deref(), strs(&o.granted), strs(&o.still_to_appear))).collect();
        assert_eq!(
            shown,
            [
                ("graph", Some("Microsoft Graph"), vec!["SecurityIncident.Read.All"], vec!["ThreatHunting.Read.All"]),
                ("defender", Some("API di Microsoft Defender XDR"), vec!["Incident.Read.All"], vec![]),
                ("mde", Some("API di Microsoft Defender per endpoint"), vec!["Alert.Read.All"], vec![]),
                ("other", None, vec!["Incident.Read.All"], vec![]),
            ]
        );
    }
}
