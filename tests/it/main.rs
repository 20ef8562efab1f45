//! The portal's integration tests, in one test binary: each file of `tests/` would be a binary of its
//! own, linking the whole crate again. One module per capability; `helpers` holds what they share.
//!
//! `cargo test --test it onboarding::` runs one module, `cargo test --test it the_whole_journey` one test.

mod helpers;

mod apis;
mod browser;
mod campaigns;
mod credentials;
mod dashboard;
mod defences;
mod email;
mod engines;
mod fake_entra_cli;
mod faults;
mod foundation;
mod metrics;
mod monitor;
mod onboarding;
mod overview;
mod postgres;
mod replicas;
mod retirement;
mod token_verification;
mod webhooks;
