//! The fake's directory: tenants, their users, app registrations, the service principals an admin's
//! consent creates in a tenant (with the roles granted), the Defender XDR resource, and the other APIs
//! a token may be asked for (Defender for Endpoint, under its three names).
//!
//! This is also the JSON shape of `GET /_fake/directory` and of the `--directory FILE` loaded at start.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::TenantId;

/// The Microsoft Threat Protection (Microsoft 365 Defender) resource's application id.
pub const DEFENDER_APP_ID: &str = "8ee8fdad-f234-4243-8f3b-15c294843740";
pub const DEFENDER_RESOURCE: &str = "https://api.security.microsoft.com";
/// The Defender for Endpoint API ("WindowsDefenderATP") service principal's application id.
pub const DEFENDER_FOR_ENDPOINT_APP_ID: &str = "fc780465-2017-40d4-a0c5-307022471b92";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Directory {
    #[serde(default = "Resource::defender")]
    pub resource: Resource,
    /// Other APIs whose tokens an app may ask for. Their tokens carry only the granted roles the API
    /// offers (the grants model the Defender XDR consent).
    #[serde(default = "Resource::others")]
    pub other_resources: Vec<Resource>,
    #[serde(default)]
    pub apps: Vec<AppRegistration>,
    #[serde(default)]
    pub tenants: Vec<Tenant>,
}

/// An API's service principal: its URI (and older names) and the application roles it offers. A token
/// request may name it by any of its URIs or its application id; the token's `aud` is the name used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub uri: String,
    /// Other URIs the API answers to (Defender for Endpoint has two older ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_uris: Vec<String>,
    pub app_id: String,
    pub display_name: String,
    pub roles: Vec<ResourceRole>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceRole {
    pub value: String,
    pub description: String,
}

impl Resource {
    pub fn defender() -> Self {
        let role = |value: &str, description: &str| ResourceRole { value: value.into(), description: description.into() };
        Self {
            uri: DEFENDER_RESOURCE.into(),
            other_uris: Vec::new(),
            app_id: DEFENDER_APP_ID.into(),
            display_name: "Microsoft Threat Protection".into(),
            roles: vec![
                role("Incident.Read.All", "Read all incidents"),
                role("Incident.ReadWrite.All", "Read and write all incidents"),
                role("AdvancedHunting.Read.All", "Run advanced queries"),
                role("Alert.Read.All", "Read all alerts"),
                role("Alert.ReadWrite.All", "Read and write all alerts"),
            ],
        }
    }

    /// The Defender for Endpoint API, under the names Microsoft's partner page uses for it.
    pub fn defender_for_endpoint() -> Self {
        let role = |value: &str, description: &str| ResourceRole { value: value.into(), description: description.into() };
        Self {
            uri: "https://api.securitycenter.microsoft.com".into(),
            other_uris: vec![
                "https://api.securitycenter.windows.com".into(),
                "https://securitycenter.onmicrosoft.com/windowsatpservice".into(),
            ],
            app_id: DEFENDER_FOR_ENDPOINT_APP_ID.into(),
            display_name: "WindowsDefenderATP".into(),
            roles: vec![
                role("Alert.Read.All", "Read all alerts"),
                role("Alert.ReadWrite.All", "Read and write all alerts"),
                role("Machine.Read.All", "Read all machine profiles"),
                role("AdvancedQuery.Read.All", "Run advanced queries"),
                role("Vulnerability.Read.All", "Read threat and vulnerability management vulnerability information"),
            ],
        }
    }

    /// The APIs a directory knows besides the Defender XDR resource.
    pub fn others() -> Vec<Self> {
        vec![Self::defender_for_endpoint()]
    }

