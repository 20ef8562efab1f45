//! The portal's configuration: one typed [`Config`], read once at start-up from flags and `PORTAL_*`
//! environment variables (and a `.env` file, loaded by the command line before parsing).
//!
//! Every check happens here, so a bad value stops start-up with one line that names the variable and
//! says what is wrong, instead of failing later in the middle of a customer's onboarding.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::{Args, ValueEnum};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use url::{Host, Url};

mod email;
mod metrics;
mod trusted_proxies;
mod webhooks;

pub use email::{DEFAULT_REMINDER_AFTER_DAYS, DEFAULT_REMINDER_MAX, EmailSettings, SmtpUrl, TransportSettings};
pub use metrics::MetricsSettings;
pub use trusted_proxies::TrustedProxies;
pub use webhooks::{WebhookEndpoint, WebhookSecret, WebhookSettings};

use crate::domain::api::{Api, Cloud, RequiredApi, group_by_api, parse_permission_list};
use crate::domain::free_text::refuse_hidden;
use crate::domain::{RoleName, Secret, TenantId, parse_role_list};

pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// The short form's default: the Defender XDR API's two roles the portal was first built for.
pub const DEFAULT_REQUIRED_ROLES: &str = "Incident.Read.All,AdvancedHunting.Read.All";
/// What the demo requires: the Defender XDR pair and the Microsoft Graph permissions that replace them.
pub const DEMO_REQUIRED_PERMISSIONS: &str =
    "graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All,defender:Incident.Read.All,defender:AdvancedHunting.Read.All";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/consent-portal.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_PARTNER_NAME: &str = "Your service provider";

