//! A mentor's schedule (weekly ranges + date overrides in one IANA zone) and the
//! availability windows it yields over any span of UTC time.
//!
//! The rules (commands.md, "Availability windows"): availability on local date D is exactly
//! D's override when D has one (no ranges = off); otherwise D's weekly ranges plus the
//! after-midnight tail of D−1's past-midnight ranges, a tail that exists only if neither D−1
//! nor D has an override. Wall times become instants by the policies in
//! [`super::local_time`]; windows that touch or overlap are merged.
//!
//! Slot grids start at a window's start, so a window's start must not depend on the span
//! asked for. Merged windows are therefore found with a look-around of [`LOOK_AROUND_DAYS`]
//! on each side, and a window that lasts a week or more (round-the-clock availability, whose
//! true start may lie arbitrarily far back) is cut at every local midnight: its grid
//! restarts each day. Both make the windows a pure function of the schedule.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use chrono_tz::Tz;

use super::hours::{DAY_MINUTES, Days, LocalRange, merge_ranges};
use super::interval::{Interval, merge};
use super::local_time::{end_instant, local_date, start_instant};

/// Dates examined before and after the asked span when merging windows.
pub const LOOK_AROUND_DAYS: i64 = 9;

/// A merged window this long or longer is cut at local midnights.
pub const LONG_WINDOW_DAYS: i64 = 7;

/// A mentor's availability rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    tz: Tz,
    weekly: [Vec<LocalRange>; 7],
    overrides: BTreeMap<NaiveDate, Vec<LocalRange>>,
}

impl Schedule {
    /// An empty schedule (no hours at all) in `tz`.
    pub fn new(tz: Tz) -> Schedule {
        Schedule {
            tz,
            weekly: Default::default(),
            overrides: BTreeMap::new(),
        }
    }

    /// The zone the wall times are in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The same wall-clock rules in another zone (bookings are instants and do not move).
    pub fn with_tz(mut self, tz: Tz) -> Schedule {
        self.tz = tz;
        self
    }

    /// Replaces the ranges of every day in `days` with `ranges` (merged).
    pub fn set_weekly(&mut self, days: Days, ranges: &[LocalRange]) {
        let (merged, _) = merge_ranges(ranges.to_vec());
        for day in days.iter() {
            self.weekly[day.num_days_from_monday() as usize] = merged.clone();
        }
    }

    /// Adds ranges to a weekday (merged with what is there).
    pub fn add_weekly(&mut self, day: Weekday, range: LocalRange) {
        let slot = &mut self.weekly[day.num_days_from_monday() as usize];
        slot.push(range);
        let (merged, _) = merge_ranges(std::mem::take(slot));
        *slot = merged;
    }

    /// The ranges of one weekday, sorted.
    pub fn weekly(&self, day: Weekday) -> &[LocalRange] {
        &self.weekly[day.num_days_from_monday() as usize]
    }

    /// True when no weekday has any range.
    pub fn has_no_weekly_hours(&self) -> bool {
        self.weekly.iter().all(Vec::is_empty)
    }

    /// Removes every weekly range (overrides stay).
    pub fn clear_weekly(&mut self) {
        self.weekly = Default::default();
    }

    /// Sets the override of `date`: exactly these ranges (empty = off). Ranges past 24:00
    /// are cut at 24:00, since an override covers its own date only.
    pub fn set_override(&mut self, date: NaiveDate, ranges: &[LocalRange]) {
        let same_day: Vec<LocalRange> = ranges.iter().map(LocalRange::same_day_part).collect();
        let (merged, _) = merge_ranges(same_day);
        self.overrides.insert(date, merged);
    }

    /// Removes the override of `date`; true when there was one.
    pub fn remove_override(&mut self, date: NaiveDate) -> bool {
        self.overrides.remove(&date).is_some()
    }

    /// The override of `date`, if any.
    pub fn override_on(&self, date: NaiveDate) -> Option<&[LocalRange]> {
        self.overrides.get(&date).map(Vec::as_slice)
    }

    /// All overrides, by date.
    pub fn overrides(&self) -> impl Iterator<Item = (NaiveDate, &[LocalRange])> {
        self.overrides.iter().map(|(d, r)| (*d, r.as_slice()))
    }

    /// The wall-clock ranges that apply on local `date`, as `(date, range)` pairs where the
    /// range is on that date's timeline (tails of the previous date start at 00:00).
    fn ranges_on(&self, date: NaiveDate, out: &mut Vec<(NaiveDate, LocalRange)>) {
        if let Some(ranges) = self.overrides.get(&date) {
            out.extend(ranges.iter().map(|r| (date, *r)));
            return;
        }
        out.extend(
            self.weekly(date.weekday())
                .iter()
                .map(|r| (date, r.same_day_part())),
        );
        let Some(previous) = date.pred_opt() else {
            return;
        };
        if self.overrides.contains_key(&previous) {
            return;
        }
        out.extend(
            self.weekly(previous.weekday())
                .iter()
                .filter_map(LocalRange::next_day_part)
                .map(|tail| (date, tail)),
        );
    }

