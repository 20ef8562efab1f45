//! What staff typed to create an invite (the dashboard's form, or the JSON API's body), checked: the
//! customer, a contact address, a tenant or verified domain to pin (resolved through Microsoft's
//! discovery), the validity, the language, and whether to send the onboarding e-mail now.

use super::{InviteRequest, Refusal, validate_customer};
use crate::config::EmailSettings;
use crate::domain::email_address::parse_address;
use crate::domain::free_text::refuse_hidden;
use crate::domain::{CustomerName, TenantId};
use crate::entra::EntraClient;
use crate::i18n::Language;

/// Default and longest validity of an invite, in days.
pub const DEFAULT_DAYS: i64 = 14;
pub const MAX_DAYS: i64 = 90;

/// What a create request asks for, as typed.
pub struct InviteFields<'a> {
    pub customer: &'a str,
    pub email: &'a str,
    /// A verified domain or a tenant id to pin the invite to; empty for none.
    pub pin: &'a str,
    pub expires_days: &'a str,
    pub language: &'a str,
    /// Queue the onboarding e-mail now.
    pub send: bool,
}

/// A create request that passed every check.
pub struct CheckedInvite {
    pub customer: CustomerName,
    email: Option<String>,
    pinned_tenant: Option<TenantId>,
    pinned_domain: Option<String>,
    language: Language,
    days: i64,
    pub send_to: Option<lettre::Address>,
}

impl CheckedInvite {
    /// The pinned domain, or else the pinned tenant id, for display.
    pub fn pinned(&self) -> Option<String> {
        self.pinned_domain.clone().or(self.pinned_tenant.map(|t| t.to_string()))
    }

    /// The request to create it, by `actor`.
    pub fn request<'a>(&'a self, actor: &'a str) -> InviteRequest<'a> {
        InviteRequest {
            customer: &self.customer,
            email: self.email.as_deref(),
            pinned_tenant: self.pinned_tenant,
            pinned_domain: self.pinned_domain.as_deref(),
            language: self.language,
            valid_for: time::Duration::days(self.days),
            actor,
            send_to: self.send_to.clone(),
        }
    }
}

/// Checks a create request (and resolves a pinned domain); a refusal is [`Refusal::Invalid`], whose
/// sentence names what is wrong.
pub async fn check_request(entra: &EntraClient, email: &EmailSettings, fields: &InviteFields<'_>) -> Result<CheckedInvite, Refusal> {
    let invalid = Refusal::Invalid;
    let contact = Some(fields.email.trim()).filter(|e| !e.is_empty()).map(str::to_owned);
    let customer = validate_customer(fields.customer, contact.as_deref()).map_err(invalid)?;
    let Some(language) = Language::ALL.into_iter().find(|l| l.code() == fields.language.trim()) else {
        return Err(invalid("the language must be English (en) or Italian (it)".into()));
    };
    let send_to = if !fields.send {
        None
    } else if !email.enabled() {
        return Err(invalid("e-mails cannot be sent: PORTAL_SMTP_URL is not set".into()));
    } else {
        match contact.as_deref().map(parse_address) {
            Some(Ok(address)) => Some(address),
            Some(Err(message)) => return Err(invalid(message)),
            None => return Err(invalid("sending the onboarding e-mail needs the customer's contact e-mail".into())),
        }
    };
    let days = match fields.expires_days.trim().parse::<i64>() {
        Ok(days) if (1..=MAX_DAYS).contains(&days) => days,
        _ => return Err(invalid(format!("the expiry must be 1 to {MAX_DAYS} days"))),
    };
    let pin = fields.pin.trim().to_ascii_lowercase();
    refuse_hidden("the domain or tenant id to pin", &pin).map_err(|e| invalid(e.to_string()))?;
    let (pinned_tenant, pinned_domain) = if pin.is_empty() {
        (None, None)
    } else if let Ok(tenant) = TenantId::parse(&pin) {
        (Some(tenant), None)
    } else {
        match entra.resolve_domain(&pin).await {
            Ok(tenant) => (Some(tenant), Some(pin)),
            Err(error) => return Err(invalid(format!("the tenant could not be found: {error}"))),
        }
    };
    Ok(CheckedInvite { customer, email: contact, pinned_tenant, pinned_domain, language, days, send_to })
}
