//! The e-mail settings: how e-mails leave the portal (`PORTAL_SMTP_URL`, checked), the sender, the staff
//! who are notified and the reminder schedule. The `email` module sends with them.

use std::fmt;
use std::sync::Arc;

use lettre::Address;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::Certificate;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use url::Url;

use super::{ConfigArgs, ConfigError, problem};
use crate::domain::email_address::parse_address;
use crate::domain::free_text::refuse_hidden;

/// How e-mails leave the portal.
#[derive(Debug, Clone, Default)]
pub enum TransportSettings {
    /// No e-mail can be sent (neither PORTAL_SMTP_URL nor the demo).
    #[default]
    Off,
    /// An SMTP server.
    Smtp(SmtpUrl),
    /// The demo's in-process mailbox, shown on `/outbox`.
    Memory,
}

/// The e-mail settings of the configuration.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub transport: TransportSettings,
    /// The sender (required with SMTP).
    pub from: Option<Mailbox>,
    /// Staff who get notifications (tenant connected, tenant degraded).
    pub notify: Vec<Address>,
    /// Days after the last onboarding e-mail before a reminder.
    pub reminder_after_days: u32,
    /// Reminders per invite, at most.
    pub reminder_max: u32,
    /// First retry delay after a temporary failure; doubles up to `retry_cap`.
    pub retry_base: std::time::Duration,
    pub retry_cap: std::time::Duration,
}

pub const DEFAULT_REMINDER_AFTER_DAYS: u32 = 3;
pub const DEFAULT_REMINDER_MAX: u32 = 2;

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            transport: TransportSettings::Off,
            from: None,
            notify: Vec::new(),
            reminder_after_days: DEFAULT_REMINDER_AFTER_DAYS,
            reminder_max: DEFAULT_REMINDER_MAX,
            retry_base: std::time::Duration::from_secs(60),
            retry_cap: std::time::Duration::from_secs(3600),
        }
    }
}

impl EmailSettings {
    /// Can the portal send e-mails at all?
    pub fn enabled(&self) -> bool {
        !matches!(self.transport, TransportSettings::Off)
    }
}

/// `PORTAL_SMTP_URL`, checked: `smtp://host:port` (plain, loopback only), `smtp://host:587?tls=required`
/// (STARTTLS) or `smtps://host:465` (implicit TLS), optionally with `user:password@`. The password is a
/// secret: `Debug` and [`SmtpUrl::shown`] print `[redacted]`. With [`SmtpUrl::trusting`], the server's
/// certificate may also chain to an extra CA (an internal mail relay's), besides the public ones.
#[derive(Clone)]
pub struct SmtpUrl(Url, Option<Arc<[u8]>>);

impl SmtpUrl {
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = Url::parse(value.trim()).map_err(|e| format!("is not a URL such as smtps://mail.example.com:465 ({e})"))?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("names no host")?;
        // smtp: is not a "special" scheme for the URL parser, so an IP address comes back as a name.
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err("must be smtp://host:port or smtps://host:port, without a path".into());
        }
        let mut tls = None;
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "tls" => tls = Some(value.into_owned()),
                other => return Err(format!("knows no option {other:?} (only ?tls=required)")),
            }
        }
        match (url.scheme(), tls.as_deref()) {
            ("smtps", None) | ("smtp", Some("required")) => {}
            ("smtp", None) if loopback => {}
            ("smtp", None) => {
                return Err("plain smtp:// is accepted only for a loopback host: use smtp://host:587?tls=required (STARTTLS) \
                            or smtps://host:465 (implicit TLS)"
                    .into());
            }
            ("smtp", Some(other)) => return Err(format!("tls={other} is not accepted: use ?tls=required (STARTTLS)")),
            (other, _) => return Err(format!("must be smtp:// or smtps://, not {other}:")),
        }
        if url.password().is_some() && url.username().is_empty() {
            return Err("has a password without a user name".into());
        }
        Ok(Self(url, None))
    }

    /// Also trusts the CA certificates of `pem` for the server's certificate (TLS URLs only).
    pub fn trusting(self, pem: &[u8]) -> Result<Self, String> {
        if self.0.scheme() == "smtp" && self.0.query().is_none() {
            return Err("a CA is only used with TLS: smtps:// or smtp://…?tls=required".into());
        }
        let certificates = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().unwrap_or_default();
        if certificates.is_empty() {
            return Err("holds no PEM certificate".into());
        }
        Certificate::from_pem(pem).map_err(|e| format!("holds no usable PEM certificate ({e})"))?;
        Ok(Self(self.0, Some(Arc::from(pem))))
    }

    /// The URL with its password replaced by `[redacted]`, for messages and logs.
    pub fn shown(&self) -> String {
        let url = &self.0;
        let user = match (url.username(), url.password()) {
            ("", _) => String::new(),
            (user, None) => format!("{user}@"),
            (user, Some(_)) => format!("{user}:[redacted]@"),
        };
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
        format!("{}://{user}{}{port}{query}", url.scheme(), url.host_str().unwrap_or_default())
    }

    /// The URL as configured (with its password: only the transport reads it).
    pub(crate) fn url(&self) -> &Url {
        &self.0
    }

    /// The extra CA certificates (PEM) the server's certificate may chain to.
    pub(crate) fn extra_ca(&self) -> Option<&[u8]> {
        self.1.as_deref()
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({})", self.shown())
    }
}

