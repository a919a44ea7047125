//! A read-through cache of what pickers read on every click: users' zones and names, mentors'
//! schedules and settings, servers' mentor roles, which rarely change; and people's busy
//! time (their active bookings), which changes with every booking of theirs but is read
//! several times between two.
//!
//! Only the read path uses it; every check that decides a booking reads the database inside
//! its transaction. Any write of such data clears the whole cache once it has committed, and
//! a value read from the database is kept only if no clear happened since the read began
//! (a generation counter), so a slow reader can never put back a value older than a write.
//! A write of just names forgets just those names, and refuses only reads of those names
//! begun before it: a burst of new users' first pickers, each storing a name, must not
//! spoil every other read in flight. Busy time works the same way, per person, except that
//! a committed booking or cancellation is applied to its two people's cached busy time
//! rather than forgetting it (a burst of bookings on one mentor would otherwise send every
//! next picker to the database); a move forgets theirs. One bot process owns the database
//! (the start-up lock), so no write goes unseen.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::domain::{GuildId, Mentor, RoleId, UserId};
use crate::scheduling::interval::Interval;
use crate::store::BusyTime;

/// Entries per map before it is emptied (a crude bound for very large communities).
const MAX_ENTRIES: usize = 50_000;

#[derive(Default)]
struct Maps {
    zones: HashMap<UserId, Option<Tz>>,
    names: HashMap<UserId, Option<String>>,
    mentors: HashMap<(UserId, NaiveDate), Option<Mentor>>,
    roles: HashMap<GuildId, Option<RoleId>>,
    /// Generation of the last clear: a read begun before it is not kept.
    cleared: u64,
    /// Generation at which a user's name was last written since the last clear: a read of
    /// that name begun before it is not kept.
    names_written: HashMap<UserId, u64>,
    /// A user's busy time over a span (bookings in either role).
    busy: HashMap<UserId, (Interval, Arc<BusyTime>)>,
    /// Like `names_written`, for busy time.
    busy_written: HashMap<UserId, u64>,
}

/// Whether a read of `user`'s value that took `ticket` began after the value's last write.
fn unwritten_since(written: &HashMap<UserId, u64>, user: UserId, ticket: Ticket) -> bool {
    written.get(&user).is_none_or(|&at| at <= ticket.0)
}

impl Maps {
    /// Whether a read that took `ticket` began after the last clear.
    fn current(&self, ticket: Ticket) -> bool {
        self.cleared <= ticket.0
    }
}

/// The cache; see the module docs.
#[derive(Default)]
pub(super) struct ReadCache {
    generation: AtomicU64,
    maps: Mutex<Maps>,
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Taken before a database read; the value read is kept only if it is still current.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket(u64);

fn put<K: Eq + Hash, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}

impl ReadCache {
    fn maps(&self) -> MutexGuard<'_, Maps> {
        // Maps are only inserted into or cleared: a panic elsewhere can't leave one torn.
        self.maps.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Call before reading from the database.
    pub(super) fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    /// Moves the generation on (under the maps' lock) and returns the new one.
    fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Forgets everything; call after a write of cached data has committed.
    pub(super) fn clear(&self) {
        let mut maps = self.maps();
        let generation = self.next_generation();
        *maps = Maps {
            cleared: generation,
            ..Maps::default()
        };
    }

    /// Forgets the names of `users` only; call after a write of just those names has
    /// committed. A read of one of those names that began before the write is not kept (it
    /// might have seen the older name); other reads in flight are unaffected.
    pub(super) fn forget_names(&self, users: &[UserId]) {
        self.forget(users, |m| (&mut m.names, &mut m.names_written));
    }

    /// Forgets the busy time of `users` only; call after a write of their bookings has
    /// committed. A read of their busy time that began before the write is not kept.
    pub(super) fn forget_busy(&self, users: &[UserId]) {
        self.forget(users, |m| (&mut m.busy, &mut m.busy_written));
    }

