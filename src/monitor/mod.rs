//! Checking tenants: an app-only token for the tenant, verified, its `roles` compared with the required
//! roles, and the outcome classified and stored (never the token).

pub mod check;
