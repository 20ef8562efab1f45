//! The APIs the portal knows, in one table: Microsoft Graph (its security API), the Defender XDR API
//! (Microsoft Threat Protection, the one the portal was first built around) and the Defender for
//! Endpoint API (WindowsDefenderATP). For each: its resource URI in each cloud and the older URIs it
//! also answers to, its application id, the call that proves a token works, the roles (application
//! permissions) it defines, and the date Microsoft announced it stops working, where it gave one.
//!
//! Sources: the Microsoft Graph security API overview and its incidents/runHuntingQuery pages (Graph
//! permissions, and the retirement of `api.security.microsoft.com` on 1 February 2027); "Access the
//! Microsoft Defender XDR APIs" and the Defender for Endpoint "Partner access through the APIs" page
//! (their resource URIs, app ids and permissions); the national-cloud pages of Microsoft Graph and of
//! Defender for US Government customers (the hosts per cloud).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::date;

use super::{RoleName, TenantStatus};

/// An API the portal can require permissions on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    Graph,
    Defender,
    Mde,
}

/// How the portal can trust a token for an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verification {
    /// RS256 over the token as issued, with the tenant's published keys.
    Signature,
    /// Microsoft Graph signs its tokens over a hash of a `nonce` header that only Graph knows how to
    /// use; a client cannot check the signature (Microsoft: only the API a token is for validates it).
    /// The claims are checked, and the probe's 200 is the proof.
    Claims,
}

/// The Microsoft cloud the configured sign-in host belongs to; each API has its own host per cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// `login.microsoftonline.com` (and any other host, such as the built-in fake on loopback, whose
    /// tokens name the global resources).
    Global,
    /// `login.microsoftonline.us`: Microsoft 365 GCC High and DoD.
    UsGovernment,
    /// `login.chinacloudapi.cn` / `login.partner.microsoftonline.cn`: operated by 21Vianet.
    China,
}

impl Cloud {
    /// The cloud of a sign-in host name.
    pub fn of_authority_host(host: &str) -> Self {
        match host.to_ascii_lowercase().as_str() {
            "login.microsoftonline.us" => Self::UsGovernment,
            "login.chinacloudapi.cn" | "login.partner.microsoftonline.cn" => Self::China,
            _ => Self::Global,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "the global cloud",
            Self::UsGovernment => "US Government (GCC High, DoD)",
            Self::China => "Microsoft Azure operated by 21Vianet",
        }
    }
}

/// A Graph permission that replaces a retiring one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replacement {
    pub retiring: &'static str,
    pub replacement_api: Api,
    pub replacement: &'static str,
}

impl Api {
    pub const ALL: [Api; 3] = [Api::Graph, Api::Defender, Api::Mde];

