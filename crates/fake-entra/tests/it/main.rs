//! The fake's integration tests, in one test binary (each file of `tests/` would be a binary of its own,
//! linking the crate again): its endpoints over real HTTP, and clients this project did not write (MSAL, azure-identity,
//! Authlib, the partner page's token code).

mod helpers;

mod clients_fidelity;
mod endpoints;
mod msal_fidelity;
