//! The retirement of an API the portal requires permissions on: from [`WARNING_DAYS`] before the day
//! Microsoft announced, staff are told what stops, which Microsoft Graph permission replaces each
//! retiring one, and the value of `PORTAL_REQUIRED_PERMISSIONS` that adds them. The staff pages' banner
//! and the start-up log both come from here, so they cannot disagree on a date or a permission.
//!
//! Source: the Microsoft Graph security API overview (the Defender XDR API "stops returning data on
//! February 1, 2027") and message center MC1220762.

use time::Date;

use super::RoleName;
use super::api::{Api, Permission, RequiredApi, replacement_for};

/// How many days before an API's retirement the warning starts: long enough for a change of the app
/// registration and a round of re-consents by every customer.
pub const WARNING_DAYS: i64 = 120;

/// A required permission on a retiring API, and what replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiringPermission {
    pub role: RoleName,
    /// The permission Microsoft named to replace it; `None` where it named none.
    pub replacement: Option<Permission>,
    /// Whether the replacement is already required (nothing to add to the configuration for it).
    pub replacement_required: bool,
}

/// One required API that retires soon, or has retired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetirementWarning {
    pub api: Api,
    /// The day it stops working.
    pub date: Date,
    /// Days from today to that day: 0 on the day itself, negative after it.
    pub days_left: i64,
    /// The required permissions on it, in the order required.
    pub permissions: Vec<RetiringPermission>,
}

impl RetirementWarning {
    /// Microsoft's date is the day the API stops returning data, so on that day it has stopped.
    pub fn has_stopped(&self) -> bool {
        self.days_left <= 0
    }

    /// The replacements of its permissions, without repeats.
    pub fn replacements(&self) -> Vec<&Permission> {
        let mut replacements: Vec<&Permission> = Vec::new();
        for replacement in self.permissions.iter().filter_map(|p| p.replacement.as_ref()) {
            if !replacements.contains(&replacement) {
                replacements.push(replacement);
            }
        }
        replacements
    }
}

/// A warning for each required API whose retirement is at most [`WARNING_DAYS`] away on `today`, or
/// already past; none for an API without a date.
pub fn retirement_warnings(required: &[RequiredApi], today: Date) -> Vec<RetirementWarning> {
    let is_required = |permission: &Permission| required.iter().any(|r| r.api == permission.api && r.roles.contains(&permission.role));
    required
        .iter()
        .filter_map(|required_api| {
            let date = required_api.api.retirement()?;
            let days_left = (date - today).whole_days();
            if days_left > WARNING_DAYS {
                return None;
            }
            let permissions = required_api
                .roles
                .iter()
                .map(|role| {
                    let replacement = replacement_for(required_api.api, role.as_str());
                    let replacement_required = replacement.as_ref().is_some_and(is_required);
                    RetiringPermission { role: role.clone(), replacement, replacement_required }
                })
                .collect();
            Some(RetirementWarning { api: required_api.api, date, days_left, permissions })
        })
        .collect()
}

