//! Composing e-mails from `templates/emails/` (an `.html` and a `.txt` part each): the onboarding e-mail
//! and its reminder in the invite's language, staff notifications in English.
//!
//! Every word of a customer's e-mail comes from the catalogues. Names are values like any other: askama
//! escapes them in the HTML part, and the text part (a `.txt` template, not escaped) shows them as
//! typed. Header values (the subject, names) that hold a line break are refused, never sent.

use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use time::OffsetDateTime;

use crate::domain::aadsts::{self, ApiInWords};
use crate::domain::{RequiredApi, Timestamp};
use crate::i18n::{Language, Messages};

/// A message ready to send: its subject and both parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Why a message cannot be composed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ComposeError {
    #[error("the {0} holds a line break or another control character: refused (header injection)")]
    HeaderInjection(&'static str),
    #[error("{0:?} is not an e-mail address")]
    Address(String),
    #[error("the message cannot be built: {0}")]
    Build(String),
    #[error("the template cannot be rendered: {0}")]
    Render(String),
}

/// A header value: refused when it holds CR, LF or any other control character.
pub fn header_value<'a>(what: &'static str, value: &'a str) -> Result<&'a str, ComposeError> {
    if value.chars().any(char::is_control) { Err(ComposeError::HeaderInjection(what)) } else { Ok(value) }
}

/// What an onboarding e-mail (or reminder) says.
pub struct InviteFacts<'a> {
    pub reminder: bool,
    pub language: Language,
    pub partner: &'a str,
    pub customer: &'a str,
    /// The onboarding link of this message.
    pub link: &'a str,
    pub expires_at: OffsetDateTime,
    pub contact: Option<&'a str>,
    /// The application permissions asked for, per API.
    pub required: &'a [RequiredApi],
    /// For a tenant asked to consent again (a campaign's e-mail): the permissions (`api:Role`) its
    /// latest check showed. The e-mail then says what is new and what stays.
    pub granted_before: Option<&'a [String]>,
}

/// The words of a customer e-mail, in its language; both templates lay out the same words.
struct CustomerView {
    lang: &'static str,
    partner: String,
    subject: String,
    heading: String,
    greeting: String,
    intro: String,
    why: String,
    permissions_heading: String,
    apis: Vec<ApiInWords>,
    /// A re-consent: what was granted before and stays (empty otherwise).
    kept_heading: String,
    kept_apis: Vec<ApiInWords>,
    one_approval: String,
    who: String,
    link_intro: String,
    action: String,
    link: String,
    expires: String,
    contact: String,
    footer: String,
}

#[derive(Template)]
#[template(path = "emails/onboarding.html")]
struct OnboardingHtml<'a> {
    v: &'a CustomerView,
}

#[derive(Template)]
#[template(path = "emails/onboarding.txt")]
struct OnboardingText<'a> {
    v: &'a CustomerView,
}

