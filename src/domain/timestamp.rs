use std::fmt;
use std::ops::{Add, Sub};

use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A moment as the portal stores and shows it: UTC, to the whole second, written as RFC 3339
/// (`2026-11-25T14:36:30Z`). Text of this one shape sorts as time does, which the SQL relies on
/// (`expires_at > ?`, `next_check_at <= ?`), and reads well in the sqlite3 shell.
///
/// Made from any `OffsetDateTime` by moving it to UTC and dropping the fraction of a second, so that a
/// value compares in Rust exactly as its text compares in SQL.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 time such as 2026-11-25T14:36:30Z")]
pub struct TimestampError(pub String);

impl Timestamp {
    pub fn new(at: OffsetDateTime) -> Self {
        let at = at.to_offset(UtcOffset::UTC);
        Self(at.replace_nanosecond(0).unwrap_or(at))
    }

    /// Parses RFC 3339 text (any offset; the value is moved to UTC).
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        OffsetDateTime::parse(text, &Rfc3339).map(Self::new).map_err(|_| TimestampError(text.to_owned()))
    }

    pub fn as_datetime(self) -> OffsetDateTime {
        self.0
    }

    pub fn unix_timestamp(self) -> i64 {
        self.0.unix_timestamp()
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        Self::new(at)
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(at: Timestamp) -> Self {
        at.0
    }
}

impl Add<time::Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, duration: time::Duration) -> Timestamp {
        Self::new(self.0 + duration)
    }
}

impl Sub<time::Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, duration: time::Duration) -> Timestamp {
        Self::new(self.0 - duration)
    }
}

impl Sub for Timestamp {
    type Output = time::Duration;
    fn sub(self, earlier: Timestamp) -> time::Duration {
        self.0 - earlier.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Years 0 to 9999 always format; anything else cannot be made from a time the portal meets.
        f.pad(&self.0.format(&Rfc3339).unwrap_or_default())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

/// In JSON (exports, the API) a time is its text, as stored.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn utc_whole_seconds_as_rfc_3339() {
        let at = Timestamp::new(datetime!(2026-11-25 16:36:30.750 +02:00));
        assert_eq!(at.to_string(), "2026-11-25T14:36:30Z");
        assert_eq!(Timestamp::parse("2026-11-25T14:36:30Z"), Ok(at));
        assert_eq!(Timestamp::parse("2026-11-25T15:36:30.9+01:00"), Ok(at));
        assert!(Timestamp::parse("now").is_err());
        assert_eq!(serde_json::to_string(&at).unwrap(), "\"2026-11-25T14:36:30Z\"");
        assert_eq!(format!("{at:<22}|"), "2026-11-25T14:36:30Z  |");
    }

    /// Compared in Rust as their stored text compares in SQL: a precise `now` within the second of an
    /// expiry is not past it, just as its text is not.
    #[test]
    fn comparisons_agree_with_the_stored_text() {
        let expires = Timestamp::new(datetime!(2026-11-25 14:36:30 UTC));
        for now in [datetime!(2026-11-25 14:36:29.999 UTC), datetime!(2026-11-25 14:36:30.5 UTC), datetime!(2026-11-25 14:36:31 UTC)] {
            let now = Timestamp::new(now);
            assert_eq!(expires > now, expires.to_string() > now.to_string(), "{now}");
            assert_eq!(expires <= now, expires.to_string() <= now.to_string(), "{now}");
        }
        assert_eq!((expires + time::Duration::days(14)).to_string(), "2026-12-09T14:36:30Z");
    }
}