/// The value of `PORTAL_REQUIRED_PERMISSIONS` to set: every required permission plus the replacements
/// of the warnings, per API in the order of [`Api::ALL`]. Before the date the retiring permissions stay
/// (they still work, and customers re-consent one by one); once an API has stopped they are left out,
/// since every check of them can only fail.
pub fn required_with_replacements(required: &[RequiredApi], warnings: &[RetirementWarning]) -> String {
    let stopped = |api: Api| warnings.iter().any(|w| w.api == api && w.has_stopped());
    let mut permissions: Vec<String> = Vec::new();
    for api in Api::ALL {
        let current = required.iter().filter(|r| r.api == api && !stopped(api)).flat_map(|r| r.roles.iter().cloned());
        let added = warnings.iter().flat_map(|w| w.replacements()).filter(|p| p.api == api).map(|p| p.role.clone());
        for role in current.chain(added) {
            let permission = format!("{api}:{role}");
            if !permissions.contains(&permission) {
                permissions.push(permission);
            }
        }
    }
    permissions.join(",")
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::api::{Cloud, group_by_api, parse_permission_list};

    fn required(permissions: &str) -> Vec<RequiredApi> {
        group_by_api(&parse_permission_list(permissions).unwrap(), Cloud::Global).unwrap()
    }

    const DEFENDER: &str = "defender:Incident.Read.All,defender:AdvancedHunting.Read.All";
    const RETIREMENT: Date = date!(2027 - 02 - 01);

    fn days_before(days: i64) -> Date {
        RETIREMENT - time::Duration::days(days)
    }

    #[test]
    fn the_warning_starts_120_days_before_the_date_and_stays_after_it() {
        let required = required(DEFENDER);
        assert_eq!(retirement_warnings(&required, days_before(121)), []);
        for (today, days_left, stopped) in
            [(days_before(120), 120, false), (days_before(119), 119, false), (days_before(1), 1, false), (RETIREMENT, 0, true)]
        {
            let warnings = retirement_warnings(&required, today);
            assert_eq!(warnings.len(), 1, "{today}");
            assert_eq!(
                (warnings[0].api, warnings[0].date, warnings[0].days_left, warnings[0].has_stopped()),
                (Api::Defender, RETIREMENT, days_left, stopped)
            );
        }
        let after = retirement_warnings(&required, date!(2027 - 03 - 01));
        assert_eq!((after[0].days_left, after[0].has_stopped()), (-28, true));
    }

    #[test]
    fn an_api_without_a_date_never_warns() {
        let required = required("graph:SecurityIncident.Read.All,mde:Alert.Read.All");
        for today in [days_before(100), RETIREMENT, date!(2030 - 01 - 01)] {
            assert_eq!(retirement_warnings(&required, today), [], "{today}");
        }
    }

    #[test]
    fn each_retiring_permission_names_its_graph_replacement() {
        let required = required(&format!("graph:SecurityIncident.Read.All,{DEFENDER},defender:Incident.ReadWrite.All"));
        let warnings = retirement_warnings(&required, days_before(100));
        let shown: Vec<(String, Option<String>, bool)> = warnings[0]
            .permissions
            .iter()
            .map(|p| (p.role.to_string(), p.replacement.as_ref().map(ToString::to_string), p.replacement_required))
            .collect();
        assert_eq!(
            shown,
            [
                ("Incident.Read.All".into(), Some("graph:SecurityIncident.Read.All".into()), true),
                ("AdvancedHunting.Read.All".into(), Some("graph:ThreatHunting.Read.All".into()), false),
                ("Incident.ReadWrite.All".into(), Some("graph:SecurityIncident.ReadWrite.All".into()), false),
            ]
        );
    }

    #[test]
    fn the_value_to_set_adds_the_replacements_and_drops_what_has_stopped() {
        let required = required(DEFENDER);
        let before = retirement_warnings(&required, days_before(100));
        assert_eq!(
            required_with_replacements(&required, &before),
            "graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All,defender:Incident.Read.All,defender:AdvancedHunting.Read.All"
        );
        let after = retirement_warnings(&required, RETIREMENT);
        assert_eq!(required_with_replacements(&required, &after), "graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All");
        // Replacements already required are not repeated, and other APIs are kept.
        let mixed = self::required(&format!("graph:ThreatHunting.Read.All,{DEFENDER},mde:Alert.Read.All"));
        let warnings = retirement_warnings(&mixed, days_before(10));
        assert_eq!(
            required_with_replacements(&mixed, &warnings),
            "graph:ThreatHunting.Read.All,graph:SecurityIncident.Read.All,defender:Incident.Read.All,defender:AdvancedHunting.Read.All,mde:Alert.Read.All"
        );
        assert_eq!(
            required_with_replacements(&mixed, &[]),
            "graph:ThreatHunting.Read.All,defender:Incident.Read.All,defender:AdvancedHunting.Read.All,mde:Alert.Read.All"
        );
    }
}
