//! How a composed message leaves: an SMTP server (lettre, rustls) or the demo's in-memory mailbox.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::compose::Composed;
use super::{SmtpUrl, TransportSettings};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages the demo's mailbox keeps (the oldest go first).
const MEMORY_LIMIT: usize = 200;

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
            TransportSettings::Smtp(url) => Transport::Smtp(smtp_transport(url)?),
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

/// The lettre transport of `url`: the TLS the URL asks for, with its extra CA beside the public roots.
fn smtp_transport(url: &SmtpUrl) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.url().as_str())
        .map_err(|e| anyhow::anyhow!("PORTAL_SMTP_URL {}: {e}", url.shown()))?;
    if let Some(pem) = url.extra_ca() {
        // The same TLS as the URL asks for, with the extra CA beside the public roots.
        let host = url.url().host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
        let parameters = TlsParameters::builder(host)
            .add_root_certificate(Certificate::from_pem(pem)?)
            .build()
            .map_err(|e| anyhow::anyhow!("PORTAL_SMTP_CA_FILE: {e}"))?;
        builder = builder.tls(if url.url().scheme() == "smtps" { Tls::Wrapper(parameters) } else { Tls::Required(parameters) });
    }
    Ok(builder.timeout(Some(SMTP_TIMEOUT)).build())
}
