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