/// The options of `serve`, as the command line and the environment give them. Turned into a [`Config`]
/// by [`Config::from_args`]; nothing else reads them.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// The portal's public base URL, the only source of its own absolute URLs (redirect URIs, links in
    /// emails); never taken from the Host header. https, or plain http on a loopback address.
    #[arg(long, env = "PORTAL_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Address and port to listen on.
    #[arg(long, env = "PORTAL_BIND", value_name = "ADDR:PORT", default_value = DEFAULT_BIND)]
    pub bind: String,

    /// The database: a SQLite file, created when missing (with its folder), or a PostgreSQL server
    /// (`postgres://user@host/database?sslmode=verify-full&sslrootcert=ca.pem`) shared by replicas.
    #[arg(long, env = "PORTAL_DATABASE_URL", value_name = "URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Application (client) id of the partner's multi-tenant Entra ID app.
    #[arg(long, env = "PORTAL_CLIENT_ID", value_name = "GUID")]
    pub client_id: Option<String>,

    /// Client secret of the app; during a rotation the old and the new, comma-separated. Prefer the
    /// environment or PORTAL_CLIENT_SECRET_FILE: a flag is visible to every user of the machine.
    #[arg(long, env = "PORTAL_CLIENT_SECRET", value_name = "SECRET,…", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// File holding the client secret (a mounted Key Vault secret, for instance); one trailing newline is
    /// ignored. Several files comma-separated during a rotation.
    #[arg(long, env = "PORTAL_CLIENT_SECRET_FILE", value_name = "PATH,…")]
    pub client_secret_file: Option<String>,

    /// When each client secret expires (the Azure portal shows it when the secret is created): an RFC 3339
    /// date or date-time, comma-separated in the order of the secrets. Staff are warned from 30 days before.
    #[arg(long, env = "PORTAL_CLIENT_SECRET_EXPIRES_AT", value_name = "DATE,…")]
    pub client_secret_expires_at: Option<String>,

    /// PEM certificate registered on the app, for certificate credentials (with PORTAL_CLIENT_KEY); its
    /// notAfter is when staff are warned of. Several comma-separated during a rotation.
    #[arg(long, env = "PORTAL_CLIENT_CERTIFICATE", value_name = "PATH,…")]
    pub client_certificate: Option<String>,

    /// PEM private key of that certificate (comma-separated in the order of the certificates).
    #[arg(long, env = "PORTAL_CLIENT_KEY", value_name = "PATH,…")]
    pub client_key: Option<String>,

    /// The partner's own tenant id: staff sign in there, and only there.
    #[arg(long, env = "PORTAL_PARTNER_TENANT_ID", value_name = "GUID")]
    pub partner_tenant_id: Option<String>,

    /// Microsoft identity platform sign-in host. Plain http is accepted only for a loopback host (the
    /// built-in fake).
    #[arg(long, env = "PORTAL_AUTHORITY_HOST", value_name = "URL", default_value = DEFAULT_AUTHORITY_HOST)]
    pub authority_host: String,

    /// Application permissions the app needs in every customer tenant, comma-separated `api:Role` on the
    /// APIs graph, defender and mde, e.g. graph:SecurityIncident.Read.All,defender:Incident.Read.All.
    /// Not together with PORTAL_REQUIRED_ROLES or PORTAL_RESOURCE.
    #[arg(long, env = "PORTAL_REQUIRED_PERMISSIONS", value_name = "API:ROLE,…")]
    pub required_permissions: Option<String>,

    /// The short form: roles on the one API of PORTAL_RESOURCE, comma-separated
    /// [default: Incident.Read.All,AdvancedHunting.Read.All].
    #[arg(long, env = "PORTAL_REQUIRED_ROLES", value_name = "ROLES")]
    pub required_roles: Option<String>,

    /// The short form's resource URI (or one of its older URIs) the tokens are requested for
    /// [default: the Defender XDR API, https://api.security.microsoft.com].
    #[arg(long, env = "PORTAL_RESOURCE", value_name = "URI")]
    pub resource: Option<String>,

    /// Where every API's probe goes instead of its own host (a test double); tokens still name the real
    /// resources.
    #[arg(long, env = "PORTAL_API_BASE", value_name = "URL")]
    pub api_base: Option<String>,

    /// Bearer token for the JSON API (reads tenants, creates invites; at least 32 characters); the API is off without it.
    #[arg(long, env = "PORTAL_API_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// The partner's name, as customers see it on the onboarding pages.
    #[arg(long, env = "PORTAL_PARTNER_NAME", value_name = "NAME", default_value = DEFAULT_PARTNER_NAME)]
    pub partner_name: String,

    /// How customers reach the partner (an e-mail address or a sentence), shown when a link has expired.
    #[arg(long, env = "PORTAL_PARTNER_CONTACT", value_name = "TEXT")]
    pub partner_contact: Option<String>,

    /// How many tenants a sweep checks at once.
    #[arg(long, env = "PORTAL_CHECK_CONCURRENCY", value_name = "N", default_value_t = 16)]
    pub check_concurrency: usize,

    /// Hours between two scheduled checks of a tenant.
    #[arg(long, env = "PORTAL_CHECK_INTERVAL_HOURS", value_name = "HOURS", default_value_t = 6)]
    pub check_interval_hours: u64,

    /// Longest a check of one tenant may take, retries included, before it counts as unreachable.
    #[arg(long, env = "PORTAL_CHECK_TIMEOUT_SECONDS", value_name = "SECONDS", default_value_t = 30)]
    pub check_timeout_seconds: u64,

    /// With several replicas: how long a replica holds the tenants it took for a sweep before another
    /// replica may take them over (the lease of a replica that stopped mid-sweep runs out).
    #[arg(long, env = "PORTAL_CHECK_LEASE_SECONDS", value_name = "SECONDS", default_value_t = 600)]
    pub check_lease_seconds: u64,

    /// Whether a check also calls each required API with its token (Graph: GET /v1.0/security/incidents?$top=1,
    /// Defender XDR: GET /api/incidents?$top=1, Defender for Endpoint: GET /api/alerts?$top=1).
    #[arg(long, env = "PORTAL_API_PROBE", value_name = "on|off", default_value = "on", value_parser = parse_switch, action = clap::ArgAction::Set)]
    pub api_probe: bool,

    /// Token endpoint version for app-only tokens: v2 (`scope={resource}/.default`) or v1 (`resource=`).
    #[arg(long, env = "PORTAL_TOKEN_VERSION", value_enum, default_value_t = TokenVersion::V2)]
    pub token_version: TokenVersion,

    /// Admin consent flow: v2 (sign in first, then the v2 admin-consent endpoint) or v1 (the one-step
    /// link of Microsoft's partner page; the tenant is proven by redeeming its code).
    #[arg(long, env = "PORTAL_CONSENT_FLOW", value_enum, default_value_t = ConsentFlow::V2)]
    pub consent_flow: ConsentFlow,

    /// App role (in the staff member's ID token `roles`) that makes a partner user a dashboard admin.
    #[arg(long, env = "PORTAL_STAFF_ADMIN_ROLE", value_name = "ROLE", default_value = DEFAULT_STAFF_ADMIN_ROLE)]
    pub staff_admin_role: String,

    /// App role that makes a partner user a dashboard viewer (read only).
    #[arg(long, env = "PORTAL_STAFF_VIEWER_ROLE", value_name = "ROLE", default_value = DEFAULT_STAFF_VIEWER_ROLE)]
    pub staff_viewer_role: String,

    /// E-mail addresses (UPNs) of the partner tenant that are dashboard admins, comma-separated.
    #[arg(long, env = "PORTAL_STAFF_ADMINS", value_name = "EMAILS")]
    pub staff_admins: Option<String>,

    /// E-mail addresses (UPNs) of the partner tenant that are dashboard viewers, comma-separated.
    #[arg(long, env = "PORTAL_STAFF_VIEWERS", value_name = "EMAILS")]
    pub staff_viewers: Option<String>,

    /// Every user of the partner tenant without a role is a viewer (on or off).
    #[arg(long, env = "PORTAL_STAFF_OPEN", value_name = "on|off", default_value = "off", value_parser = parse_staff_switch, action = clap::ArgAction::Set)]
    pub staff_open: bool,

    /// SMTP server for e-mails: smtps://host:465 (implicit TLS), smtp://host:587?tls=required (STARTTLS),
    /// or smtp://127.0.0.1:25 (plain, loopback only); user:password@ before the host to authenticate.
    /// E-mails are off without it.
    #[arg(long, env = "PORTAL_SMTP_URL", value_name = "URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// PEM file of a CA to trust for the SMTP server's certificate, besides the public CAs (an internal
    /// mail relay). Only with a TLS PORTAL_SMTP_URL.
    #[arg(long, env = "PORTAL_SMTP_CA_FILE", value_name = "PATH")]
    pub smtp_ca_file: Option<PathBuf>,

    /// Sender of e-mails, such as "Fabrikam Onboarding <onboarding@fabrikam.example>" (required with
    /// PORTAL_SMTP_URL).
    #[arg(long, env = "PORTAL_MAIL_FROM", value_name = "MAILBOX")]
    pub mail_from: Option<String>,

    /// Staff addresses notified (in English) when a tenant connects or a verified tenant gets worse,
    /// comma-separated.
    #[arg(long, env = "PORTAL_NOTIFY_EMAILS", value_name = "EMAILS")]
    pub notify_emails: Option<String>,

    /// Days after the last onboarding e-mail of an open invite before a reminder is sent.
    #[arg(long, env = "PORTAL_REMINDER_AFTER_DAYS", value_name = "DAYS", default_value_t = email::DEFAULT_REMINDER_AFTER_DAYS)]
    pub reminder_after_days: u32,

    /// Reminders per invite, at most (0: none).
    #[arg(long, env = "PORTAL_REMINDER_MAX", value_name = "N", default_value_t = email::DEFAULT_REMINDER_MAX)]
    pub reminder_max: u32,

    /// Addresses and CIDR ranges of the reverse proxies or load balancers in front of the portal,
    /// comma-separated (10.0.0.0/24, 2001:db8::/64, 192.0.2.7). Only from these are X-Forwarded-For,
    /// Forwarded and X-Request-Id believed. Unset: the connection's peer is the client.
    #[arg(long, env = "PORTAL_TRUSTED_PROXIES", value_name = "ADDRS")]
    pub trusted_proxies: Option<String>,

    /// Where signed events (tenant.connected, tenant.degraded, ...) are posted: comma-separated https
    /// URLs (plain http only on loopback). Needs PORTAL_WEBHOOK_SECRET.
    #[arg(long, env = "PORTAL_WEBHOOK_URLS", value_name = "URLS", hide_env_values = true)]
    pub webhook_urls: Option<String>,

    /// The Standard Webhooks secret events are signed with: whsec_ followed by base64 of 24 to 64
    /// random bytes (the prefix may be left out).
    #[arg(long, env = "PORTAL_WEBHOOK_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// The bearer token GET /metrics asks for on the main listener (at least 32 characters). Without it,
    /// /metrics answers 404 there.
    #[arg(long, env = "PORTAL_METRICS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// A separate listener serving only /metrics, such as 127.0.0.1:9090 (with PORTAL_METRICS_TOKEN set,
    /// it asks for the token too).
    #[arg(long, env = "PORTAL_METRICS_BIND", value_name = "ADDR:PORT")]
    pub metrics_bind: Option<String>,
}

pub const DEFAULT_STAFF_ADMIN_ROLE: &str = "Portal.Admin";
pub const DEFAULT_STAFF_VIEWER_ROLE: &str = "Portal.Viewer";

fn parse_staff_switch(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{value:?} is not on or off")),
    }
}

/// Who may use the staff dashboard, and at which level (on top of being a user of the partner tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccess {
    pub admin_role: String,
    pub viewer_role: String,
    /// Lower-case addresses.
    pub admins: Vec<String>,
    /// Lower-case addresses.
    pub viewers: Vec<String>,
    /// Every partner user without a role is a viewer.
    pub open: bool,
}