    /// Applies a committed booking change to the cached busy time of its two people instead
    /// of forgetting it, so that the next picker needs no read: `removed` leaves both, and
    /// `added` joins both (as a mentor start for `mentor`). Reads of their busy time begun
    /// before the write are still not kept. An entry may have been read after the commit
    /// and hold the change already: adding is idempotent (one person's active bookings
    /// never overlap, so an equal interval is this booking) and removing what is absent
    /// does nothing. An entry that disagrees (another interval at the same start) is
    /// forgotten.
    pub(super) fn update_busy(
        &self,
        (mentor, mentee): (UserId, UserId),
        removed: Option<Interval>,
        added: Option<Interval>,
    ) {
        self.note_write(
            &[mentor, mentee],
            |m| (&mut m.busy, &mut m.busy_written),
            |entries, user| {
                let Some((_, busy)) = entries.get_mut(&user) else {
                    return;
                };
                let busy = Arc::make_mut(busy);
                let applied = removed.is_none_or(|r| busy.remove(r))
                    && added.is_none_or(|a| busy.add(a, user == mentor));
                if !applied {
                    entries.remove(&user);
                }
            },
        );
    }

    /// Forgets `users`' values of one kind (`kind` picks the values and their write stamps)
    /// and stamps the write, so that reads of those values begun before it are not kept.
    fn forget<V>(
        &self,
        users: &[UserId],
        kind: impl Fn(&mut Maps) -> (&mut HashMap<UserId, V>, &mut HashMap<UserId, u64>),
    ) {
        self.note_write(users, kind, |values, user| {
            values.remove(&user);
        });
    }

    /// Notes a committed write of `users`' values of one kind (`kind` picks the values and
    /// their write stamps): `change` updates or drops each user's cached value, and the write
    /// is stamped so that reads of those values begun before it are not kept.
    fn note_write<V>(
        &self,
        users: &[UserId],
        kind: impl Fn(&mut Maps) -> (&mut HashMap<UserId, V>, &mut HashMap<UserId, u64>),
        mut change: impl FnMut(&mut HashMap<UserId, V>, UserId),
    ) {
        let mut maps = self.maps();
        if kind(&mut maps).1.len() + users.len() > MAX_ENTRIES {
            drop(maps);
            self.clear();
            return;
        }
        let generation = self.next_generation();
        let (values, written) = kind(&mut maps);
        for user in users {
            change(values, *user);
            written.insert(*user, generation);
        }
    }

    fn keep(&self, ticket: Ticket, f: impl FnOnce(&mut Maps)) {
        let mut maps = self.maps();
        if maps.current(ticket) {
            f(&mut maps);
        }
    }

    pub(super) fn zone(&self, user: UserId) -> Option<Option<Tz>> {
        self.maps().zones.get(&user).copied()
    }

    pub(super) fn keep_zone(&self, ticket: Ticket, user: UserId, zone: Option<Tz>) {
        self.keep(ticket, |m| put(&mut m.zones, user, zone));
    }

    pub(super) fn name(&self, user: UserId) -> Option<Option<String>> {
        self.maps().names.get(&user).cloned()
    }

    pub(super) fn keep_name(&self, ticket: Ticket, user: UserId, name: Option<String>) {
        self.keep(ticket, |m| {
            if unwritten_since(&m.names_written, user, ticket) {
                put(&mut m.names, user, name);
            }
        });
    }

    pub(super) fn mentor(&self, user: UserId, since: NaiveDate) -> Option<Option<Mentor>> {
        self.maps().mentors.get(&(user, since)).cloned()
    }

    pub(super) fn keep_mentor(
        &self,
        ticket: Ticket,
        user: UserId,
        since: NaiveDate,
        mentor: Option<Mentor>,
    ) {
        self.keep(ticket, |m| put(&mut m.mentors, (user, since), mentor));
    }

    /// `user`'s busy time over `span`, if a kept read covers it.
    pub(super) fn busy(&self, user: UserId, span: Interval) -> Option<BusyTime> {
        // Filtered after the lock is let go: a mentor's whole horizon is not walked while
        // every other picker's lookups wait on the one lock.
        let busy = {
            let maps = self.maps();
            let (kept, busy) = maps.busy.get(&user)?;
            kept.contains(&span).then(|| Arc::clone(busy))?
        };
        Some(busy.within(span))
    }

    pub(super) fn keep_busy(&self, ticket: Ticket, user: UserId, span: Interval, busy: BusyTime) {
        self.keep(ticket, |m| {
            if unwritten_since(&m.busy_written, user, ticket) {
                put(&mut m.busy, user, (span, Arc::new(busy)));
            }
        });
    }

    pub(super) fn role(&self, guild: GuildId) -> Option<Option<RoleId>> {
        self.maps().roles.get(&guild).copied()
    }

