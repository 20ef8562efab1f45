//! Invites: made with the library, as `invite create` and the staff page make them (the tests of those
//! two run them for real), or through the staff page's form.

use consent_portal::domain::{CustomerName, SystemClock, TenantId};
use consent_portal::i18n::Language;
use consent_portal::invites::{CreatedInvite, InviteRequest};

use super::{Portal, TestApp};

/// What an invite is made of; `Invite::new("Contoso")` (or just `"Contoso"`) asks for the defaults of
/// `invite create`: English, 14 days, no e-mail, no pinned tenant.
pub struct Invite<'a> {
    customer: &'a str,
    email: Option<&'a str>,
    send: bool,
    pinned_tenant: Option<&'a str>,
    language: &'a str,
    lifetime: time::Duration,
}

impl<'a> Invite<'a> {
    pub fn new(customer: &'a str) -> Self {
        Self { customer, email: None, send: false, pinned_tenant: None, language: "en", lifetime: time::Duration::days(14) }
    }

    /// The customer's contact address (`--email`).
    pub fn email(self, address: &'a str) -> Self {
        Self { email: Some(address), ..self }
    }

    /// The contact address, and the onboarding e-mail queued to it (`--email … --send`).
    pub fn send_to(self, address: &'a str) -> Self {
        Self { email: Some(address), send: true, ..self }
    }

    /// Pinned to this tenant (`--tenant-id`).
    pub fn pinned_to(self, tenant: &'a str) -> Self {
        Self { pinned_tenant: Some(tenant), ..self }
    }

    pub fn language(self, language: &'a str) -> Self {
        Self { language, ..self }
    }

    pub fn expires_in(self, lifetime: time::Duration) -> Self {
        Self { lifetime, ..self }
    }

    /// Writes the invite to `db`.
    pub async fn create(self, db: &consent_portal::db::Pool) -> CreatedInvite {
        let request = InviteRequest {
            customer: &CustomerName::parse(self.customer).unwrap(),
            email: self.email,
            pinned_tenant: self.pinned_tenant.map(|tenant| TenantId::parse(tenant).unwrap()),
            pinned_domain: None,
            language: Language::parse(self.language).unwrap(),
            valid_for: self.lifetime,
            actor: "test",
            send_to: self.email.filter(|_| self.send).map(|address| consent_portal::email::parse_address(address).unwrap()),
        };
        consent_portal::invites::create(db, &SystemClock, request).await.unwrap()
    }
}

impl<'a> From<&'a str> for Invite<'a> {
    fn from(customer: &'a str) -> Self {
        Self::new(customer)
    }
}

/// Creates an invite on the app's database; returns its id and its onboarding link.
pub async fn create_invite<'a>(app: &TestApp, invite: impl Into<Invite<'a>>) -> (String, String) {
    let created = invite.into().create(&app.db).await;
    let url = created.url(&app.base_url);
    (created.invite.id, url)
}

/// Posts the staff page's invite form (English, 14 days unless `fields` say otherwise).
pub async fn post_invite(portal: &impl Portal, client: &reqwest::Client, csrf: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf), ("expires_days", "14"), ("language", "en")];
    form.retain(|(name, _)| !fields.iter().any(|(given, _)| given == name));
    form.extend_from_slice(fields);
    client.post(portal.url("/invites")).form(&form).send().await.unwrap()
}
