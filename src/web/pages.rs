//! Pages that belong to no feature: the front page.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_sessions::Session;

use crate::app::AppState;
use crate::web::kit::paths;
use crate::web::kit::render;
use crate::web::language::{LanguageChoice, PageLanguage};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomeTemplate<'a> {
    lang: PageLanguage,
    partner: &'a str,
    apis: Vec<crate::domain::aadsts::ApiInWords>,
    /// A quiet way in for partner staff, who otherwise arrive here with nothing to click.
    staff_sign_in: &'static str,
}

/// What this portal is, for someone who arrives without an invite link; signed-in staff go to the
/// tenants.
async fn home(State(state): State<AppState>, session: Session, choice: LanguageChoice) -> Response {
    if super::staff_auth::is_signed_in(&session).await {
        return Redirect::to(paths::TENANTS).into_response();
    }
    let lang = choice.messages(None);
    let apis = super::onboarding::roles_in_plain_words(&state.config, lang.tr);
    render(StatusCode::OK, &HomeTemplate { lang, partner: &state.config.partner_name, apis, staff_sign_in: paths::STAFF_SIGN_IN })
}
