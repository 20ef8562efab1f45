//! `consent-portal healthcheck`: ask a running portal whether it is up (`GET /healthz`), for container
//! health checks.

use std::net::SocketAddr;
use std::process::ExitCode;

use super::HealthcheckArgs;
use crate::config;
use crate::startup::refuse_to_start;

pub async fn run(args: HealthcheckArgs) -> ExitCode {
    let bind: SocketAddr = match config::parse_bind(&args.bind) {
        Ok(bind) => bind,
        Err(error) => return refuse_to_start(error),
    };
    // A wildcard listen address is reached on loopback.
    let host = if bind.ip().is_unspecified() {
        if bind.is_ipv4() { "127.0.0.1".to_owned() } else { "[::1]".to_owned() }
    } else if bind.is_ipv6() {
        format!("[{}]", bind.ip())
    } else {
        bind.ip().to_string()
    };
    let url = format!("http://{host}:{}/healthz", bind.port());
    let client =
        match reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).redirect(reqwest::redirect::Policy::none()).build() {
            Ok(client) => client,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("unhealthy: {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("unhealthy: {url}: {error}");
            ExitCode::FAILURE
        }
    }
}
