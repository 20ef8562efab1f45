//! Which language a customer page speaks, and the switch between languages.
//!
//! The order, first match wins:
//! 1. `?lang=it` on the address: the switch on every customer page is a link that adds it; it is also
//!    remembered in the `portal_lang` cookie for the pages that follow;
//! 2. the `portal_lang` cookie (this browser chose before);
//! 3. the invite's language, chosen by staff (who know their customer), on pages of an invite;
//! 4. the browser's `Accept-Language`;
//! 5. English.
//!
//! Staff pages are always English and do not look at any of this.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;

use crate::i18n::{Language, Messages};

pub const LANGUAGE_COOKIE: &str = "portal_lang";
const QUERY_PARAMETER: &str = "lang";
const ONE_YEAR_S: u32 = 365 * 24 * 3600;

/// What the request says about the language it wants.
#[derive(Debug, Clone, Default)]
pub struct LanguageChoice {
    /// `?lang=` on this request.
    pub switched: Option<Language>,
    /// The `portal_lang` cookie.
    pub remembered: Option<Language>,
    /// The browser's `Accept-Language`.
    pub accepted: Option<Language>,
    /// The path of this request, for the switch links: only for a GET without a query (besides `lang`).
    /// A page answered to a POST cannot be asked for again, and the query of a return from Microsoft
    /// holds its `state` and an `error_description` that must never be written into a page.
    here: Option<String>,
}

impl LanguageChoice {
    pub fn from_request(method: &axum::http::Method, uri: &Uri, headers: &HeaderMap) -> Self {
        let switched = uri.query().and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == QUERY_PARAMETER).and_then(|(_, v)| Language::parse(&v))
        });
        let remembered = super::kit::cookies::read(headers, LANGUAGE_COOKIE).and_then(|v| Language::parse(&v));
        let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Language::from_accept_language);
        let only_switch = uri.query().is_none_or(|q| url::form_urlencoded::parse(q.as_bytes()).all(|(n, _)| n == QUERY_PARAMETER));
        let here = (method == axum::http::Method::GET && only_switch).then(|| uri.path().to_owned());
        Self { switched, remembered, accepted, here }
    }

    /// The language of a page; `invite` is the language staff chose for the invite the page is about.
    pub fn resolve(&self, invite: Option<Language>) -> Language {
        self.switched.or(self.remembered).or(invite).or(self.accepted).unwrap_or_default()
    }

    /// The messages of a page, with the language switch links.
    pub fn messages(&self, invite: Option<Language>) -> PageLanguage {
        let language = self.resolve(invite);
        let switch = self
            .here
            .as_ref()
            .map(|here| {
                Language::ALL
                    .into_iter()
                    .map(|other| LanguageLink {
                        code: other.code(),
                        name: other.native_name(),
                        href: format!("{here}?{QUERY_PARAMETER}={}", other.code()),
                        current: other == language,
                    })
                    .collect()
            })
            .unwrap_or_default();
        PageLanguage { tr: Messages::new(language), switch }
    }

    /// Remembers a switch in the cookie, on the response of the request that made it.
    pub fn remember(&self, response: &mut Response, secure: bool) {
        if let Some(language) = self.switched.filter(|l| Some(*l) != self.remembered) {
            super::kit::cookies::set(response, LANGUAGE_COOKIE, language.code(), "/", Some(ONE_YEAR_S), secure);
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LanguageChoice {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_request(&parts.method, &parts.uri, &parts.headers))
    }
}

/// What a customer template needs to speak its language: the messages, and the switch links.
#[derive(Debug, Clone)]
pub struct PageLanguage {
    pub tr: Messages,
    pub switch: Vec<LanguageLink>,
}

impl PageLanguage {
    pub fn code(&self) -> &'static str {
        self.tr.language().code()
    }
}

#[derive(Debug, Clone)]
pub struct LanguageLink {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, Method};

    use super::*;

    fn choice(uri: &str, cookie: Option<&str>, accept: Option<&str>) -> LanguageChoice {
        let mut headers = HeaderMap::new();
        if let Some(cookie) = cookie {
            headers.insert(header::COOKIE, HeaderValue::from_str(&format!("{LANGUAGE_COOKIE}={cookie}")).unwrap());
        }
        if let Some(accept) = accept {
            headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(accept).unwrap());
        }
        LanguageChoice::from_request(&Method::GET, &uri.parse().unwrap(), &headers)
    }

    #[test]
    fn switch_then_cookie_then_invite_then_browser() {
        assert_eq!(choice("/x?lang=it", Some("en"), Some("en")).resolve(Some(Language::English)), Language::Italian);
        assert_eq!(choice("/x", Some("it"), Some("en")).resolve(Some(Language::English)), Language::Italian);
        assert_eq!(choice("/x", None, Some("en")).resolve(Some(Language::Italian)), Language::Italian);
        assert_eq!(choice("/x", None, Some("it-IT,en;q=0.5")).resolve(None), Language::Italian);
        assert_eq!(choice("/x?lang=xx", Some("klingon"), Some("de")).resolve(None), Language::English);
    }

    #[test]
    fn switch_links_never_repeat_a_query() {
        let page = choice("/onboard/abc?lang=en", None, None).messages(None);
        let italian = page.switch.iter().find(|l| l.code == "it").unwrap();
        assert_eq!(italian.href, "/onboard/abc?lang=it");
        assert!(page.switch.iter().find(|l| l.code == "en").unwrap().current);
        let callback = choice("/consent/callback?state=secret&error_description=x", None, None).messages(None);
        assert!(callback.switch.is_empty(), "a return from Microsoft's query is never written into a page");
    }
}
