use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use time::OffsetDateTime;

use super::Timestamp;

/// Where the time comes from. The use cases, the e-mail worker and the checks ask it instead of the
/// system, so a test can set the time: expiries, step lifetimes and reminders are then exact.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The clock a use case holds.
pub type SharedClock = Arc<dyn Clock>;

/// The current time as stored: [`Timestamp`] (UTC, whole seconds).
pub fn now(clock: &dyn Clock) -> Timestamp {
    Timestamp::new(clock.now())
}

/// The operating system's clock: what the portal runs on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until moved: for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn at(now: OffsetDateTime) -> Self {
        Self(Mutex::new(now))
    }

    pub fn set(&self, now: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    pub fn advance(&self, by: time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::at(datetime!(2026-11-25 14:36:30.5 UTC));
        assert_eq!(now(&clock).to_string(), "2026-11-25T14:36:30Z");
        clock.advance(time::Duration::minutes(16));
        assert_eq!(now(&clock).to_string(), "2026-11-25T14:52:30Z");
        let system = SystemClock.now();
        assert!(OffsetDateTime::now_utc() - system < time::Duration::minutes(1));
    }
}
