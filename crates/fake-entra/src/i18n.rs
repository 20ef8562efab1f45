//! The words of the fake's pages, in English or Italian as Microsoft's pages follow `ui_locales`: one
//! Fluent catalogue per language (`locales/<code>.ftl`, embedded), read through the `catalogue` crate
//! (which also holds the rule that picks a language from a browser's `Accept-Language`).
//!
//! Values are plain text that askama escapes like any other value; `*emphasis*` in a message shown
//! with [`Messages::rich1`] becomes `<strong>…</strong>` after everything else was escaped.

use std::sync::LazyLock;

use catalogue::Catalogues;
pub use catalogue::Language;

/// The fake's catalogue of `language`, embedded in the binary.
fn source(language: Language) -> &'static str {
    match language {
        Language::English => include_str!("../locales/en.ftl"),
        Language::Italian => include_str!("../locales/it.ftl"),
    }
}

static CATALOGUES: LazyLock<Catalogues> = LazyLock::new(|| Catalogues::parse("fake-entra locales", source));

/// Parses the catalogues now, so a server finds a broken one at start rather than on its first page.
pub fn load() {
    LazyLock::force(&CATALOGUES);
}

/// The messages of one language: what the templates call to get their words (`t`, `rich1`… of
/// [`catalogue::Messages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Messages(catalogue::Messages);

impl std::ops::Deref for Messages {
    type Target = catalogue::Messages;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Messages {
    pub fn new(language: Language) -> Self {
        Self(catalogue::Messages::new(&CATALOGUES, language))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use catalogue::check;

    use super::*;

    #[test]
    fn every_key_is_in_every_catalogue_and_none_holds_markup() {
        load();
        check::same_keys_and_no_markup("fake-entra locales", source, 20);
    }

    /// Every `t("…")` and `rich1("…"` in src/ and templates/ names a key that exists, and only `rich1`
    /// shows a message with `*emphasis*`.
    #[test]
    fn every_key_the_code_uses_exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let uses = check::uses(&[root.join("src"), root.join("templates")], &["t", "rich1"]);
        assert!(uses.len() > 15, "found too few message uses: the scan is broken");
        check::used_keys_exist(&uses, source, |language, key| Messages::new(language).t(key));
    }

    #[test]
    fn values_cannot_add_emphasis_and_a_missing_message_falls_back_to_its_key() {
        let html = Messages::new(Language::English).rich1("fake-consent-for-everyone", "tenant", "<b>Con*toso</b>").0;
        assert!(html.contains("<strong>&#60;b&#62;Con*toso&#60;/b&#62;</strong>"), "{html}");
        let unknown = "no-such-key";
        assert_eq!(Messages::new(Language::Italian).t(unknown), unknown);
        assert_eq!(Messages::new(Language::Italian).t("fake-accept"), "Accetta");
    }
}