impl Default for StaffAccess {
    fn default() -> Self {
        Self {
            admin_role: DEFAULT_STAFF_ADMIN_ROLE.to_owned(),
            viewer_role: DEFAULT_STAFF_VIEWER_ROLE.to_owned(),
            admins: Vec::new(),
            viewers: Vec::new(),
            open: false,
        }
    }
}

fn parse_staff_role(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    RoleName::parse(value).map(|role| role.to_string()).map_err(|e| problem(variable, e.to_string()))
}

fn parse_email_list(variable: &'static str, value: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let mut emails = Vec::new();
    for part in value.unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let valid = part.len() <= 254
            && part.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !part.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err(problem(variable, format!("{part:?} is not an e-mail address")));
        }
        emails.push(part.to_lowercase());
    }
    Ok(emails)
}

/// Which token endpoint app-only tokens come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TokenVersion {
    /// `/{tenant}/oauth2/v2.0/token` with `scope={resource}/.default`.
    #[default]
    V2,
    /// `/{tenant}/oauth2/token` with `resource={resource}`.
    V1,
}

fn parse_switch(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{value:?} is not on or off")),
    }
}

/// How tenants are checked.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub concurrency: usize,
    pub interval: std::time::Duration,
    pub timeout: std::time::Duration,
    /// How long the tenants a sweep took stay its own (see `db::monitoring::lease_due`).
    pub lease: std::time::Duration,
    pub api_probe: bool,
    pub token_version: TokenVersion,
}

impl Default for CheckSettings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            interval: std::time::Duration::from_secs(6 * 3600),
            timeout: std::time::Duration::from_secs(30),
            lease: std::time::Duration::from_secs(600),
            api_probe: true,
            token_version: TokenVersion::V2,
        }
    }
}

/// The admin consent flow customers go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ConsentFlow {
    /// Sign in (OpenID Connect), then `/{tenant}/v2.0/adminconsent`.
    #[default]
    V2,
    /// `/common/oauth2/authorize?prompt=admin_consent`, one step.
    V1,
}

/// How the app proves itself to Microsoft when it asks for app-only tokens.
#[derive(Debug, Clone)]
pub enum ClientCredential {
    Secret(Secret),
    Certificate {
        /// The certificate, PEM (public: it is registered on the app).
        certificate_pem: String,
        /// Its private key, PEM.
        key_pem: Secret,
    },
}

/// One credential as configured: what it is, when it stops working, and where it was given, so that
/// logs and pages can name it without showing it.
#[derive(Debug, Clone)]
pub struct ConfiguredCredential {
    pub credential: ClientCredential,
    /// A certificate's notAfter; a secret's PORTAL_CLIENT_SECRET_EXPIRES_AT (None when not given).
    pub expires_at: Option<time::OffsetDateTime>,
    /// Its place (from 1) in its variable's comma-separated list.
    pub position: usize,
}

impl ConfiguredCredential {
    /// A credential given alone (tests, the demo).
    pub fn only(credential: ClientCredential) -> Self {
        let expires_at = match &credential {
            ClientCredential::Certificate { certificate_pem, .. } => crate::domain::credential::certificate_not_after(certificate_pem),
            ClientCredential::Secret(_) => None,
        };
        Self { credential, expires_at, position: 1 }
    }

    pub fn kind(&self) -> crate::domain::credential::CredentialKind {
        match self.credential {
            ClientCredential::Secret(_) => crate::domain::credential::CredentialKind::Secret,
            ClientCredential::Certificate { .. } => crate::domain::credential::CredentialKind::Certificate,
        }
    }

    /// How logs and pages name it: its kind and place, a certificate's SHA-1 thumbprint (as the Entra
    /// admin center lists it), and its expiry; never the secret or the key.
    pub fn label(&self) -> String {
        let mut label = format!("{} {}", self.kind().as_str(), self.position);
        if let ClientCredential::Certificate { certificate_pem, .. } = &self.credential
            && let Some(thumbprint) = crate::domain::credential::certificate_thumbprint(certificate_pem)
        {
            label.push_str(&format!(" (thumbprint {thumbprint})"));
        }
        match self.expires_at {
            Some(at) => label.push_str(&format!(", expires {}", crate::domain::Timestamp::new(at))),
            None => label.push_str(", expiry unknown"),
        }
        label
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// How long a request may take before it is answered 503 (`Config::request_timeout`).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The portal's configuration, valid by construction.
#[derive(Debug, Clone)]
pub struct Config {
    pub public_url: Url,
    pub bind: SocketAddr,
    pub database: DatabaseLocation,
    pub client_id: String,
    /// Every credential configured, in the order given (secrets first); never empty. Token requests
    /// try the newest valid one first (`entra::credentials`).
    pub credentials: Vec<ConfiguredCredential>,
    pub partner_tenant_id: TenantId,
    pub authority_host: Url,
    /// The APIs the app needs roles on, each with the resource its tokens are asked for, in the order of
    /// [`Api::ALL`]; never empty.
    pub required: Vec<RequiredApi>,
    /// Where the probes go when set; else each API's own host.
    pub api_base: Option<Url>,
    pub api_token: Option<Secret>,
    pub partner_name: String,
    pub partner_contact: Option<String>,
    pub consent_flow: ConsentFlow,
    pub checks: CheckSettings,
    pub staff: StaffAccess,
    pub email: EmailSettings,
    pub trusted_proxies: TrustedProxies,
    pub webhooks: WebhookSettings,
    pub metrics: MetricsSettings,
    /// How long a request may take before it is answered 503: [`REQUEST_TIMEOUT`], not an option of
    /// its own (a test shortens it).
    pub request_timeout: std::time::Duration,
}

/// Where the database lives: a SQLite file beside the binary (the default), or a PostgreSQL server that
/// several replicas share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    Sqlite {
        /// The URL as configured (for messages).
        url: String,
        /// The database file.
        path: PathBuf,
    },
    Postgres {
        /// The URL as configured, with libpq's options (`sslmode`, `sslrootcert`); its password is a
        /// secret, so the whole URL is kept as one.
        url: Secret,
    },
}

impl DatabaseLocation {
    /// The SQLite database in the file at `path`.
    pub fn sqlite_file(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        DatabaseLocation::Sqlite { url: format!("sqlite://{}", path.display()), path }
    }

    /// The SQLite file, when the database is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DatabaseLocation::Sqlite { path, .. } => Some(path),
            DatabaseLocation::Postgres { .. } => None,
        }
    }

    /// The location as messages and logs may show it: a PostgreSQL URL without its password.
    pub fn shown(&self) -> String {
        match self {
            DatabaseLocation::Sqlite { path, .. } => path.display().to_string(),
            DatabaseLocation::Postgres { url } => crate::db::postgres::without_password(url.expose()),
        }
    }
}