    /// The availability windows that overlap `span`, merged, sorted and disjoint. Windows
    /// are not clipped to `span`: each keeps its own start, where its slot grid begins.
    pub fn windows(&self, span: Interval) -> Vec<Interval> {
        let tz = self.tz;
        let Some(first) =
            local_date(tz, span.start()).checked_sub_signed(Duration::days(LOOK_AROUND_DAYS))
        else {
            return Vec::new();
        };
        let Some(last) =
            local_date(tz, span.end()).checked_add_signed(Duration::days(LOOK_AROUND_DAYS))
        else {
            return Vec::new();
        };
        let mut ranges = Vec::new();
        let mut date = first;
        while date <= last {
            self.ranges_on(date, &mut ranges);
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        let instants = ranges.iter().filter_map(|(date, range)| {
            let start = start_instant(tz, *date, range.start())?;
            let end = end_instant(tz, *date, range.end().min(DAY_MINUTES))?;
            Interval::new(start, end)
        });
        let mut windows = Vec::new();
        for window in merge(instants.collect()) {
            if !window.overlaps(&span) {
                continue;
            }
            if window.duration() >= Duration::days(LONG_WINDOW_DAYS) {
                self.cut_at_midnights(window, span, &mut windows);
            } else {
                windows.push(window);
            }
        }
        windows
    }

    /// Pushes the pieces of `window` between consecutive local midnights that overlap `span`.
    fn cut_at_midnights(&self, window: Interval, span: Interval, out: &mut Vec<Interval>) {
        let mut date = local_date(self.tz, window.start().max(span.start()));
        loop {
            let Some(day_start) = start_instant(self.tz, date, 0) else {
                return;
            };
            // The piece ends where the next one starts (the *earliest* next midnight), so
            // pieces never overlap, even where local midnight happens twice (Havana).
            let Some(day_end) = date
                .succ_opt()
                .and_then(|next| start_instant(self.tz, next, 0))
            else {
                return;
            };
            if day_start >= window.end() || day_start >= span.end() {
                return;
            }
            let piece = Interval::new(day_start.max(window.start()), day_end.min(window.end()));
            if let Some(piece) = piece.filter(|p| p.overlaps(&span)) {
                out.push(piece);
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::test_support::{d, iv, r};

    /// The windows that start on local date `date` (a one-day span in `tz`).
    fn day_windows(schedule: &Schedule, date: NaiveDate) -> Vec<Interval> {
        let tz = schedule.tz();
        let start = start_instant(tz, date, 0).unwrap();
        let end = end_instant(tz, date, DAY_MINUTES).unwrap();
        schedule.windows(Interval::new(start, end).unwrap())
    }

    #[test]
    fn weekly_ranges_become_windows_in_the_mentors_zone() {
        let mut s = Schedule::new(chrono_tz::Europe::Berlin);
        s.set_weekly(Days::WEEKDAYS, &[r((9, 0), (12, 0)), r((14, 0), (17, 30))]);
        let windows = day_windows(&s, d(2026, 11, 23));
        assert_eq!(
            windows,
            vec![
                iv("2026-11-23T08:00:00Z", "2026-11-23T11:00:00Z"),
                iv("2026-11-23T13:00:00Z", "2026-11-23T16:30:00Z"),
            ]
        );
        assert!(
            day_windows(&s, d(2026, 11, 22)).is_empty(),
            "Sunday has no hours"
        );
    }

    #[test]
    fn clearing_weekly_hours_leaves_overrides_and_windows_only_on_their_dates() {
        let mut s = Schedule::new(chrono_tz::UTC);
        assert!(s.has_no_weekly_hours());
        s.set_weekly(Days::WEEKDAYS, &[r((9, 0), (12, 0))]);
        assert!(!s.has_no_weekly_hours());
        s.set_override(d(2026, 11, 29), &[r((10, 0), (11, 0))]);
        s.clear_weekly();
        assert!(s.has_no_weekly_hours());
        assert!(day_windows(&s, d(2026, 11, 23)).is_empty());
        assert_eq!(
            day_windows(&s, d(2026, 11, 29)),
            vec![iv("2026-11-29T10:00:00Z", "2026-11-29T11:00:00Z")]
        );
    }

    #[test]
    fn an_override_is_found_by_its_date_and_removing_it_brings_the_weekly_hours_back() {
        let mut s = Schedule::new(chrono_tz::UTC);
        s.set_weekly(Days::WEEKDAYS, &[r((9, 0), (12, 0))]);
        let monday = d(2026, 11, 23);
        assert_eq!(s.override_on(monday), None);
        assert!(!s.remove_override(monday), "nothing to remove");
        s.set_override(monday, &[r((13, 0), (14, 0))]);
        assert_eq!(s.override_on(monday), Some(&[r((13, 0), (14, 0))][..]));
        s.set_override(d(2026, 11, 24), &[]);
        assert_eq!(s.override_on(d(2026, 11, 24)), Some(&[][..]));
        assert_eq!(
            s.overrides().collect::<Vec<_>>(),
            [
                (monday, &[r((13, 0), (14, 0))][..]),
                (d(2026, 11, 24), &[][..])
            ],
            "by date"
        );
        assert!(s.remove_override(monday));
        assert_eq!(s.override_on(monday), None);
        assert_eq!(
            day_windows(&s, monday),
            vec![iv("2026-11-23T09:00:00Z", "2026-11-23T12:00:00Z")]
        );
    }

    #[test]
    fn an_override_on_a_day_without_weekly_hours_opens_it() {
        let mut s = Schedule::new(chrono_tz::UTC);
        s.set_weekly(Days::WEEKDAYS, &[r((9, 0), (12, 0))]);
        s.set_override(d(2026, 11, 29), &[r((10, 0), (11, 0))]);
        assert_eq!(
            day_windows(&s, d(2026, 11, 29)),
            vec![iv("2026-11-29T10:00:00Z", "2026-11-29T11:00:00Z")]
        );
    }

    #[test]
    fn an_override_replaces_the_whole_day_and_off_closes_it() {
        let mut s = Schedule::new(chrono_tz::UTC);
        s.set_weekly(Days::EVERYDAY, &[r((9, 0), (17, 0))]);
        s.set_override(d(2026, 11, 24), &[r((13, 0), (14, 0))]);
        s.set_override(d(2026, 11, 25), &[]);
        assert_eq!(
            day_windows(&s, d(2026, 11, 24)),
            vec![iv("2026-11-24T13:00:00Z", "2026-11-24T14:00:00Z")]
        );
        assert!(day_windows(&s, d(2026, 11, 25)).is_empty());
    }

    #[test]
    fn a_past_midnight_range_runs_into_the_next_date_as_one_window() {
        let mut s = Schedule::new(chrono_tz::UTC);
        s.set_weekly(Days::single(Weekday::Mon), &[r((22, 0), (25, 0))]);
        assert_eq!(
            day_windows(&s, d(2026, 11, 23)),
            vec![iv("2026-11-23T22:00:00Z", "2026-11-24T01:00:00Z")]
        );
    }

    #[test]
    fn a_past_midnight_tail_vanishes_when_the_next_date_is_overridden_off() {
        let mut s = Schedule::new(chrono_tz::UTC);
        s.set_weekly(Days::single(Weekday::Mon), &[r((22, 0), (25, 0))]);
        s.set_override(d(2026, 11, 24), &[]);
        assert_eq!(
            day_windows(&s, d(2026, 11, 23)),
            vec![iv("2026-11-23T22:00:00Z", "2026-11-24T00:00:00Z")]
        );
    }

    #[test]
    fn a_past_midnight_tail_vanishes_when_its_own_date_is_overridden() {
        let mut s = Schedule::new(chrono_tz::UTC);
        s.set_weekly(Days::single(Weekday::Mon), &[r((22, 0), (25, 0))]);
        s.set_override(d(2026, 11, 23), &[r((9, 0), (10, 0))]);
        let windows = s.windows(iv("2026-11-23T00:00:00Z", "2026-11-25T00:00:00Z"));
        assert_eq!(
            windows,
            vec![iv("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z")]
        );
    }

    #[test]
    fn touching_ranges_across_midnight_merge_into_one_window() {
        let mut s = Schedule::new(chrono_tz::UTC);
        s.set_weekly(Days::single(Weekday::Mon), &[r((20, 0), (24, 0))]);
        s.set_weekly(Days::single(Weekday::Tue), &[r((0, 0), (2, 0))]);
        assert_eq!(
            day_windows(&s, d(2026, 11, 23)),
            vec![iv("2026-11-23T20:00:00Z", "2026-11-24T02:00:00Z")]
        );
    }

    #[test]
    fn a_new_york_window_across_the_spring_gap_is_an_hour_shorter() {
        let mut s = Schedule::new(chrono_tz::America::New_York);
        s.set_weekly(Days::single(Weekday::Sun), &[r((1, 0), (4, 0))]);
        // 01:00 EST = 06:00Z; 04:00 EDT = 08:00Z: two real hours.
        assert_eq!(
            day_windows(&s, d(2026, 3, 8)),
            vec![iv("2026-03-08T06:00:00Z", "2026-03-08T08:00:00Z")]
        );
    }

    #[test]
    fn a_new_york_window_starting_in_the_gap_starts_when_the_gap_ends() {
        let mut s = Schedule::new(chrono_tz::America::New_York);
        s.set_weekly(Days::single(Weekday::Sun), &[r((2, 30), (5, 0))]);
        assert_eq!(
            day_windows(&s, d(2026, 3, 8)),
            vec![iv("2026-03-08T07:00:00Z", "2026-03-08T09:00:00Z")]
        );
    }

    #[test]
    fn a_new_york_window_across_the_fall_fold_is_an_hour_longer() {
        let mut s = Schedule::new(chrono_tz::America::New_York);
        s.set_weekly(Days::single(Weekday::Sun), &[r((0, 0), (3, 0))]);
        // 00:00 EDT = 04:00Z; 03:00 EST = 08:00Z: four real hours.
        assert_eq!(
            day_windows(&s, d(2026, 11, 1)),
            vec![iv("2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z")]
        );
    }

    #[test]
    fn a_window_inside_the_fold_runs_from_the_first_start_to_the_last_end() {
        let mut s = Schedule::new(chrono_tz::America::New_York);
        s.set_weekly(Days::single(Weekday::Sun), &[r((1, 0), (1, 30))]);
        assert_eq!(
            day_windows(&s, d(2026, 11, 1)),
            vec![iv("2026-11-01T05:00:00Z", "2026-11-01T06:30:00Z")]
        );
    }

    #[test]
    fn london_hours_on_the_spring_change_day_keep_their_wall_times() {
        let mut s = Schedule::new(chrono_tz::Europe::London);
        s.set_weekly(Days::single(Weekday::Sun), &[r((9, 0), (12, 0))]);
        assert_eq!(
            day_windows(&s, d(2026, 3, 29)),
            vec![iv("2026-03-29T08:00:00Z", "2026-03-29T11:00:00Z")]
        );
        assert_eq!(
            day_windows(&s, d(2026, 3, 22)),
            vec![iv("2026-03-22T09:00:00Z", "2026-03-22T12:00:00Z")]
        );
    }

    #[test]
    fn apias_skipped_date_has_no_window_of_its_own() {
        let mut s = Schedule::new(chrono_tz::Pacific::Apia);
        s.set_weekly(Days::EVERYDAY, &[r((9, 0), (17, 0)), r((22, 0), (25, 0))]);
        let windows = s.windows(iv("2011-12-29T00:00:00Z", "2012-01-01T00:00:00Z"));
        // 2011-12-29 was UTC-10, 2011-12-31 UTC+14; 2011-12-30 never happened, so its
        // 09:00-17:00 is gone. Thursday's 22:00 runs to the jump (10:00Z), where Saturday
        // 00:00-01:00 (the tail of the skipped Friday's range) carries on to 11:00Z.
        assert!(windows.contains(&iv("2011-12-29T19:00:00Z", "2011-12-30T03:00:00Z")));
        assert!(windows.contains(&iv("2011-12-30T08:00:00Z", "2011-12-30T11:00:00Z")));
        assert!(windows.contains(&iv("2011-12-30T19:00:00Z", "2011-12-31T03:00:00Z")));
        let skipped = iv("2011-12-30T11:00:00Z", "2011-12-30T19:00:00Z");
        assert!(windows.iter().all(|w| !w.overlaps(&skipped)), "{windows:?}");
    }

    #[test]
    fn windows_do_not_depend_on_the_span_asked_for() {
        let mut s = Schedule::new(chrono_tz::America::New_York);
        s.set_weekly(Days::EVERYDAY, &[r((0, 0), (24, 0))]);
        let week = s.windows(iv("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"));
        let day = s.windows(iv("2026-11-04T12:00:00Z", "2026-11-04T13:00:00Z"));
        assert_eq!(day.len(), 1);
        assert!(week.contains(&day[0]), "{day:?} not in {week:?}");
        // Round-the-clock availability restarts at each local midnight.
        assert_eq!(day[0], iv("2026-11-04T05:00:00Z", "2026-11-05T05:00:00Z"));
    }

    #[test]
    fn round_the_clock_pieces_do_not_overlap_where_midnight_happens_twice() {
        // Havana falls back from 01:00 CDT to 00:00 CST on 2015-11-01: midnight twice.
        let mut s = Schedule::new(chrono_tz::America::Havana);
        s.set_weekly(Days::EVERYDAY, &[r((0, 0), (24, 0))]);
        let windows = s.windows(iv("2015-10-30T00:00:00Z", "2015-11-03T00:00:00Z"));
        for pair in windows.windows(2) {
            assert!(pair[0].end() <= pair[1].start(), "{pair:?}");
        }
        assert!(windows.contains(&iv("2015-10-31T04:00:00Z", "2015-11-01T04:00:00Z")));
        assert!(windows.contains(&iv("2015-11-01T04:00:00Z", "2015-11-02T05:00:00Z")));
    }
}
