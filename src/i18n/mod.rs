//! What customers read, in their language: the message catalogues (`locales/<code>.ftl`, one Fluent file
//! per language, embedded in the binary) and the rules that choose a language.
//!
//! Customer-facing pages and e-mails take their words from here; staff pages stay English. A message
//! missing from a catalogue falls back to English at run time (and is logged); the tests refuse a
//! catalogue that lacks any key of the other, and any key the code or the templates use that no
//! catalogue has.
//!
//! Values are plain text: the catalogues hold no markup, so askama escapes every message like any other
//! value, and the plain-text part of an e-mail shows the same words. The one exception is emphasis:
//! `*Accept*` in a message shown with [`Messages::rich`] becomes `<strong>Accept</strong>`, after
//! everything else was escaped (a `*` in a filled-in value, such as a customer's name, stays a `*`).

use std::fmt::Display;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use time::OffsetDateTime;

/// A language the portal speaks to customers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    English,
    Italian,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::Italian];

    /// The BCP 47 code, as stored in the database and used in `<html lang>` and `?lang=`.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Italian => "it",
        }
    }

    /// The language's name in itself, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Italian => "Italiano",
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
            Language::English => include_str!("../../locales/en.ftl"),
            Language::Italian => include_str!("../../locales/it.ftl"),
        }
    }
}

impl Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

type Bundle = FluentBundle<FluentResource>;

/// The parsed catalogues, built once. A catalogue that does not parse is a build mistake that the tests
/// catch, so it stops the start-up loudly rather than serving half-translated pages.
static BUNDLES: LazyLock<Vec<(Language, Bundle)>> = LazyLock::new(|| {
    Language::ALL
        .into_iter()
        .map(|language| {
            let resource = FluentResource::try_new(language.catalogue().to_owned())
                .unwrap_or_else(|(_, errors)| panic!("locales/{language}.ftl does not parse: {errors:?}"));
            let tag = language.code().parse().unwrap_or_else(|e| panic!("language tag {language}: {e}"));
            let mut bundle = FluentBundle::new_concurrent(vec![tag]);
            // Unicode isolation marks around values would end up in e-mail subjects and plain text.
            bundle.set_use_isolating(false);
            bundle.add_resource(resource).unwrap_or_else(|errors| panic!("locales/{language}.ftl: {errors:?}"));
            (language, bundle)
        })
        .collect()
});

/// Parses the catalogues now, so a broken one stops the start-up instead of the first page.
pub fn load() {
    LazyLock::force(&BUNDLES);
}

fn bundle(language: Language) -> &'static Bundle {
    &BUNDLES.iter().find(|(l, _)| *l == language).unwrap_or(&BUNDLES[0]).1
}