/// A configuration error: the variable it concerns and what is wrong, printed as one line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { variable, problem: problem.into() }
}

impl Config {
    /// Checks every option and builds the configuration `serve` runs with.
    pub fn from_args(args: &ConfigArgs) -> Result<Self, ConfigError> {
        let public_url = match &args.public_url {
            Some(value) => parse_public_url(value)?,
            None => {
                return Err(problem(
                    "PORTAL_PUBLIC_URL",
                    "is missing: set the portal's public base URL, e.g. https://onboarding.example.com",
                ));
            }
        };
        let bind = parse_bind(&args.bind)?;
        let database = parse_database_url(&args.database_url)?;
        let client_id = match &args.client_id {
            Some(value) => parse_guid("PORTAL_CLIENT_ID", value)?,
            None => return Err(problem("PORTAL_CLIENT_ID", "is missing: set the application (client) id of the partner's Entra app")),
        };
        let credentials = read_credentials(args)?;
        let partner_tenant_id = match &args.partner_tenant_id {
            Some(value) => TenantId::parse(value.trim()).map_err(|e| problem("PORTAL_PARTNER_TENANT_ID", e.to_string()))?,
            None => return Err(problem("PORTAL_PARTNER_TENANT_ID", "is missing: set the partner's own tenant id (staff sign in there)")),
        };
        let authority_host = parse_authority_host(&args.authority_host)?;
        let required = parse_required(args, Cloud::of_authority_host(authority_host.host_str().unwrap_or_default()))?;
        let api_base = args.api_base.as_deref().map(|value| parse_service_url("PORTAL_API_BASE", value)).transpose()?;
        if args.consent_flow == ConsentFlow::V1 && consent_api(&required).verification() == crate::domain::Verification::Claims {
            return Err(problem(
                "PORTAL_CONSENT_FLOW",
                "v1 proves the tenant with a token whose signature the portal checks, and Microsoft Graph tokens cannot be checked \
                 that way: require a permission on defender or mde too, or use v2",
            ));
        }
        let api_token = match &args.api_token {
            Some(token) if token.len() < 32 => return Err(problem("PORTAL_API_TOKEN", "is too short: use at least 32 random characters")),
            Some(token) => Some(Secret::new(token.clone())),
            None => None,
        };
        let partner_name = args.partner_name.trim().to_owned();
        if partner_name.is_empty() || partner_name.len() > 120 {
            return Err(problem("PORTAL_PARTNER_NAME", "must be a name of 1 to 120 characters"));
        }
        refuse_hidden("the partner's name", &partner_name).map_err(|e| problem("PORTAL_PARTNER_NAME", e.to_string()))?;
        let partner_contact = args.partner_contact.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
        if let Some(contact) = &partner_contact {
            refuse_hidden("the partner's contact", contact).map_err(|e| problem("PORTAL_PARTNER_CONTACT", e.to_string()))?;
        }
        if !(1..=256).contains(&args.check_concurrency) {
            return Err(problem("PORTAL_CHECK_CONCURRENCY", "must be between 1 and 256"));
        }
        if !(1..=24 * 7).contains(&args.check_interval_hours) {
            return Err(problem("PORTAL_CHECK_INTERVAL_HOURS", "must be between 1 and 168"));
        }
        if !(1..=600).contains(&args.check_timeout_seconds) {
            return Err(problem("PORTAL_CHECK_TIMEOUT_SECONDS", "must be between 1 and 600"));
        }
        if !(5..=86_400).contains(&args.check_lease_seconds) {
            return Err(problem("PORTAL_CHECK_LEASE_SECONDS", "must be between 5 and 86400"));
        }
        let staff = StaffAccess {
            admin_role: parse_staff_role("PORTAL_STAFF_ADMIN_ROLE", &args.staff_admin_role)?,
            viewer_role: parse_staff_role("PORTAL_STAFF_VIEWER_ROLE", &args.staff_viewer_role)?,
            admins: parse_email_list("PORTAL_STAFF_ADMINS", args.staff_admins.as_deref())?,
            viewers: parse_email_list("PORTAL_STAFF_VIEWERS", args.staff_viewers.as_deref())?,
            open: args.staff_open,
        };
        let email = email::parse_email_settings(args)?;
        let trusted_proxies =
            TrustedProxies::parse(args.trusted_proxies.as_deref().unwrap_or_default()).map_err(|e| problem("PORTAL_TRUSTED_PROXIES", e))?;
        let webhooks = webhooks::parse_webhook_settings(args.webhook_urls.as_deref(), args.webhook_secret.as_deref())?;
        let metrics = metrics::parse_metrics_settings(args.metrics_token.as_deref(), args.metrics_bind.as_deref())?;
        let checks = CheckSettings {
            concurrency: args.check_concurrency,
            interval: std::time::Duration::from_secs(args.check_interval_hours * 3600),
            timeout: std::time::Duration::from_secs(args.check_timeout_seconds),
            lease: std::time::Duration::from_secs(args.check_lease_seconds),
            api_probe: args.api_probe,
            token_version: args.token_version,
        };
        Ok(Self {
            public_url,
            bind,
            database,
            client_id,
            credentials,
            partner_tenant_id,
            authority_host,
            required,
            api_base,
            api_token,
            partner_name,
            partner_contact,
            consent_flow: args.consent_flow,
            checks,
            staff,
            email,
            trusted_proxies,
            webhooks,
            metrics,
            request_timeout: REQUEST_TIMEOUT,
        })
    }

    /// An absolute URL of the portal for `path` (which starts with `/`), built from the public URL only.
    pub fn public_url_for(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }

    /// The sign-in host without a trailing slash, e.g. `https://login.microsoftonline.com`.
    pub fn authority(&self) -> &str {
        self.authority_host.as_str().trim_end_matches('/')
    }

    /// Every required permission as `api:Role`, in the order of [`Config::required`].
    pub fn required_permissions(&self) -> Vec<String> {
        self.required.iter().flat_map(RequiredApi::permissions).collect()
    }

    /// The cloud of the sign-in host.
    pub fn cloud(&self) -> Cloud {
        Cloud::of_authority_host(self.authority_host.host_str().unwrap_or_default())
    }

