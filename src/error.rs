//! What can go wrong beneath a use case that has nothing to do with what was asked: the database cannot
//! take a write right now, or something failed inside. Use cases return it beside their own refusals;
//! the web layer answers 503 (try again) or 500, the command line exits 1.

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The database cannot take writes right now (read-only, full, locked too long): nothing was
    /// written, trying again later is safe.
    #[error("database unavailable for writes: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unavailable_for_writes(&error) { Self::Unavailable(error) } else { Self::Internal(error.into()) }
    }
}

/// What a use case answers instead of its outcome: its own refusal (`R`, an enum of what that use case
/// refuses, named for its audience), or a [`Failure`] beneath it. Each use case module names its own:
/// `pub type Error = UseCaseError<Refusal>`.
#[derive(Debug, thiserror::Error)]
pub enum UseCaseError<R: std::fmt::Debug> {
    #[error("refused: {0:?}")]
    Refused(R),
    #[error(transparent)]
    Failed(#[from] Failure),
}

impl<R: std::fmt::Debug> From<sqlx::Error> for UseCaseError<R> {
    fn from(error: sqlx::Error) -> Self {
        Self::Failed(error.into())
    }
}
