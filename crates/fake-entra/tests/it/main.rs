//! The fake's integration tests, in one test binary (each file of `tests/` would be a binary of its own,
//! linking the crate again): its endpoints over real HTTP, and Microsoft's own MSAL as its client.

mod helpers;

mod endpoints;
mod msal_fidelity;
