//! `consent-portal demo`: the portal with an embedded default that needs nothing configured — SQLite in
//! a data folder of its own, loopback only.

use std::process::ExitCode;

use tokio::net::TcpListener;
use url::Url;

use crate::app::AppState;
use crate::cli::{DemoArgs, refuse_to_start, serve_until_shutdown};
use crate::config::{self, ClientCredential, Config, DatabaseLocation};
use crate::domain::{Secret, TenantId, parse_role_list};

/// The demo app registration's client id (fixed, so a demo database stays meaningful across runs).
pub const DEMO_CLIENT_ID: &str = "6f1d3a52-8e0b-4c47-9a2e-0d5c7b1e4f93";
/// The demo partner tenant ("Fabrikam Partner").
pub const DEMO_PARTNER_TENANT_ID: &str = "f0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b";

pub async fn run(args: DemoArgs) -> ExitCode {
    let bind = match config::parse_bind(&args.bind) {
        Ok(bind) => bind,
        Err(error) => return refuse_to_start(error),
    };
    if !config::is_loopback_bind(&bind) {
        return refuse_to_start(format_args!("PORTAL_DEMO_BIND: the demo listens on loopback only (such as 127.0.0.1:8080), not {bind}"));
    }
    let listener = match TcpListener::bind(bind).await {
        Ok(listener) => listener,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DEMO_BIND: cannot listen on {bind}: {error}")),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DEMO_BIND: {error}")),
    };
    let database =
        DatabaseLocation { url: format!("sqlite://{}", args.data_dir.join("portal.db").display()), path: args.data_dir.join("portal.db") };
    let config = match demo_config(address, database) {
        Ok(config) => config,
        Err(error) => return refuse_to_start(error),
    };
    let db = match crate::db::open(&config.database).await {
        Ok(db) => db,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DEMO_DATA_DIR: {error}")),
    };
    println!();
    println!("  consent-portal demo");
    println!("  Portal:    {}", config.public_url);
    println!("  Health:    {}", config.public_url_for("/healthz"));
    println!("  Database:  {}", config.database.path.display());
    println!("  Stop with Ctrl-C.");
    println!();
    serve_until_shutdown(listener, AppState::new(config, db)).await
}

/// The demo's configuration: the portal on `address`, its database at `database`.
pub fn demo_config(address: std::net::SocketAddr, database: DatabaseLocation) -> Result<Config, String> {
    let public_url = Url::parse(&format!("http://{address}/")).map_err(|e| e.to_string())?;
    let partner_tenant_id = TenantId::parse(DEMO_PARTNER_TENANT_ID).map_err(|e| e.to_string())?;
    let required_roles = parse_role_list(config::DEFAULT_REQUIRED_ROLES).map_err(|e| e.to_string())?;
    let resource = config::DEFAULT_RESOURCE.to_owned();
    Ok(Config {
        api_base: Url::parse(&resource).map_err(|e| e.to_string())?,
        public_url,
        bind: address,
        database,
        client_id: DEMO_CLIENT_ID.to_owned(),
        credential: ClientCredential::Secret(Secret::new("demo-client-secret")),
        partner_tenant_id,
        authority_host: Url::parse(config::DEFAULT_AUTHORITY_HOST).map_err(|e| e.to_string())?,
        resource,
        required_roles,
        api_token: None,
    })
}