/// The onboarding e-mail, or its reminder.
pub fn invite_email(facts: &InviteFacts<'_>) -> Result<Composed, ComposeError> {
    header_value("partner's name", facts.partner)?;
    header_value("customer's name", facts.customer)?;
    let m = Messages::new(facts.language);
    let (partner, customer) = (facts.partner, facts.customer);
    // A re-consent e-mail has its own words for these; the rest is the onboarding e-mail's.
    let key = |onboarding: &'static str, reconsent: &'static str| if facts.granted_before.is_some() { reconsent } else { onboarding };
    let subject = if facts.reminder {
        m.t2(key("email-reminder-subject", "email-reconsent-reminder-subject"), "partner", partner, "customer", customer)
    } else {
        m.t2(key("email-subject", "email-reconsent-subject"), "partner", partner, "customer", customer)
    };
    let intro = if facts.reminder {
        m.t2(key("email-reminder-intro", "email-reconsent-reminder-intro"), "partner", partner, "customer", customer)
    } else {
        m.t2(key("email-intro", "email-reconsent-intro"), "partner", partner, "customer", customer)
    };
    let (asked, kept) = match facts.granted_before {
        Some(granted) => crate::domain::api::split_by_granted(facts.required, granted),
        None => (facts.required.to_vec(), Vec::new()),
    };
    let contact = match facts.contact {
        Some(contact) => m.t2("email-contact", "partner", partner, "contact", contact),
        None => m.t1("email-contact-reply", "partner", partner),
    };
    let view = CustomerView {
        lang: facts.language.code(),
        partner: partner.to_owned(),
        heading: m.t2(key("email-heading", "email-reconsent-heading"), "partner", partner, "customer", customer),
        greeting: m.t("email-greeting"),
        intro,
        why: m.t1("email-why", "partner", partner),
        permissions_heading: m.t1(key("email-permissions-heading", "email-reconsent-new-heading"), "partner", partner),
        apis: aadsts::permissions_in_words(&asked, m),
        kept_heading: m.t("email-reconsent-kept-heading"),
        kept_apis: aadsts::permissions_in_words(&kept, m),
        one_approval: m.t("email-one-approval"),
        who: m.t1("email-who", "roles", m.t("admin-roles")),
        link_intro: m.t("email-link-intro"),
        action: m.t("email-action"),
        link: facts.link.to_owned(),
        expires: m.t1("email-expires", "date", m.date(facts.expires_at)),
        contact,
        footer: m.t2("email-footer", "partner", partner, "customer", customer),
        subject: header_value("subject", &subject)?.to_owned(),
    };
    Ok(Composed {
        html: OnboardingHtml { v: &view }.render().map_err(|e| ComposeError::Render(e.to_string()))?,
        text: OnboardingText { v: &view }.render().map_err(|e| ComposeError::Render(e.to_string()))?,
        subject: view.subject,
    })
}

/// What a staff notification says (English).
pub struct StaffFacts<'a> {
    pub customer: &'a str,
    pub tenant_id: &'a str,
    /// The tenant's page on the dashboard.
    pub link: &'a str,
    pub what: StaffEvent<'a>,
}

pub enum StaffEvent<'a> {
    Connected { consented_by: Option<&'a str>, reconsent: bool },
    Degraded { from: &'a str, to: &'a str, reason: &'a str },
}

#[derive(Template)]
#[template(path = "emails/tenant_connected.html")]
struct ConnectedHtml<'a> {
    f: &'a StaffFacts<'a>,
    by: &'a str,
    reconsent: bool,
}

#[derive(Template)]
#[template(path = "emails/tenant_connected.txt")]
struct ConnectedText<'a> {
    f: &'a StaffFacts<'a>,
    by: &'a str,
    reconsent: bool,
}

#[derive(Template)]
#[template(path = "emails/tenant_degraded.html")]
struct DegradedHtml<'a> {
    f: &'a StaffFacts<'a>,
    from: &'a str,
    to: &'a str,
    reason: &'a str,
}

#[derive(Template)]
#[template(path = "emails/tenant_degraded.txt")]
struct DegradedText<'a> {
    f: &'a StaffFacts<'a>,
    from: &'a str,
    to: &'a str,
    reason: &'a str,
}

/// A notification to staff.
pub fn staff_email(facts: &StaffFacts<'_>) -> Result<Composed, ComposeError> {
    let render = |r: askama::Result<String>| r.map_err(|e| ComposeError::Render(e.to_string()));
    let (subject, html, text) = match facts.what {
        StaffEvent::Connected { consented_by, reconsent } => {
            let by = consented_by.unwrap_or("an administrator of the tenant");
            let verb = if reconsent { "consented again" } else { "connected" };
            (
                format!("Tenant {verb}: {} ({})", facts.customer, facts.tenant_id),
                render(ConnectedHtml { f: facts, by, reconsent }.render())?,
                render(ConnectedText { f: facts, by, reconsent }.render())?,
            )
        }
        StaffEvent::Degraded { from, to, reason } => (
            format!("Tenant degraded: {} ({}) is now {to}", facts.customer, facts.tenant_id),
            render(DegradedHtml { f: facts, from, to, reason }.render())?,
            render(DegradedText { f: facts, from, to, reason }.render())?,
        ),
    };
    Ok(Composed { subject: header_value("subject", &subject)?.to_owned(), html, text })
}

