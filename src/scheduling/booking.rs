//! What makes a booking, a cancellation and a reschedule valid.

use chrono::{DateTime, Duration, Utc};

use super::interval::Interval;
use super::slots::{Rules, SlotInputs, slots_with};
use crate::ids::UserId;

/// Whether a booking still holds its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingStatus {
    /// Holds its time.
    Active,
    /// Cancelled by one of the two people.
    Cancelled,
}

/// The facts about an existing booking that decide who may change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingFacts {
    /// The mentor.
    pub mentor: UserId,
    /// The mentee.
    pub mentee: UserId,
    /// When the session runs.
    pub interval: Interval,
    /// Active or cancelled.
    pub status: BookingStatus,
}

impl BookingFacts {
    /// True when `user` is the mentor or the mentee.
    pub fn involves(&self, user: UserId) -> bool {
        self.mentor == user || self.mentee == user
    }
}

/// Why a booking, cancellation or reschedule is refused. Each is something to tell the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The mentee is the mentor.
    #[error("You can't book a session with yourself.")]
    SelfBooking,
    /// The start is sooner than the mentor's minimum notice.
    #[error("That time is too soon: this mentor takes bookings at least {} hour(s) ahead.", .notice.num_hours())]
    TooSoon {
        /// The mentor's minimum notice.
        notice: Duration,
    },
    /// The start is beyond the mentor's booking horizon.
    #[error("That time is too far ahead: this mentor takes bookings up to {} day(s) ahead.", .horizon.num_days())]
    TooFar {
        /// The mentor's horizon.
        horizon: Duration,
    },
    /// The start is not a slot the mentor offers (outside their hours or off the grid).
    #[error("That time is not one of the mentor's slots. Pick a slot from the picker.")]
    NotOffered,
    /// The slot overlaps the mentor's busy time.
    #[error("That slot was just taken.")]
    SlotTaken,
    /// The mentor's `max_per_day` is reached on that day.
    #[error("The mentor's day is fully booked. Pick another day.")]
    DayFull,
    /// The slot overlaps the mentee's own sessions.
    #[error("You already have a session at that time.")]
    MenteeBusy,
    /// The mentee holds the mentor's `max_per_mentee` active bookings.
    #[error(
        "You already hold {limit} upcoming session(s) with this mentor, their limit. Cancel one or wait until it has taken place."
    )]
    MenteeLimit {
        /// The mentor's `max_per_mentee`.
        limit: u32,
    },
    /// The mentee holds the most upcoming sessions anyone may hold, with all mentors together.
    #[error(
        "You already hold {limit} upcoming sessions, the most anyone may hold here. Cancel one or wait until one has taken place."
    )]
    MenteeTotalLimit {
        /// The instance's `MAX_UPCOMING_PER_MENTEE`.
        limit: u32,
    },
    /// No such booking, or not one of the user's (the two look the same: no data leaks).
    #[error("No booking with that id among your sessions. `/bookings` lists yours.")]
    NotFound,
    /// The booking is already cancelled.
    #[error("That booking is already cancelled.")]
    AlreadyCancelled,
    /// The session is over.
    #[error("That session has already ended.")]
    Ended,
    /// The session has begun, so it can no longer be moved.
    #[error("That session has already started and can no longer be rescheduled.")]
    Started,
    /// The mentee is within the mentor's `change_notice_hours` of the start.
    #[error(
        "It's too late to change this session with the bot: this mentor asks for changes at least {} hour(s) before the start, so that was possible until <t:{}:f>. Please message your mentor if you can't make it.",
        .notice.num_hours(),
        .deadline.timestamp()
    )]
    TooLateToChange {
        /// The mentor's `change_notice_hours`.
        notice: Duration,
        /// The last instant a change was possible.
        deadline: DateTime<Utc>,
    },
}

/// A proposed booking (or a booking's new time) and what it must not collide with. For a
/// reschedule, the booking being moved is left out of every busy list and count.
#[derive(Debug, Clone, Copy)]
pub struct BookingRequest<'a> {
    /// Who offers the session.
    pub mentor: UserId,
    /// Who books it.
    pub mentee: UserId,
    /// The chosen start.
    pub start: DateTime<Utc>,
    /// The mentor's slot inputs, at commit time.
    pub slots: SlotInputs<'a>,
    /// The mentee's active bookings in either role.
    pub mentee_busy: &'a [Interval],
    /// Active, not yet ended bookings this mentee holds with this mentor.
    pub mentee_active_with_mentor: u32,
    /// The mentor's `max_per_mentee`.
    pub max_per_mentee: Option<u32>,
    /// Active, not yet ended bookings this mentee holds as mentee, with any mentor.
    pub mentee_upcoming: u32,
    /// The most of those anyone may hold (the instance's setting).
    pub max_upcoming: Option<u32>,
}

