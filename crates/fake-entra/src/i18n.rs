//! The words of the fake's pages, in English or Italian as Microsoft's pages follow `ui_locales`: one
//! Fluent catalogue per language (`locales/<code>.ftl`, embedded), and the rule that picks the language
//! from a browser's `Accept-Language`.
//!
//! Values are plain text that askama escapes like any other value; `*emphasis*` in a message shown
//! with [`Messages::rich1`] becomes `<strong>…</strong>` after everything else was escaped.

use std::fmt::Display;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

/// A language the fake's pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    English,
    Italian,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::Italian];

    /// The BCP 47 code, as in `<html lang>` and `ui_locales`.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Italian => "it",
        }
    }

    /// `en`, `it`, and regional tags of them (`it-CH`), in any case.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Language::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The language a browser prefers most among ours, by the `q` weights of `Accept-Language`.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Language)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let Some(language) = parts.next().and_then(Language::parse) else { continue };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)));
            // `q=0` means "not this one"; a weight that is not a number is ignored.
            if let Some(weight) = weight.filter(|w| *w > 0.0)
                && best.is_none_or(|(b, _)| weight > b)
            {
                best = Some((weight, language));
            }
        }
        best.map(|(_, language)| language)
    }

    fn catalogue(self) -> &'static str {
        match self {
            Language::English => include_str!("../locales/en.ftl"),
            Language::Italian => include_str!("../locales/it.ftl"),
        }
    }
}

impl Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

type Bundle = FluentBundle<FluentResource>;

/// The parsed catalogues, built at first use. A catalogue that does not parse is a build mistake the
/// tests catch; [`load`] lets a server find it at start rather than on its first page.
static BUNDLES: LazyLock<Vec<(Language, Bundle)>> = LazyLock::new(|| {
    Language::ALL
        .into_iter()
        .map(|language| {
            let resource = FluentResource::try_new(language.catalogue().to_owned())
                .unwrap_or_else(|(_, errors)| panic!("fake-entra locales/{language}.ftl does not parse: {errors:?}"));
            let tag = language.code().parse().unwrap_or_else(|e| panic!("language tag {language}: {e}"));
            let mut bundle = FluentBundle::new_concurrent(vec![tag]);
            // Unicode isolation marks around filled-in values would show in the page's text.
            bundle.set_use_isolating(false);
            bundle.add_resource(resource).unwrap_or_else(|errors| panic!("fake-entra locales/{language}.ftl: {errors:?}"));
            (language, bundle)
        })
        .collect()
});

/// Parses the catalogues now.
pub fn load() {
    LazyLock::force(&BUNDLES);
}

fn bundle(language: Language) -> &'static Bundle {
    &BUNDLES.iter().find(|(l, _)| *l == language).unwrap_or(&BUNDLES[0]).1
}

/// The messages of one language: what the templates call to get their words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Messages {
    language: Language,
}