    /// The short name used in `PORTAL_REQUIRED_PERMISSIONS`, JSON and `api:Role` strings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Graph => "graph",
            Self::Defender => "defender",
            Self::Mde => "mde",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|api| api.name() == name)
    }

    /// The API's name as an admin sees it (Microsoft's consent page and "Enterprise applications").
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Graph => "Microsoft Graph",
            Self::Defender => "Microsoft Threat Protection (Defender XDR API)",
            Self::Mde => "WindowsDefenderATP (Defender for Endpoint API)",
        }
    }

    /// The API's application (service principal) id, the same in every tenant; v2 tokens carry it as `aud`.
    pub fn app_id(self) -> &'static str {
        match self {
            Self::Graph => "00000003-0000-0000-c000-000000000000",
            Self::Defender => "8ee8fdad-f234-4243-8f3b-15c294843740",
            Self::Mde => "fc780465-2017-40d4-a0c5-307022471b92",
        }
    }

    /// The resource URI tokens are asked for, in `cloud`; `None` where Microsoft does not offer the API.
    pub fn resource(self, cloud: Cloud) -> Option<&'static str> {
        match (self, cloud) {
            (Self::Graph, Cloud::Global) => Some("https://graph.microsoft.com"),
            (Self::Graph, Cloud::UsGovernment) => Some("https://graph.microsoft.us"),
            (Self::Graph, Cloud::China) => Some("https://microsoftgraph.chinacloudapi.cn"),
            (Self::Defender, Cloud::Global) => Some("https://api.security.microsoft.com"),
            (Self::Defender, Cloud::UsGovernment) => Some("https://api-gov.security.microsoft.us"),
            (Self::Mde, Cloud::Global) => Some("https://api.securitycenter.microsoft.com"),
            (Self::Mde, Cloud::UsGovernment) => Some("https://api-gov.securitycenter.microsoft.us"),
            (Self::Defender | Self::Mde, Cloud::China) => None,
        }
    }

    /// Older URIs the same API answers to (Microsoft's partner page still uses them).
    pub fn aliases(self, cloud: Cloud) -> &'static [&'static str] {
        match (self, cloud) {
            (Self::Mde, Cloud::Global) => {
                &["https://api.securitycenter.windows.com", "https://securitycenter.onmicrosoft.com/windowsatpservice"]
            }
            (Self::Graph, Cloud::UsGovernment) => &["https://dod-graph.microsoft.us"],
            _ => &[],
        }
    }

    /// The API a resource URI (or alias) names in `cloud`, compared as Microsoft does: ignoring case
    /// and a trailing slash.
    pub fn of_resource(resource: &str, cloud: Cloud) -> Option<Self> {
        let resource = resource.trim_end_matches('/');
        Self::ALL.into_iter().find(|api| {
            api.resource(cloud).into_iter().chain(api.aliases(cloud).iter().copied()).any(|uri| uri.eq_ignore_ascii_case(resource))
        })
    }

    /// The read-only call that proves a token works, relative to the API's host.
    pub fn probe_path(self) -> &'static str {
        match self {
            Self::Graph => "/v1.0/security/incidents?$top=1",
            Self::Defender => "/api/incidents?$top=1",
            Self::Mde => "/api/alerts?$top=1",
        }
    }

    /// The roles that allow the probe; without one of them the probe is not called.
    pub fn probe_roles(self) -> &'static [&'static str] {
        match self {
            Self::Graph => &["SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"],
            Self::Defender => &["Incident.Read.All", "Incident.ReadWrite.All"],
            Self::Mde => &["Alert.Read.All", "Alert.ReadWrite.All"],
        }
    }

    pub fn verification(self) -> Verification {
        match self {
            Self::Graph => Verification::Claims,
            Self::Defender | Self::Mde => Verification::Signature,
        }
    }

    /// The day Microsoft announced the API stops working, where it gave one (Defender XDR: the Graph
    /// security API overview, "retired … stops returning data on February 1, 2027").
    pub fn retirement(self) -> Option<Date> {
        match self {
            Self::Defender => Some(date!(2027 - 02 - 01)),
            Self::Graph | Self::Mde => None,
        }
    }

    /// The application permissions the API defines that the portal knows (and can describe).
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            Self::Graph => &[
                "SecurityIncident.Read.All",
                "SecurityIncident.ReadWrite.All",
                "SecurityAlert.Read.All",
                "SecurityAlert.ReadWrite.All",
                "ThreatHunting.Read.All",
            ],
            Self::Defender => &["Incident.Read.All", "Incident.ReadWrite.All", "AdvancedHunting.Read.All"],
            Self::Mde => &["Alert.Read.All", "Alert.ReadWrite.All", "Machine.Read.All", "AdvancedQuery.Read.All", "Vulnerability.Read.All"],
        }
    }

    pub fn defines(self, role: &str) -> bool {
        self.roles().contains(&role)
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The Graph permissions that replace the Defender XDR API's, as Microsoft's migration guidance maps them.
pub const REPLACEMENTS: [Replacement; 3] = [
    Replacement { retiring: "Incident.Read.All", replacement_api: Api::Graph, replacement: "SecurityIncident.Read.All" },
    Replacement { retiring: "Incident.ReadWrite.All", replacement_api: Api::Graph, replacement: "SecurityIncident.ReadWrite.All" },
    Replacement { retiring: "AdvancedHunting.Read.All", replacement_api: Api::Graph, replacement: "ThreatHunting.Read.All" },
];

/// The permission that replaces `role` of a retiring API, when Microsoft named one.
pub fn replacement_for(api: Api, role: &str) -> Option<Permission> {
    api.retirement()?;
    REPLACEMENTS
        .iter()
        .find(|r| r.retiring == role)
        .and_then(|r| RoleName::parse(r.replacement).ok().map(|role| Permission { api: r.replacement_api, role }))
}

/// One application permission on one API: `graph:SecurityIncident.Read.All`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    pub api: Api,
    pub role: RoleName,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PermissionError {
    #[error("{0:?} is not api:Role (e.g. graph:SecurityIncident.Read.All)")]
    Shape(String),
    #[error("unknown API {0:?}: the portal knows graph, defender and mde")]
    UnknownApi(String),
    #[error("{api} ({display}) defines no role {role:?}; it defines {defined}")]
    UnknownRole { api: Api, display: &'static str, role: String, defined: String },
    #[error("no permission given")]
    Empty,
}

impl Permission {
    /// Parses `api:Role`, refusing an API the portal does not know and a role that API does not define.
    pub fn parse(value: &str) -> Result<Self, PermissionError> {
        let value = value.trim();
        let (api, role) = value.split_once(':').ok_or_else(|| PermissionError::Shape(value.to_owned()))?;
        let api = Api::parse(api.trim()).ok_or_else(|| PermissionError::UnknownApi(api.trim().to_owned()))?;
        Self::on(api, role.trim())
    }

    /// `role` on `api`, which must define it.
    pub fn on(api: Api, role: &str) -> Result<Self, PermissionError> {
        if !api.defines(role) {
            return Err(PermissionError::UnknownRole {
                api,
                display: api.display_name(),
                role: role.to_owned(),
                defined: api.roles().join(", "),
            });
        }
        let role = RoleName::parse(role).map_err(|_| PermissionError::Shape(format!("{api}:{role}")))?;
        Ok(Self { api, role })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.api, self.role)
    }
}

/// Parses a comma-separated list of `api:Role`, dropping duplicates and keeping the order given.
pub fn parse_permission_list(value: &str) -> Result<Vec<Permission>, PermissionError> {
    let mut permissions: Vec<Permission> = Vec::new();
    for part in value.split(',').filter(|part| !part.trim().is_empty()) {
        let permission = Permission::parse(part)?;
        if !permissions.contains(&permission) {
            permissions.push(permission);
        }
    }
    if permissions.is_empty() {
        return Err(PermissionError::Empty);
    }
    Ok(permissions)
}

/// An API the portal requires roles on, and the resource URI its tokens are asked for (the aud
/// expected back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredApi {
    pub api: Api,
    pub resource: String,
    pub roles: Vec<RoleName>,
}