    /// True when the portal is reached over https, so cookies must be `Secure` and HSTS is sent.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

pub(crate) fn parse_public_url(value: &str) -> Result<Url, ConfigError> {
    const VAR: &str = "PORTAL_PUBLIC_URL";
    let url = parse_http_url(VAR, value)?;
    if url.path() != "/" {
        return Err(problem(VAR, format!("must be the site root, without a path (got {:?})", url.path())));
    }
    Ok(url)
}

pub(crate) fn parse_authority_host(value: &str) -> Result<Url, ConfigError> {
    const VAR: &str = "PORTAL_AUTHORITY_HOST";
    let url = parse_http_url(VAR, value)?;
    if url.path() != "/" {
        return Err(problem(VAR, "must be a host only, such as https://login.microsoftonline.com (no tenant, no path)"));
    }
    Ok(url)
}

/// The required APIs from either form: `PORTAL_REQUIRED_PERMISSIONS`, or the short form's roles on the
/// one API of `PORTAL_RESOURCE` (both defaulting to the Defender XDR pair).
fn parse_required(args: &ConfigArgs, cloud: Cloud) -> Result<Vec<RequiredApi>, ConfigError> {
    const VAR: &str = "PORTAL_REQUIRED_PERMISSIONS";
    if let Some(permissions) = &args.required_permissions {
        if args.required_roles.is_some() || args.resource.is_some() {
            return Err(problem(
                VAR,
                "is set together with PORTAL_REQUIRED_ROLES or PORTAL_RESOURCE: use one form, e.g. only \
                 PORTAL_REQUIRED_PERMISSIONS=graph:SecurityIncident.Read.All,defender:Incident.Read.All",
            ));
        }
        let permissions = parse_permission_list(permissions).map_err(|e| problem(VAR, e.to_string()))?;
        return group_by_api(&permissions, cloud).map_err(|e| problem(VAR, e));
    }
    let (api, resource) = match &args.resource {
        Some(value) => {
            let value = value.trim();
            parse_http_url("PORTAL_RESOURCE", value)?;
            let api = Api::of_resource(value, cloud).ok_or_else(|| {
                let known: Vec<String> =
                    Api::ALL.into_iter().filter_map(|api| api.resource(cloud).map(|uri| format!("{uri} ({api})"))).collect();
                problem("PORTAL_RESOURCE", format!("{value:?} is not an API the portal knows in {}: {}", cloud.name(), known.join(", ")))
            })?;
            // Kept as written (less a trailing slash): the token's `aud` is compared with this exact string.
            (api, value.trim_end_matches('/').to_owned())
        }
        None => {
            let resource = Api::Defender.resource(cloud).ok_or_else(|| {
                problem(
                    "PORTAL_RESOURCE",
                    format!("the Defender XDR API is not offered in {}: set PORTAL_REQUIRED_PERMISSIONS", cloud.name()),
                )
            })?;
            (Api::Defender, resource.to_owned())
        }
    };
    let roles = parse_role_list(args.required_roles.as_deref().unwrap_or(DEFAULT_REQUIRED_ROLES))
        .map_err(|e| problem("PORTAL_REQUIRED_ROLES", e.to_string()))?;
    if let Some(unknown) = roles.iter().find(|role| !api.defines(role.as_str())) {
        return Err(problem(
            "PORTAL_REQUIRED_ROLES",
            format!("{api} ({}) defines no role {:?}; it defines {}", api.display_name(), unknown.as_str(), api.roles().join(", ")),
        ));
    }
    Ok(vec![RequiredApi { api, resource, roles }])
}

/// The API whose resource the admin-consent request names: the first one whose tokens the portal can
/// verify by signature (the v1 flow proves the tenant with such a token), else the first.
pub fn consent_api(required: &[RequiredApi]) -> Api {
    required
        .iter()
        .find(|r| r.api.verification() == crate::domain::Verification::Signature)
        .or(required.first())
        .map_or(Api::Defender, |r| r.api)
}

fn parse_service_url(variable: &'static str, value: &str) -> Result<Url, ConfigError> {
    parse_http_url(variable, value)
}

/// An absolute http(s) URL without credentials, query or fragment; plain http only on loopback, so a
/// misconfiguration cannot send secrets or tokens in clear over a network.
fn parse_http_url(variable: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value.trim()).map_err(|e| problem(variable, format!("is not an absolute URL ({e}): {value:?}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(problem(variable, "must not carry a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(problem(variable, "must not have a query string or fragment"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(url.host()) => Ok(url),
        "http" => Err(problem(variable, "must use https (plain http is accepted only for a loopback host such as 127.0.0.1)")),
        other => Err(problem(variable, format!("must be an https URL, not {other}:"))),
    }
}

pub(crate) fn is_loopback_host(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

pub(crate) fn parse_bind(value: &str) -> Result<SocketAddr, ConfigError> {
    SocketAddr::from_str(value.trim())
        .map_err(|_| problem("PORTAL_BIND", format!("is not an address and port such as 127.0.0.1:8080 or [::]:8080: {value:?}")))
}

/// Accepts `sqlite://relative/path.db`, `sqlite:///absolute/path.db`, `sqlite:path.db` or a plain path
/// for SQLite; `postgres://` or `postgresql://` URLs (libpq's form, options included) for PostgreSQL.
pub fn parse_database_url(value: &str) -> Result<DatabaseLocation, ConfigError> {
    const VAR: &str = "PORTAL_DATABASE_URL";
    let value = value.trim();
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        // Parsed here as the driver will parse it, so a mistake stops start-up with the variable's name;
        // the message never repeats the URL, which may hold a password.
        if let Err(error) = value.parse::<sqlx::postgres::PgConnectOptions>() {
            let reason = error.to_string().replace(value, "(the URL)");
            return Err(problem(VAR, format!("is not a PostgreSQL URL the portal can use: {reason}")));
        }
        return Ok(DatabaseLocation::Postgres { url: Secret::new(value) });
    }
    let path = if let Some(rest) = value.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = value.strip_prefix("sqlite:") {
        rest
    } else if value.contains("://") {
        return Err(problem(VAR, "is neither SQLite nor PostgreSQL: use sqlite://path/to/file.db or postgres://user@host/database"));
    } else {
        value
    };
    // Options such as `?mode=ro` are ours to set, not the operator's: the portal needs a writable file.
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(problem(VAR, "must name a database file, such as sqlite://data/consent-portal.db"));
    }
    Ok(DatabaseLocation::Sqlite { url: value.to_owned(), path: PathBuf::from(path) })
}

fn parse_guid(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    TenantId::parse(value.trim())
        .map(|guid| guid.to_string())
        .map_err(|_| problem(variable, format!("is not a GUID such as 00000000-0000-0000-0000-000000000000: {value:?}")))
}

/// The comma-separated items of a list variable, trimmed; empty items are refused.
fn list_items(variable: &'static str, value: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value else { return Ok(Vec::new()) };
    let items: Vec<String> = value.split(',').map(|item| item.trim().to_owned()).collect();
    if items.iter().any(String::is_empty) {
        return Err(problem(variable, "holds an empty item: give the values comma-separated, without an empty one"));
    }
    Ok(items)
}

/// Every credential: the secrets (PORTAL_CLIENT_SECRET or PORTAL_CLIENT_SECRET_FILE, each paired by
/// position with PORTAL_CLIENT_SECRET_EXPIRES_AT when given), then the certificates (each paired by
/// position with its key). Secrets and certificates may be given together, to move from one to the
/// other without downtime.
fn read_credentials(args: &ConfigArgs) -> Result<Vec<ConfiguredCredential>, ConfigError> {
    if args.client_secret.is_some() && args.client_secret_file.is_some() {
        return Err(problem("PORTAL_CLIENT_SECRET_FILE", "set either PORTAL_CLIENT_SECRET or PORTAL_CLIENT_SECRET_FILE, not both"));
    }
    let mut secrets = Vec::new();
    if let Some(value) = &args.client_secret {
        // Entra's secrets hold no comma and no white space: white space around one is a paste's.
        for secret in value.split(',').map(str::trim) {
            if secret.is_empty() {
                return Err(problem("PORTAL_CLIENT_SECRET", "is empty (or holds an empty item)"));
            }
            secrets.push(Secret::new(secret));
        }
    }
    for path in list_items("PORTAL_CLIENT_SECRET_FILE", args.client_secret_file.as_deref())? {
        let path = PathBuf::from(path);
        let text = read_file("PORTAL_CLIENT_SECRET_FILE", &path)?;
        let secret = text.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s)).unwrap_or(&text);
        if secret.trim().is_empty() {
            return Err(problem("PORTAL_CLIENT_SECRET_FILE", format!("{} is empty", path.display())));
        }
        secrets.push(Secret::new(secret));
    }
    const EXPIRES: &str = "PORTAL_CLIENT_SECRET_EXPIRES_AT";
    let expiries = list_items(EXPIRES, args.client_secret_expires_at.as_deref())?;
    if !expiries.is_empty() && expiries.len() != secrets.len() {
        return Err(problem(
            EXPIRES,
            format!("names {} expiries for {} client secrets: give one per secret, in the same order", expiries.len(), secrets.len()),
        ));
    }
    let mut credentials = Vec::new();
    for (index, secret) in secrets.into_iter().enumerate() {
        let expires_at = match expiries.get(index) {
            Some(value) => Some(crate::domain::credential::parse_expiry(value).map_err(|e| problem(EXPIRES, e))?),
            None => None,
        };
        credentials.push(ConfiguredCredential { credential: ClientCredential::Secret(secret), expires_at, position: index + 1 });
    }
    let certificates = list_items("PORTAL_CLIENT_CERTIFICATE", args.client_certificate.as_deref())?;
    let keys = list_items("PORTAL_CLIENT_KEY", args.client_key.as_deref())?;
    if keys.len() > certificates.len() {
        return Err(problem("PORTAL_CLIENT_CERTIFICATE", "is missing: a private key needs its certificate"));
    }
    for (index, certificate) in certificates.iter().enumerate() {
        let certificate = Path::new(certificate);
        let certificate_pem = read_file("PORTAL_CLIENT_CERTIFICATE", certificate)?;
        if CertificateDer::from_pem_slice(certificate_pem.as_bytes()).is_err() {
            return Err(problem("PORTAL_CLIENT_CERTIFICATE", format!("{} holds no PEM certificate", certificate.display())));
        }
        let Some(expires_at) = crate::domain::credential::certificate_not_after(&certificate_pem) else {
            return Err(problem(
                "PORTAL_CLIENT_CERTIFICATE",
                format!("{} holds no X.509 certificate the portal can read", certificate.display()),
            ));
        };
        let Some(key) = keys.get(index).map(Path::new) else {
            return Err(problem("PORTAL_CLIENT_KEY", "is missing: a certificate needs its private key"));
        };
        let key_pem = read_file("PORTAL_CLIENT_KEY", key)?;
        if PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).is_err() {
            return Err(problem("PORTAL_CLIENT_KEY", format!("{} holds no PEM private key", key.display())));
        }
        credentials.push(ConfiguredCredential {
            credential: ClientCredential::Certificate { certificate_pem, key_pem: Secret::new(key_pem) },
            expires_at: Some(expires_at),
            position: index + 1,
        });
    }
    if credentials.is_empty() {
        return Err(problem(
            "PORTAL_CLIENT_SECRET",
            "no credential: set PORTAL_CLIENT_SECRET, PORTAL_CLIENT_SECRET_FILE, or PORTAL_CLIENT_CERTIFICATE and PORTAL_CLIENT_KEY",
        ));
    }
    Ok(credentials)
}