/// What a staff notification about a re-consent campaign says (English).
pub struct CampaignFacts<'a> {
    pub what: CampaignEvent,
    pub created_at: OffsetDateTime,
    pub created_by: &'a str,
    pub progress: crate::domain::Progress,
    /// The campaign's page on the dashboard.
    pub link: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignEvent {
    HalfWay,
    Completed,
    WeeklyDigest,
}

#[derive(Template)]
#[template(path = "emails/campaign.html")]
struct CampaignHtml<'a> {
    f: &'a CampaignFacts<'a>,
    headline: &'a str,
    started: String,
}

#[derive(Template)]
#[template(path = "emails/campaign.txt")]
struct CampaignText<'a> {
    f: &'a CampaignFacts<'a>,
    headline: &'a str,
    started: String,
}

/// A notification to staff about a campaign: half way, completed, or the weekly digest.
pub fn campaign_email(facts: &CampaignFacts<'_>) -> Result<Composed, ComposeError> {
    let render = |r: askama::Result<String>| r.map_err(|e| ComposeError::Render(e.to_string()));
    let progress = &facts.progress;
    let (subject, headline) = match facts.what {
        CampaignEvent::HalfWay => (
            format!("Re-consent campaign half way: {} of {} tenants re-consented", progress.reconsented, progress.total()),
            "Half of the tenants asked have approved the new permissions.".to_owned(),
        ),
        CampaignEvent::Completed => (
            format!("Re-consent campaign completed: all {} tenants re-consented", progress.total()),
            "Every tenant asked now has every required permission: the campaign is complete.".to_owned(),
        ),
        CampaignEvent::WeeklyDigest => (
            format!("Re-consent campaign, weekly digest: {} of {} tenants re-consented", progress.reconsented, progress.total()),
            format!(
                "The campaign goes on: {} of {} tenants have not re-consented yet ({} waiting, {} whose e-mail failed, {} whose link expired).",
                progress.total() - progress.reconsented,
                progress.total(),
                progress.waiting,
                progress.email_failed,
                progress.link_expired
            ),
        ),
    };
    let started = Timestamp::new(facts.created_at).to_string();
    let html = render(CampaignHtml { f: facts, headline: &headline, started: started.clone() }.render())?;
    let text = render(CampaignText { f: facts, headline: &headline, started }.render())?;
    Ok(Composed { subject: header_value("subject", &subject)?.to_owned(), html, text })
}

/// What a staff notification about one of the portal's own credentials says (English).
pub struct CredentialFacts<'a> {
    /// The credential's label (kind, place, thumbprint, expiry; never the secret).
    pub label: &'a str,
    /// `secret` or `certificate`.
    pub kind: &'a str,
    pub expires_at: OffsetDateTime,
    pub days_left: i64,
    /// The dashboard, whose banner says the same.
    pub link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/credential_expiring.html")]
struct CredentialHtml<'a> {
    f: &'a CredentialFacts<'a>,
    headline: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "emails/credential_expiring.txt")]
struct CredentialText<'a> {
    f: &'a CredentialFacts<'a>,
    headline: &'a str,
    expires: String,
}

