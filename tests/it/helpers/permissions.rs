//! The permissions the demo requires, as a customer reads them on the onboarding pages and e-mails.

/// The demo's required permissions as a customer reads them, per API, in `language`: each API's
/// heading and each role's description with its name.
pub fn demo_permissions_in_words(language: &str) -> Vec<(&'static str, Vec<&'static str>)> {
    match language {
        "it" => vec![
            (
                "Microsoft Graph",
                vec![
                    "Leggere i vostri eventi imprevisti di sicurezza e i relativi avvisi (SecurityIncident.Read.All)",
                    "Eseguire query di ricerca avanzata sui vostri dati di sicurezza (ThreatHunting.Read.All)",
                ],
            ),
            (
                "API di Microsoft Defender XDR",
                vec![
                    "Leggere i vostri eventi imprevisti di sicurezza e i relativi avvisi (Incident.Read.All)",
                    "Eseguire query di ricerca avanzata sui vostri dati di sicurezza (AdvancedHunting.Read.All)",
                ],
            ),
        ],
        _ => vec![
            (
                "Microsoft Graph",
                vec![
                    "Read your security incidents and their alerts (SecurityIncident.Read.All)",
                    "Run advanced hunting queries over your security data (ThreatHunting.Read.All)",
                ],
            ),
            (
                "Microsoft Defender XDR API",
                vec![
                    "Read your security incidents and their alerts (Incident.Read.All)",
                    "Run advanced hunting queries over your security data (AdvancedHunting.Read.All)",
                ],
            ),
        ],
    }
}

/// Asserts that `text` lists each API's heading followed by its roles (before the next heading), and
/// then `after`.
pub fn assert_grouped(text: &str, groups: &[(&str, Vec<&str>)], after: &str) {
    let mut from = 0;
    for (index, (heading, roles)) in groups.iter().enumerate() {
        let start = from + text[from..].find(heading).unwrap_or_else(|| panic!("no heading {heading:?} in {text}"));
        let end = match groups.get(index + 1) {
            Some((next, _)) => start + text[start..].find(next).unwrap_or_else(|| panic!("no {next:?} after {heading:?} in {text}")),
            None => start + text[start..].find(after).unwrap_or_else(|| panic!("no {after:?} after {heading:?} in {text}")),
        };
        let section = &text[start..end];
        for role in roles {
            assert!(section.contains(role), "{role:?} is not under {heading:?}: {section}");
        }
        from = end;
    }
}

/// Makes `config` require `permissions` (`api:Role,…`, as `PORTAL_REQUIRED_PERMISSIONS` takes them).
pub fn require_permissions(config: &mut consent_portal::config::Config, permissions: &str) {
    let parsed = consent_portal::domain::api::parse_permission_list(permissions).unwrap();
    config.required = consent_portal::domain::api::group_by_api(&parsed, config.cloud()).unwrap();
}

/// The short form's default: the Defender XDR API's two roles only, as a portal set up before the
/// Microsoft Graph permissions requires them.
pub const DEFENDER_ONLY: &str = "defender:Incident.Read.All,defender:AdvancedHunting.Read.All";

/// The fake's grant of every permission the demo requires (Microsoft Graph's and the Defender XDR API's).
pub fn demo_grant() -> serde_json::Value {
    serde_json::json!({"permissions": {
        "graph": ["SecurityIncident.Read.All", "ThreatHunting.Read.All"],
        "defender": ["Incident.Read.All", "AdvancedHunting.Read.All"],
    }})
}
