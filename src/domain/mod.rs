//! Parsed types. Values from the command line, the environment, a request or Microsoft are turned into
//! these at the edge, so the rest of the code never handles an unchecked string.

pub mod aadsts;
pub mod api;
mod audit_kind;
pub mod campaign;
pub mod clock;
pub mod credential;
mod customer_name;
pub mod email_address;
pub mod free_text;
mod invite_status;
mod invite_token;
pub mod permission_set;
pub mod retirement;
mod role;
mod secret;
mod tenant_id;
mod tenant_status;
mod timestamp;
pub mod webhook_event;

pub use api::{Api, ApiResult, ApiResults, Cloud, Permission, RequiredApi, Verification};
pub use audit_kind::AuditKind;
pub use campaign::{CampaignTenantState, Progress, Selection};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use customer_name::{CustomerName, CustomerNameError};
pub use invite_status::{InviteDates, InviteStatus};
pub use invite_token::{InviteToken, InviteTokenError, hash_secret, random_value, tokens_match};
pub use permission_set::{PermissionSet, RequirementHistory};
pub use role::{RoleList, RoleName, RoleNameError, parse_role_list};
pub use secret::Secret;
pub use tenant_id::{TenantId, TenantIdError};
pub use tenant_status::TenantStatus;
pub use timestamp::{Timestamp, TimestampError};