/// Checks a booking against every rule; on success returns the session's interval.
pub fn check_booking(request: &BookingRequest<'_>) -> Result<Interval, Rejection> {
    let policy = request.slots.policy;
    let now = request.slots.now;
    if request.mentor == request.mentee {
        return Err(Rejection::SelfBooking);
    }
    if request.start < now + policy.min_notice {
        return Err(Rejection::TooSoon {
            notice: policy.min_notice,
        });
    }
    if request.start >= now + policy.horizon {
        return Err(Rejection::TooFar {
            horizon: policy.horizon,
        });
    }
    let slot = Interval::starting_at(request.start, policy.session).ok_or(Rejection::NotOffered)?;
    let probe =
        Interval::starting_at(request.start, Duration::seconds(1)).ok_or(Rejection::NotOffered)?;
    let offered = |rules| slots_with(&request.slots, probe, rules).first() == Some(&slot);
    if !offered(Rules::GRID_ONLY) {
        return Err(Rejection::NotOffered);
    }
    if !offered(Rules {
        busy: true,
        daily_cap: false,
    }) {
        return Err(Rejection::SlotTaken);
    }
    if !offered(Rules::ALL) {
        return Err(Rejection::DayFull);
    }
    if request.mentee_busy.iter().any(|busy| busy.overlaps(&slot)) {
        return Err(Rejection::MenteeBusy);
    }
    if let Some(limit) = request
        .max_per_mentee
        .filter(|limit| request.mentee_active_with_mentor >= *limit)
    {
        return Err(Rejection::MenteeLimit { limit });
    }
    if let Some(limit) = request
        .max_upcoming
        .filter(|limit| request.mentee_upcoming >= *limit)
    {
        return Err(Rejection::MenteeTotalLimit { limit });
    }
    Ok(slot)
}

/// Checks that `actor` may cancel `booking` at `now`. A mentee may no longer once `now` is
/// past `change_notice` before the start (the mentor's `change_notice_hours`, as read in the
/// changing transaction); the mentor always may.
pub fn check_cancel(
    booking: &BookingFacts,
    actor: UserId,
    now: DateTime<Utc>,
    change_notice: Duration,
) -> Result<(), Rejection> {
    if !booking.involves(actor) {
        return Err(Rejection::NotFound);
    }
    if booking.status == BookingStatus::Cancelled {
        return Err(Rejection::AlreadyCancelled);
    }
    if booking.interval.end() <= now {
        return Err(Rejection::Ended);
    }
    let deadline = booking.interval.start() - change_notice;
    if actor == booking.mentee && change_notice > Duration::zero() && now > deadline {
        return Err(Rejection::TooLateToChange {
            notice: change_notice,
            deadline,
        });
    }
    Ok(())
}

