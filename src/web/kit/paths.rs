//! The paths of the portal's pages that handlers redirect to and link: written once, here.

use crate::domain::TenantId;

/// The staff home: the fleet overview (and, for anyone else, what the portal is).
pub const HOME: &str = "/";
pub const TENANTS: &str = "/tenants";
pub const INVITES: &str = "/invites";
pub const OUTBOX: &str = "/outbox";
pub const STAFF_SIGN_IN: &str = "/staff/sign-in";

/// A tenant's page on the dashboard.
pub fn tenant(tenant: TenantId) -> String {
    format!("/tenants/{tenant}")
}

/// A tenant's page, saying it was just checked.
pub fn tenant_checked(tenant: TenantId) -> String {
    format!("/tenants/{tenant}?checked=1")
}

/// The onboarding page of an invite link's token.
pub fn onboard(token: &str) -> String {
    format!("/onboard/{token}")
}
