//! `GET /auth/callback`: where every sign-in comes back from Microsoft — a customer's admin on the way
//! to consent, or a partner staff member. The browser's pending sign-in says which; without one, the
//! answer is an onboarding's that has nothing pending.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use tower_sessions::Session;

use crate::app::AppState;
use crate::entra::{Answer, SignInPurpose};
use crate::onboarding::{Error, Onboarding, Refusal};
use crate::web::kit::oidc;
use crate::web::language::LanguageChoice;

pub fn routes() -> Router<AppState> {
    Router::new().route("/auth/callback", get(callback))
}

async fn callback(
    State(state): State<AppState>,
    State(onboarding): State<Onboarding>,
    session: Session,
    choice: LanguageChoice,
    RawQuery(query): RawQuery,
) -> Result<Response, Response> {
    let Ok(answer) = Answer::parse(query.as_deref()) else {
        let customer = super::onboarding::Customer { config: &onboarding.config, choice: &choice, retry_csrf: None };
        return Err(customer.answer(Error::refused(Refusal::IncompleteAnswer, None)));
    };
    let pending = oidc::pending(&session).await;
    match pending.as_ref().map(|p| p.purpose) {
        Some(SignInPurpose::Staff) => super::staff_auth::callback(&state, &session, &answer).await,
        Some(SignInPurpose::Onboarding) | None => {
            super::onboarding::sign_in_callback(&onboarding, &session, &choice, &answer, pending).await
        }
    }
}
