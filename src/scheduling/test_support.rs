//! Helpers the scheduling tests (and the job tests) share: instants, intervals, dates and
//! local ranges written as short literals.

use chrono::{DateTime, NaiveDate, Utc};

use super::hours::LocalRange;
use super::interval::Interval;

/// An RFC 3339 instant.
pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The interval between two RFC 3339 instants.
pub(crate) fn iv(a: &str, b: &str) -> Interval {
    Interval::new(utc(a), utc(b)).unwrap()
}

/// A calendar date.
pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A local range from `(hour, minute)` to `(hour, minute)`.
pub(crate) fn r(a: (u16, u16), b: (u16, u16)) -> LocalRange {
    LocalRange::new(a.0 * 60 + a.1, b.0 * 60 + b.1).unwrap()
}
