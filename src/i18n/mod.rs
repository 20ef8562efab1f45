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

use std::sync::LazyLock;

pub use catalogue::Language;
use catalogue::{Args, Catalogues};
use time::OffsetDateTime;

/// The portal's catalogue of `language`, embedded in the binary.
pub(crate) fn source(language: Language) -> &'static str {
    match language {
        Language::English => include_str!("../../locales/en.ftl"),
        Language::Italian => include_str!("../../locales/it.ftl"),
    }
}

static CATALOGUES: LazyLock<Catalogues> = LazyLock::new(|| Catalogues::parse("locales", source));

/// Parses the catalogues now, so a broken one stops the start-up instead of the first page.
pub fn load() {
    LazyLock::force(&CATALOGUES);
}

/// The messages of one language: what templates call to get their words (`t`, `t1`, `t2`, `tn`,
/// `rich`… of [`catalogue::Messages`]), and dates in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Messages(catalogue::Messages);

impl Default for Messages {
    fn default() -> Self {
        Self::new(Language::English)
    }
}

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

    /// A calendar date in words, e.g. "25 November 2026" or "25 novembre 2026".
    pub fn date(&self, when: OffsetDateTime) -> String {
        let month = self.t(&format!("month-{}", u8::from(when.month())));
        let mut args = Args::new();
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
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use catalogue::check;

    use super::*;

    #[test]
    fn every_key_is_in_every_catalogue_and_none_holds_markup() {
        load();
        check::same_keys_and_no_markup("locales", source, 50);
    }

    /// Every `t("…")`, `t1("…"`, `t2("…"`, `tn("…"` and `rich…("…"` in src/ and templates/ names a key
    /// that exists, and only `rich…` shows a message with `*emphasis*`.
    #[test]
    fn every_key_the_code_uses_exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let uses = check::uses(&[root.join("src"), root.join("templates")], &["t", "t1", "t2", "tn", "rich", "rich1", "rich2"]);
        assert!(uses.len() > 20, "found too few message uses: the scan is broken");
        check::used_keys_exist(&uses, source, |language, key| Messages::new(language).t(key));
    }

    #[test]
    fn values_cannot_add_emphasis() {
        let tr = Messages::new(Language::English);
        let html = tr.rich2("landing-intro", "partner", "P*a*rtner", "customer", "<b>Con*toso</b>").0;
        assert!(html.contains("P*a*rtner") && html.contains("&#60;b&#62;Con*toso&#60;/b&#62;"), "{html}");
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
