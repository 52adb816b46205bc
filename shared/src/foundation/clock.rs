//! Timestamps: UTC, whole seconds, RFC 3339 on the wire and in the table
//! (`2026-11-27T10:00:00Z`), so that they sort as strings.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_unix(OffsetDateTime::now_utc().unix_timestamp())
    }

    /// Seconds since the epoch; out-of-range values clamp to the epoch.
    pub fn from_unix(secs: i64) -> Self {
        Self(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
    }

    pub fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Its day in UTC: year, month (1–12), day (1–31).
    pub fn ymd(self) -> (i32, u8, u8) {
        (self.0.year(), u8::from(self.0.month()), self.0.day())
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Self::from_unix(self.unix().saturating_add(secs))
    }

    pub fn parse(s: &str) -> Result<Self, time::error::Parse> {
        let t = OffsetDateTime::parse(s, &Rfc3339)?;
        Ok(Self::from_unix(t.unix_timestamp()))
    }
}

/// When an invocation must have answered by (Lambda's deadline), so that
/// long work stops starting new items in time and leaves the rest for the
/// next run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(std::time::Instant);

impl Deadline {
    /// `budget` from now.
    pub fn after(budget: std::time::Duration) -> Self {
        Self(std::time::Instant::now() + budget)
    }

    /// Lambda's deadline (milliseconds since the epoch) as an instant here.
    /// A deadline already past when the invocation starts is not Lambda's
    /// (a local emulator that sends none): `fallback` from now then.
    pub fn at_epoch_millis(millis: u64, fallback: std::time::Duration) -> Self {
        let now_ms = u64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        match millis.checked_sub(now_ms) {
            Some(left) if left > 0 => Self::after(std::time::Duration::from_millis(left)),
            _ => Self::after(fallback),
        }
    }

    pub fn remaining(self) -> std::time::Duration {
        self.0.saturating_duration_since(std::time::Instant::now())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_seconds_in_utc() {
        let t = Timestamp::parse("2026-11-27T11:00:00.987+01:00").expect("valid");
        assert_eq!(t.to_string(), "2026-11-27T10:00:00Z");
        assert_eq!(Timestamp::parse(&t.to_string()).expect("round trip"), t);
    }

    #[test]
    fn sorts_as_strings_in_time_order() {
        let a = Timestamp::from_unix(1_000_000_000);
        let b = a.plus_secs(1);
        assert!(a.to_string() < b.to_string());
        assert!(a < b);
    }
}
