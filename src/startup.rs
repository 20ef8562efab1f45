//! Refusing to start: every subcommand reports a configuration it cannot start with the same way — one
//! line on stderr that names what is wrong — and exits with status 2. And the warning a portal gives
//! as it starts, though it starts: a required API that retires.

use std::process::ExitCode;

use time::Date;

use crate::domain::RequiredApi;
use crate::domain::retirement::{required_with_replacements, retirement_warnings};

/// Prints a start-up failure as one line and returns exit status 2.
pub fn refuse_to_start(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Logs a warning for each required API that retires within the staff banner's days, or has retired:
/// the same facts as the banner, for whoever reads the logs rather than the dashboard.
pub fn warn_of_retirements(required: &[RequiredApi], today: Date) {
    let warnings = retirement_warnings(required, today);
    if warnings.is_empty() {
        return;
    }
    let value = required_with_replacements(required, &warnings);
    for warning in &warnings {
        let api = warning.api.display_name();
        let retiring: Vec<String> = warning.permissions.iter().map(|p| format!("{}:{}", warning.api, p.role)).collect();
        let replacements: Vec<String> = warning.replacements().iter().map(ToString::to_string).collect();
        let (retiring, replacements) = (retiring.join(","), replacements.join(","));
        let (when, what_to_do) = if warning.has_stopped() {
            (
                format!("has stopped working ({})", warning.date),
                format!(
                    "its permissions {retiring} can no longer be checked; require the Microsoft Graph permissions {replacements} \
                     instead (PORTAL_REQUIRED_PERMISSIONS={value}) and ask every customer to consent again"
                ),
            )
        } else if warning.permissions.iter().all(|p| p.replacement.is_none() || p.replacement_required) {
            // The replacements are required already: what is left is every customer's consent to them.
            (
                format!("stops working in {} days ({})", warning.days_left, warning.date),
                format!(
                    "its Microsoft Graph replacements {replacements} are required already; ask every customer still missing them \
                     to consent again"
                ),
            )
        } else {
            (
                format!("stops working in {} days ({})", warning.days_left, warning.date),
                format!(
                    "add the Microsoft Graph permissions {replacements} to the app registration, set \
                     PORTAL_REQUIRED_PERMISSIONS={value} and ask every customer to consent again"
                ),
            )
        };
        tracing::warn!(
            api = %warning.api,
            date = %warning.date,
            days_left = warning.days_left,
            %retiring,
            %replacements,
            "{api} {when}: {what_to_do}"
        );
    }
}