    pub(super) fn keep_role(&self, ticket: Ticket, guild: GuildId, role: Option<RoleId>) {
        self.keep(ticket, |m| put(&mut m.roles, guild, role));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_read_before_a_clear_is_not_kept() {
        let cache = ReadCache::default();
        let ticket = cache.ticket();
        cache.clear();
        cache.keep_zone(ticket, UserId(1), Some(chrono_tz::UTC));
        assert_eq!(cache.zone(UserId(1)), None);
        let ticket = cache.ticket();
        cache.keep_zone(ticket, UserId(1), Some(chrono_tz::UTC));
        assert_eq!(cache.zone(UserId(1)), Some(Some(chrono_tz::UTC)));
    }

    #[test]
    fn a_clear_forgets_every_kind_of_value() {
        let cache = ReadCache::default();
        let ticket = cache.ticket();
        cache.keep_name(ticket, UserId(1), Some("ann".into()));
        cache.keep_role(ticket, GuildId(7), None);
        cache.clear();
        assert_eq!(cache.name(UserId(1)), None);
        assert_eq!(cache.role(GuildId(7)), None);
    }

    #[test]
    fn forgetting_names_keeps_the_other_values_but_refuses_reads_begun_before() {
        let cache = ReadCache::default();
        let ticket = cache.ticket();
        cache.keep_name(ticket, UserId(1), Some("ann".into()));
        cache.keep_name(ticket, UserId(2), Some("bo".into()));
        cache.keep_zone(ticket, UserId(1), Some(chrono_tz::UTC));
        cache.keep_role(ticket, GuildId(7), Some(RoleId(8)));
        let before = cache.ticket();
        cache.forget_names(&[UserId(1)]);
        assert_eq!(cache.name(UserId(1)), None);
        assert_eq!(cache.name(UserId(2)), Some(Some("bo".into())));
        assert_eq!(cache.zone(UserId(1)), Some(Some(chrono_tz::UTC)));
        assert_eq!(cache.role(GuildId(7)), Some(Some(RoleId(8))));
        cache.keep_name(before, UserId(1), Some("old ann".into()));
        assert_eq!(cache.name(UserId(1)), None);
    }

    #[test]
    fn forgetting_a_name_does_not_refuse_other_reads_begun_before() {
        let cache = ReadCache::default();
        let before = cache.ticket();
        cache.forget_names(&[UserId(1)]);
        cache.keep_name(before, UserId(2), Some("bo".into()));
        cache.keep_zone(before, UserId(1), Some(chrono_tz::UTC));
        cache.keep_role(before, GuildId(7), Some(RoleId(8)));
        assert_eq!(cache.name(UserId(2)), Some(Some("bo".into())));
        assert_eq!(cache.zone(UserId(1)), Some(Some(chrono_tz::UTC)));
        assert_eq!(cache.role(GuildId(7)), Some(Some(RoleId(8))));
        // After the write, the new name is kept again.
        let after = cache.ticket();
        cache.keep_name(after, UserId(1), Some("ann".into()));
        assert_eq!(cache.name(UserId(1)), Some(Some("ann".into())));
    }

    fn busy_at(hours: &[(u32, u32)]) -> (Interval, BusyTime) {
        use chrono::{TimeZone, Utc};
        let at = |h: u32| Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap();
        let intervals: Vec<Interval> = hours
            .iter()
            .map(|&(from, to)| Interval::new(at(from), at(to)).unwrap())
            .collect();
        let busy = BusyTime {
            mentor_starts: intervals.iter().map(Interval::start).collect(),
            intervals,
        };
        (Interval::new(at(0), at(23)).unwrap(), busy)
    }

    #[test]
    fn kept_busy_time_answers_only_spans_it_covers_and_only_what_overlaps_them() {
        let cache = ReadCache::default();
        let (day, busy) = busy_at(&[(9, 10), (14, 15)]);
        cache.keep_busy(cache.ticket(), UserId(1), day, busy.clone());
        let morning = Interval::new(day.start(), day.start() + chrono::Duration::hours(12));
        let morning = morning.unwrap();
        let answer = cache.busy(UserId(1), morning).unwrap();
        assert_eq!(answer.intervals, busy.intervals[..1]);
        assert_eq!(answer.mentor_starts, busy.mentor_starts[..1]);
        assert_eq!(answer, busy.within(morning));
        let wider = Interval::new(day.start(), day.end() + chrono::Duration::hours(2)).unwrap();
        assert_eq!(
            cache.busy(UserId(1), wider),
            None,
            "not covered: read again"
        );
        assert_eq!(cache.busy(UserId(2), morning), None);
    }

    #[test]
    fn a_booking_write_forgets_its_people_busy_time_and_refuses_their_reads_begun_before() {
        let cache = ReadCache::default();
        let (day, busy) = busy_at(&[(9, 10)]);
        let before = cache.ticket();
        cache.keep_busy(before, UserId(1), day, busy.clone());
        cache.keep_busy(before, UserId(3), day, busy.clone());
        cache.forget_busy(&[UserId(1), UserId(2)]);
        assert_eq!(cache.busy(UserId(1), day), None);
        assert!(cache.busy(UserId(3), day).is_some(), "others are kept");
        cache.keep_busy(before, UserId(2), day, busy.clone());
        assert_eq!(
            cache.busy(UserId(2), day),
            None,
            "read began before the write"
        );
        cache.keep_busy(cache.ticket(), UserId(2), day, busy);
        assert!(cache.busy(UserId(2), day).is_some());
    }

    #[test]
    fn a_committed_booking_joins_its_people_busy_time_without_a_read() {
        let cache = ReadCache::default();
        let (day, busy) = busy_at(&[(9, 10), (14, 15)]);
        let (_, booked) = busy_at(&[(11, 12)]);
        let new = booked.intervals[0];
        let before = cache.ticket();
        for user in [1, 2, 3] {
            cache.keep_busy(before, UserId(user), day, busy.clone());
        }
        cache.update_busy((UserId(1), UserId(2)), None, Some(new));
        let mentor = cache.busy(UserId(1), day).unwrap();
        assert_eq!(mentor.intervals.len(), 3);
        assert_eq!(mentor.intervals[1], new, "in order");
        assert!(mentor.mentor_starts.contains(&new.start()));
        let mentee = cache.busy(UserId(2), day).unwrap();
        assert!(mentee.intervals.contains(&new));
        assert!(!mentee.mentor_starts.contains(&new.start()));
        assert_eq!(
            cache.busy(UserId(3), day).unwrap(),
            busy,
            "others untouched"
        );
        // A read begun before the booking may have missed it: not kept.
        cache.keep_busy(before, UserId(1), day, busy.clone());
        assert_eq!(cache.busy(UserId(1), day).unwrap(), mentor);

        cache.update_busy((UserId(1), UserId(2)), Some(new), None);
        assert_eq!(
            cache.busy(UserId(1), day).unwrap(),
            busy,
            "cancelled: gone again"
        );
        assert_eq!(cache.busy(UserId(2), day).unwrap(), busy);
    }

    #[test]
    fn adding_twice_or_removing_what_is_absent_changes_nothing_and_a_disagreeing_copy_is_forgotten()
    {
        let cache = ReadCache::default();
        let (day, busy) = busy_at(&[(9, 10)]);
        let (_, other) = busy_at(&[(9, 11), (13, 14)]);
        cache.keep_busy(cache.ticket(), UserId(1), day, busy.clone());
        // Read after the commit: the booking is there already.
        cache.update_busy((UserId(1), UserId(2)), None, Some(busy.intervals[0]));
        assert_eq!(cache.busy(UserId(1), day).unwrap(), busy);
        cache.update_busy((UserId(1), UserId(2)), Some(other.intervals[1]), None);
        assert_eq!(cache.busy(UserId(1), day).unwrap(), busy);
        // 9:00-11:00 is not the 9:00-10:00 this copy holds: it is out of step, read again.
        cache.update_busy((UserId(1), UserId(2)), None, Some(other.intervals[0]));
        assert_eq!(cache.busy(UserId(1), day), None);
    }

    #[test]
    fn a_clear_after_a_name_write_still_refuses_every_read_begun_before_it() {
        let cache = ReadCache::default();
        cache.forget_names(&[UserId(1)]);
        let before = cache.ticket();
        cache.clear();
        cache.keep_name(before, UserId(2), Some("bo".into()));
        cache.keep_zone(before, UserId(2), None);
        assert_eq!(cache.name(UserId(2)), None);
        assert_eq!(cache.zone(UserId(2)), None);
    }
}
