//! Pages that belong to no feature: the front page (the fleet overview for signed-in staff).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::web::kit::paths;
use crate::web::kit::render;
use crate::web::language::{LanguageChoice, PageLanguage};
use crate::web::staff_auth::StaffUser;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_sessions::Session;

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

/// What this portal is, for someone who arrives without an invite link; signed-in staff get the fleet
/// overview, their home.
async fn home(State(state): State<AppState>, session: Session, mut parts: Parts, choice: LanguageChoice) -> Response {
    if super::staff_auth::is_signed_in(&session).await {
        // A sign-in past its age is sent to the sign-in page, as from any staff page.
        return match StaffUser::from_request_parts(&mut parts, &state).await {
            Ok(staff) => super::overview::page(&state, &staff).await.unwrap_or_else(IntoResponse::into_response),
            Err(refused) => refused,
        };
    }
    let lang = choice.messages(None);
    let apis = super::onboarding::roles_in_plain_words(&state.config, lang.tr);
    render(StatusCode::OK, &HomeTemplate { lang, partner: &state.config.partner_name, apis, staff_sign_in: paths::STAFF_SIGN_IN })
}
