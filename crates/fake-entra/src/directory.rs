//! The fake's directory: tenants, their users, app registrations (with the permissions each requests,
//! per API), the service principals an admin's consent creates in a tenant (with the permissions
//! granted), and the APIs a token may be asked for ([`crate::apis`]).
//!
//! This is also the JSON shape of `GET /_fake/directory` and of the `--directory FILE` loaded at start.
//! Documents written before the fake knew several APIs load too: an app's or a grant's `roles` and a
//! tenant's `grantable_roles` are the Defender XDR API's, and `defender_provisioned: false` lists
//! Defender among the tenant's unprovisioned APIs.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::TenantId;
pub use crate::apis::{
    Api, ApiRole, DEFENDER_API, DEFENDER_APP_ID, DEFENDER_RESOURCE, GRAPH_API, GRAPH_APP_ID, GRAPH_RESOURCE, MDE_API, MDE_APP_ID,
    MDE_RESOURCE,
};
pub use crate::permissions::Permissions;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Directory {
    /// The APIs whose tokens an app may ask for.
    #[serde(default = "Api::all")]
    pub apis: Vec<Api>,
    #[serde(default)]
    pub apps: Vec<AppRegistration>,
    #[serde(default)]
    pub tenants: Vec<Tenant>,
}

/// An app registration, with the application permissions it requests on each API (what an admin's
/// consent with any `/.default` scope grants).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "AppRegistrationDocument")]
pub struct AppRegistration {
    pub client_id: String,
    pub display_name: String,
    pub secrets: Vec<AppSecret>,
    /// PEM certificates registered on the app (for client assertions).
    pub certificates: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub permissions: Permissions,
}

/// An app registration as a document may write it (`roles`: the older Defender-only form).
#[derive(Deserialize)]
struct AppRegistrationDocument {
    client_id: String,
    #[serde(default = "default_app_name")]
    display_name: String,
    #[serde(default)]
    secrets: Vec<AppSecret>,
    #[serde(default)]
    certificates: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    roles: Option<Vec<String>>,
    permissions: Option<Permissions>,
}

impl TryFrom<AppRegistrationDocument> for AppRegistration {
    type Error = String;

    fn try_from(doc: AppRegistrationDocument) -> Result<Self, String> {
        Ok(Self {
            permissions: one_form(doc.roles, doc.permissions)?,
            client_id: doc.client_id,
            display_name: doc.display_name,
            secrets: doc.secrets,
            certificates: doc.certificates,
            redirect_uris: doc.redirect_uris,
        })
    }
}

/// `permissions`, or the older `roles` (the Defender XDR API's); both at once is ambiguous.
pub(crate) fn one_form(roles: Option<Vec<String>>, permissions: Option<Permissions>) -> Result<Permissions, String> {
    match (roles, permissions) {
        (Some(_), Some(_)) => Err("give either roles (the Defender XDR API's) or permissions (per API), not both".into()),
        (Some(roles), None) => Ok(Permissions::from(roles)),
        (None, permissions) => Ok(permissions.unwrap_or_default()),
    }
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
#[serde(try_from = "TenantDocument")]
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    pub domains: Vec<String>,
    pub users: Vec<User>,
    /// Service principals of apps in this tenant, with the application permissions granted to each.
    pub grants: Vec<Grant>,
    /// A tenant whose policy holds some permissions back: on each API listed here, an admin's consent
    /// grants only these of the requested roles. APIs not listed: every requested role.
    #[serde(skip_serializing_if = "Permissions::is_empty")]
    pub grantable_permissions: Permissions,
    /// APIs without a service principal in this tenant (no licence): their tokens are AADSTS500011.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unprovisioned_apis: Vec<String>,
    pub faults: Faults,
}

/// A tenant as a document may write it, with the older Defender-only fields.
#[derive(Deserialize)]
struct TenantDocument {
    id: TenantId,
    display_name: String,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    users: Vec<User>,
    #[serde(default)]
    grants: Vec<Grant>,
    grantable_roles: Option<Vec<String>>,
    grantable_permissions: Option<Permissions>,
    #[serde(default)]
    unprovisioned_apis: Vec<String>,
    defender_provisioned: Option<bool>,
    #[serde(default)]
    faults: Faults,
}

