//! `consent-portal demo`: the portal with an embedded default that needs nothing configured — SQLite in
//! a data folder of its own, loopback only — and the built-in fake Microsoft identity platform and
//! Defender API beside it, with a partner tenant, the portal's app registration and customer tenants
//! that show every state.

use std::process::ExitCode;

use fake_entra::FakeEntra;
use tokio::net::TcpListener;

use super::DemoArgs;
use super::serve::serve_until_shutdown;
use crate::app::AppState;
use crate::config::{self, Config, DatabaseLocation, demo_config};
use crate::startup::refuse_to_start;

async fn bind_loopback(value: &str, variable: &str) -> Result<TcpListener, String> {
    let bind =
        config::parse_bind(value).map_err(|_| format!("{variable}: is not an address and port such as 127.0.0.1:8080: {value:?}"))?;
    if !bind.ip().is_loopback() {
        return Err(format!("{variable}: the demo listens on loopback only (such as 127.0.0.1:8080), not {bind}"));
    }
    TcpListener::bind(bind).await.map_err(|error| format!("{variable}: cannot listen on {bind}: {error}"))
}

pub async fn run(args: DemoArgs) -> ExitCode {
    let listener = match bind_loopback(&args.bind, "PORTAL_DEMO_BIND").await {
        Ok(listener) => listener,
        Err(message) => return refuse_to_start(message),
    };
    let fake_listener = match bind_loopback(&args.fake_bind, "PORTAL_DEMO_FAKE_BIND").await {
        Ok(listener) => listener,
        Err(message) => return refuse_to_start(message),
    };
    let (Ok(address), Ok(fake_address)) = (listener.local_addr(), fake_listener.local_addr()) else {
        return refuse_to_start("cannot read the listening addresses");
    };
    let portal_url = format!("http://{address}");
    let fake_url = format!("http://{fake_address}");
    let mut directory = fake_entra::demo::default_directory(&portal_url);
    super::demo_story::grant_northwind_everything(&mut directory);
    let fake = match tokio::task::spawn_blocking({
        let fake_url = fake_url.clone();
        move || FakeEntra::new(&fake_url, directory)
    })
    .await
    {
        Ok(Ok(fake)) => fake,
        Ok(Err(error)) => return refuse_to_start(format_args!("cannot start the fake identity platform: {error:#}")),
        Err(error) => return refuse_to_start(format_args!("cannot start the fake identity platform: {error}")),
    };
    let fake_server = fake_entra::server::start(fake_listener, fake, None);

    let path = args.data_dir.join("portal.db");
    let database = DatabaseLocation::sqlite_file(path);
    let config = match demo_config(address, &fake_server.url, database) {
        Ok(config) => config,
        Err(error) => return refuse_to_start(error),
    };
    let db = match crate::db::open(&config.database).await {
        Ok(db) => db,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DEMO_DATA_DIR: {error}")),
    };
    let new_story = match super::demo_story::seed_history(&db).await {
        Ok(new_story) => new_story,
        Err(error) => return refuse_to_start(format_args!("cannot seed the demo's migration story: {error:#}")),
    };
    // A fresh invite at every start (only its hash is stored, so an old link cannot be printed again).
    let customer = match crate::domain::CustomerName::parse("Contoso") {
        Ok(customer) => customer,
        Err(error) => return refuse_to_start(error),
    };
    let request = crate::invites::InviteRequest {
        customer: &customer,
        email: Some("it@contoso.example"),
        pinned_tenant: None,
        pinned_domain: None,
        language: crate::i18n::Language::English,
        valid_for: time::Duration::days(14),
        actor: "demo",
        // The demo's in-memory mailbox receives it: the Outbox page shows it as it would arrive.
        send_to: crate::email::parse_address("it@contoso.example").ok(),
    };
    let invite_url = match crate::invites::create(&db, &crate::domain::SystemClock, request).await {
        Ok(created) => created.url(config.public_url.as_str()),
        Err(error) => return refuse_to_start(format_args!("cannot create the demo invite: {error}")),
    };
    print_welcome(&config, &fake_server.url, &invite_url);
    let state = match AppState::new(config, db).await {
        Ok(state) => state,
        Err(error) => return refuse_to_start(format_args!("cannot start: {error:#}")),
    };
    if new_story {
        // The story's checks run against the fake, which answers once the portal serves.
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(error) = super::demo_story::start_campaign(&state).await {
                tracing::error!(error = %format_args!("{error:#}"), "demo: cannot start the re-consent campaign");
            }
        });
    }
    let status = serve_until_shutdown(listener, state).await;
    drop(fake_server);
    status
}

fn print_welcome(config: &Config, fake_url: &str, invite_url: &str) {
    println!();
    println!("  consent-portal demo");
    println!("  Portal:    {}", config.public_url);
    println!("  Onboarding link for the customer Contoso (as in their email):");
    println!("    {invite_url}");
    println!("  E-mails go to an in-memory mailbox; sign in as staff and open {}outbox to read them.", config.public_url);
    println!("  Fake Microsoft sign-in and Defender API: {fake_url}/");
    println!("  Database:  {}", config.database.shown());
    println!();
    println!("  Accounts to pick on the fake sign-in page:");
    println!("    partner staff   alex@fabrikampartner.example (admin), sam@fabrikampartner.example (viewer)");
    println!("    Contoso         megan@contoso.example (Global Administrator), adele@contoso.example (not an admin)");
    println!("    Northwind       lee@northwind.example (admin)");
    println!("    Woodgrove       diego@woodgrove.example (admin; consent grants only part of the roles)");
    println!("    Tailspin        nestor@tailspin.example (admin; Defender not provisioned)");
    println!(
        "    Fourth Coffee   lidia@fourthcoffee.example (admin; consented before the Graph permissions: a re-consent campaign asks it)"
    );
    println!("  The fake's control API: {fake_url}/_fake/directory");
    println!("  Stop with Ctrl-C.");
    println!();
}
