//! The APIs the fake knows, in one table: each is a first-party service principal as it appears in
//! every tenant, with its name here (`graph`, `defender`, `mde`), its resource URI and older URIs, its
//! application id, and the application roles (permissions) it defines.
//!
//! A token request may name an API by any of its URIs or its application id; the token's `aud` is the
//! name used. The fake serves each API's probe on its one host, by path (see [`crate::graph_api`],
//! [`crate::defender_api`], [`crate::mde_api`]).

use serde::{Deserialize, Serialize};

/// Microsoft Graph (its security API).
pub const GRAPH_API: &str = "graph";
/// Microsoft Threat Protection: the Defender XDR API.
pub const DEFENDER_API: &str = "defender";
/// WindowsDefenderATP: the Defender for Endpoint API.
pub const MDE_API: &str = "mde";

pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
pub const DEFENDER_RESOURCE: &str = "https://api.security.microsoft.com";
pub const DEFENDER_APP_ID: &str = "8ee8fdad-f234-4243-8f3b-15c294843740";
pub const MDE_RESOURCE: &str = "https://api.securitycenter.microsoft.com";
pub const MDE_APP_ID: &str = "fc780465-2017-40d4-a0c5-307022471b92";

/// An API's service principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Api {
    /// The fake's (and the portal's) short name: `graph`, `defender`, `mde`.
    pub name: String,
    pub display_name: String,
    pub uri: String,
    /// Other URIs the API answers to (Defender for Endpoint has two older ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_uris: Vec<String>,
    pub app_id: String,
    pub roles: Vec<ApiRole>,
}

/// An application role an API defines, with the words Microsoft's consent page shows for it (English
/// only: Microsoft does not translate an API's own descriptions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRole {
    pub value: String,
    pub description: String,
}

fn roles(list: &[(&str, &str)]) -> Vec<ApiRole> {
    list.iter().map(|(value, description)| ApiRole { value: (*value).into(), description: (*description).into() }).collect()
}

impl Api {
    pub fn graph() -> Self {
        Self {
            name: GRAPH_API.into(),
            display_name: "Microsoft Graph".into(),
            uri: GRAPH_RESOURCE.into(),
            other_uris: Vec::new(),
            app_id: GRAPH_APP_ID.into(),
            roles: roles(&[
                ("SecurityIncident.Read.All", "Read all security incidents"),
                ("SecurityIncident.ReadWrite.All", "Read and write to all security incidents"),
                ("SecurityAlert.Read.All", "Read all security alerts"),
                ("SecurityAlert.ReadWrite.All", "Read and write to all security alerts"),
                ("ThreatHunting.Read.All", "Run hunting queries"),
            ]),
        }
    }

    pub fn defender() -> Self {
        Self {
            name: DEFENDER_API.into(),
            display_name: "Microsoft Threat Protection".into(),
            uri: DEFENDER_RESOURCE.into(),
            other_uris: Vec::new(),
            app_id: DEFENDER_APP_ID.into(),
            roles: roles(&[
                ("Incident.Read.All", "Read all incidents"),
                ("Incident.ReadWrite.All", "Read and write all incidents"),
                ("AdvancedHunting.Read.All", "Run advanced queries"),
            ]),
        }
    }

    /// The Defender for Endpoint API, under the names Microsoft's partner page uses for it.
    pub fn mde() -> Self {
        Self {
            name: MDE_API.into(),
            display_name: "WindowsDefenderATP".into(),
            uri: MDE_RESOURCE.into(),
            other_uris: vec![
                "https://api.securitycenter.windows.com".into(),
                "https://securitycenter.onmicrosoft.com/windowsatpservice".into(),
            ],
            app_id: MDE_APP_ID.into(),
            roles: roles(&[
                ("Alert.Read.All", "Read all alerts"),
                ("Alert.ReadWrite.All", "Read and write all alerts"),
                ("Machine.Read.All", "Read all machine profiles"),
                ("AdvancedQuery.Read.All", "Run advanced queries"),
                ("Vulnerability.Read.All", "Read threat and vulnerability management vulnerability information"),
            ]),
        }
    }

    /// Every API the fake knows, in the order the portal lists them.
    pub fn all() -> Vec<Self> {
        vec![Self::graph(), Self::defender(), Self::mde()]
    }

    /// Whether a token request's `resource` (or a scope's part before `/.default`), or a token's `aud`,
    /// names this API: one of its URIs or its application id, ignoring case and a trailing slash.
    pub fn is_named(&self, requested: &str) -> bool {
        let requested = requested.trim_end_matches('/');
        std::iter::once(&self.uri)
            .chain(&self.other_uris)
            .chain(std::iter::once(&self.app_id))
            .any(|name| name.trim_end_matches('/').eq_ignore_ascii_case(requested))
    }

    pub fn defines(&self, role: &str) -> bool {
        self.roles.iter().any(|defined| defined.value == role)
    }

    /// The consent page's words for a role (the role itself when the API does not describe it).
    pub fn describe(&self, role: &str) -> String {
        self.roles.iter().find(|defined| defined.value == role).map_or_else(|| role.to_owned(), |defined| defined.description.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_uri_and_the_app_id_name_the_api_whatever_the_case_and_trailing_slash() {
        let mde = Api::mde();
        for name in [
            "https://api.securitycenter.microsoft.com",
            "https://API.securitycenter.microsoft.com/",
            "https://securitycenter.onmicrosoft.com/windowsatpservice/",
            "FC780465-2017-40d4-a0c5-307022471b92",
        ] {
            assert!(mde.is_named(name), "{name}");
        }
        assert!(!mde.is_named("https://api.security.microsoft.com"));
        assert!(Api::graph().is_named("00000003-0000-0000-c000-000000000000"));
        let names: Vec<String> = Api::all().into_iter().map(|api| api.name).collect();
        assert_eq!(names, ["graph", "defender", "mde"]);
    }
}
