//! Customer onboarding: from an invite link to a proven tenant recorded for its customer.

pub mod lookup_limiter;