impl TryFrom<TenantDocument> for Tenant {
    type Error = String;

    fn try_from(doc: TenantDocument) -> Result<Self, String> {
        let mut tenant = Tenant::new(doc.id, &doc.display_name, doc.domains);
        tenant.users = doc.users;
        tenant.grants = doc.grants;
        tenant.grantable_permissions = one_form(doc.grantable_roles, doc.grantable_permissions)
            .map_err(|_| "give either grantable_roles (the Defender XDR API's) or grantable_permissions, not both".to_owned())?;
        tenant.unprovisioned_apis = doc.unprovisioned_apis;
        if let Some(provisioned) = doc.defender_provisioned {
            tenant.set_provisioned(DEFENDER_API, provisioned);
        }
        tenant.faults = doc.faults;
        Ok(tenant)
    }
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
#[serde(try_from = "GrantDocument")]
pub struct Grant {
    pub client_id: String,
    /// The service principal's object id in this tenant (the `oid` of app-only tokens).
    pub object_id: String,
    /// The application permissions granted, per API: a token for an API carries that API's.
    pub permissions: Permissions,
    pub enabled: bool,
    /// Deleted by an admin (consent removed): token requests get AADSTS7000229.
    pub deleted: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
}

/// A grant as a document may write it (`roles`: the older Defender-only form).
#[derive(Deserialize)]
struct GrantDocument {
    client_id: String,
    #[serde(default = "new_guid")]
    object_id: String,
    roles: Option<Vec<String>>,
    permissions: Option<Permissions>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    deleted: bool,
    #[serde(with = "time::serde::rfc3339")]
    granted_at: OffsetDateTime,
}

impl TryFrom<GrantDocument> for Grant {
    type Error = String;

    fn try_from(doc: GrantDocument) -> Result<Self, String> {
        Ok(Self {
            permissions: one_form(doc.roles, doc.permissions)?,
            client_id: doc.client_id,
            object_id: doc.object_id,
            enabled: doc.enabled,
            deleted: doc.deleted,
            granted_at: doc.granted_at,
        })
    }
}

fn yes() -> bool {
    true
}

/// Faults injected per tenant, for tests and demos. Every field is optional. The `api_*` faults apply
/// to every API the fake serves (Graph, Defender XDR, Defender for Endpoint).
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
    /// Answer 200 with a body that is not JSON (token endpoint and APIs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garbage: Option<bool>,
    /// Force this status on API calls for this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_status: Option<u16>,
    /// Granted roles appear in tokens only this many seconds after the consent (propagation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles_delay_s: Option<u64>,
    /// Delay before an API answers for this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_latency_ms: Option<u64>,
    /// Close the connection without an answer (token endpoint and APIs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_connection: Option<bool>,
}

impl Directory {
    pub fn empty() -> Self {
        Self { apis: Api::all(), apps: Vec::new(), tenants: Vec::new() }
    }

    /// The API a token request names (by URI or application id), if the directory knows it.
    pub fn api_named(&self, requested: &str) -> Option<&Api> {
        self.apis.iter().find(|api| api.is_named(requested))
    }

    /// The API of this short name (`graph`, `defender`, `mde`).
    pub fn api(&self, name: &str) -> Option<&Api> {
        self.apis.iter().find(|api| api.name == name)
    }

    /// Whether every API and role named exists here (the error names the first that does not).
    pub fn check_permissions(&self, permissions: &Permissions) -> Result<(), String> {
        permissions.check_against(&self.apis)
    }