/// A notification to staff that one of the portal's credentials expires soon (or has expired), with
/// how to rotate it without downtime.
pub fn credential_email(facts: &CredentialFacts<'_>) -> Result<Composed, ComposeError> {
    let render = |r: askama::Result<String>| r.map_err(|e| ComposeError::Render(e.to_string()));
    let (subject, headline) = match facts.days_left {
        days if days < 0 => (
            format!("The portal's client {} has expired", facts.kind),
            format!("The portal's client {} has expired: checks and sign-ins fail until a valid one is deployed.", facts.kind),
        ),
        0 => (format!("The portal's client {} expires today", facts.kind), format!("The portal's client {} expires today.", facts.kind)),
        1 => (
            format!("The portal's client {} expires tomorrow", facts.kind),
            format!("The portal's client {} expires in 1 day.", facts.kind),
        ),
        days => (
            format!("The portal's client {} expires in {days} days", facts.kind),
            format!("The portal's client {} expires in {days} days.", facts.kind),
        ),
    };
    let expires = Timestamp::new(facts.expires_at).to_string();
    let html = render(CredentialHtml { f: facts, headline: &headline, expires: expires.clone() }.render())?;
    let text = render(CredentialText { f: facts, headline: &headline, expires }.render())?;
    Ok(Composed { subject: header_value("subject", &subject)?.to_owned(), html, text })
}

