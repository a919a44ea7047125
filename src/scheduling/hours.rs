//! Wall-clock value types: a set of weekdays and a range of wall times on a local date.

use chrono::Weekday;
use std::fmt;

/// Minutes in a day.
pub const DAY_MINUTES: u16 = 24 * 60;

/// A set of weekdays (bit 0 = Monday … bit 6 = Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Days(u8);

impl Days {
    /// No day at all.
    pub const NONE: Days = Days(0);
    /// Monday to Friday.
    pub const WEEKDAYS: Days = Days(0b001_1111);
    /// Saturday and Sunday.
    pub const WEEKENDS: Days = Days(0b110_0000);
    /// All seven days.
    pub const EVERYDAY: Days = Days(0b111_1111);

    /// The set with these bits (bit 0 = Monday … bit 6 = Sunday; higher bits ignored).
    pub const fn from_bits(bits: u8) -> Days {
        Days(bits & 0b111_1111)
    }

    /// The set holding just `day`.
    pub fn single(day: Weekday) -> Days {
        Days(1 << day.num_days_from_monday())
    }

    /// `from` to `to` inclusive, wrapping past Sunday (`fri-mon` is Fri, Sat, Sun, Mon).
    pub fn span(from: Weekday, to: Weekday) -> Days {
        let mut days = Days::NONE;
        let mut day = from;
        loop {
            days = days.with(day);
            if day == to {
                return days;
            }
            day = day.succ();
        }
    }

    /// This set plus `day`.
    pub fn with(self, day: Weekday) -> Days {
        Days(self.0 | Days::single(day).0)
    }

    /// The union of two sets.
    pub fn union(self, other: Days) -> Days {
        Days(self.0 | other.0)
    }

    /// True when `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Days::single(day).0 != 0
    }

    /// True when the set holds no day.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The days in the set, Monday first.
    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        (0..7u8)
            .filter(move |bit| self.0 & (1 << bit) != 0)
            .filter_map(|bit| Weekday::try_from(bit).ok())
    }
}

impl fmt::Display for Days {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.iter().map(|d| d.to_string()).collect();
        f.write_str(&names.join(", "))
    }
}

/// A range of wall-clock times starting on one local date, in minutes after that date's
/// midnight: `start < 1440` and `start < end <= start + 1440`. An `end` of 1440 is `24:00`;
/// an `end` past 1440 runs past midnight into the next date (`22:00-01:00` is 1320..1500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalRange {
    start: u16,
    end: u16,
}

impl LocalRange {
    /// The range, or `None` when the bounds break the invariant above.
    pub fn new(start: u16, end: u16) -> Option<LocalRange> {
        (start < DAY_MINUTES && start < end && end <= start + DAY_MINUTES)
            .then_some(LocalRange { start, end })
    }

    /// Minutes after midnight at which the range starts.
    pub fn start(&self) -> u16 {
        self.start
    }

    /// Minutes after the start date's midnight at which it ends (may exceed 1440).
    pub fn end(&self) -> u16 {
        self.end
    }

    /// Length in minutes.
    pub fn minutes(&self) -> u16 {
        self.end - self.start
    }

    /// True when the range ends after 24:00, on the next date.
    pub fn crosses_midnight(&self) -> bool {
        self.end > DAY_MINUTES
    }

    /// The part on the start date: `[start, min(end, 24:00))`.
    pub fn same_day_part(&self) -> LocalRange {
        LocalRange {
            start: self.start,
            end: self.end.min(DAY_MINUTES),
        }
    }

    /// The part after midnight, on the next date: `[00:00, end - 24:00)`.
    pub fn next_day_part(&self) -> Option<LocalRange> {
        LocalRange::new(0, self.end.checked_sub(DAY_MINUTES)?)
    }
}

/// Formats minutes after midnight as `HH:MM` (1440 as `24:00`).
pub fn format_minutes(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl fmt::Display for LocalRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = if self.crosses_midnight() {
            self.end - DAY_MINUTES
        } else {
            self.end
        };
        write!(f, "{}-{}", format_minutes(self.start), format_minutes(end))
    }
}

/// Sorts ranges and merges overlapping or touching ones (on the start date's extended
/// timeline, so a past-midnight range merges with nothing on the next date). Returns the
/// merged ranges and whether anything was merged. Two ranges whose union would last more
/// than a day stay apart (`00:00-24:00, 22:00-02:00`): no time is lost, and the windows
/// they make are merged later, as instants.
pub fn merge_ranges(mut ranges: Vec<LocalRange>) -> (Vec<LocalRange>, bool) {
    ranges.sort_unstable();
    let before = ranges.len();
    let mut merged: Vec<LocalRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last)
                if range.start <= last.end
                    && last.end.max(range.end) <= last.start + DAY_MINUTES =>
            {
                last.end = last.end.max(range.end);
            }
            _ => merged.push(range),
        }
    }
    let changed = merged.len() != before;
    (merged, changed)
}

/// Formats ranges as `09:00-12:00, 14:00-17:30`, or `off` when there are none.
pub fn format_ranges(ranges: &[LocalRange]) -> String {
    if ranges.is_empty() {
        return "off".to_owned();
    }
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u16, end: u16) -> LocalRange {
        LocalRange::new(start, end).unwrap()
    }

    #[test]
    fn a_range_past_midnight_shows_its_end_on_the_clock() {
        assert_eq!(r(22 * 60, 25 * 60).to_string(), "22:00-01:00");
        assert_eq!(r(9 * 60, 24 * 60).to_string(), "09:00-24:00");
    }

    #[test]
    fn a_range_splits_into_its_same_day_part_and_its_tail() {
        let range = r(22 * 60, 25 * 60 + 30);
        assert_eq!(range.same_day_part(), r(22 * 60, 24 * 60));
        assert_eq!(range.next_day_part(), Some(r(0, 90)));
        assert_eq!(r(9 * 60, 24 * 60).next_day_part(), None);
    }

    #[test]
    fn overlapping_and_touching_ranges_merge_and_say_so() {
        let (merged, changed) =
            merge_ranges(vec![r(540, 720), r(700, 800), r(800, 900), r(1000, 1100)]);
        assert_eq!(merged, vec![r(540, 900), r(1000, 1100)]);
        assert!(changed);
        let (_, changed) = merge_ranges(vec![r(540, 600), r(660, 720)]);
        assert!(!changed);
    }

    #[test]
    fn ranges_whose_union_would_pass_a_day_stay_apart_and_lose_nothing() {
        let (merged, changed) = merge_ranges(vec![r(0, 1440), r(1320, 1560)]);
        assert_eq!(merged, vec![r(0, 1440), r(1320, 1560)]);
        assert!(!changed);
    }

    #[test]
    fn a_span_of_days_wraps_past_sunday() {
        let days = Days::span(Weekday::Fri, Weekday::Mon);
        let list: Vec<_> = days.iter().collect();
        assert_eq!(
            list,
            vec![Weekday::Mon, Weekday::Fri, Weekday::Sat, Weekday::Sun]
        );
    }
}