fn read_file(variable: &'static str, path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| problem(variable, format!("cannot read {}: {e}", path.display())))
}

/// The demo's configuration: the portal on `address`, the built-in fake at `fake_url` (with the demo
/// app registration of its directory), the database at `database`. `demo`, `bench` and the tests run
/// the portal with it.
#[cfg(feature = "demo")]
pub fn demo_config(address: SocketAddr, fake_url: &str, database: DatabaseLocation) -> Result<Config, String> {
    let public_url = Url::parse(&format!("http://{address}/")).map_err(|e| e.to_string())?;
    let fake = Url::parse(fake_url).map_err(|e| e.to_string())?;
    let partner_tenant_id = TenantId::parse(fake_entra::demo::DEMO_PARTNER_TENANT_ID).map_err(|e| e.to_string())?;
    let permissions = parse_permission_list(DEMO_REQUIRED_PERMISSIONS).map_err(|e| e.to_string())?;
    let required = group_by_api(&permissions, Cloud::Global)?;
    Ok(Config {
        public_url,
        bind: address,
        database,
        client_id: fake_entra::demo::DEMO_CLIENT_ID.to_owned(),
        credentials: vec![ConfiguredCredential::only(ClientCredential::Secret(Secret::new(fake_entra::demo::DEMO_CLIENT_SECRET)))],
        partner_tenant_id,
        authority_host: fake.clone(),
        required,
        api_base: Some(fake),
        api_token: None,
        partner_name: "Fabrikam Partner".to_owned(),
        partner_contact: Some("onboarding@fabrikampartner.example".to_owned()),
        consent_flow: ConsentFlow::V2,
        checks: CheckSettings::default(),
        staff: StaffAccess::default(),
        email: EmailSettings {
            transport: TransportSettings::Memory,
            from: email::parse_mailbox("Fabrikam Partner <onboarding@fabrikampartner.example>").ok(),
            notify: crate::domain::email_address::parse_address("alex@fabrikampartner.example").into_iter().collect(),
            ..EmailSettings::default()
        },
        trusted_proxies: TrustedProxies::default(),
        webhooks: WebhookSettings::default(),
        metrics: MetricsSettings::default(),
        request_timeout: REQUEST_TIMEOUT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    #[command(args_override_self = true)]
    struct Wrapper {
        #[command(flatten)]
        args: ConfigArgs,
    }

    /// Parses these flags (and any PORTAL_* variable of the test's environment, which CI does not set).
    fn args(flags: &[&str]) -> ConfigArgs {
        let mut argv = vec!["test"];
        argv.extend_from_slice(flags);
        Wrapper::parse_from(argv).args
    }

    const GOOD: &[&str] = &[
        "--public-url=https://onboarding.example.com",
        "--client-id=11111111-2222-3333-4444-555555555555",
        "--client-secret=not-a-real-secret",
        "--partner-tenant-id=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "--database-url=sqlite://data/test.db",
    ];

    fn with(extra: &[&str]) -> Result<Config, ConfigError> {
        let mut flags = GOOD.to_vec();
        flags.extend_from_slice(extra);
        Config::from_args(&args(&flags))
    }

    #[test]
    fn a_complete_configuration_is_accepted_with_defaults() {
        let config = with(&[]).unwrap();
        assert_eq!(config.public_url_for("/auth/callback"), "https://onboarding.example.com/auth/callback");
        assert_eq!(config.authority(), "https://login.microsoftonline.com");
        assert_eq!(config.required.len(), 1);
        assert_eq!(config.required[0].resource, "https://api.security.microsoft.com");
        assert_eq!(config.required_permissions(), ["defender:Incident.Read.All", "defender:AdvancedHunting.Read.All"]);
        assert_eq!(config.api_base, None);
        assert_eq!(config.database, DatabaseLocation::sqlite_file("data/test.db"));
        assert!(config.is_https());
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let config = with(&["--api-token=0123456789abcdef0123456789abcdef"]).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("not-a-real-secret"), "{printed}");
        assert!(!printed.contains("0123456789abcdef"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn each_problem_names_its_variable() {
        let cases: &[(&[&str], &str)] = &[
            (&["--public-url=http://portal.example.com"], "PORTAL_PUBLIC_URL"),
            (&["--public-url=https://portal.example.com/sub"], "PORTAL_PUBLIC_URL"),
            (&["--client-id=app"], "PORTAL_CLIENT_ID"),
            (&["--partner-tenant-id=contoso.com"], "PORTAL_PARTNER_TENANT_ID"),
            (&["--authority-host=http://login.example.com"], "PORTAL_AUTHORITY_HOST"),
            (&["--authority-host=https://login.microsoftonline.com/common"], "PORTAL_AUTHORITY_HOST"),
            (&["--api-base=ftp://api.example.com"], "PORTAL_API_BASE"),
            (&["--required-roles=Incident.Read.All,,"], "PORTAL_REQUIRED_ROLES"),
            (&["--required-roles=SecurityIncident.Read.All"], "PORTAL_REQUIRED_ROLES"),
            (&["--resource=https://management.azure.com"], "PORTAL_RESOURCE"),
            (&["--required-permissions=intune:Device.Read.All"], "PORTAL_REQUIRED_PERMISSIONS"),
            (&["--required-permissions=graph:Incident.Read.All"], "PORTAL_REQUIRED_PERMISSIONS"),
            (&["--required-permissions=SecurityIncident.Read.All"], "PORTAL_REQUIRED_PERMISSIONS"),
            (&["--required-permissions=,"], "PORTAL_REQUIRED_PERMISSIONS"),
            (&["--required-permissions=graph:ThreatHunting.Read.All", "--required-roles=Incident.Read.All"], "PORTAL_REQUIRED_PERMISSIONS"),
            (
                &["--required-permissions=graph:ThreatHunting.Read.All", "--resource=https://graph.microsoft.com"],
                "PORTAL_REQUIRED_PERMISSIONS",
            ),
            (&["--required-permissions=graph:ThreatHunting.Read.All", "--consent-flow=v1"], "PORTAL_CONSENT_FLOW"),
            (
                &["--authority-host=https://login.chinacloudapi.cn", "--required-permissions=defender:Incident.Read.All"],
                "PORTAL_REQUIRED_PERMISSIONS",
            ),
            (&["--api-token=short"], "PORTAL_API_TOKEN"),
            (&["--bind=localhost"], "PORTAL_BIND"),
            (&["--database-url=mysql://db/portal"], "PORTAL_DATABASE_URL"),
            (&["--database-url=postgres://portal:hunter2@db/portal?sslmode=sometimes"], "PORTAL_DATABASE_URL"),
            (&["--client-certificate=/nonexistent.pem"], "PORTAL_CLIENT_CERTIFICATE"),
            (&["--staff-admins=alex@example.com,not-an-address"], "PORTAL_STAFF_ADMINS"),
            (&["--staff-viewers=sam example.com"], "PORTAL_STAFF_VIEWERS"),
            (&["--staff-admin-role=Portal Admin"], "PORTAL_STAFF_ADMIN_ROLE"),
            (&["--smtp-url=smtp://mail.example.com:25", "--mail-from=a@example.com"], "PORTAL_SMTP_URL"),
            (&["--smtp-url=smtps://mail.example.com"], "PORTAL_MAIL_FROM"),
            (&["--smtp-url=smtps://mail.example.com", "--mail-from=Fabrikam <nope>"], "PORTAL_MAIL_FROM"),
            (&["--notify-emails=alex@example.com,not an address"], "PORTAL_NOTIFY_EMAILS"),
            (&["--notify-emails=alex@example.com"], "PORTAL_NOTIFY_EMAILS"),
            (&["--reminder-after-days=0"], "PORTAL_REMINDER_AFTER_DAYS"),
            (&["--reminder-max=11"], "PORTAL_REMINDER_MAX"),
            (&["--smtp-ca-file=/nonexistent.pem"], "PORTAL_SMTP_CA_FILE"),
            (
                &["--smtp-url=smtps://mail.example.com", "--mail-from=a@example.com", "--smtp-ca-file=/nonexistent.pem"],
                "PORTAL_SMTP_CA_FILE",
            ),
            (&["--smtp-url=smtps://mail.example.com", "--mail-from=a@example.com", "--smtp-ca-file=Cargo.toml"], "PORTAL_SMTP_CA_FILE"),
            (&["--smtp-url=smtp://127.0.0.1:25", "--mail-from=a@example.com", "--smtp-ca-file=Cargo.toml"], "PORTAL_SMTP_CA_FILE"),
            (&["--trusted-proxies=10.0.0.0/8,load-balancer"], "PORTAL_TRUSTED_PROXIES"),
            (&["--trusted-proxies=10.0.0.0/40"], "PORTAL_TRUSTED_PROXIES"),
        ];
        for (extra, variable) in cases {
            let error = with(extra).unwrap_err();
            assert_eq!(error.variable, *variable, "{extra:?}: {error}");
        }
    }

    #[test]
    fn permissions_on_several_apis_and_the_short_form() {
        let config =
            with(&["--required-permissions=defender:Incident.Read.All, graph:SecurityIncident.Read.All,mde:Alert.Read.All"]).unwrap();
        let apis: Vec<(Api, &str)> = config.required.iter().map(|r| (r.api, r.resource.as_str())).collect();
        assert_eq!(
            apis,
            [
                (Api::Graph, "https://graph.microsoft.com"),
                (Api::Defender, "https://api.security.microsoft.com"),
                (Api::Mde, "https://api.securitycenter.microsoft.com")
            ]
        );
        assert_eq!(consent_api(&config.required), Api::Defender);
        // The short form on an older URI of Defender for Endpoint asks for tokens for that URI.
        let config =
            with(&["--resource=https://securitycenter.onmicrosoft.com/windowsatpservice/", "--required-roles=Machine.Read.All"]).unwrap();
        assert_eq!(config.required[0].api, Api::Mde);
        assert_eq!(config.required[0].resource, "https://securitycenter.onmicrosoft.com/windowsatpservice");
        // Sovereign clouds: the hosts follow the sign-in host.
        let config = with(&[
            "--authority-host=https://login.microsoftonline.us",
            "--required-permissions=graph:SecurityIncident.Read.All,defender:Incident.Read.All",
        ])
        .unwrap();
        let resources: Vec<&str> = config.required.iter().map(|r| r.resource.as_str()).collect();
        assert_eq!(resources, ["https://graph.microsoft.us", "https://api-gov.security.microsoft.us"]);
        let error = with(&["--required-permissions=graph:Incident.Read.All"]).unwrap_err();
        assert!(error.to_string().contains("defines no role \"Incident.Read.All\""), "{error}");
    }

    #[test]
    fn staff_access_defaults_and_lists() {
        let config = with(&[]).unwrap();
        assert_eq!(config.staff, StaffAccess::default());
        assert_eq!((config.staff.admin_role.as_str(), config.staff.viewer_role.as_str()), ("Portal.Admin", "Portal.Viewer"));
        let config = with(&["--staff-admins= Alex@Example.com ,b@example.com", "--staff-viewers=", "--staff-open=on"]).unwrap();
        assert_eq!(config.staff.admins, ["alex@example.com", "b@example.com"]);
        assert!(config.staff.viewers.is_empty());
        assert!(config.staff.open);
    }

    #[test]
    fn email_settings() {
        let config = with(&[]).unwrap();
        assert!(!config.email.enabled());
        assert_eq!((config.email.reminder_after_days, config.email.reminder_max), (3, 2));
        let config = with(&[
            "--smtp-url=smtps://portal:s3cret-pass@mail.example.com:465",
            "--mail-from=Fabrikam Onboarding <onboarding@fabrikam.example>",
            "--notify-emails=alex@fabrikam.example, sam@fabrikam.example",
        ])
        .unwrap();
        assert!(config.email.enabled());
        assert_eq!(config.email.notify.len(), 2);
        assert_eq!(config.email.from.as_ref().and_then(|f| f.name.clone()).as_deref(), Some("Fabrikam Onboarding"));
        assert!(!format!("{config:?}").contains("s3cret-pass"));
        assert!(with(&["--smtp-url=smtp://127.0.0.1:2525", "--mail-from=a@example.com"]).is_ok());
    }

    #[test]
    fn trusted_proxies_are_addresses_and_ranges() {
        assert!(with(&[]).unwrap().trusted_proxies.is_empty());
        let config = with(&["--trusted-proxies=10.20.1.0/24, 2001:db8::/64,192.0.2.7"]).unwrap();
        for trusted in ["10.20.1.9", "2001:db8::5", "192.0.2.7"] {
            assert!(config.trusted_proxies.contains(trusted.parse().unwrap()), "{trusted}");
        }
        assert!(!config.trusted_proxies.contains("10.20.2.1".parse().unwrap()));
    }

    #[test]
    fn plain_http_is_accepted_on_loopback_only() {
        let config = with(&["--public-url=http://127.0.0.1:8080", "--authority-host=http://localhost:9000"]).unwrap();
        assert!(!config.is_https());
        assert_eq!(config.authority(), "http://localhost:9000");
    }

    #[test]
    fn missing_items_are_named() {
        let error = Config::from_args(&args(&[])).unwrap_err();
        assert_eq!(error.variable, "PORTAL_PUBLIC_URL");
        assert!(error.to_string().starts_with("PORTAL_PUBLIC_URL: is missing"));
    }

    #[test]
    fn secret_file_drops_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "from-a-file\n").unwrap();
        let flags: Vec<String> = GOOD
            .iter()
            .filter(|f| !f.starts_with("--client-secret"))
            .map(|f| f.to_string())
            .chain([format!("--client-secret-file={}", path.display())])
            .collect();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let config = Config::from_args(&args(&flags)).unwrap();
        match &config.credentials[0].credential {
            ClientCredential::Secret(secret) => assert_eq!(secret.expose(), "from-a-file"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn database_urls() {
        let file = |url: &str| match parse_database_url(url).unwrap() {
            DatabaseLocation::Sqlite { path, .. } => path,
            other => panic!("{url} is not SQLite: {other:?}"),
        };
        assert_eq!(file("sqlite:///var/lib/portal/db.sqlite"), PathBuf::from("/var/lib/portal/db.sqlite"));
        assert_eq!(file("sqlite:portal.db?mode=rwc"), PathBuf::from("portal.db"));
        assert_eq!(file("/tmp/x.db"), PathBuf::from("/tmp/x.db"));
        assert!(parse_database_url("sqlite::memory:").is_err());
        for url in
            ["postgres://portal@db.example/portal", "postgresql://portal:pw@db.example:5433/portal?sslmode=verify-full&sslrootcert=ca.pem"]
        {
            assert_eq!(parse_database_url(url).unwrap(), DatabaseLocation::Postgres { url: Secret::new(url) });
        }
        // A PostgreSQL URL the driver refuses is named without its password.
        let refused = parse_database_url("postgres://portal:hunter2@db/portal?sslmode=sometimes").unwrap_err();
        assert!(!refused.to_string().contains("hunter2"), "{refused}");
        assert!(!format!("{:?}", parse_database_url("postgres://portal:hunter2@db/portal").unwrap()).contains("hunter2"));
    }

    /// The demo app registration in the fake asks for exactly the permissions the demo requires, and its
    /// Defender XDR roles are the short form's default.
    #[cfg(feature = "demo")]
    #[test]
    fn the_demo_app_requests_the_demo_required_permissions() {
        let defaults: Vec<String> = parse_role_list(DEFAULT_REQUIRED_ROLES).unwrap().into_iter().map(String::from).collect();
        assert_eq!(defaults, fake_entra::demo::DEMO_ROLES);
        let mut asked: Vec<String> = fake_entra::demo::DEMO_PERMISSIONS.iter().map(|(api, role)| format!("{api}:{role}")).collect();
        let mut required: Vec<String> = parse_permission_list(DEMO_REQUIRED_PERMISSIONS).unwrap().iter().map(ToString::to_string).collect();
        asked.sort();
        required.sort();
        assert_eq!(asked, required);
    }
}
