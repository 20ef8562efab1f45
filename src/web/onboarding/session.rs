//! What the browser's session holds during an onboarding (its pending sign-in, if any, is kept apart,
//! by `kit::oidc`).

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::onboarding::SignedInAdmin;
use crate::web::error::AppError;
use crate::web::kit::csrf::new_token;

const KEY: &str = "onboarding";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnboardingSession {
    /// Random; consent states are bound to it (and so to this browser session).
    pub binding: String,
    /// The CSRF token of this session's forms ("sign in again").
    pub csrf: String,
    pub invite_id: String,
    /// Who signed in (v2), once they did.
    pub admin: Option<SignedInAdmin>,
}

impl OnboardingSession {
    /// A new onboarding of invite `invite_id`.
    pub fn new(invite_id: &str) -> Self {
        Self { binding: new_token(), csrf: new_token(), invite_id: invite_id.to_owned(), admin: None }
    }

    pub async fn load(session: &Session) -> Option<Self> {
        session.get::<Self>(KEY).await.ok().flatten()
    }

    pub async fn store(&self, session: &Session) -> Result<(), AppError> {
        Ok(session.insert(KEY, self).await?)
    }
}
