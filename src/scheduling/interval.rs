//! Half-open UTC intervals `[start, end)` and the few operations the scheduler needs.

use chrono::{DateTime, Duration, Utc};

/// A half-open span of time `[start, end)` between two UTC instants; never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Interval {
    /// The interval `[start, end)`, or `None` when `end <= start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }

    /// The interval `[start, start + length)`, or `None` when `length` is not positive.
    pub fn starting_at(start: DateTime<Utc>, length: Duration) -> Option<Self> {
        Self::new(start, start.checked_add_signed(length)?)
    }

    /// First instant inside the interval.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// First instant after the interval.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// `end - start`.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    /// True when the two intervals share at least one instant (touching is not overlapping).
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// True when `other` lies entirely inside `self`.
    pub fn contains(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// True when `instant` lies inside `[start, end)`.
    pub fn contains_instant(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }

    /// The interval grown by `margin` on both sides (saturating at chrono's limits).
    pub fn widened(&self, margin: Duration) -> Interval {
        Interval {
            start: self.start.checked_sub_signed(margin).unwrap_or(self.start),
            end: self.end.checked_add_signed(margin).unwrap_or(self.end),
        }
    }
}

/// Sorts intervals and merges the ones that overlap or touch, so the result is sorted,
/// disjoint and separated by gaps.
pub fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.sort_unstable();
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match merged.last_mut() {
            Some(last) if interval.start <= last.end => {
                if interval.end > last.end {
                    last.end = interval.end;
                }
            }
            _ => merged.push(interval),
        }
    }
    merged
}

/// `busy` minus every interval of `own`.
pub fn subtract_all(busy: &[Interval], own: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for b in busy {
        let mut pieces = vec![*b];
        for o in own.iter().filter(|o| o.overlaps(b)) {
            pieces = pieces
                .into_iter()
                .flat_map(|p| {
                    let before = Interval::new(p.start(), o.start().min(p.end()));
                    let after = Interval::new(o.end().max(p.start()), p.end());
                    [before, after].into_iter().flatten()
                })
                .collect();
        }
        out.extend(pieces);
    }
    out
}

/// A cursor over sorted, disjoint intervals for overlap checks with queries that arrive in
/// ascending order: each check is amortised O(1).
#[derive(Debug)]
pub struct OverlapCursor<'a> {
    sorted: &'a [Interval],
    next: usize,
}

impl<'a> OverlapCursor<'a> {
    /// `sorted` must be sorted and disjoint, as [`merge`] returns it.
    pub fn new(sorted: &'a [Interval]) -> Self {
        Self { sorted, next: 0 }
    }

    /// True when `query` overlaps any interval. Queries must come with non-decreasing starts.
    pub fn overlaps(&mut self, query: &Interval) -> bool {
        while let Some(current) = self.sorted.get(self.next) {
            if current.end <= query.start {
                self.next += 1;
            } else {
                return current.start < query.end;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, h, m, 0).unwrap()
    }

    fn iv(a: (u32, u32), b: (u32, u32)) -> Interval {
        Interval::new(at(a.0, a.1), at(b.0, b.1)).unwrap()
    }

    #[test]
    fn an_interval_must_not_be_empty() {
        assert!(Interval::new(at(9, 0), at(9, 0)).is_none());
        assert!(Interval::new(at(10, 0), at(9, 0)).is_none());
    }

    #[test]
    fn touching_intervals_do_not_overlap_but_any_shared_minute_does() {
        assert!(!iv((9, 0), (10, 0)).overlaps(&iv((10, 0), (11, 0))));
        assert!(iv((9, 0), (10, 1)).overlaps(&iv((10, 0), (11, 0))));
        assert!(iv((9, 0), (12, 0)).overlaps(&iv((10, 0), (10, 30))));
    }

    #[test]
    fn merge_joins_overlapping_and_touching_intervals_and_sorts() {
        let merged = merge(vec![
            iv((13, 0), (14, 0)),
            iv((9, 0), (10, 0)),
            iv((10, 0), (11, 0)),
            iv((9, 30), (9, 45)),
            iv((15, 0), (16, 0)),
        ]);
        assert_eq!(
            merged,
            vec![
                iv((9, 0), (11, 0)),
                iv((13, 0), (14, 0)),
                iv((15, 0), (16, 0))
            ]
        );
    }

    #[test]
    fn the_cursor_finds_overlaps_for_ascending_queries() {
        let busy = merge(vec![iv((9, 0), (10, 0)), iv((12, 0), (13, 0))]);
        let mut cursor = OverlapCursor::new(&busy);
        assert!(!cursor.overlaps(&iv((8, 0), (9, 0))));
        assert!(cursor.overlaps(&iv((9, 30), (10, 30))));
        assert!(!cursor.overlaps(&iv((10, 0), (12, 0))));
        assert!(cursor.overlaps(&iv((12, 59), (13, 30))));
        assert!(!cursor.overlaps(&iv((13, 0), (14, 0))));
    }

    #[test]
    fn widening_grows_both_sides() {
        let widened = iv((10, 0), (11, 0)).widened(Duration::minutes(15));
        assert_eq!(widened, iv((9, 45), (11, 15)));
    }

    fn rfc(start: &str, end: &str) -> Interval {
        let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc));
        Interval::new(parse(start).unwrap(), parse(end).unwrap()).unwrap()
    }

    #[test]
    fn own_event_times_are_cut_out_of_google_busy_times() {
        let busy = [rfc("2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z")];
        let own = [rfc("2026-12-01T09:30:00Z", "2026-12-01T10:00:00Z")];
        assert_eq!(
            subtract_all(&busy, &own),
            vec![
                rfc("2026-12-01T09:00:00Z", "2026-12-01T09:30:00Z"),
                rfc("2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"),
            ]
        );
    }

    #[test]
    fn a_busy_time_that_is_exactly_an_own_event_disappears() {
        let busy = [rfc("2026-12-01T09:00:00Z", "2026-12-01T09:30:00Z")];
        assert!(subtract_all(&busy, &busy).is_empty());
    }

    #[test]
    fn unrelated_busy_times_stay() {
        let busy = [rfc("2026-12-01T09:00:00Z", "2026-12-01T09:30:00Z")];
        let own = [rfc("2026-12-01T12:00:00Z", "2026-12-01T12:30:00Z")];
        assert_eq!(subtract_all(&busy, &own), busy.to_vec());
    }
}