impl Messages {
    pub fn new(language: Language) -> Self {
        Self { language }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` as HTML, with one value filled in: escaped, with its `*emphasis*` in bold.
    pub fn rich1(&self, key: &str, name: &str, value: impl Display) -> askama::filters::Safe<String> {
        let mut args = FluentArgs::new();
        args.set(name, protect(value));
        emphasis(&self.format(key, Some(&args)))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let found = Some(self.language).into_iter().chain([Language::English]).find_map(|language| {
            let bundle = bundle(language);
            let pattern = bundle.get_message(key)?.value()?;
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors).into_owned();
            if !errors.is_empty() {
                tracing::error!(key, %language, ?errors, "a fake-entra message did not format");
            }
            Some(text)
        });
        found.unwrap_or_else(|| {
            tracing::error!(key, "a fake-entra message is missing in every language");
            key.to_owned()
        })
    }
}

/// Stands in for a `*` of a filled-in value while emphasis is found (a private-use character).
const PROTECTED_STAR: char = '\u{E000}';

fn protect(value: impl Display) -> String {
    value.to_string().replace('*', &PROTECTED_STAR.to_string())
}

/// Escapes `text` for HTML, then turns each pair of `*` into `<strong>…</strong>`; an unpaired `*` stays.
fn emphasis(text: &str) -> askama::filters::Safe<String> {
    let escaped = askama::filters::escape(text, askama::filters::Html).map(|s| s.to_string()).unwrap_or_default();
    let parts: Vec<&str> = escaped.split('*').collect();
    let pairs = (parts.len() - 1) / 2;
    let mut html = String::with_capacity(escaped.len() + pairs * 17);
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            html.push_str(match index {
                i if i > 2 * pairs => "*",
                i if i % 2 == 1 => "<strong>",
                _ => "</strong>",
            });
        }
        html.push_str(part);
    }
    askama::filters::Safe(html.replace(PROTECTED_STAR, "*"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use fluent_syntax::ast::Entry;

    use super::*;

    fn keys(language: Language) -> BTreeSet<String> {
        let resource = fluent_syntax::parser::parse(language.catalogue()).unwrap_or_else(|(_, e)| panic!("{language}: {e:?}"));
        resource
            .body
            .iter()
            .filter_map(|entry| match entry {
                Entry::Message(message) => Some(message.id.name.to_owned()),
                Entry::Term(term) => Some(format!("-{}", term.id.name)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_key_is_in_every_catalogue() {
        let english = keys(Language::English);
        assert!(english.len() > 20, "the English catalogue looks empty");
        for language in Language::ALL {
            let other = keys(language);
            let missing: Vec<_> = english.difference(&other).collect();
            let extra: Vec<_> = other.difference(&english).collect();
            assert!(missing.is_empty(), "fake-entra locales/{language}.ftl lacks {missing:?}");
            assert!(extra.is_empty(), "fake-entra locales/{language}.ftl has keys English lacks: {extra:?}");
        }
    }

    #[test]
    fn catalogues_parse_and_hold_no_markup() {
        load();
        for language in Language::ALL {
            assert!(!language.catalogue().contains('<'), "fake-entra locales/{language}.ftl holds markup: messages are plain text");
        }
    }

    /// Every `t("…")` and `rich1("…"` in src/ and templates/ names a key that exists, and only `rich1`
    /// shows a message with `*emphasis*`.
    #[test]
    fn every_key_the_code_uses_exists() {
        let english = keys(Language::English);
        let mut used = BTreeSet::new();
        let mut plain = BTreeSet::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stack = vec![root.join("src"), root.join("templates")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for call in [".t(\"", ".rich1(\""] {
                    for (at, _) in text.match_indices(call) {
                        let rest = &text[at + call.len()..];
                        if let Some(end) = rest.find('"') {
                            used.insert((rest[..end].to_owned(), path.display().to_string()));
                            if call == ".t(\"" {
                                plain.insert(rest[..end].to_owned());
                            }
                        }
                    }
                }
            }
        }
        assert!(used.len() > 15, "found too few message uses: the scan is broken");
        let unknown: Vec<_> = used.iter().filter(|(key, _)| !english.contains(key)).collect();
        assert!(unknown.is_empty(), "keys used but in no catalogue: {unknown:?}");
        for language in Language::ALL {
            let tr = Messages::new(language);
            let starred: Vec<_> = plain.iter().filter(|key| tr.t(key).contains('*')).collect();
            assert!(starred.is_empty(), "{language}: messages with *emphasis* shown as plain text: {starred:?}");
        }
    }

    #[test]
    fn emphasis_is_the_only_markup_and_values_cannot_add_any() {
        assert_eq!(emphasis("Choose *Accept* & go").0, "Choose <strong>Accept</strong> &#38; go");
        assert_eq!(emphasis("a * b").0, "a * b");
        let html = Messages::new(Language::English).rich1("fake-consent-for-everyone", "tenant", "<b>Con*toso</b>").0;
        assert!(html.contains("<strong>&#60;b&#62;Con*toso&#60;/b&#62;</strong>"), "{html}");
    }

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        assert_eq!(Language::from_accept_language("it-IT,it;q=0.9,en;q=0.8"), Some(Language::Italian));
        assert_eq!(Language::from_accept_language("de-DE,de;q=0.9,en;q=0.5,it;q=0.7"), Some(Language::Italian));
        assert_eq!(Language::from_accept_language("it;q=0, en;q=0.2"), Some(Language::English));
        assert_eq!(Language::from_accept_language("de, fr"), None);
        assert_eq!(Language::from_accept_language("it;q=banana"), None);
    }

    #[test]
    fn a_missing_message_falls_back_to_its_key() {
        let unknown = "no-such-key";
        assert_eq!(Messages::new(Language::Italian).t(unknown), unknown);
        assert_eq!(Messages::new(Language::Italian).t("fake-accept"), "Accetta");
    }
}
