//! Parsed types. Values from the command line, the environment, a request or Microsoft are turned into
//! these at the edge, so the rest of the code never handles an unchecked string.

pub mod aadsts;
mod customer_name;
pub mod email_address;
pub mod free_text;
mod invite_token;
mod role;
mod secret;
mod tenant_id;
mod tenant_status;

pub use customer_name::{CustomerName, CustomerNameError};
pub use invite_token::{InviteToken, InviteTokenError, hash_secret};
pub use role::{RoleName, RoleNameError, parse_role_list};
pub use secret::Secret;
pub use tenant_id::{TenantId, TenantIdError};
pub use tenant_status::TenantStatus;
