//! `GET /`: what this server is (a fake, never Microsoft), the directory's tenants, accounts, apps and
//! APIs, and where its discovery documents and control API are. The URL the demo prints lands here.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::SharedFake;
use crate::directory::Directory;
use crate::i18n::{Language, Messages};

#[derive(Template)]
#[template(path = "home.html")]
struct HomeTemplate {
    tr: Messages,
    directory: Directory,
}

pub async fn page(State(fake): State<SharedFake>) -> Response {
    // The page is for whoever runs the demo or the tests, so it stays in English.
    let page = HomeTemplate { tr: Messages::new(Language::English), directory: fake.directory() };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