/// The message itself: sender, recipient, subject, `Message-ID: <outbox-id@portal-host>` (so a duplicate
/// can be recognised), and both parts.
pub fn message(from: &Mailbox, to: &str, composed: &Composed, outbox_id: &str, host: &str) -> Result<Message, ComposeError> {
    let to: Address = super::parse_address(to).map_err(|_| ComposeError::Address(to.to_owned()))?;
    if let Some(name) = &from.name {
        header_value("sender's name", name)?;
    }
    header_value("subject", &composed.subject)?;
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(composed.subject.clone())
        .message_id(Some(format!("<{outbox_id}@{host}>")))
        .date_now()
        .multipart(MultiPart::alternative_plain_html(composed.text.clone(), composed.html.clone()))
        .map_err(|e| ComposeError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(permissions: &str) -> Vec<RequiredApi> {
        let permissions = crate::domain::api::parse_permission_list(permissions).unwrap();
        crate::domain::api::group_by_api(&permissions, crate::domain::Cloud::Global).unwrap()
    }

    fn facts<'a>(language: Language, customer: &'a str, required: &'a [RequiredApi]) -> InviteFacts<'a> {
        InviteFacts {
            reminder: false,
            language,
            partner: "Fabrikam Partner",
            customer,
            link: "https://portal.example/onboard/abc",
            expires_at: time::macros::datetime!(2026-12-09 14:00 UTC),
            contact: Some("onboarding@fabrikam.example"),
            required,
            granted_before: None,
        }
    }

    #[test]
    fn names_are_escaped_in_html_and_raw_in_text() {
        let roles = required("defender:Incident.Read.All");
        let mail = invite_email(&facts(Language::English, "<b>Contoso</b> & Co", &roles)).unwrap();
        assert!(mail.html.contains("&#60;b&#62;Contoso&#60;/b&#62; &#38; Co") || mail.html.contains("&lt;b&gt;Contoso&lt;/b&gt; &amp; Co"));
        assert!(!mail.html.contains("<b>Contoso"));
        assert!(mail.text.contains("<b>Contoso</b> & Co"));
        assert!(mail.subject.contains("<b>Contoso</b> & Co"));
        assert!(mail.text.contains("9 December 2026"));
        assert!(mail.text.contains("Read your security incidents and their alerts"));
    }

    #[test]
    fn italian_words_and_date() {
        let roles = required("defender:AdvancedHunting.Read.All");
        let mail = invite_email(&facts(Language::Italian, "Contoso", &roles)).unwrap();
        assert!(mail.text.contains("9 dicembre 2026"), "{}", mail.text);
        assert!(mail.html.contains("lang=\"it\""));
    }

    #[test]
    fn the_permissions_are_grouped_by_api_in_both_parts() {
        let roles = required("graph:ThreatHunting.Read.All,defender:Incident.Read.All,mde:Machine.Read.All");
        let mail = invite_email(&facts(Language::English, "Contoso", &roles)).unwrap();
        let text = &mail.text;
        let graph = text.find("\nMicrosoft Graph\n").unwrap_or_else(|| panic!("{text}"));
        let defender = text.find("\nMicrosoft Defender XDR API\n").unwrap_or_else(|| panic!("{text}"));
        let mde = text.find("\nMicrosoft Defender for Endpoint API\n").unwrap_or_else(|| panic!("{text}"));
        let hunting = text.find("- Run advanced hunting queries over your security data (ThreatHunting.Read.All)").unwrap();
        let incidents = text.find("- Read your security incidents and their alerts (Incident.Read.All)").unwrap();
        let devices = text.find("- Read the list of your devices and their details (Machine.Read.All)").unwrap();
        assert!(graph < hunting && hunting < defender && defender < incidents && incidents < mde && mde < devices, "{text}");
        assert!(text.contains("One approval covers every API listed."), "{text}");
        assert!(!text.contains('<'), "plain text only: {text}");
        assert!(mail.html.contains(">ThreatHunting.Read.All</code>"), "{}", mail.html);
        assert!(mail.html.contains(">Microsoft Defender for Endpoint API<"), "{}", mail.html);
        let italian = invite_email(&facts(Language::Italian, "Contoso", &roles)).unwrap();
        assert!(italian.text.contains("\nAPI di Microsoft Defender XDR\n"), "{}", italian.text);
        assert!(italian.text.contains("Una sola approvazione vale per tutte le API elencate."), "{}", italian.text);
    }

    #[test]
    fn a_re_consent_email_says_what_is_new_and_what_stays_and_its_reminder_says_it_again() {
        let roles = required("graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All,defender:Incident.Read.All");
        let granted = vec!["defender:Incident.Read.All".to_owned(), "graph:SecurityIncident.Read.All".to_owned()];
        for (language, subject, new, kept) in [
            (
                Language::English,
                "Fabrikam Partner asks Contoso to approve new permissions",
                "Fabrikam Partner now also asks for:",
                "Already granted",
            ),
            (
                Language::Italian,
                "Fabrikam Partner chiede a Contoso di approvare nuove autorizzazioni",
                "Fabrikam Partner ora chiede anche:",
                "Già concesse",
            ),
        ] {
            let mut facts = facts(language, "Contoso", &roles);
            facts.granted_before = Some(&granted);
            let mail = invite_email(&facts).unwrap();
            assert_eq!(mail.subject, subject);
            let text = &mail.text;
            let (at_new, at_kept) =
                (text.find(new).unwrap_or_else(|| panic!("{text}")), text.find(kept).unwrap_or_else(|| panic!("{text}")));
            let hunting = text.find("(ThreatHunting.Read.All)").unwrap();
            let incidents = text.find("(SecurityIncident.Read.All)").unwrap();
            assert!(at_new < hunting && hunting < at_kept && at_kept < incidents, "the new permission above, the kept ones below: {text}");
            assert!(!text[at_new..at_kept].contains("(Incident.Read.All)"), "{text}");
            facts.reminder = true;
            let reminder = invite_email(&facts).unwrap();
            assert!(reminder.subject.ends_with(subject) && reminder.subject != subject, "{}", reminder.subject);
            assert!(reminder.text.contains(new), "{}", reminder.text);
        }
    }

    #[test]
    fn line_breaks_in_header_values_are_refused() {
        let roles = Vec::new();
        let error = invite_email(&facts(Language::English, "Contoso\r\nBcc: victim@example.com", &roles)).unwrap_err();
        assert_eq!(error, ComposeError::HeaderInjection("customer's name"));
        let mail = Composed { subject: "Hello\nBcc: x@example.com".into(), html: String::new(), text: String::new() };
        let from: Mailbox = "Fabrikam <onboarding@fabrikam.example>".parse().unwrap();
        assert!(matches!(message(&from, "it@contoso.example", &mail, "id", "portal.example"), Err(ComposeError::HeaderInjection(_))));
        let mail = Composed { subject: "Hello".into(), html: String::new(), text: String::new() };
        assert!(matches!(
            message(&from, "it@contoso.example\r\nBcc: x@example.com", &mail, "id", "portal.example"),
            Err(ComposeError::Address(_))
        ));
        assert!(message(&from, "it@contoso.example", &mail, "id", "portal.example").is_ok());
    }
}