impl RequiredApi {
    /// The required roles as `api:Role` strings.
    pub fn permissions(&self) -> impl Iterator<Item = String> + '_ {
        self.roles.iter().map(move |role| format!("{}:{role}", self.api))
    }
}

/// Splits the required permissions into those not in `granted` (`api:Role` entries: what a tenant is
/// now also asked for) and those in it (granted before, and staying), each still grouped per API.
pub fn split_by_granted(required: &[RequiredApi], granted: &[String]) -> (Vec<RequiredApi>, Vec<RequiredApi>) {
    let (mut asked, mut kept) = (Vec::new(), Vec::new());
    for api in required {
        let is_granted = |role: &RoleName| granted.iter().any(|g| g.split_once(':') == Some((api.api.name(), role.as_str())));
        let (old, new): (Vec<RoleName>, Vec<RoleName>) = api.roles.iter().cloned().partition(is_granted);
        for (roles, into) in [(new, &mut asked), (old, &mut kept)] {
            if !roles.is_empty() {
                into.push(RequiredApi { api: api.api, resource: api.resource.clone(), roles });
            }
        }
    }
    (asked, kept)
}

/// What a recorded tenant's latest check showed (`present`, as stored: `api:Role`, or bare role names
/// in rows older than the portal's several APIs), when it is asked for more than that: the tenant is
/// then asked to consent again, told what is new and what stays. `None` when nothing required is new.
pub fn granted_before(required: &[RequiredApi], present: &[String]) -> Option<Vec<String>> {
    let present = super::PermissionSet::from_entries(present.iter().cloned());
    let (asked, _) = split_by_granted(required, present.as_slice());
    (!asked.is_empty()).then(|| present.as_slice().to_vec())
}