    /// Every app's, grant's and tenant policy's permissions name APIs and roles this directory knows
    /// (what `--directory FILE` is checked for at start).
    pub fn check(&self) -> Result<(), String> {
        for app in &self.apps {
            self.check_permissions(&app.permissions).map_err(|e| format!("app {}: {e}", app.client_id))?;
        }
        for tenant in &self.tenants {
            let context = |e: String| format!("tenant {} ({}): {e}", tenant.display_name, tenant.id);
            self.check_permissions(&tenant.grantable_permissions).map_err(context)?;
            for grant in &tenant.grants {
                self.check_permissions(&grant.permissions).map_err(|e| context(format!("grant of {}: {e}", grant.client_id)))?;
            }
            if let Some(unknown) = tenant.unprovisioned_apis.iter().find(|name| self.api(name).is_none()) {
                return Err(context(format!("unprovisioned_apis: no API named {unknown:?}")));
            }
        }
        Ok(())
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
            grantable_permissions: Permissions::new(),
            unprovisioned_apis: Vec::new(),
            faults: Faults::default(),
        }
    }

    pub fn grant(&self, client_id: &str) -> Option<&Grant> {
        self.grants.iter().find(|g| g.client_id.eq_ignore_ascii_case(client_id))
    }

    /// Records an admin's consent: the app's service principal exists (again), enabled or not, with
    /// these permissions (a `Vec<String>` of roles stands for the Defender XDR API's).
    pub fn set_grant(&mut self, client_id: &str, permissions: impl Into<Permissions>, enabled: bool, now: OffsetDateTime) {
        let permissions = permissions.into();
        match self.grants.iter_mut().find(|g| g.client_id.eq_ignore_ascii_case(client_id)) {
            Some(grant) => {
                grant.permissions = permissions;
                grant.enabled = enabled;
                grant.deleted = false;
                grant.granted_at = now;
            }
            None => self.grants.push(Grant {
                client_id: client_id.into(),
                object_id: new_guid(),
                permissions,
                enabled,
                deleted: false,
                granted_at: now,
            }),
        }
    }

    /// Whether the API of this name has a service principal here.
    pub fn is_provisioned(&self, api: &str) -> bool {
        !self.unprovisioned_apis.iter().any(|name| name == api)
    }

    /// Gives the API of this name a service principal here, or takes it away.
    pub fn set_provisioned(&mut self, api: &str, provisioned: bool) {
        self.unprovisioned_apis.retain(|name| name != api);
        if !provisioned {
            self.unprovisioned_apis.push(api.to_owned());
        }
    }

    /// The domain shown for this tenant: its first verified domain.
    pub fn primary_domain(&self) -> &str {
        self.domains.first().map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_of_the_defender_only_shape_still_load() {
        let tenant: Tenant = serde_json::from_value(json!({
            "id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", "display_name": "Old", "defender_provisioned": false,
            "grantable_roles": ["Incident.Read.All"],
            "grants": [{"client_id": "c", "roles": ["Incident.Read.All"], "granted_at": "2026-01-01T00:00:00Z"}],
        }))
        .unwrap();
        assert!(!tenant.is_provisioned(DEFENDER_API) && tenant.is_provisioned(GRAPH_API));
        assert_eq!(tenant.grantable_permissions, Permissions::new().with(DEFENDER_API, &["Incident.Read.All"]));
        assert_eq!(tenant.grants[0].permissions, Permissions::new().with(DEFENDER_API, &["Incident.Read.All"]));
        let written = serde_json::to_value(&tenant).unwrap();
        assert_eq!(written["unprovisioned_apis"], json!(["defender"]));
        assert_eq!(written["grants"][0]["permissions"], json!({"defender": ["Incident.Read.All"]}));
        let again: Tenant = serde_json::from_value(written).unwrap();
        assert_eq!(again.grantable_permissions, tenant.grantable_permissions);

        let app: AppRegistration = serde_json::from_value(json!({"client_id": "c", "roles": ["Incident.Read.All"]})).unwrap();
        assert_eq!(app.permissions.roles(DEFENDER_API), ["Incident.Read.All"]);
        let both = json!({"client_id": "c", "roles": [], "permissions": {}});
        assert!(serde_json::from_value::<AppRegistration>(both).is_err());
    }
}