    /// Whether a token request's `resource` (or a scope's part before `/.default`) names this API: one
    /// of its URIs or its application id, ignoring case and a trailing slash.
    pub fn is_named(&self, requested: &str) -> bool {
        let requested = requested.trim_end_matches('/');
        std::iter::once(&self.uri)
            .chain(&self.other_uris)
            .chain(std::iter::once(&self.app_id))
            .any(|name| name.trim_end_matches('/').eq_ignore_ascii_case(requested))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppRegistration {
    pub client_id: String,
    #[serde(default = "default_app_name")]
    pub display_name: String,
    #[serde(default)]
    pub secrets: Vec<AppSecret>,
    /// PEM certificates registered on the app (for client assertions).
    #[serde(default)]
    pub certificates: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Application roles the app requests on the Defender resource.
    #[serde(default)]
    pub roles: Vec<String>,
}

fn default_app_name() -> String {
    "Partner app".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppSecret {
    pub value: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub users: Vec<User>,
    /// Service principals of apps in this tenant, with the application roles granted to each.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// When set, an admin's consent in this tenant grants only these of the requested roles (a tenant
    /// whose policy holds some back). Absent: every requested role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantable_roles: Option<Vec<String>>,
    /// False: the Defender resource has no service principal here (AADSTS500011).
    #[serde(default = "yes")]
    pub defender_provisioned: bool,
    #[serde(default)]
    pub faults: Faults,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    #[serde(default = "new_guid")]
    pub id: String,
    pub upn: String,
    pub display_name: String,
    #[serde(default)]
    pub admin: bool,
    /// App roles assigned to this user on apps of their tenant (appear in ID tokens' `roles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_roles: Vec<String>,
}

pub(crate) fn new_guid() -> String {
    Uuid::new_v4().to_string()
}

/// A service principal of an app in a tenant: what an admin's consent leaves behind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    /// The service principal's object id in this tenant (the `oid` of app-only tokens).
    #[serde(default = "new_guid")]
    pub object_id: String,
    pub roles: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Deleted by an admin (consent removed): token requests get AADSTS7000229.
    #[serde(default)]
    pub deleted: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
}

/// Faults injected per tenant, for tests and demos. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// Delay before the token endpoint answers for this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_latency_ms: Option<u64>,
    /// Force this status on token requests (429, 500, 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_status: Option<u16>,
    /// `Retry-After` seconds sent with a forced 429 or 503 (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// Answer 200 with a body that is not JSON (token endpoint and API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garbage: Option<bool>,
    /// Force this status on Defender API calls for this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_status: Option<u16>,
    /// Granted roles appear in tokens only this many seconds after the consent (propagation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles_delay_s: Option<u64>,
    /// Delay before the Defender API answers for this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_latency_ms: Option<u64>,
    /// Close the connection without an answer (token endpoint and API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_connection: Option<bool>,
}

impl Directory {
    pub fn empty() -> Self {
        Self { resource: Resource::defender(), other_resources: Resource::others(), apps: Vec::new(), tenants: Vec::new() }
    }

    /// The API a token request names, if the directory knows it.
    pub fn resource_named(&self, requested: &str) -> Option<&Resource> {
        std::iter::once(&self.resource).chain(&self.other_resources).find(|resource| resource.is_named(requested))
    }

    pub fn app(&self, client_id: &str) -> Option<&AppRegistration> {
        self.apps.iter().find(|app| app.client_id.eq_ignore_ascii_case(client_id))
    }

    pub fn tenant(&self, id: TenantId) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == id)
    }

    pub fn tenant_mut(&mut self, id: TenantId) -> Option<&mut Tenant> {
        self.tenants.iter_mut().find(|t| t.id == id)
    }

    pub fn tenant_by_domain(&self, domain: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
    }

    /// The tenant and user with this user id, in any tenant.
    pub fn user(&self, user_id: &str) -> Option<(&Tenant, &User)> {
        self.tenants.iter().find_map(|t| t.users.iter().find(|u| u.id == user_id).map(|u| (t, u)))
    }

    pub fn user_by_upn(&self, upn: &str) -> Option<(&Tenant, &User)> {
        self.tenants.iter().find_map(|t| t.users.iter().find(|u| u.upn.eq_ignore_ascii_case(upn)).map(|u| (t, u)))
    }
}

impl Tenant {
    pub fn new(id: TenantId, display_name: &str, domains: Vec<String>) -> Self {
        Self {
            id,
            display_name: display_name.into(),
            domains,
            users: Vec::new(),
            grants: Vec::new(),
            grantable_roles: None,
            defender_provisioned: true,
            faults: Faults::default(),
        }
    }

    pub fn grant(&self, client_id: &str) -> Option<&Grant> {
        self.grants.iter().find(|g| g.client_id.eq_ignore_ascii_case(client_id))
    }

    /// Records an admin's consent: the app's service principal exists (again), enabled, with these roles.
    pub fn set_grant(&mut self, client_id: &str, roles: Vec<String>, enabled: bool, now: OffsetDateTime) {
        match self.grants.iter_mut().find(|g| g.client_id.eq_ignore_ascii_case(client_id)) {
            Some(grant) => {
                grant.roles = roles;
                grant.enabled = enabled;
                grant.deleted = false;
                grant.granted_at = now;
            }
            None => self.grants.push(Grant {
                client_id: client_id.into(),
                object_id: new_guid(),
                roles,
                enabled,
                deleted: false,
                granted_at: now,
            }),
        }
    }

    /// The domain shown for this tenant: its first verified domain.
    pub fn primary_domain(&self) -> &str {
        self.domains.first().map_or("", String::as_str)
    }
}