/// Checks that `actor` may move `booking` at `now` (the new time is checked separately,
/// with [`check_booking`]); the notice window is [`check_cancel`]'s.
pub fn check_reschedule(
    booking: &BookingFacts,
    actor: UserId,
    now: DateTime<Utc>,
    change_notice: Duration,
) -> Result<(), Rejection> {
    check_cancel(booking, actor, now, change_notice)?;
    if booking.interval.start() <= now {
        return Err(Rejection::Started);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::availability::Schedule;
    use crate::scheduling::hours::{Days, LocalRange};
    use crate::scheduling::slots::SlotPolicy;
    use crate::scheduling::test_support::{iv, utc};

    const MENTOR: UserId = UserId(1);
    const MENTEE: UserId = UserId(2);

    fn schedule() -> Schedule {
        let mut s = Schedule::new(chrono_tz::UTC);
        s.set_weekly(Days::WEEKDAYS, &[LocalRange::new(9 * 60, 12 * 60).unwrap()]);
        s
    }

    struct Case {
        schedule: Schedule,
        policy: SlotPolicy,
        busy: Vec<Interval>,
        booked: Vec<DateTime<Utc>>,
        mentee_busy: Vec<Interval>,
        with_mentor: u32,
        max_per_mentee: Option<u32>,
        upcoming: u32,
        max_upcoming: Option<u32>,
    }

    impl Case {
        fn new() -> Case {
            Case {
                schedule: schedule(),
                policy: SlotPolicy::default(),
                busy: vec![],
                booked: vec![],
                mentee_busy: vec![],
                with_mentor: 0,
                max_per_mentee: None,
                upcoming: 0,
                max_upcoming: None,
            }
        }

        fn check(&self, mentee: UserId, start: &str, now: &str) -> Result<Interval, Rejection> {
            check_booking(&BookingRequest {
                mentor: MENTOR,
                mentee,
                start: utc(start),
                slots: SlotInputs {
                    schedule: &self.schedule,
                    policy: &self.policy,
                    busy: &self.busy,
                    external_busy: &[],
                    booked_starts: &self.booked,
                    now: utc(now),
                },
                mentee_busy: &self.mentee_busy,
                mentee_active_with_mentor: self.with_mentor,
                max_per_mentee: self.max_per_mentee,
                mentee_upcoming: self.upcoming,
                max_upcoming: self.max_upcoming,
            })
        }
    }

    const NOW: &str = "2026-11-20T12:00:00Z";

    #[test]
    fn an_offered_slot_can_be_booked() {
        let slot = Case::new()
            .check(MENTEE, "2026-11-23T09:30:00Z", NOW)
            .unwrap();
        assert_eq!(slot, iv("2026-11-23T09:30:00Z", "2026-11-23T10:00:00Z"));
    }

    #[test]
    fn booking_yourself_is_refused() {
        assert_eq!(
            Case::new().check(MENTOR, "2026-11-23T09:30:00Z", NOW),
            Err(Rejection::SelfBooking)
        );
    }

    #[test]
    fn a_start_off_the_grid_or_outside_the_hours_is_not_offered() {
        let case = Case::new();
        assert_eq!(
            case.check(MENTEE, "2026-11-23T09:07:00Z", NOW),
            Err(Rejection::NotOffered)
        );
        assert_eq!(
            case.check(MENTEE, "2026-11-23T11:45:00Z", NOW),
            Err(Rejection::NotOffered)
        );
        assert_eq!(
            case.check(MENTEE, "2026-11-22T10:00:00Z", NOW),
            Err(Rejection::NotOffered)
        );
    }

    #[test]
    fn a_start_inside_min_notice_is_too_soon_even_when_on_the_grid() {
        let r = Case::new().check(MENTEE, "2026-11-23T10:00:00Z", "2026-11-23T08:30:00Z");
        assert_eq!(
            r,
            Err(Rejection::TooSoon {
                notice: Duration::hours(2)
            })
        );
    }

    #[test]
    fn a_start_beyond_the_horizon_is_too_far() {
        let r = Case::new().check(MENTEE, "2027-01-04T10:00:00Z", NOW);
        assert_eq!(
            r,
            Err(Rejection::TooFar {
                horizon: Duration::days(30)
            })
        );
    }

    #[test]
    fn any_overlap_with_the_mentors_busy_time_is_taken_not_only_identical_times() {
        let mut case = Case::new();
        case.busy = vec![iv("2026-11-23T09:45:00Z", "2026-11-23T10:45:00Z")];
        assert_eq!(
            case.check(MENTEE, "2026-11-23T09:30:00Z", NOW),
            Err(Rejection::SlotTaken)
        );
        assert_eq!(
            case.check(MENTEE, "2026-11-23T10:30:00Z", NOW),
            Err(Rejection::SlotTaken)
        );
        assert!(case.check(MENTEE, "2026-11-23T11:00:00Z", NOW).is_ok());
    }

    #[test]
    fn the_mentees_own_sessions_block_overlapping_times() {
        let mut case = Case::new();
        case.mentee_busy = vec![iv("2026-11-23T09:15:00Z", "2026-11-23T09:45:00Z")];
        assert_eq!(
            case.check(MENTEE, "2026-11-23T09:30:00Z", NOW),
            Err(Rejection::MenteeBusy)
        );
    }

    #[test]
    fn a_full_day_and_a_mentee_at_the_limit_are_refused() {
        let mut case = Case::new();
        case.policy.max_per_day = Some(1);
        case.booked = vec![utc("2026-11-23T11:00:00Z")];
        case.busy = vec![iv("2026-11-23T11:00:00Z", "2026-11-23T11:30:00Z")];
        assert_eq!(
            case.check(MENTEE, "2026-11-23T09:30:00Z", NOW),
            Err(Rejection::DayFull)
        );
        let mut case = Case::new();
        case.max_per_mentee = Some(2);
        case.with_mentor = 2;
        assert_eq!(
            case.check(MENTEE, "2026-11-23T09:30:00Z", NOW),
            Err(Rejection::MenteeLimit { limit: 2 })
        );
    }

    #[test]
    fn a_mentee_at_the_instance_wide_limit_is_refused_and_one_below_it_is_not() {
        let mut case = Case::new();
        case.max_upcoming = Some(10);
        case.upcoming = 10;
        assert_eq!(
            case.check(MENTEE, "2026-11-23T09:30:00Z", NOW),
            Err(Rejection::MenteeTotalLimit { limit: 10 })
        );
        case.upcoming = 9;
        assert!(case.check(MENTEE, "2026-11-23T09:30:00Z", NOW).is_ok());
    }

    fn facts(status: BookingStatus) -> BookingFacts {
        BookingFacts {
            mentor: MENTOR,
            mentee: MENTEE,
            interval: iv("2026-11-23T09:30:00Z", "2026-11-23T10:00:00Z"),
            status,
        }
    }

    #[test]
    fn only_the_two_people_may_cancel_and_others_see_not_found() {
        let b = facts(BookingStatus::Active);
        assert_eq!(check_cancel(&b, MENTOR, utc(NOW), Duration::zero()), Ok(()));
        assert_eq!(check_cancel(&b, MENTEE, utc(NOW), Duration::zero()), Ok(()));
        assert_eq!(
            check_cancel(&b, UserId(3), utc(NOW), Duration::zero()),
            Err(Rejection::NotFound)
        );
        assert_eq!(
            check_cancel(
                &facts(BookingStatus::Cancelled),
                UserId(3),
                utc(NOW),
                Duration::zero()
            ),
            Err(Rejection::NotFound)
        );
    }

    #[test]
    fn a_cancelled_or_ended_session_cannot_be_cancelled() {
        assert_eq!(
            check_cancel(
                &facts(BookingStatus::Cancelled),
                MENTEE,
                utc(NOW),
                Duration::zero()
            ),
            Err(Rejection::AlreadyCancelled)
        );
        let b = facts(BookingStatus::Active);
        assert_eq!(
            check_cancel(&b, MENTEE, utc("2026-11-23T09:45:00Z"), Duration::zero()),
            Ok(())
        );
        assert_eq!(
            check_cancel(&b, MENTEE, utc("2026-11-23T10:00:00Z"), Duration::zero()),
            Err(Rejection::Ended)
        );
    }

    #[test]
    fn a_started_session_cannot_be_rescheduled() {
        let b = facts(BookingStatus::Active);
        assert_eq!(
            check_reschedule(&b, MENTOR, utc(NOW), Duration::zero()),
            Ok(())
        );
        assert_eq!(
            check_reschedule(&b, MENTOR, utc("2026-11-23T09:30:00Z"), Duration::zero()),
            Err(Rejection::Started)
        );
    }

    #[test]
    fn within_the_change_notice_a_mentee_may_not_cancel_or_move_but_the_mentor_may() {
        // Starts 09:30; 24 hours' notice: the last moment is 09:30 the day before.
        let b = facts(BookingStatus::Active);
        let notice = Duration::hours(24);
        let deadline = utc("2026-11-22T09:30:00Z");
        let rejection = Rejection::TooLateToChange { notice, deadline };
        let too_late = Err(rejection);
        assert_eq!(check_cancel(&b, MENTEE, deadline, notice), Ok(()));
        assert_eq!(check_reschedule(&b, MENTEE, deadline, notice), Ok(()));
        let after = deadline + Duration::seconds(1);
        assert_eq!(check_cancel(&b, MENTEE, after, notice), too_late);
        assert_eq!(check_reschedule(&b, MENTEE, after, notice), too_late);
        assert_eq!(check_cancel(&b, MENTOR, after, notice), Ok(()));
        assert_eq!(check_reschedule(&b, MENTOR, after, notice), Ok(()));
        // Without a notice the mentee may until the end (cancel) or the start (move).
        assert_eq!(check_cancel(&b, MENTEE, after, Duration::zero()), Ok(()));
        let message = rejection.to_string();
        assert!(
            message.contains("24 hour(s)") && message.contains("<t:1795339800:f>"),
            "{message}"
        );
    }
}
