//! The limit on failed invite-link lookups per client address.
//!
//! Only failures count (a token that is malformed or unknown): someone guessing tokens is slowed down,
//! while a customer whose link works is never refused, even when others guess from the same address
//! (a company's NAT, a shared proxy). A link holds 256 random bits, so the limit is not what keeps
//! links secret; it keeps a guesser from costing the portal a database lookup per request for long,
//! and makes guessing visible as 429s.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{PoisonError, RwLock};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failed lookups an address may make in a minute (a burst of this many, then one a second).
pub const FAILURES_PER_MINUTE: NonZeroU32 = NonZeroU32::new(60).expect("non-zero");
/// Addresses tracked before those whose quota is full again are forgotten.
const TRIM_AT: usize = 10_000;

pub struct LookupLimiter {
    /// Replaced by an empty one when forgetting the quiet addresses is not enough to bound memory.
    failures: RwLock<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for LookupLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl LookupLimiter {
    pub fn new() -> Self {
        Self { failures: RwLock::new(fresh()) }
    }

    /// Counts a failed lookup from `client`. False when the address is past its quota: answer 429.
    pub fn record_failure(&self, client: IpAddr) -> bool {
        let allowed = self.failures.read().unwrap_or_else(PoisonError::into_inner).check_key(&client).is_ok();
        self.bound_memory();
        allowed
    }

    /// Keeps at most about [`TRIM_AT`] addresses: the quiet ones are forgotten first; if most are still
    /// busy (a guesser with many addresses), all are forgotten, which costs such a guesser nothing it
    /// did not have already.
    fn bound_memory(&self) {
        let failures = self.failures.read().unwrap_or_else(PoisonError::into_inner);
        if failures.len() <= TRIM_AT {
            return;
        }
        failures.retain_recent();
        let still_busy = failures.len() > TRIM_AT / 2;
        drop(failures);
        if still_busy {
            tracing::warn!(addresses = TRIM_AT, "failed onboarding-link lookups from too many addresses: the limiter starts afresh");
            *self.failures.write().unwrap_or_else(PoisonError::into_inner) = fresh();
        }
    }

    /// Addresses tracked now.
    pub fn len(&self) -> usize {
        self.failures.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn fresh() -> DefaultKeyedRateLimiter<IpAddr> {
    RateLimiter::keyed(Quota::per_minute(FAILURES_PER_MINUTE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn an_address_past_its_quota_is_refused_and_others_are_not() {
        let limiter = LookupLimiter::new();
        let guesser: IpAddr = "198.51.100.7".parse().unwrap();
        let allowed = (0..100).filter(|_| limiter.record_failure(guesser)).count();
        assert_eq!(allowed, 60);
        assert!(limiter.record_failure("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn memory_stays_bounded_under_many_addresses() {
        let limiter = LookupLimiter::new();
        for n in 0..(3 * TRIM_AT as u128) {
            limiter.record_failure(IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | n)));
            assert!(limiter.len() <= TRIM_AT + 1);
        }
    }
}
