//! What the integration tests share, written once: the portal on 127.0.0.1 with its fake (`app`), the
//! real binary (`binary`), a browser-like HTTP client (`browsing`), the fake's control API (`fake`),
//! staff sign-in (`staff`), invites (`invites`), the demo's permissions in a customer's words
//! (`permissions`), a customer's journey (`customer`), certificates (`certificates`), a small
//! filesystem of a test's own (`filesystem`), raw SQL on either engine (`sql`), waiting for a condition (`wait`), and the rule for what a
//! test needs from the machine beyond Rust (`tools`).

mod app;
mod binary;
mod browsing;
mod certificates;
mod customer;
mod fake;
mod filesystem;
mod invites;
mod permissions;
mod postgres;
mod smtp;
mod sql;
mod staff;
mod tools;
mod wait;

pub use app::*;
pub use binary::*;
pub use browsing::*;
pub use certificates::*;
pub use customer::*;
pub use fake::*;
pub use filesystem::*;
pub use invites::*;
pub use permissions::*;
pub use postgres::*;
pub use smtp::*;
pub use sql::*;
pub use staff::*;
pub use tools::*;
pub use wait::*;

/// The demo directory's accounts the tests sign in with.
pub const ALEX: &str = "alex@fabrikampartner.example";
pub const SAM: &str = "sam@fabrikampartner.example";
pub const MEGAN: &str = "megan@contoso.example";

/// A `PORTAL_API_TOKEN` long enough to be accepted.
pub const API_TOKEN: &str = "an-api-token-of-at-least-32-characters-0123";
