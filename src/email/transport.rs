//! How a composed message leaves: an SMTP server (lettre, rustls) or the demo's in-memory mailbox.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use url::Url;

use super::TransportSettings;
use super::compose::Composed;

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages the demo's mailbox keeps (the oldest go first).
const MEMORY_LIMIT: usize = 200;

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

    fn transport(&self) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(self.0.as_str())
            .map_err(|e| anyhow::anyhow!("PORTAL_SMTP_URL {}: {e}", self.shown()))?;
        if let Some(pem) = &self.1 {
            // The same TLS as the URL asks for, with the extra CA beside the public roots.
            let host = self.0.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
            let parameters = TlsParameters::builder(host)
                .add_root_certificate(Certificate::from_pem(pem)?)
                .build()
                .map_err(|e| anyhow::anyhow!("PORTAL_SMTP_CA_FILE: {e}"))?;
            builder = builder.tls(if self.0.scheme() == "smtps" { Tls::Wrapper(parameters) } else { Tls::Required(parameters) });
        }
        Ok(builder.timeout(Some(SMTP_TIMEOUT)).build())
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({})", self.shown())
    }
}

/// A message as the demo's mailbox keeps it: what the recipient would see.
#[derive(Debug, Clone)]
pub struct DeliveredMessage {
    pub outbox_id: String,
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub at: String,
}

/// The demo's mailbox: in memory only, never written anywhere (the bodies hold working links).
#[derive(Debug, Default)]
pub struct MemoryMailbox {
    messages: Mutex<VecDeque<DeliveredMessage>>,
}

impl MemoryMailbox {
    /// Every message kept, newest first.
    pub fn messages(&self) -> Vec<DeliveredMessage> {
        self.messages.lock().map(|m| m.iter().rev().cloned().collect()).unwrap_or_default()
    }

    pub fn find(&self, outbox_id: &str) -> Option<DeliveredMessage> {
        self.messages.lock().ok()?.iter().find(|m| m.outbox_id == outbox_id).cloned()
    }

    fn push(&self, message: DeliveredMessage) {
        if let Ok(mut messages) = self.messages.lock() {
            if messages.len() >= MEMORY_LIMIT {
                messages.pop_front();
            }
            messages.push_back(message);
        }
    }
}

/// Where messages go.
pub enum Transport {
    Off,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Memory(MemoryMailbox),
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server accepted the message (its reply).
    Accepted(String),
    /// A temporary failure before the server accepted it (4xx reply, connection or I/O error): retry.
    Retry(String),
    /// A permanent refusal (5xx reply), or nothing can be sent: do not retry.
    Rejected(String),
}

impl Transport {
    pub fn new(settings: &TransportSettings) -> anyhow::Result<Self> {
        Ok(match settings {
            TransportSettings::Off => Transport::Off,
            TransportSettings::Smtp(url) => Transport::Smtp(url.transport()?),
            TransportSettings::Memory => Transport::Memory(MemoryMailbox::default()),
        })
    }

    pub async fn send(&self, message: Message, composed: &Composed, outbox_id: &str, to: &str) -> Outcome {
        match self {
            Transport::Off => Outcome::Rejected("e-mail is not configured (PORTAL_SMTP_URL is not set)".into()),
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(response) => Outcome::Accepted(format!("{} {}", response.code(), response.message().collect::<Vec<_>>().join(" "))),
                Err(error) if error.is_permanent() => Outcome::Rejected(error.to_string()),
                Err(error) => Outcome::Retry(error.to_string()),
            },
            Transport::Memory(mailbox) => {
                mailbox.push(DeliveredMessage {
                    outbox_id: outbox_id.to_owned(),
                    to: to.to_owned(),
                    subject: composed.subject.clone(),
                    html: composed.html.clone(),
                    text: composed.text.clone(),
                    at: crate::db::now_text(),
                });
                Outcome::Accepted("250 kept in the demo's in-memory mailbox".into())
            }
        }
    }
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
