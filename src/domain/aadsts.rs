//! What Microsoft's AADSTS error codes mean for a person, and what they can do about each. Shown instead
//! of Microsoft's `error_description`, which is never reflected (it comes from the query string, so
//! anyone can write it). The words are in the catalogues (`locales/*.ftl`); this module picks the keys.

use crate::domain::api::{Api, RequiredApi};
use crate::i18n::Messages;

/// The explanation of one error, in plain words of one language: what pages show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub title: String,
    pub what_happened: String,
    pub what_to_do: String,
}

/// The catalogue keys of an explanation (`locales/*.ftl`): `<key>-title`, `<key>-what`, `<key>-do`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplanationKeys {
    pub title: &'static str,
    pub what_happened: &'static str,
    pub what_to_do: &'static str,
}

impl ExplanationKeys {
    pub const fn new(title: &'static str, what_happened: &'static str, what_to_do: &'static str) -> Self {
        Self { title, what_happened, what_to_do }
    }

    /// The explanation in the language of `tr`.
    pub fn words(&self, tr: Messages) -> Explanation {
        Explanation { title: tr.t(self.title), what_happened: tr.t(self.what_happened), what_to_do: tr.t(self.what_to_do) }
    }
}

macro_rules! explanation {
    ($key:literal) => {
        ExplanationKeys::new(concat!("aadsts-", $key, "-title"), concat!("aadsts-", $key, "-what"), concat!("aadsts-", $key, "-do"))
    };
}

/// The explanation for an AADSTS code, or a general one for a code we do not know.
pub fn explain(code: Option<u32>) -> ExplanationKeys {
    match code {
        Some(65004) => explanation!("declined"),
        Some(90093) | Some(90094) | Some(65001) => explanation!("not-admin"),
        Some(50020) => explanation!("other-org"),
        Some(50011) => explanation!("redirect"),
        Some(900144) | Some(70011) => explanation!("incomplete"),
        Some(700016) | Some(7000229) => explanation!("app-missing"),
        Some(7000112) => explanation!("app-disabled"),
        Some(90002) | Some(900023) => explanation!("tenant-unknown"),
        Some(7000215) | Some(7000222) => explanation!("credentials"),
        Some(500011) => explanation!("no-defender"),
        _ => explanation!("general"),
    }
}

/// The catalogue key of the roles that can approve application permissions, for the landing page.
pub const ADMIN_ROLES: &str = "admin-roles";

/// The explanation when the person chose Cancel on Microsoft's page.
pub fn cancelled() -> ExplanationKeys {
    explanation!("cancelled")
}

/// Whether an error redirect says the person chose Cancel on Microsoft's consent page. Microsoft has
/// answered it in two shapes: the older `error=access_denied&error_subcode=cancel`, and the current
/// `error=access_denied` with AADSTS65004 ("User declined to consent") in `error_description`. The
/// documented refusal shares the code but not the error (`consent_required`), so both are read.
pub fn is_cancel(error: Option<&str>, error_subcode: Option<&str>, error_description: Option<&str>) -> bool {
    error_subcode == Some("cancel") || (error == Some("access_denied") && error_description.and_then(code_in) == Some(65004))
}

/// Finds the AADSTS code in an `error_description` (the only thing read from it).
pub fn code_in(description: &str) -> Option<u32> {
    let start = description.find("AADSTS")? + "AADSTS".len();
    let digits: String = description[start..].chars().take_while(char::is_ascii_digit).take(9).collect();
    digits.parse().ok()
}

/// The catalogue key of an API's name as a customer reads it (Microsoft's own names, such as
/// "Microsoft Threat Protection", mean little to an admin who never saw them).
pub fn describe_api(api: Api) -> &'static str {
    match api {
        Api::Graph => "api-graph",
        Api::Defender => "api-defender",
        Api::Mde => "api-mde",
    }
}

/// The catalogue key of a plain-words description of `role` on `api`. A role is described only on the
/// API that defines it: the same name on another API would be another permission.
pub fn describe_role(api: Api, role: &str) -> &'static str {
    match (api, role) {
        (Api::Graph, "SecurityIncident.Read.All") => "role-securityincident-read-all",
        (Api::Graph, "SecurityIncident.ReadWrite.All") => "role-securityincident-readwrite-all",
        (Api::Graph, "SecurityAlert.Read.All") => "role-securityalert-read-all",
        (Api::Graph, "SecurityAlert.ReadWrite.All") => "role-securityalert-readwrite-all",
        (Api::Graph, "ThreatHunting.Read.All") => "role-threathunting-read-all",
        (Api::Defender, "Incident.Read.All") => "role-incident-read-all",
        (Api::Defender, "Incident.ReadWrite.All") => "role-incident-readwrite-all",
        (Api::Defender, "AdvancedHunting.Read.All") => "role-advancedhunting-read-all",
        (Api::Mde, "Alert.Read.All") => "role-alert-read-all",
        (Api::Mde, "Alert.ReadWrite.All") => "role-alert-readwrite-all",
        (Api::Mde, "Machine.Read.All") => "role-machine-read-all",
        (Api::Mde, "AdvancedQuery.Read.All") => "role-advancedquery-read-all",
        (Api::Mde, "Vulnerability.Read.All") => "role-vulnerability-read-all",
        _ => "role-other",
    }
}

