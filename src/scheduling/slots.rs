//! Free slots: the slot policy applied to a schedule's windows and a person's busy time.
//!
//! A slot is `[start, start + session)`. Slots start at each window's own start and step by
//! `session + buffer`. A slot is offered only if (commands.md, "Slots"):
//! 1. it lies entirely inside one window;
//! 2. it starts at or after `now + min_notice` and before `now + horizon`;
//! 3. it does not overlap the mentor's busy time (bookings as mentor or mentee), each
//!    interval widened by the buffer on both sides;
//! 4. it does not overlap external busy time (a calendar), widened by the buffer;
//! 5. the mentor's `max_per_day` (on the local day of the slot's start) is not reached.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::availability::Schedule;
use super::interval::{Interval, OverlapCursor, merge};
use super::local_time::local_date;

/// How a mentor's slots are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotPolicy {
    /// Length of one session.
    pub session: Duration,
    /// Free time kept before and after every busy interval; also added to the grid step.
    pub buffer: Duration,
    /// Slots start at or after `now + min_notice`.
    pub min_notice: Duration,
    /// Slots start before `now + horizon`.
    pub horizon: Duration,
    /// At most this many of the mentor's bookings (as mentor) on one local day.
    pub max_per_day: Option<u32>,
}

impl SlotPolicy {
    /// The distance between two consecutive slot starts in a window.
    pub fn step(&self) -> Duration {
        self.session + self.buffer
    }
}

impl Default for SlotPolicy {
    /// New mentors: 30-minute sessions, no buffer, 2 hours' notice, 30 days ahead, no cap.
    fn default() -> Self {
        SlotPolicy {
            session: Duration::minutes(30),
            buffer: Duration::zero(),
            min_notice: Duration::hours(2),
            horizon: Duration::days(30),
            max_per_day: None,
        }
    }
}

/// Everything slot generation depends on for one mentor.
#[derive(Debug, Clone, Copy)]
pub struct SlotInputs<'a> {
    /// The mentor's schedule (zone, weekly ranges, overrides).
    pub schedule: &'a Schedule,
    /// The mentor's policy.
    pub policy: &'a SlotPolicy,
    /// The mentor's active bookings, as mentor or mentee (not widened).
    pub busy: &'a [Interval],
    /// Busy times from the mentor's external calendar, without mentorbot's own events.
    pub external_busy: &'a [Interval],
    /// Starts of the mentor's active bookings as mentor, for `max_per_day`.
    pub booked_starts: &'a [DateTime<Utc>],
    /// The current instant.
    pub now: DateTime<Utc>,
}

/// Which rules to apply; booking validation turns some off to tell users *why* a start is
/// refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    pub busy: bool,
    pub daily_cap: bool,
}

impl Rules {
    pub const ALL: Rules = Rules {
        busy: true,
        daily_cap: true,
    };
    pub const GRID_ONLY: Rules = Rules {
        busy: false,
        daily_cap: false,
    };
}

/// The free slots whose start lies in `span`, sorted and non-overlapping.
pub fn free_slots(inputs: &SlotInputs<'_>, span: Interval) -> Vec<Interval> {
    slots_with(inputs, span, Rules::ALL)
}

/// The earliest free slot starting in `span`, if any.
pub fn first_free_slot(inputs: &SlotInputs<'_>, span: Interval) -> Option<Interval> {
    free_slots(inputs, span).into_iter().next()
}

