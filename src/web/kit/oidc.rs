//! The one sign-in a browser can have pending (a customer's admin on the way to consent, or a partner
//! staff member), kept in its session under one key with what it is for, until `/auth/callback`.

use tower_sessions::Session;

use crate::entra::PendingSignIn;
use crate::web::error::AppError;

const KEY: &str = "oidc_sign_in";

/// The sign-in pending on this session, if any (it stays pending).
pub async fn pending(session: &Session) -> Option<PendingSignIn> {
    session.get::<PendingSignIn>(KEY).await.ok().flatten()
}

/// Keeps `pending` as this session's sign-in, in place of any other.
pub async fn start(session: &Session, pending: PendingSignIn) -> Result<(), AppError> {
    Ok(session.insert(KEY, pending).await?)
}

/// Ends this session's pending sign-in: each is answered once.
pub async fn end(session: &Session) -> Result<Option<PendingSignIn>, AppError> {
    Ok(session.remove::<PendingSignIn>(KEY).await?)
}
