//! consent-portal: onboard customer tenants onto a partner's multi-tenant Microsoft Entra ID
//! application for the Microsoft 365 Defender APIs, prove which tenant consented, and keep checking it.
//!
//! `web::router` is the whole web application; `cli::main` is the command line around it. Both call the
//! use cases (`onboarding`, `invites`, `tenants`), which work through `db`, `entra`, `monitor` and
//! `email` on the parsed types of `domain`. docs/architecture.md draws the layers; README.md says how to
//! run the portal. The built-in fake Microsoft is the `fake-entra` crate of this workspace, behind the
//! default-on cargo feature `demo`.

pub mod app;
pub mod background;
pub mod campaigns;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod db;
pub mod domain;
pub mod email;
pub mod entra;
pub mod error;
pub mod fleet;
pub mod i18n;
pub mod invites;
pub mod logging;
pub mod metrics;
pub mod monitor;
pub mod onboarding;
pub mod server;
pub mod startup;
pub mod tenants;
pub mod web;
pub mod webhooks;
