//! The demo directory: the app registration of `consent-portal demo`, its partner tenant and the
//! customer tenants and accounts that show every state of an onboarding. The portal's demo configures
//! itself with the same app (its client id, secret and partner tenant come from here), and the tests of
//! both crates run against this directory.
//!
//! The demo app requests Microsoft Graph's and the Defender XDR API's permissions ([`DEMO_PERMISSIONS`]).
//! One customer, Fourth Coffee, consented before the Graph permissions were added to the app: its
//! grant holds the Defender XDR roles only, so a portal that requires both shows what a migration
//! looks like.

use time::OffsetDateTime;

use crate::TenantId;
use crate::apis::{DEFENDER_API, GRAPH_API};
use crate::directory::{AppRegistration, AppSecret, Directory, Permissions, Tenant, User, new_guid};

/// The demo app registration's client id (fixed, so a demo database stays meaningful across runs).
pub const DEMO_CLIENT_ID: &str = "6f1d3a52-8e0b-4c47-9a2e-0d5c7b1e4f93";
/// The demo app's client secret, registered in the fake.
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";
/// The demo partner tenant ("Fabrikam Partner").
pub const DEMO_PARTNER_TENANT_ID: &str = "f0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b";
/// The Defender XDR roles the demo app requests: the portal's default required roles.
pub const DEMO_ROLES: [&str; 2] = ["Incident.Read.All", "AdvancedHunting.Read.All"];
/// The Microsoft Graph roles the demo app requests: the replacements of [`DEMO_ROLES`].
pub const DEMO_GRAPH_ROLES: [&str; 2] = ["SecurityIncident.Read.All", "ThreatHunting.Read.All"];
/// Everything the demo app requests, as `(api, role)`, Graph first.
pub const DEMO_PERMISSIONS: [(&str, &str); 4] =
    [(GRAPH_API, DEMO_GRAPH_ROLES[0]), (GRAPH_API, DEMO_GRAPH_ROLES[1]), (DEFENDER_API, DEMO_ROLES[0]), (DEFENDER_API, DEMO_ROLES[1])];

pub const DEMO_CONTOSO: &str = "c0a7b1e2-3d4f-4a5b-8c6d-7e8f9a0b1c2d";
pub const DEMO_NORTHWIND: &str = "4e0f1a2b-3c4d-4e5f-9a6b-7c8d9e0f1a2b";
pub const DEMO_WOODGROVE: &str = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";
pub const DEMO_TAILSPIN: &str = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e";
/// The customer whose consent predates the Graph permissions: Defender XDR roles only.
pub const DEMO_FOURTH_COFFEE: &str = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/// How long ago Fourth Coffee's admin consented.
pub const DEMO_FOURTH_COFFEE_CONSENT_AGE_DAYS: i64 = 200;

/// [`DEMO_PERMISSIONS`] as [`Permissions`].
pub fn demo_permissions() -> Permissions {
    Permissions::new().with(GRAPH_API, &DEMO_GRAPH_ROLES).with(DEFENDER_API, &DEMO_ROLES)
}

/// The demo directory, with the demo app's redirect URIs on `portal_url`.
pub fn default_directory(portal_url: &str) -> Directory {
    let portal = portal_url.trim_end_matches('/');
    let partner = TenantId::parse(DEMO_PARTNER_TENANT_ID).unwrap_or_else(|_| TenantId::new_random());
    demo_directory(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        vec![format!("{portal}/auth/callback"), format!("{portal}/consent/callback")],
        demo_permissions(),
        partner,
    )
}

/// The tenants, users and app of `consent-portal demo`: a partner tenant with staff, and customers that
/// show every state (an admin and a non-admin, a second customer, one whose consent grants only part of
/// the permissions, one where the Defender APIs are not provisioned, one whose consent predates the
/// app's Graph permissions). The app requests `permissions`.
pub fn demo_directory(
    client_id: &str,
    client_secret: &str,
    redirect_uris: Vec<String>,
    permissions: Permissions,
    partner_tenant: TenantId,
) -> Directory {
    let user = |upn: &str, name: &str, admin: bool, app_roles: &[&str]| User {
        id: new_guid(),
        upn: upn.into(),
        display_name: name.into(),
        admin,
        app_roles: app_roles.iter().map(|r| r.to_string()).collect(),
    };
    let tenant = |id: &str, name: &str, domains: &[&str], users: Vec<User>| {
        let mut tenant = Tenant::new(
            TenantId::parse(id).unwrap_or_else(|_| TenantId::new_random()),
            name,
            domains.iter().map(|d| d.to_string()).collect(),
        );
        tenant.users = users;
        tenant
    };
    let mut partner = tenant(
        &partner_tenant.to_string(),
        "Fabrikam Partner",
        &["fabrikampartner.example", "fabrikampartner.onmicrosoft.com"],
        vec![
            user("alex@fabrikampartner.example", "Alex Wilber", true, &["Portal.Admin"]),
            user("sam@fabrikampartner.example", "Sam Taylor", false, &["Portal.Viewer"]),
            user("guest@fabrikampartner.example", "Guest Reader", false, &[]),
        ],
    );
    partner.set_grant(client_id, Permissions::new(), true, OffsetDateTime::now_utc());
    let contoso = tenant(
        DEMO_CONTOSO,
        "Contoso",
        &["contoso.example", "contoso.onmicrosoft.com"],
        vec![user("megan@contoso.example", "Megan Bowen", true, &[]), user("adele@contoso.example", "Adele Vance", false, &[])],
    );
    let northwind =
        tenant(DEMO_NORTHWIND, "Northwind Traders", &["northwind.example"], vec![user("lee@northwind.example", "Lee Gu", true, &[])]);
    let mut woodgrove = tenant(
        DEMO_WOODGROVE,
        "Woodgrove Bank",
        &["woodgrove.example"],
        vec![user("diego@woodgrove.example", "Diego Siciliani", true, &[])],
    );
    // Its policy lets an admin grant only the first permission on each API (the incidents ones).
    for (api, roles) in permissions.iter() {
        woodgrove.grantable_permissions.set(api, roles.iter().take(1).cloned().collect());
    }
    let mut tailspin =
        tenant(DEMO_TAILSPIN, "Tailspin Toys", &["tailspin.example"], vec![user("nestor@tailspin.example", "Nestor Wilke", true, &[])]);
    // No Defender licence: neither Defender API has a service principal there (Graph always has).
    tailspin.set_provisioned(DEFENDER_API, false);
    tailspin.set_provisioned(crate::apis::MDE_API, false);
    let mut fourth_coffee = tenant(
        DEMO_FOURTH_COFFEE,
        "Fourth Coffee",
        &["fourthcoffee.example"],
        vec![user("lidia@fourthcoffee.example", "Lidia Holloway", true, &[])],
    );
    let consented = OffsetDateTime::now_utc() - time::Duration::days(DEMO_FOURTH_COFFEE_CONSENT_AGE_DAYS);
    let mut before_graph = Permissions::new();
    before_graph.set(DEFENDER_API, permissions.roles(DEFENDER_API).to_vec());
    fourth_coffee.set_grant(client_id, before_graph, true, consented);
    Directory {
        apis: crate::apis::Api::all(),
        apps: vec![AppRegistration {
            client_id: client_id.into(),
            display_name: "Fabrikam Defender Connector".into(),
            secrets: vec![AppSecret { value: client_secret.into(), expires_at: None }],
            certificates: Vec::new(),
            redirect_uris,
            permissions,
        }],
        tenants: vec![partner, contoso, northwind, woodgrove, tailspin, fourth_coffee],
    }
}
