//! The pure scheduling core: no I/O, no clocks; `now` is always a parameter.
//!
//! - [`interval`]: half-open UTC intervals `[start, end)`, merging them, and a cursor that
//!   checks overlaps against sorted intervals in one pass.
//! - [`hours`]: wall-clock values: a set of weekdays and a range of wall times on a local
//!   date (past-midnight allowed), with merging and formatting.
//! - [`local_time`]: wall time on a local date to a UTC instant; DST gaps and folds are
//!   resolved by named policies, never shifted silently.
//! - [`availability`]: a mentor's schedule (weekly ranges and date overrides in one zone)
//!   and the availability windows it yields over any UTC span.
//! - [`slots`]: free slots: the slot policy (session, buffer, notice, horizon, daily cap)
//!   applied to windows and busy time.
//! - [`booking`]: the checks that make a booking, cancellation or reschedule valid, and
//!   the short booking ids people type.
//! - [`parse`]: the texts users type (`days`, `hours`, dates, timezones) and the error
//!   messages that quote them back.

pub mod availability;
pub mod booking;
pub mod hours;
pub mod interval;
pub mod local_time;
pub mod parse;
pub mod slots;
#[cfg(test)]
pub(crate) mod test_support;
