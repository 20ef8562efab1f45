//! consent-portal: onboard customer tenants onto a partner's multi-tenant Microsoft Entra ID
//! application for the Microsoft 365 Defender APIs, prove which tenant consented, and keep checking it.
//!
//! `web::router` is the whole web application; `cli::main` is the command line around it. See
//! README.md for how to run it, and the module docs for how each part works. The built-in fake
//! Microsoft is the `fake-entra` crate of this workspace, behind the default-on cargo feature `demo`.

pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod entra;
pub mod error;
pub mod i18n;
pub mod invites;
pub mod logging;
pub mod monitor;
pub mod onboarding;
pub mod server;
pub mod startup;
pub mod tenants;
pub mod web;
