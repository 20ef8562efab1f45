//! Message catalogues: one Fluent file per language, embedded in the binary that uses them, and the rules
//! that pick a language for a person. The portal's customer pages and e-mails and the built-in fake's
//! pages both take their words from catalogues built here, each from files of its own.
//!
//! Values are plain text: catalogues hold no markup, so templates escape every message like any other
//! value. The one exception is emphasis: `*Accept*` in a message rendered with [`emphasis`] becomes
//! `<strong>Accept</strong>`, after everything else was escaped; a `*` in a filled-in value stays a `*`
//! when the value went through [`protect`].

pub mod check;
#[cfg(feature = "sqlx")]
mod stored;

use std::fmt::Display;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

pub use fluent_bundle::{FluentArgs as Args, FluentValue as Value};

/// A language the pages and e-mails are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    English,
    Italian,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::Italian];

    /// The BCP 47 code, as stored, as in `<html lang>`, `?lang=` and `ui_locales`.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Italian => "it",
        }
    }

    /// The language's name in itself, for a language switch.
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
}

impl Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

type Bundle = FluentBundle<FluentResource>;

/// The parsed catalogues of one program, one per language.
pub struct Catalogues {
    /// How log lines and start-up failures name these catalogues, e.g. `locales`.
    name: &'static str,
    bundles: Vec<(Language, Bundle)>,
}

impl Catalogues {
    /// Parses the catalogue of each language, as `source` gives it. A catalogue that does not parse is
    /// a build mistake that the tests catch ([`check`]), so it stops the program loudly rather than
    /// serving half-translated pages: call this at start-up.
    pub fn parse(name: &'static str, source: fn(Language) -> &'static str) -> Self {
        let bundles = Language::ALL
            .into_iter()
            .map(|language| {
                let resource = FluentResource::try_new(source(language).to_owned())
                    .unwrap_or_else(|(_, errors)| panic!("{name}/{language}.ftl does not parse: {errors:?}"));
                let tag = language.code().parse().unwrap_or_else(|e| panic!("language tag {language}: {e}"));
                let mut bundle = FluentBundle::new_concurrent(vec![tag]);
                // Unicode isolation marks around values would end up in e-mail subjects and plain text.
                bundle.set_use_isolating(false);
                bundle.add_resource(resource).unwrap_or_else(|errors| panic!("{name}/{language}.ftl: {errors:?}"));
                (language, bundle)
            })
            .collect();
        Self { name, bundles }
    }

    /// The message `key` in `language` with `args` filled in. A message missing in that language is
    /// shown in English (and logged); one missing everywhere shows as its key.
    pub fn format(&self, language: Language, key: &str, args: Option<&FluentArgs>) -> String {
        let name = self.name;
        let found = Some(language).into_iter().chain([Language::English]).find_map(|shown| {
            let (_, bundle) = self.bundles.iter().find(|(l, _)| *l == shown)?;
            let pattern = bundle.get_message(key)?.value()?;
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors).into_owned();
            if !errors.is_empty() {
                tracing::error!(catalogue = name, key, language = %shown, ?errors, "a message did not format");
            }
            if shown != language {
                tracing::error!(catalogue = name, key, %language, "a message is missing; English is shown");
            }
            Some(text)
        });
        found.unwrap_or_else(|| {
            tracing::error!(catalogue = name, key, "a message is missing in every language");
            key.to_owned()
        })
    }
}

/// The messages of one language in one program's catalogues: what templates call to get their words.
#[derive(Clone, Copy)]
pub struct Messages {
    catalogues: &'static Catalogues,
    language: Language,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages").field("catalogues", &self.catalogues.name).field("language", &self.language).finish()
    }
}

impl PartialEq for Messages {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.catalogues, other.catalogues) && self.language == other.language
    }
}

impl Eq for Messages {}

impl Messages {
    pub fn new(catalogues: &'static Catalogues, language: Language) -> Self {
        Self { catalogues, language }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// The message `key` with `args` filled in.
    pub fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        self.catalogues.format(self.language, key, args)
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with one value filled in.
    pub fn t1(&self, key: &str, name: &str, value: impl Display) -> String {
        self.format(key, Some(&args1(name, value)))
    }

    /// The message `key` with two values filled in.
    pub fn t2(&self, key: &str, name: &str, value: impl Display, name2: &str, value2: impl Display) -> String {
        let mut args = args1(name, value);
        args.set(name2.to_owned(), value2.to_string());
        self.format(key, Some(&args))
    }

    /// The message `key` with a number filled in, for plurals (`{ $count -> [one] … *[other] … }`).
    pub fn tn(&self, key: &str, name: &str, count: i64) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), fluent_bundle::FluentValue::from(count));
        self.format(key, Some(&args))
    }

    /// The message `key` as HTML: escaped, with its `*emphasis*` in bold.
    pub fn rich(&self, key: &str) -> askama::filters::Safe<String> {
        emphasis(&self.t(key))
    }

    /// [`Messages::rich`] with one value filled in (its own `*` stay stars).
    pub fn rich1(&self, key: &str, name: &str, value: impl Display) -> askama::filters::Safe<String> {
        emphasis(&self.t1(key, name, protect(value)))
    }

    /// [`Messages::rich`] with two values filled in.
    pub fn rich2(&self, key: &str, name: &str, value: impl Display, name2: &str, value2: impl Display) -> askama::filters::Safe<String> {
        emphasis(&self.t2(key, name, protect(value), name2, protect(value2)))
    }
}

/// Arguments with one value, as most messages take.
pub fn args1(name: &str, value: impl Display) -> FluentArgs<'static> {
    let mut args = FluentArgs::new();
    args.set(name.to_owned(), value.to_string());
    args
}

/// Stands in for a `*` of a filled-in value while emphasis is found (a private-use character).
const PROTECTED_STAR: char = '\u{E000}';

/// A value to fill into a message shown with [`emphasis`]: its own `*` stay stars.
pub fn protect(value: impl Display) -> String {
    value.to_string().replace('*', &PROTECTED_STAR.to_string())
}

/// Escapes `text` for HTML, then turns each pair of `*` into `<strong>…</strong>`; an unpaired `*` stays.
pub fn emphasis(text: &str) -> askama::filters::Safe<String> {
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
    use super::*;

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
    fn emphasis_is_the_only_markup_and_values_cannot_add_any() {
        assert_eq!(emphasis("Choose *Accept* & go").0, "Choose <strong>Accept</strong> &#38; go");
        assert_eq!(emphasis("a * b").0, "a * b");
        assert_eq!(emphasis("*x* and *y").0, "<strong>x</strong> and *y");
        assert_eq!(emphasis("<script>*x*</script>").0, "&#60;script&#62;<strong>x</strong>&#60;/script&#62;");
        assert_eq!(emphasis(&format!("*{}*", protect("Con*toso"))).0, "<strong>Con*toso</strong>");
    }

    #[test]
    fn a_missing_message_falls_back_to_english_then_to_its_key() {
        let catalogues = Catalogues::parse("test", |language| match language {
            Language::English => "hello = Hello { $name }\nonly-english = Only English\n",
            Language::Italian => "hello = Ciao { $name }\n",
        });
        assert_eq!(catalogues.format(Language::Italian, "hello", Some(&args1("name", "Ada"))), "Ciao Ada");
        assert_eq!(catalogues.format(Language::Italian, "only-english", None), "Only English");
        assert_eq!(catalogues.format(Language::Italian, "no-such-key", None), "no-such-key");
    }
}