/// The messages of one language: what templates call to get their words.
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

    /// The message `key` with one value filled in.
    pub fn t1(&self, key: &str, name: &str, value: impl Display) -> String {
        let mut args = FluentArgs::new();
        args.set(name, value.to_string());
        self.format(key, Some(&args))
    }

    /// The message `key` with two values filled in.
    pub fn t2(&self, key: &str, name: &str, value: impl Display, name2: &str, value2: impl Display) -> String {
        let mut args = FluentArgs::new();
        args.set(name, value.to_string());
        args.set(name2, value2.to_string());
        self.format(key, Some(&args))
    }

    /// The message `key` with a number filled in, for plurals (`{ $count -> [one] … *[other] … }`).
    pub fn tn(&self, key: &str, name: &str, count: i64) -> String {
        let mut args = FluentArgs::new();
        args.set(name, FluentValue::from(count));
        self.format(key, Some(&args))
    }

    /// The message `key` as HTML: escaped, with its `*emphasis*` in bold.
    pub fn rich(&self, key: &str) -> askama::filters::Safe<String> {
        emphasis(&self.t(key))
    }

    /// [`Messages::rich`] with one value filled in.
    pub fn rich1(&self, key: &str, name: &str, value: impl Display) -> askama::filters::Safe<String> {
        emphasis(&self.t1(key, name, protect(value)))
    }

    /// [`Messages::rich`] with two values filled in.
    pub fn rich2(&self, key: &str, name: &str, value: impl Display, name2: &str, value2: impl Display) -> askama::filters::Safe<String> {
        emphasis(&self.t2(key, name, protect(value), name2, protect(value2)))
    }

    /// A calendar date in words, e.g. "25 November 2026" or "25 novembre 2026".
    pub fn date(&self, when: OffsetDateTime) -> String {
        let month = self.t(&format!("month-{}", u8::from(when.month())));
        let mut args = FluentArgs::new();
        args.set("day", when.day().to_string());
        args.set("month", month);
        args.set("year", when.year().to_string());
        self.format("date-long", Some(&args))
    }

    /// A moment in words, in UTC, e.g. "25 November 2026, 14:36 UTC".
    pub fn date_time(&self, when: OffsetDateTime) -> String {
        let when = when.to_offset(time::UtcOffset::UTC);
        let clock = format!("{:02}:{:02}", when.hour(), when.minute());
        self.t2("date-time", "date", self.date(when), "time", clock)
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let found = Some(self.language).into_iter().chain([Language::English]).find_map(|language| {
            let bundle = bundle(language);
            let pattern = bundle.get_message(key)?.value()?;
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors).into_owned();
            if !errors.is_empty() {
                tracing::error!(key, %language, ?errors, "a message did not format");
            }
            if language != self.language {
                tracing::error!(key, language = %self.language, "a message is missing; English is shown");
            }
            Some(text)
        });
        found.unwrap_or_else(|| {
            tracing::error!(key, "a message is missing in every language");
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
        assert!(english.len() > 50, "the English catalogue looks empty");
        for language in Language::ALL {
            let other = keys(language);
            let missing: Vec<_> = english.difference(&other).collect();
            let extra: Vec<_> = other.difference(&english).collect();
            assert!(missing.is_empty(), "locales/{language}.ftl lacks {missing:?}");
            assert!(extra.is_empty(), "locales/{language}.ftl has keys English lacks: {extra:?}");
        }
    }

    #[test]
    fn catalogues_parse_and_hold_no_markup() {
        load();
        for language in Language::ALL {
            let text = language.catalogue();
            assert!(!text.contains('<'), "locales/{language}.ftl holds markup: messages are plain text");
        }
    }

    /// Every `t("…")`, `t1("…"`, `t2("…"`, `tn("…"` in src/ and templates/ names a key that exists.
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
                for call in [".t(\"", ".t1(\"", ".t2(\"", ".tn(\"", ".rich(\"", ".rich1(\"", ".rich2(\""] {
                    for (at, _) in text.match_indices(call) {
                        let rest = &text[at + call.len()..];
                        if let Some(end) = rest.find('"') {
                            used.insert((rest[..end].to_owned(), path.display().to_string()));
                            if !call.starts_with(".rich") {
                                plain.insert(rest[..end].to_owned());
                            }
                        }
                    }
                }
            }
        }
        assert!(used.len() > 20, "found too few message uses: the scan is broken");
        let unknown: Vec<_> = used.iter().filter(|(key, _)| !english.contains(key)).collect();
        assert!(unknown.is_empty(), "keys used but in no catalogue: {unknown:?}");
        // `*emphasis*` only means something to `rich`: elsewhere the stars would be shown.
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
        assert_eq!(emphasis("*x* and *y").0, "<strong>x</strong> and *y");
        assert_eq!(emphasis("<script>*x*</script>").0, "&#60;script&#62;<strong>x</strong>&#60;/script&#62;");
        let tr = Messages::new(Language::English);
        let html = tr.rich2("landing-intro", "partner", "P*a*rtner", "customer", "<b>Con*toso</b>").0;
        assert!(html.contains("P*a*rtner") && html.contains("&#60;b&#62;Con*toso&#60;/b&#62;"), "{html}");
    }

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        assert_eq!(Language::from_accept_language("it-IT,it;q=0.9,en;q=0.8"), Some(Language::Italian));
        assert_eq!(Language::from_accept_language("de-DE,de;q=0.9,en;q=0.5,it;q=0.7"), Some(Language::Italian));
        assert_eq!(Language::from_accept_language("fr, en;q=0.1"), Some(Language::English));
        assert_eq!(Language::from_accept_language("it;q=0, en;q=0.2"), Some(Language::English));
        assert_eq!(Language::from_accept_language("de, fr"), None);
        assert_eq!(Language::from_accept_language("it;q=banana"), None);
        assert_eq!(Language::from_accept_language(""), None);
    }

    #[test]
    fn messages_fill_values_and_fall_back_to_english() {
        let italian = Messages::new(Language::Italian);
        let date = time::macros::datetime!(2026-11-25 10:00 UTC);
        assert_eq!(italian.date(date), "25 novembre 2026");
        assert_eq!(Messages::new(Language::English).date(date), "25 November 2026");
        assert_eq!(italian.date_time(date), "25 novembre 2026, ore 10:00 UTC");
        let unknown = "no-such-key";
        assert_eq!(italian.t(unknown), unknown);
    }
}