pub(crate) fn slots_with(inputs: &SlotInputs<'_>, span: Interval, rules: Rules) -> Vec<Interval> {
    let policy = inputs.policy;
    let (Some(earliest), Some(latest)) = (
        inputs.now.checked_add_signed(policy.min_notice),
        inputs.now.checked_add_signed(policy.horizon),
    ) else {
        return Vec::new();
    };
    let Some(span) = Interval::new(span.start().max(earliest), span.end().min(latest)) else {
        return Vec::new();
    };
    let step = policy.step();
    if policy.session <= Duration::zero() || step <= Duration::zero() {
        return Vec::new();
    }

    // Only busy time that can touch a slot starting in the span matters; filtering before
    // the sort keeps a one-day picker cheap for a mentor with a long calendar.
    let reach = span.widened(policy.buffer);
    let reach = Interval::new(reach.start(), reach.end() + policy.session).unwrap_or(reach);
    let busy = if rules.busy {
        merge(
            inputs
                .busy
                .iter()
                .chain(inputs.external_busy)
                .filter(|b| b.overlaps(&reach))
                .map(|b| b.widened(policy.buffer))
                .collect(),
        )
    } else {
        Vec::new()
    };
    let mut busy_cursor = OverlapCursor::new(&busy);

    let tz = inputs.schedule.tz();
    // Local days of slots in the span lie within a day of it (offsets stay under 26 h).
    let days_reach = span.widened(Duration::hours(26));
    let per_day: HashMap<NaiveDate, u32> = match policy.max_per_day {
        Some(_) if rules.daily_cap => {
            let mut counts = HashMap::new();
            for start in inputs
                .booked_starts
                .iter()
                .filter(|s| days_reach.contains_instant(**s))
            {
                *counts.entry(local_date(tz, *start)).or_insert(0) += 1;
            }
            counts
        }
        _ => HashMap::new(),
    };
    let day_is_full = |start: DateTime<Utc>| match policy.max_per_day {
        Some(cap) if rules.daily_cap => {
            per_day.get(&local_date(tz, start)).copied().unwrap_or(0) >= cap
        }
        _ => false,
    };

    let step_seconds = step.num_seconds();
    let mut slots = Vec::new();
    for window in inputs.schedule.windows(span) {
        // Jump to the first grid point at or after the span's start.
        let mut start = window.start();
        if start < span.start() {
            let behind = (span.start() - start).num_seconds();
            start += Duration::seconds(behind / step_seconds * step_seconds);
            // `now` may carry fractions of a second: finish the jump step by step.
            while start < span.start() {
                start += step;
            }
        }
        while start < span.end() {
            let Some(slot) = Interval::starting_at(start, policy.session) else {
                break;
            };
            if !window.contains(&slot) {
                break;
            }
            if !busy_cursor.overlaps(&slot) && !day_is_full(start) {
                slots.push(slot);
            }
            start += step;
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::hours::{Days, LocalRange};
    use crate::scheduling::test_support::{iv, r, utc};
    use chrono::Weekday;

    fn starts(slots: &[Interval]) -> Vec<String> {
        slots
            .iter()
            .map(|s| s.start().format("%m-%dT%H:%M").to_string())
            .collect()
    }

    fn inputs<'a>(schedule: &'a Schedule, policy: &'a SlotPolicy, now: &str) -> SlotInputs<'a> {
        SlotInputs {
            schedule,
            policy,
            busy: &[],
            external_busy: &[],
            booked_starts: &[],
            now: utc(now),
        }
    }

    fn weekday_mornings(tz: chrono_tz::Tz) -> Schedule {
        let mut s = Schedule::new(tz);
        s.set_weekly(Days::WEEKDAYS, &[r((9, 0), (12, 0))]);
        s
    }

    #[test]
    fn slots_step_through_each_window_from_its_start() {
        let s = weekday_mornings(chrono_tz::UTC);
        let p = SlotPolicy::default();
        let slots = free_slots(
            &inputs(&s, &p, "2026-11-20T00:00:00Z"),
            iv("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
        );
        assert_eq!(
            starts(&slots),
            [
                "11-23T09:00",
                "11-23T09:30",
                "11-23T10:00",
                "11-23T10:30",
                "11-23T11:00",
                "11-23T11:30"
            ]
        );
    }

    #[test]
    fn the_first_free_slot_is_the_earliest_one_and_none_when_there_is_none() {
        let s = weekday_mornings(chrono_tz::UTC);
        let p = SlotPolicy::default();
        let busy = [iv("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z")];
        let first = first_free_slot(
            &SlotInputs {
                busy: &busy,
                ..inputs(&s, &p, "2026-11-20T00:00:00Z")
            },
            iv("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
        );
        assert_eq!(
            first,
            Some(iv("2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z"))
        );
        let weekend = iv("2026-11-28T00:00:00Z", "2026-11-30T00:00:00Z");
        assert_eq!(
            first_free_slot(&inputs(&s, &p, "2026-11-20T00:00:00Z"), weekend),
            None
        );
    }

    #[test]
    fn a_policy_whose_step_is_not_positive_offers_nothing_instead_of_looping() {
        let s = weekday_mornings(chrono_tz::UTC);
        let day = iv("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z");
        for buffer in [-30, -45] {
            let p = SlotPolicy {
                buffer: Duration::minutes(buffer),
                ..SlotPolicy::default()
            };
            assert!(p.step() <= Duration::zero());
            assert!(free_slots(&inputs(&s, &p, "2026-11-20T00:00:00Z"), day).is_empty());
        }
    }

    #[test]
    fn a_buffer_widens_the_step_and_keeps_distance_from_bookings() {
        let s = weekday_mornings(chrono_tz::UTC);
        let p = SlotPolicy {
            buffer: Duration::minutes(15),
            ..SlotPolicy::default()
        };
        let busy = [iv("2026-11-23T10:45:00Z", "2026-11-23T11:15:00Z")];
        let slots = free_slots(
            &SlotInputs {
                busy: &busy,
                ..inputs(&s, &p, "2026-11-20T00:00:00Z")
            },
            iv("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
        );
        // Grid 09:00, 09:45, 10:30, 11:15; busy 10:30-11:30 after widening.
        assert_eq!(starts(&slots), ["11-23T09:00", "11-23T09:45"]);
    }

    #[test]
    fn an_override_of_quarter_past_nine_offers_quarter_past_nine() {
        let mut s = weekday_mornings(chrono_tz::Europe::Berlin);
        s.set_override(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            &[r((9, 15), (9, 45))],
        );
        let p = SlotPolicy::default();
        let slots = free_slots(
            &inputs(&s, &p, "2026-11-20T00:00:00Z"),
            iv("2026-11-22T23:00:00Z", "2026-11-23T23:00:00Z"),
        );
        assert_eq!(starts(&slots), ["11-23T08:15"]);
    }

    #[test]
    fn min_notice_hides_slots_too_soon_without_shifting_the_grid() {
        let s = weekday_mornings(chrono_tz::UTC);
        let p = SlotPolicy::default();
        let slots = free_slots(
            &inputs(&s, &p, "2026-11-23T07:40:00Z"),
            iv("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
        );
        assert_eq!(starts(&slots)[0], "11-23T10:00");
    }

    #[test]
    fn min_notice_counts_real_hours_across_the_spring_change() {
        // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT. At 00:30 EST (05:30Z) a
        // 2-hour notice ends at 07:30Z = 03:30 EDT, not at 02:30 wall time.
        let mut s = Schedule::new(chrono_tz::America::New_York);
        s.set_weekly(Days::single(Weekday::Sun), &[r((0, 0), (6, 0))]);
        let p = SlotPolicy::default();
        let slots = free_slots(
            &inputs(&s, &p, "2026-03-08T05:30:00Z"),
            iv("2026-03-08T05:00:00Z", "2026-03-09T05:00:00Z"),
        );
        assert_eq!(starts(&slots)[0], "03-08T07:30");
        assert_eq!(slots.last().unwrap().end(), utc("2026-03-08T10:00:00Z"));
    }

    #[test]
    fn the_spring_change_day_never_offers_a_one_pm_slot_at_two() {
        // Cal.com's bug: on the change day it offered 13:00 at 14:00. Here a 13:00 EDT
        // slot is 17:00Z, while 13:00 EST the Sunday before is 18:00Z.
        let mut s = Schedule::new(chrono_tz::America::New_York);
        s.set_weekly(Days::single(Weekday::Sun), &[r((13, 0), (14, 0))]);
        let p = SlotPolicy::default();
        let slots = free_slots(
            &inputs(&s, &p, "2026-02-20T00:00:00Z"),
            iv("2026-03-01T00:00:00Z", "2026-03-09T00:00:00Z"),
        );
        assert_eq!(
            starts(&slots),
            ["03-01T18:00", "03-01T18:30", "03-08T17:00", "03-08T17:30"]
        );
    }

    #[test]
    fn a_window_across_the_fall_fold_offers_the_extra_hour() {
        let mut s = Schedule::new(chrono_tz::America::New_York);
        s.set_weekly(Days::single(Weekday::Sun), &[r((1, 0), (2, 0))]);
        let p = SlotPolicy {
            session: Duration::minutes(60),
            ..SlotPolicy::default()
        };
        let slots = free_slots(
            &inputs(&s, &p, "2026-10-20T00:00:00Z"),
            iv("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        );
        // 01:00 EDT (05:00Z) to 02:00 EST (07:00Z): two hours of real time.
        assert_eq!(starts(&slots), ["11-01T05:00", "11-01T06:00"]);
    }

    #[test]
    fn kathmandu_slots_land_on_its_quarter_hour_offset() {
        let s = weekday_mornings(chrono_tz::Asia::Kathmandu);
        let p = SlotPolicy::default();
        let slots = free_slots(
            &inputs(&s, &p, "2026-11-20T00:00:00Z"),
            iv("2026-11-23T00:00:00Z", "2026-11-23T06:15:00Z"),
        );
        assert_eq!(starts(&slots)[0], "11-23T03:15");
        assert_eq!(slots.len(), 6);
    }

    #[test]
    fn lord_howe_slots_follow_its_half_hour_change() {
        // 2026-10-04: 02:00 LHST (+10:30) becomes 02:30 LHDT (+11).
        let mut s = Schedule::new(chrono_tz::Australia::Lord_Howe);
        s.set_weekly(Days::single(Weekday::Sun), &[r((1, 0), (4, 0))]);
        let p = SlotPolicy {
            session: Duration::minutes(60),
            ..SlotPolicy::default()
        };
        let slots = free_slots(
            &inputs(&s, &p, "2026-09-20T00:00:00Z"),
            iv("2026-10-03T12:00:00Z", "2026-10-04T12:00:00Z"),
        );
        // 01:00 LHST = 14:30Z; 04:00 LHDT = 17:00Z: two and a half real hours, two slots.
        assert_eq!(starts(&slots), ["10-03T14:30", "10-03T15:30"]);
    }

    #[test]
    fn a_now_with_fractions_of_a_second_never_offers_a_slot_before_the_notice() {
        let s = weekday_mornings(chrono_tz::UTC);
        let p = SlotPolicy {
            min_notice: Duration::zero(),
            ..SlotPolicy::default()
        };
        let now = utc("2026-11-23T09:00:00Z") + Duration::nanoseconds(1);
        let slots = free_slots(
            &inputs(&s, &p, "2026-11-23T00:00:00Z"),
            iv("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
        );
        assert_eq!(slots[0].start(), utc("2026-11-23T09:00:00Z"));
        let slots = free_slots(
            &SlotInputs {
                now,
                ..inputs(&s, &p, "2026-11-23T00:00:00Z")
            },
            iv("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
        );
        assert_eq!(slots[0].start(), utc("2026-11-23T09:30:00Z"));
    }

    #[test]
    fn the_horizon_ends_the_offer() {
        let s = weekday_mornings(chrono_tz::UTC);
        let p = SlotPolicy {
            horizon: Duration::days(1),
            ..SlotPolicy::default()
        };
        let slots = free_slots(
            &inputs(&s, &p, "2026-11-23T10:00:00Z"),
            iv("2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"),
        );
        assert_eq!(slots.last().unwrap().start(), utc("2026-11-24T09:30:00Z"));
    }

    #[test]
    fn external_busy_time_removes_overlapping_slots() {
        let s = weekday_mornings(chrono_tz::UTC);
        let p = SlotPolicy::default();
        let external = [iv("2026-11-23T09:10:00Z", "2026-11-23T10:05:00Z")];
        let slots = free_slots(
            &SlotInputs {
                external_busy: &external,
                ..inputs(&s, &p, "2026-11-20T00:00:00Z")
            },
            iv("2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
        );
        assert_eq!(
            starts(&slots),
            ["11-23T10:30", "11-23T11:00", "11-23T11:30"]
        );
    }

    #[test]
    fn a_full_day_offers_nothing_more_but_the_next_day_does() {
        let s = weekday_mornings(chrono_tz::UTC);
        let p = SlotPolicy {
            max_per_day: Some(1),
            ..SlotPolicy::default()
        };
        let busy = [iv("2026-11-23T09:00:00Z", "2026-11-23T09:30:00Z")];
        let booked = [utc("2026-11-23T09:00:00Z")];
        let slots = free_slots(
            &SlotInputs {
                busy: &busy,
                booked_starts: &booked,
                ..inputs(&s, &p, "2026-11-20T00:00:00Z")
            },
            iv("2026-11-23T00:00:00Z", "2026-11-25T00:00:00Z"),
        );
        assert!(
            slots
                .iter()
                .all(|s| s.start() >= utc("2026-11-24T00:00:00Z"))
        );
        assert_eq!(slots.len(), 6);
    }

    /// One row of the DST and timezone table: a schedule, a policy, `now`, the local dates
    /// asked for, and the slot starts expected, written with their local offsets.
    struct Row {
        name: &'static str,
        tz: chrono_tz::Tz,
        weekly: &'static [(Days, u16, u16)],
        overrides: &'static [(&'static str, &'static [(u16, u16)])],
        session: i64,
        notice_hours: i64,
        now: &'static str,
        dates: (&'static str, &'static str),
        expected: &'static [&'static str],
    }

    const fn hm(h: u16, m: u16) -> u16 {
        h * 60 + m
    }

    const SUN: Days = Days::from_bits(0b100_0000);
    const MON: Days = Days::from_bits(0b000_0001);

    const TABLE: &[Row] = &[
        Row {
            name: "New York spring gap: a 01:00-04:00 window holds two real hours",
            tz: chrono_tz::America::New_York,
            weekly: &[(SUN, hm(1, 0), hm(4, 0))],
            overrides: &[],
            session: 60,
            notice_hours: 2,
            now: "2026-03-01T00:00:00Z",
            dates: ("2026-03-08", "2026-03-08"),
            expected: &["2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"],
        },
        Row {
            name: "New York fall fold: 01:00-02:00 holds the repeated hour too",
            tz: chrono_tz::America::New_York,
            weekly: &[(SUN, hm(1, 0), hm(2, 0))],
            overrides: &[],
            session: 60,
            notice_hours: 2,
            now: "2026-10-25T00:00:00Z",
            dates: ("2026-11-01", "2026-11-01"),
            expected: &["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"],
        },
        Row {
            name: "London spring change: 00:30-02:30 loses the skipped hour",
            tz: chrono_tz::Europe::London,
            weekly: &[(SUN, hm(0, 30), hm(2, 30))],
            overrides: &[],
            session: 60,
            notice_hours: 2,
            now: "2026-03-22T00:00:00Z",
            dates: ("2026-03-29", "2026-03-29"),
            expected: &["2026-03-29T00:30:00+00:00"],
        },
        Row {
            name: "Lord Howe shifts by thirty minutes",
            tz: chrono_tz::Australia::Lord_Howe,
            weekly: &[(SUN, hm(1, 0), hm(4, 0))],
            overrides: &[],
            session: 60,
            notice_hours: 2,
            now: "2026-09-27T00:00:00Z",
            dates: ("2026-10-04", "2026-10-04"),
            expected: &["2026-10-04T01:00:00+10:30", "2026-10-04T02:30:00+11:00"],
        },
        Row {
            name: "Kathmandu keeps +05:45",
            tz: chrono_tz::Asia::Kathmandu,
            weekly: &[(MON, hm(9, 0), hm(10, 0))],
            overrides: &[],
            session: 30,
            notice_hours: 2,
            now: "2026-11-16T00:00:00Z",
            dates: ("2026-11-23", "2026-11-23"),
            expected: &["2026-11-23T09:00:00+05:45", "2026-11-23T09:30:00+05:45"],
        },
        Row {
            name: "Apia skipped 2011-12-30: no slots that date",
            tz: chrono_tz::Pacific::Apia,
            weekly: &[(Days::EVERYDAY, hm(9, 0), hm(17, 0))],
            overrides: &[],
            session: 240,
            notice_hours: 2,
            now: "2011-12-20T00:00:00Z",
            dates: ("2011-12-29", "2011-12-31"),
            expected: &[
                "2011-12-29T09:00:00-10:00",
                "2011-12-29T13:00:00-10:00",
                "2011-12-31T09:00:00+14:00",
                "2011-12-31T13:00:00+14:00",
            ],
        },
        Row {
            name: "an override opens a day without weekly hours",
            tz: chrono_tz::UTC,
            weekly: &[(Days::WEEKDAYS, hm(9, 0), hm(12, 0))],
            overrides: &[("2026-11-29", &[(hm(10, 0), hm(11, 0))])],
            session: 30,
            notice_hours: 2,
            now: "2026-11-23T00:00:00Z",
            dates: ("2026-11-29", "2026-11-29"),
            expected: &["2026-11-29T10:00:00+00:00", "2026-11-29T10:30:00+00:00"],
        },
        Row {
            name: "a past-midnight range loses its tail when the next day is off",
            tz: chrono_tz::UTC,
            weekly: &[(MON, hm(22, 0), hm(25, 0))],
            overrides: &[("2026-11-24", &[])],
            session: 30,
            notice_hours: 2,
            now: "2026-11-16T00:00:00Z",
            dates: ("2026-11-23", "2026-11-24"),
            expected: &[
                "2026-11-23T22:00:00+00:00",
                "2026-11-23T22:30:00+00:00",
                "2026-11-23T23:00:00+00:00",
                "2026-11-23T23:30:00+00:00",
            ],
        },
        Row {
            name: "an override of 09:15-09:45 offers 09:15",
            tz: chrono_tz::Europe::Berlin,
            weekly: &[(Days::WEEKDAYS, hm(9, 0), hm(17, 0))],
            overrides: &[("2026-11-25", &[(hm(9, 15), hm(9, 45))])],
            session: 30,
            notice_hours: 2,
            now: "2026-11-23T00:00:00Z",
            dates: ("2026-11-25", "2026-11-25"),
            expected: &["2026-11-25T09:15:00+01:00"],
        },
        Row {
            name: "min notice counts real hours across the New York spring change",
            tz: chrono_tz::America::New_York,
            weekly: &[(SUN, hm(0, 0), hm(4, 30))],
            overrides: &[],
            session: 30,
            notice_hours: 2,
            now: "2026-03-08T05:30:00Z",
            dates: ("2026-03-08", "2026-03-08"),
            expected: &["2026-03-08T03:30:00-04:00", "2026-03-08T04:00:00-04:00"],
        },
    ];

    #[test]
    fn the_dst_and_timezone_table_offers_exactly_the_expected_slots() {
        use crate::scheduling::local_time::{end_instant, start_instant};
        for row in TABLE {
            let mut schedule = Schedule::new(row.tz);
            for (days, start, end) in row.weekly {
                schedule.set_weekly(*days, &[LocalRange::new(*start, *end).unwrap()]);
            }
            for (date, ranges) in row.overrides {
                let ranges: Vec<_> = ranges
                    .iter()
                    .map(|(a, b)| LocalRange::new(*a, *b).unwrap())
                    .collect();
                schedule.set_override(date.parse().unwrap(), &ranges);
            }
            let policy = SlotPolicy {
                session: Duration::minutes(row.session),
                min_notice: Duration::hours(row.notice_hours),
                ..SlotPolicy::default()
            };
            let first = row.dates.0.parse().unwrap();
            let last = row.dates.1.parse().unwrap();
            let span = Interval::new(
                start_instant(row.tz, first, 0).unwrap(),
                end_instant(row.tz, last, 24 * 60).unwrap(),
            )
            .unwrap();
            let slots = free_slots(&inputs(&schedule, &policy, row.now), span);
            let got: Vec<String> = slots
                .iter()
                .map(|s| s.start().with_timezone(&row.tz).to_rfc3339())
                .collect();
            assert_eq!(got, row.expected, "{}", row.name);
            assert!(
                slots.iter().all(|s| s.duration() == policy.session),
                "{}: every slot is one session of real time",
                row.name
            );
        }
    }
}
