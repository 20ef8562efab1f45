//! The banner of every staff page while a required API retires: the staff layout shows it from the
//! navigation ([`super::Nav`]), so no page can leave it out. The day comes from the application's clock.

use time::Date;
use time::macros::format_description;

use crate::domain::RequiredApi;
use crate::domain::api::Permission;
use crate::domain::retirement::{RetirementWarning, required_with_replacements, retirement_warnings};

/// What the banner says: each retiring API, and the one value of `PORTAL_REQUIRED_PERMISSIONS` that
/// covers all of them.
#[derive(Debug, Clone)]
pub struct RetirementBanner {
    pub warnings: Vec<RetirementWarning>,
    /// Whether any of them has already stopped (the stronger banner).
    pub stopped: bool,
    pub required_permissions: String,
}

impl RetirementBanner {
    /// The banner on `today`, if a required API retires within the warning's days or has retired.
    pub fn on(required: &[RequiredApi], today: Date) -> Option<Self> {
        let warnings = retirement_warnings(required, today);
        if warnings.is_empty() {
            return None;
        }
        Some(Self {
            stopped: warnings.iter().any(RetirementWarning::has_stopped),
            required_permissions: required_with_replacements(required, &warnings),
            warnings,
        })
    }

    /// The replacements of every warning, without repeats: what to add to the app registration.
    pub fn replacements(&self) -> Vec<&Permission> {
        let mut replacements: Vec<&Permission> = Vec::new();
        for replacement in self.warnings.iter().flat_map(RetirementWarning::replacements) {
            if !replacements.contains(&replacement) {
                replacements.push(replacement);
            }
        }
        replacements
    }

    /// A date as staff pages write it: 1 February 2027.
    pub fn date(&self, date: &Date) -> String {
        date.format(format_description!("[day padding:none] [month repr:long] [year]")).unwrap_or_else(|_| date.to_string())
    }

    /// A number of days in words: "1 day", "100 days".
    pub fn days(&self, days: &i64) -> String {
        let days = days.abs();
        if days == 1 { "1 day".to_owned() } else { format!("{days} days") }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::api::{Cloud, group_by_api, parse_permission_list};

    #[test]
    fn the_banner_covers_every_retiring_api_with_one_value() {
        let permissions = parse_permission_list("graph:ThreatHunting.Read.All,defender:Incident.Read.All").unwrap();
        let required = group_by_api(&permissions, Cloud::Global).unwrap();
        assert!(RetirementBanner::on(&required, date!(2026 - 01 - 01)).is_none());
        let banner = RetirementBanner::on(&required, date!(2026 - 12 - 31)).unwrap();
        assert!(!banner.stopped);
        assert_eq!(banner.date(&banner.warnings[0].date), "1 February 2027");
        assert_eq!(banner.days(&banner.warnings[0].days_left), "32 days");
        assert_eq!(banner.days(&1), "1 day");
        let added: Vec<String> = banner.replacements().iter().map(ToString::to_string).collect();
        assert_eq!(added, ["graph:SecurityIncident.Read.All"]);
        assert_eq!(banner.required_permissions, "graph:ThreatHunting.Read.All,graph:SecurityIncident.Read.All,defender:Incident.Read.All");
        assert!(RetirementBanner::on(&required, date!(2027 - 02 - 01)).unwrap().stopped);
    }
}