/// One role and its description in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInWords {
    pub role: String,
    pub words: String,
}

/// One API's required roles, under the API's name, in the reader's language: what the onboarding
/// pages and e-mail list, so an admin can match them with Microsoft's consent page, which groups them
/// by API too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiInWords {
    /// The API's short name (`graph`), for element ids.
    pub id: &'static str,
    pub heading: String,
    pub roles: Vec<RoleInWords>,
}

/// The required permissions grouped by API, in the order given, each in words of `tr`'s language.
pub fn permissions_in_words(required: &[RequiredApi], tr: Messages) -> Vec<ApiInWords> {
    required
        .iter()
        .map(|required| ApiInWords {
            id: required.api.name(),
            heading: tr.t(describe_api(required.api)),
            roles: required
                .roles
                .iter()
                .map(|role| RoleInWords { role: role.to_string(), words: tr.t(describe_role(required.api, role.as_str())) })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    #[test]
    fn finds_the_code_and_nothing_else() {
        assert_eq!(code_in("AADSTS65004: The resource owner ... denied the request.\r\nTrace ID: x"), Some(65004));
        assert_eq!(code_in("no code here"), None);
        assert_eq!(code_in("AADSTS<script>"), None);
    }

    #[test]
    fn both_shapes_of_cancel_are_a_cancel_and_a_refusal_is_not() {
        let current = "AADSTS65004: User declined to consent to access the app.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: x";
        assert!(is_cancel(Some("access_denied"), None, Some(current)));
        assert!(is_cancel(Some("access_denied"), Some("cancel"), None));
        let refused = "AADSTS65004: The resource owner or authorization server denied the request.\r\nTrace ID: t";
        assert!(!is_cancel(Some("consent_required"), None, Some(refused)));
        assert!(!is_cancel(Some("access_denied"), None, Some("AADSTS90093: This operation can only be performed by an administrator.")));
        assert!(!is_cancel(Some("access_denied"), None, Some("AADSTS50020: User account from another tenant.")));
        assert!(!is_cancel(Some("access_denied"), None, None));
    }

    #[test]
    fn every_code_of_the_protocol_document_has_its_own_explanation() {
        let general = explain(None);
        for code in
            [65004, 90093, 90094, 65001, 50011, 900144, 50020, 700016, 7000229, 7000112, 90002, 900023, 7000215, 7000222, 500011, 70011]
        {
            assert_ne!(explain(Some(code)), general, "{code}");
        }
        let english = explain(Some(90093)).words(Messages::new(Language::English));
        assert!(english.what_to_do.contains("Cloud Application Administrator"));
        let italian = explain(Some(90093)).words(Messages::new(Language::Italian));
        assert!(italian.what_to_do.contains("Amministratore applicazioni cloud"));
    }

    /// The keys are built by a macro, so the catalogue check of `i18n` cannot see them: check them here.
    #[test]
    fn every_explanation_is_in_every_catalogue() {
        let mut keys = vec![cancelled()];
        for code in [
            None,
            Some(65004),
            Some(90093),
            Some(50020),
            Some(50011),
            Some(900144),
            Some(700016),
            Some(7000112),
            Some(90002),
            Some(7000215),
            Some(500011),
        ] {
            keys.push(explain(code));
        }
        for language in Language::ALL {
            let tr = Messages::new(language);
            for key in keys.iter().flat_map(|k| [k.title, k.what_happened, k.what_to_do]) {
                assert_ne!(tr.t(key), key, "{key} is missing in {language}");
            }
        }
    }

    /// Every role the portal can require has its own words in every language, and every API a name:
    /// a role without them would be shown to a customer as a vague "other", and a key missing from one
    /// catalogue would be shown in English. Each language's own catalogue is read, so the run-time
    /// fallback to English cannot hide a missing key.
    #[test]
    fn every_role_of_every_api_is_described_in_every_catalogue() {
        for language in Language::ALL {
            let keys = catalogue::check::keys(crate::i18n::source(language));
            for api in Api::ALL {
                let name = describe_api(api);
                assert!(keys.contains(name), "{name} is missing in {language}");
                for role in api.roles() {
                    let key = describe_role(api, role);
                    assert_ne!(key, "role-other", "{api}:{role} has no description of its own");
                    assert!(keys.contains(key), "{key} ({api}:{role}) is missing in {language}");
                }
            }
            assert!(keys.contains("role-other"), "role-other is missing in {language}");
        }
        assert_eq!(describe_role(Api::Graph, "Incident.Read.All"), "role-other", "the Defender XDR API's role, not Graph's");
    }
}
