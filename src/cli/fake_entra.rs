//! `consent-portal fake-entra`: the built-in fake Microsoft on its own (the `fake-entra` crate), until
//! SIGTERM or SIGINT.

use std::process::ExitCode;

pub async fn run(args: ::fake_entra::cli::FakeEntraArgs) -> ExitCode {
    ::fake_entra::cli::run(args, crate::server::shutdown_signal()).await
}