/// Groups permissions per API, in the order of [`Api::ALL`], with each API's resource in `cloud`.
pub fn group_by_api(permissions: &[Permission], cloud: Cloud) -> Result<Vec<RequiredApi>, String> {
    let mut required = Vec::new();
    for api in Api::ALL {
        let roles: Vec<RoleName> = permissions.iter().filter(|p| p.api == api).map(|p| p.role.clone()).collect();
        if roles.is_empty() {
            continue;
        }
        let resource = api.resource(cloud).ok_or_else(|| format!("{} ({api}) is not offered in {}", api.display_name(), cloud.name()))?;
        required.push(RequiredApi { api, resource: resource.to_owned(), roles });
    }
    Ok(required)
}

/// One API's part of a check, as stored with the check (a JSON array in `checks.apis`) and shown on the
/// tenant page: its status, what its token carried (bare role names: the API is named), the probe's
/// answer, and how the token was trusted. The token itself is never kept, only its decoded header and
/// claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResult {
    pub api: Api,
    pub status: TenantStatus,
    pub reason: String,
    pub roles_present: Vec<String>,
    pub roles_missing: Vec<String>,
    /// HTTP status of the probe; `None` when it did not run, 0 when the API could not be reached.
    pub probe_status: Option<u16>,
    pub verification: Verification,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_header: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_claims: Option<serde_json::Value>,
}

/// The per-API results of a check, as stored (JSON text).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiResults(pub Vec<ApiResult>);

impl ApiResults {
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_owned())
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_parse_as_api_colon_role_and_refuse_what_the_api_does_not_define() {
        let list =
            parse_permission_list("graph:SecurityIncident.Read.All, defender:Incident.Read.All,graph:SecurityIncident.Read.All").unwrap();
        let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["graph:SecurityIncident.Read.All", "defender:Incident.Read.All"]);
        assert!(matches!(Permission::parse("intune:Device.Read.All"), Err(PermissionError::UnknownApi(api)) if api == "intune"));
        assert!(matches!(Permission::parse("graph:Incident.Read.All"), Err(PermissionError::UnknownRole { .. })));
        // Exact case: Microsoft's partner page misspells a role, and a near miss is not a match.
        assert!(Permission::parse("defender:Incidents.Read.All").is_err());
        assert!(Permission::parse("Incident.Read.All").is_err());
        assert_eq!(parse_permission_list(" , "), Err(PermissionError::Empty));
    }

    #[test]
    fn resources_and_aliases_name_their_api_in_their_cloud() {
        assert_eq!(Api::of_resource("https://securitycenter.onmicrosoft.com/windowsatpservice/", Cloud::Global), Some(Api::Mde));
        assert_eq!(Api::of_resource("HTTPS://api.security.microsoft.com", Cloud::Global), Some(Api::Defender));
        assert_eq!(Api::of_resource("https://graph.microsoft.us", Cloud::Global), None);
        assert_eq!(Api::of_resource("https://graph.microsoft.us", Cloud::UsGovernment), Some(Api::Graph));
        assert_eq!(Cloud::of_authority_host("login.microsoftonline.us"), Cloud::UsGovernment);
        let china = group_by_api(&parse_permission_list("defender:Incident.Read.All").unwrap(), Cloud::China);
        assert!(china.unwrap_err().contains("not offered"));
    }

    #[test]
    fn only_a_retiring_api_has_replacements() {
        assert_eq!(replacement_for(Api::Defender, "AdvancedHunting.Read.All").unwrap().to_string(), "graph:ThreatHunting.Read.All");
        assert_eq!(replacement_for(Api::Mde, "Alert.Read.All"), None);
        for api in Api::ALL {
            for role in api.roles() {
                assert!(RoleName::parse(role).is_ok(), "{role}");
            }
        }
    }
}
