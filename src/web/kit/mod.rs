//! What every handler uses: one function that renders a page ([`render`]), the forms' CSRF rules
//! ([`csrf`]), the portal's own cookies ([`cookies`]) and the paths of its pages ([`paths`]).

pub mod cookies;
pub mod csrf;
pub mod oidc;
pub mod paths;
mod render;

pub use render::render;
