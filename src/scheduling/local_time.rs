//! Wall-clock time on a local date -> UTC instant, under named DST policies.
//!
//! A wall time can fall in a *gap* (clocks spring forward over it: it never happens) or a
//! *fold* (clocks fall back: it happens twice). The scheduler resolves both explicitly:
//! - a window **start** is the *earliest* instant of its wall time, and a start inside a
//!   gap moves to the gap's end (the transition instant);
//! - a window **end** is the *latest* instant of its wall time, and an end inside a gap is
//!   also the gap's end.
//!
//! So on a fall-back day a window spanning the fold is longer than its wall-clock length,
//! and on a spring-forward day it is shorter; nothing is ever silently shifted by an hour.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::hours::DAY_MINUTES;

/// Which instant to pick when a wall time occurs twice (a fold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// The first occurrence (before clocks fall back).
    Earliest,
    /// The second occurrence (after clocks fall back).
    Latest,
}

/// The instant of wall time `minutes` after midnight of `date` in `tz` (1440 is the next
/// date's 00:00). Folds resolve by `fold`; a wall time in a gap resolves to the instant the
/// gap ends. `None` only for dates outside chrono's range.
pub fn resolve(tz: Tz, date: NaiveDate, minutes: u16, fold: Fold) -> Option<DateTime<Utc>> {
    let wall = wall_time(date, minutes)?;
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => Some(
            match fold {
                Fold::Earliest => first.min(second),
                Fold::Latest => first.max(second),
            }
            .with_timezone(&Utc),
        ),
        LocalResult::None => gap_end(tz, wall),
    }
}

/// The earliest instant of the wall time (the policy for window starts).
pub fn start_instant(tz: Tz, date: NaiveDate, minutes: u16) -> Option<DateTime<Utc>> {
    resolve(tz, date, minutes, Fold::Earliest)
}

/// The latest instant of the wall time (the policy for window ends).
pub fn end_instant(tz: Tz, date: NaiveDate, minutes: u16) -> Option<DateTime<Utc>> {
    resolve(tz, date, minutes, Fold::Latest)
}

/// The local date of `instant` in `tz`.
pub fn local_date(tz: Tz, instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

fn wall_time(date: NaiveDate, minutes: u16) -> Option<NaiveDateTime> {
    let days = i64::from(minutes / DAY_MINUTES);
    let rest = u32::from(minutes % DAY_MINUTES);
    let date = date.checked_add_signed(Duration::days(days))?;
    date.and_hms_opt(rest / 60, rest % 60, 0)
}

/// The first instant whose wall time is after `wall`, which lies in a gap: that is the
/// transition instant that ends the gap.
fn gap_end(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    // Offsets lie within ±26 h of UTC, and no gap is longer than a day, so the transition
    // lies in this bracket: at `low` the wall time is still before `wall`, at `high` after.
    let as_utc = wall.and_utc();
    let mut low = as_utc.checked_sub_signed(Duration::hours(50))?;
    let mut high = as_utc.checked_add_signed(Duration::hours(50))?;
    let is_after = |instant: DateTime<Utc>| instant.with_timezone(&tz).naive_local() > wall;
    if is_after(low) || !is_after(high) {
        return None;
    }
    // Binary search on whole seconds (tz transitions happen on whole seconds).
    while (high - low).num_seconds() > 1 {
        let mid = low + Duration::seconds((high - low).num_seconds() / 2);
        if is_after(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    Some(high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::test_support::utc;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    const fn hm(h: u16, m: u16) -> u16 {
        h * 60 + m
    }

    #[test]
    fn an_ordinary_wall_time_has_one_instant_for_both_policies() {
        let tz = chrono_tz::America::New_York;
        let d = date(2026, 6, 1);
        assert_eq!(
            start_instant(tz, d, hm(9, 0)),
            Some(utc("2026-06-01T13:00:00Z"))
        );
        assert_eq!(
            end_instant(tz, d, hm(9, 0)),
            Some(utc("2026-06-01T13:00:00Z"))
        );
    }

    #[test]
    fn a_wall_time_in_the_new_york_spring_gap_moves_to_the_gap_end() {
        let tz = chrono_tz::America::New_York;
        let d = date(2026, 3, 8);
        // 02:30 does not exist; clocks jump from 02:00 EST to 03:00 EDT = 07:00Z.
        assert_eq!(
            start_instant(tz, d, hm(2, 30)),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert_eq!(
            end_instant(tz, d, hm(2, 30)),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert_eq!(
            start_instant(tz, d, hm(2, 0)),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert_eq!(
            start_instant(tz, d, hm(3, 0)),
            Some(utc("2026-03-08T07:00:00Z"))
        );
    }

    #[test]
    fn a_wall_time_in_the_new_york_fall_fold_has_an_earliest_and_a_latest_instant() {
        let tz = chrono_tz::America::New_York;
        let d = date(2026, 11, 1);
        assert_eq!(
            start_instant(tz, d, hm(1, 30)),
            Some(utc("2026-11-01T05:30:00Z"))
        );
        assert_eq!(
            end_instant(tz, d, hm(1, 30)),
            Some(utc("2026-11-01T06:30:00Z"))
        );
    }

    #[test]
    fn lord_howe_shifts_by_thirty_minutes() {
        let tz = chrono_tz::Australia::Lord_Howe;
        // 2026-10-04 02:00 LHST (+10:30) -> 02:30 LHDT (+11): 02:15 is in the gap.
        let d = date(2026, 10, 4);
        assert_eq!(
            start_instant(tz, d, hm(2, 15)),
            Some(utc("2026-10-03T15:30:00Z"))
        );
        // 2026-04-05 02:00 LHDT -> 01:30 LHST: 01:45 happens twice, 30 minutes apart.
        let d = date(2026, 4, 5);
        let first = start_instant(tz, d, hm(1, 45)).unwrap();
        let second = end_instant(tz, d, hm(1, 45)).unwrap();
        assert_eq!(second - first, Duration::minutes(30));
        assert_eq!(first, utc("2026-04-04T14:45:00Z"));
    }

    #[test]
    fn kathmandu_keeps_its_quarter_hour_offset() {
        let tz = chrono_tz::Asia::Kathmandu;
        assert_eq!(
            start_instant(tz, date(2026, 1, 15), hm(9, 0)),
            Some(utc("2026-01-15T03:15:00Z"))
        );
    }

    #[test]
    fn every_wall_time_of_apias_skipped_date_resolves_to_the_jump() {
        let tz = chrono_tz::Pacific::Apia;
        // Samoa skipped 2011-12-30: 2011-12-29 23:59:59 (-10) was followed by 2011-12-31 00:00 (+14).
        let jump = utc("2011-12-30T10:00:00Z");
        let d = date(2011, 12, 30);
        assert_eq!(start_instant(tz, d, hm(0, 0)), Some(jump));
        assert_eq!(start_instant(tz, d, hm(12, 0)), Some(jump));
        assert_eq!(end_instant(tz, d, DAY_MINUTES), Some(jump));
        assert_eq!(end_instant(tz, date(2011, 12, 29), DAY_MINUTES), Some(jump));
    }

    #[test]
    fn twenty_four_hundred_is_the_next_dates_midnight() {
        let tz = chrono_tz::Europe::London;
        assert_eq!(
            end_instant(tz, date(2026, 7, 1), DAY_MINUTES),
            Some(utc("2026-07-01T23:00:00Z"))
        );
    }
}