/// The e-mail options: a usable SMTP URL (plain only on loopback), a sender when there is one, the
/// staff recipients, the reminder schedule.
pub(super) fn parse_email_settings(args: &ConfigArgs) -> Result<EmailSettings, ConfigError> {
    let transport = match args.smtp_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => {
            let url = SmtpUrl::parse(url).map_err(|e| problem("PORTAL_SMTP_URL", e))?;
            match &args.smtp_ca_file {
                Some(path) => {
                    let pem =
                        std::fs::read(path).map_err(|e| problem("PORTAL_SMTP_CA_FILE", format!("cannot read {}: {e}", path.display())))?;
                    TransportSettings::Smtp(url.trusting(&pem).map_err(|e| problem("PORTAL_SMTP_CA_FILE", e))?)
                }
                None => TransportSettings::Smtp(url),
            }
        }
        None if args.smtp_ca_file.is_some() => return Err(problem("PORTAL_SMTP_CA_FILE", "is set without PORTAL_SMTP_URL")),
        None => TransportSettings::Off,
    };
    let from = match args.mail_from.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(value) => Some(parse_mailbox(value)?),
        None if matches!(transport, TransportSettings::Smtp(_)) => {
            return Err(problem(
                "PORTAL_MAIL_FROM",
                "is missing: e-mails need a sender, such as \"Fabrikam <onboarding@fabrikam.example>\"",
            ));
        }
        None => None,
    };
    let mut notify = Vec::new();
    for part in args.notify_emails.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        notify.push(parse_address(part).map_err(|e| problem("PORTAL_NOTIFY_EMAILS", e))?);
    }
    if !notify.is_empty() && matches!(transport, TransportSettings::Off) {
        return Err(problem("PORTAL_NOTIFY_EMAILS", "needs PORTAL_SMTP_URL: without it no e-mail can be sent"));
    }
    if !(1..=90).contains(&args.reminder_after_days) {
        return Err(problem("PORTAL_REMINDER_AFTER_DAYS", "must be between 1 and 90"));
    }
    if args.reminder_max > 10 {
        return Err(problem("PORTAL_REMINDER_MAX", "must be between 0 and 10"));
    }
    Ok(EmailSettings {
        transport,
        from,
        notify,
        reminder_after_days: args.reminder_after_days,
        reminder_max: args.reminder_max,
        ..EmailSettings::default()
    })
}

/// `PORTAL_MAIL_FROM`: a mailbox (`Name <address>` or an address), without line breaks.
pub(crate) fn parse_mailbox(value: &str) -> Result<Mailbox, ConfigError> {
    refuse_hidden("the sender", value).map_err(|e| problem("PORTAL_MAIL_FROM", e.to_string()))?;
    value
        .parse::<Mailbox>()
        .map_err(|_| problem("PORTAL_MAIL_FROM", format!("is not a mailbox such as \"Fabrikam <onboarding@fabrikam.example>\": {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        for good in
            ["smtp://127.0.0.1:2525", "smtp://localhost", "smtps://mail.example.com:465", "smtp://mail.example.com:587?tls=required"]
        {
            assert!(SmtpUrl::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "smtp://mail.example.com:25",
            "smtp://mail.example.com?tls=opportunistic",
            "http://mail.example.com",
            "smtps://mail.example.com/path",
            "smtps://mail.example.com?ehlo=x",
            "mail.example.com",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_password_is_redacted() {
        let url = SmtpUrl::parse("smtps://portal:hunter2-secret@mail.example.com:465").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(url.shown().contains("[redacted]"));
        assert!(url.shown().contains("portal"));
    }
}
