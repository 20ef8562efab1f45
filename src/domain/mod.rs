//! Parsed types. Values from the command line, the environment, a request or Microsoft are turned into
//! these at the edge, so the rest of the code never handles an unchecked string.

mod role;
mod secret;
mod tenant_id;

pub use role::{RoleName, RoleNameError, parse_role_list};
pub use secret::Secret;
pub use tenant_id::{TenantId, TenantIdError};
