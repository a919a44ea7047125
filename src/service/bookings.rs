//! Booking, cancelling and moving a session, each as the public use case followed by its
//! transaction body (`*_in`), and reading bookings back.
//!
//! Every rule is re-checked inside the `BEGIN IMMEDIATE` transaction that writes (the
//! picker's view may be stale); the DMs and the calendar sync the change causes are queued
//! in that same transaction (the outbox), and the read cache's busy time is updated in the
//! commit hook, before anyone in the batch hears back.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};

use super::reminders::plan_reminders;
use super::validate::{
    MAX_HORIZON_DAYS, MAX_REASON_CHARS, check_text, parse_booking_id, trimmed_name,
};
use super::{Service, ServiceError, ServiceResult, day_span, override_horizon};
use crate::domain::{
    Booking, BookingId, CalendarStatus, Cancellation, GuildId, Mentor, Notice, RoleFilter, UserId,
};
use crate::scheduling::booking::{
    BookingRequest, BookingStatus, Rejection, check_booking, check_cancel, check_reschedule,
};
use crate::scheduling::interval::Interval;
use crate::scheduling::local_time::local_date;
use crate::scheduling::slots::{SlotInputs, SlotPolicy};
use crate::store::{BookingQuery, NewBooking, NewJob, PairBusy, StoreError, WriteTx};

/// A booking request from the picker.
#[derive(Debug, Clone)]
pub struct BookRequest {
    /// Who offers the session.
    pub mentor: UserId,
    /// Who books it.
    pub mentee: UserId,
    /// The mentor's display name.
    pub mentor_name: String,
    /// The mentee's display name.
    pub mentee_name: String,
    /// The chosen start.
    pub start: DateTime<Utc>,
    /// The server it is booked in (`None`: in a DM).
    pub guild: Option<GuildId>,
}

/// Attempts at drawing a free booking id (30 random bits each).
const ID_ATTEMPTS: usize = 8;

impl Service {
    /// Books a slot. Every rule is re-checked inside the `BEGIN IMMEDIATE` transaction that
    /// writes it; of concurrent overlapping attempts exactly one wins and the others get
    /// [`Rejection::SlotTaken`]. DMs to both people are queued in the same transaction.
    pub async fn book(&self, request: &BookRequest, now: DateTime<Utc>) -> ServiceResult<Booking> {
        if request.mentor == request.mentee {
            return Err(Rejection::SelfBooking.into());
        }
        self.check_plausible(request.mentor, request.start, now)
            .await?;
        let request = request.clone();
        let outside = Outside {
            external: self.cached_busy(request.mentor, request.start, now).await?,
            calendar: self.google.is_some(),
            max_upcoming: self.max_upcoming,
        };
        let cache = Arc::clone(&self.cache);
        let booked = self
            .store
            .transact_then(
                move |tx| Box::pin(book_in(tx, request, now, outside)),
                move |booked: &Booking| {
                    cache.update_busy((booked.mentor, booked.mentee), None, Some(booked.interval));
                },
            )
            .await?;
        Ok(booked)
    }

    /// `/cancel`: the mentor or mentee cancels an active booking that has not ended; the other
    /// person's DM (with the reason) is queued in the same transaction.
    pub async fn cancel(
        &self,
        actor: UserId,
        booking: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Booking> {
        let id = parse_booking_id(booking)?;
        let reason = check_text(reason, "reason", MAX_REASON_CHARS)?;
        let calendar = self.google.is_some();
        let cache = Arc::clone(&self.cache);
        let cancelled = self
            .store
            .transact_then(
                move |tx| Box::pin(cancel_in(tx, actor, id, reason, now, calendar)),
                move |gone: &Booking| {
                    cache.update_busy((gone.mentor, gone.mentee), Some(gone.interval), None);
                },
            )
            .await?;
        Ok(cancelled)
    }

    /// The booking `actor` wants to reschedule, checked for being movable now.
    pub async fn reschedulable(
        &self,
        actor: UserId,
        booking: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<Booking> {
        let id = parse_booking_id(booking)?;
        let current = self.store.booking(&id).await?.ok_or(Rejection::NotFound)?;
        let notice = self.store.change_notice(current.mentor).await?;
        check_reschedule(&current.facts(), actor, now, notice)?;
        Ok(current)
    }

    /// `/reschedule` confirm: moves the booking (same id) to `start`, checked like a new
    /// booking except that it may overlap its own old time and does not count itself.
    pub async fn reschedule(
        &self,
        actor: UserId,
        booking: &str,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Booking> {
        let id = parse_booking_id(booking)?;
        let external = match self.store.booking(&id).await? {
            Some(current) => {
                self.check_plausible(current.mentor, start, now).await?;
                self.cached_busy(current.mentor, start, now).await?
            }
            None => return Err(Rejection::NotFound.into()),
        };
        let outside = Outside {
            external,
            calendar: self.google.is_some(),
            max_upcoming: self.max_upcoming,
        };
        let cache = Arc::clone(&self.cache);
        let moved = self
            .store
            .transact_then(
                move |tx| Box::pin(reschedule_in(tx, actor, id, start, now, outside)),
                // Where it was is not at hand (a concurrent move may have won): forget.
                move |moved: &Booking| cache.forget_busy(&[moved.mentor, moved.mentee]),
            )
            .await?;
        Ok(moved)
    }

    /// Starts that no mentor could offer (before yesterday, or past the longest horizon)
    /// are refused with the mentor's own limits before any date arithmetic: a forged id can
    /// carry the ends of time. Anything nearer is checked exactly in the transaction.
    async fn check_plausible(
        &self,
        mentor: UserId,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let earliest = now - Duration::days(1);
        let latest = now + Duration::days(MAX_HORIZON_DAYS + 1);
        if (earliest..=latest).contains(&start) {
            return Ok(());
        }
        let policy = self
            .cached_mentor(mentor, override_horizon(now))
            .await?
            .ok_or(ServiceError::NotAMentor)?
            .settings
            .policy();
        Err(if start < earliest {
            Rejection::TooSoon {
                notice: policy.min_notice,
            }
        } else {
            Rejection::TooFar {
                horizon: policy.horizon,
            }
        }
        .into())
    }

    /// The mentor's cached Google busy times around `start`, for a commit check: never a
    /// Google call (nothing cached means nothing to exclude).
    async fn cached_busy(
        &self,
        mentor: UserId,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Interval>> {
        let Some(google) = &self.google else {
            return Ok(Vec::new());
        };
        let Some(span) = Interval::new(start - Duration::days(1), start + Duration::days(1)) else {
            return Ok(Vec::new());
        };
        Ok(google.cached_busy(&self.store, mentor, span, now).await?)
    }

    /// `/bookings`: the user's sessions, soonest first (latest first for `past`).
    pub async fn bookings(
        &self,
        user: UserId,
        role: RoleFilter,
        past: bool,
        now: DateTime<Utc>,
        limit: u32,
    ) -> ServiceResult<Vec<Booking>> {
        Ok(self
            .store
            .bookings(&BookingQuery {
                user,
                role,
                past,
                include_cancelled: past,
                now,
                limit,
            })
            .await?)
    }

    /// One booking, if `viewer` is one of its two people (others get not found).
    pub async fn booking(&self, viewer: UserId, booking: &str) -> ServiceResult<Booking> {
        let id = parse_booking_id(booking)?;
        match self.store.booking(&id).await? {
            Some(b) if b.facts().involves(viewer) => Ok(b),
            _ => Err(Rejection::NotFound.into()),
        }
    }
}

/// What a booking's transaction takes from outside the database: Google busy times (read
/// before it), whether calendar syncs are queued, and the instance's cap on upcoming
/// sessions per mentee.
struct Outside {
    external: Vec<Interval>,
    calendar: bool,
    max_upcoming: Option<u32>,
}

async fn book_in(
    tx: &mut WriteTx,
    request: BookRequest,
    now: DateTime<Utc>,
    outside: Outside,
) -> ServiceResult<Booking> {
    let mentor = tx
        .mentor(request.mentor, override_horizon(now))
        .await?
        .ok_or(ServiceError::NotAMentor)?;
    if tx.is_blocked(request.mentor, request.mentee).await? {
        return Err(ServiceError::Blocked);
    }
    let policy = mentor.settings.policy();
    let Outside {
        external,
        calendar,
        max_upcoming,
    } = outside;
    let facts = CommitFacts::load(
        tx,
        &mentor,
        request.mentee,
        request.start,
        now,
        None,
        external,
    )
    .await?;
    let interval = check_booking(&facts.request(
        &mentor,
        request.mentee,
        (request.start, now),
        &policy,
        max_upcoming,
    ))?;

    let mut new = NewBooking {
        id: BookingId::from_random(0),
        mentor: request.mentor,
        mentee: request.mentee,
        mentor_name: trimmed_name(&request.mentor_name),
        mentee_name: trimmed_name(&request.mentee_name),
        interval,
        calendar_status: CalendarStatus::NotConnected,
        now,
        guild: request.guild,
    };
    let mut inserted = false;
    for _ in 0..ID_ATTEMPTS {
        new.id = BookingId::from_random(crate::random::u32());
        let id = &new.id;
        let booked = Notice::Booked {
            booking: id.to_string(),
            recipient: request.mentor.0,
        };
        let confirmed = Notice::Confirmed {
            booking: id.to_string(),
            recipient: request.mentee.0,
        };
        // The DMs to both people go in with the booking, in the same round trip.
        let dms = [dm_job(booked, id, now)?, dm_job(confirmed, id, now)?];
        match tx.insert_booking_with(&new, &dms).await {
            Ok(()) => {
                inserted = true;
                break;
            }
            Err(StoreError::DuplicateId) => continue,
            // The triggers agree with the checks above; reaching one means a rule the checks
            // missed, and the answer is still a refusal, not an error.
            Err(StoreError::Overlap) => return Err(Rejection::SlotTaken.into()),
            Err(other) => return Err(other.into()),
        }
    }
    if !inserted {
        return Err(anyhow::anyhow!("no free booking id after {ID_ATTEMPTS} attempts").into());
    }
    let id = new.id.clone();
    let people = [request.mentor, request.mentee];
    plan_reminders(tx, &id, interval.start(), &people, now).await?;
    if calendar && connected(tx, request.mentor).await? {
        tx.queue_calendar_sync(&id, now).await?;
        new.calendar_status = CalendarStatus::Pending;
    }
    Ok(new.into_booking())
}

pub(super) async fn cancel_in(
    tx: &mut WriteTx,
    actor: UserId,
    id: BookingId,
    reason: Option<String>,
    now: DateTime<Utc>,
    calendar: bool,
) -> ServiceResult<Booking> {
    let current = tx.booking(&id).await?.ok_or(Rejection::NotFound)?;
    // The mentor's notice as of this transaction (none if they stopped being a mentor).
    let notice = tx.change_notice(current.mentor).await?;
    check_cancel(&current.facts(), actor, now, notice)?;
    tx.cancel_booking(&id, actor, reason.as_deref(), now)
        .await?;
    tx.drop_reminders(&id, None).await?;
    let (other, _) = current.other_person(actor);
    let notice = Notice::Cancelled {
        booking: id.to_string(),
        recipient: other.0,
        actor: actor.0,
    };
    // A mentor who blocked the member hears nothing from them, cancellations included.
    let muted = actor == current.mentee && tx.is_blocked(current.mentor, actor).await?;
    let notice = (!muted).then_some(notice);
    let calendar_status = queue_effects(tx, notice, &current, now, calendar).await?;
    Ok(Booking {
        status: BookingStatus::Cancelled,
        calendar_status,
        cancellation: Some(Cancellation {
            by: actor,
            at: now.trunc_subsecs(0),
            reason,
        }),
        ..current
    })
}

async fn reschedule_in(
    tx: &mut WriteTx,
    actor: UserId,
    id: BookingId,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    outside: Outside,
) -> ServiceResult<Booking> {
    let current = tx.booking(&id).await?.ok_or(Rejection::NotFound)?;
    let mentor = tx.mentor(current.mentor, override_horizon(now)).await?;
    let notice = mentor
        .as_ref()
        .map_or(Duration::zero(), |m| m.settings.change_notice());
    check_reschedule(&current.facts(), actor, now, notice)?;
    if actor == current.mentee && tx.is_blocked(current.mentor, actor).await? {
        return Err(ServiceError::Blocked);
    }
    let mentor = mentor.ok_or(ServiceError::NotAMentor)?;
    let policy = mentor.settings.policy();
    let Outside {
        external,
        calendar,
        max_upcoming,
    } = outside;
    let facts =
        CommitFacts::load(tx, &mentor, current.mentee, start, now, Some(&id), external).await?;
    let interval = check_booking(&facts.request(
        &mentor,
        current.mentee,
        (start, now),
        &policy,
        max_upcoming,
    ))?;
    if interval == current.interval {
        return Err(ServiceError::SameTime);
    }
    match tx.move_booking(&id, interval, actor, now).await {
        Ok(()) => {}
        Err(StoreError::Overlap) => return Err(Rejection::SlotTaken.into()),
        Err(other) => return Err(other.into()),
    }
    tx.drop_reminders(&id, None).await?;
    let people = [current.mentor, current.mentee];
    plan_reminders(tx, &id, interval.start(), &people, now).await?;
    let (other, _) = current.other_person(actor);
    let notice = Notice::Rescheduled {
        booking: id.to_string(),
        recipient: other.0,
        actor: actor.0,
        from_start: current.interval.start().timestamp(),
        from_end: current.interval.end().timestamp(),
    };
    let calendar_status = queue_effects(tx, Some(notice), &current, now, calendar).await?;
    Ok(Booking {
        interval,
        calendar_status,
        ..current
    })
}

/// What a booking at `start` is checked against, read inside the writing transaction, and
/// the Google busy times from the cache (read before it).
struct CommitFacts(PairBusy, Vec<Interval>);

impl CommitFacts {
    async fn load(
        tx: &mut WriteTx,
        mentor: &Mentor,
        mentee: UserId,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
        except: Option<&BookingId>,
        external: Vec<Interval>,
    ) -> ServiceResult<CommitFacts> {
        let settings = mentor.settings;
        let reach = Duration::minutes(i64::from(
            settings.session_minutes + settings.buffer_minutes,
        ));
        // Busy time that could touch the slot or its buffers.
        let span = Interval::new(start - reach, start + reach)
            .ok_or_else(|| anyhow::anyhow!("no span around {start}"))?;
        // The mentor's local day, for max_per_day.
        let tz = mentor.schedule.tz();
        let day = (settings.max_per_day > 0)
            .then(|| day_span(tz, local_date(tz, start)))
            .flatten();
        let people = (mentor.user, mentee);
        Ok(CommitFacts(
            tx.pair_busy(people, span, day, now, except).await?,
            external,
        ))
    }

    /// The request to check: `mentee` at `start` (as of `now`).
    fn request<'a>(
        &'a self,
        mentor: &'a Mentor,
        mentee: UserId,
        (start, now): (DateTime<Utc>, DateTime<Utc>),
        policy: &'a SlotPolicy,
        max_upcoming: Option<u32>,
    ) -> BookingRequest<'a> {
        BookingRequest {
            mentor: mentor.user,
            mentee,
            start,
            slots: SlotInputs {
                schedule: &mentor.schedule,
                policy,
                busy: &self.0.mentor_busy,
                external_busy: &self.1,
                booked_starts: &self.0.mentor_day_starts,
                now,
            },
            mentee_busy: &self.0.mentee_busy,
            mentee_active_with_mentor: self.0.upcoming_between,
            max_per_mentee: mentor.settings.mentee_cap(),
            mentee_upcoming: self.0.mentee_upcoming,
            max_upcoming,
        }
    }
}

fn dm_job(notice: Notice, booking: &BookingId, now: DateTime<Utc>) -> ServiceResult<NewJob> {
    Ok(NewJob {
        kind: Notice::JOB_KIND.to_owned(),
        booking: Some(booking.clone()),
        payload: serde_json::to_value(&notice).map_err(anyhow::Error::new)?,
        run_after: now,
        now,
    })
}

/// Queues what a change to `current` causes: the other person's DM, and a calendar sync
/// when one is needed. Returns the booking's calendar status after the change.
async fn queue_effects(
    tx: &mut WriteTx,
    notice: Option<Notice>,
    current: &Booking,
    now: DateTime<Utc>,
    calendar: bool,
) -> ServiceResult<CalendarStatus> {
    if let Some(notice) = notice {
        tx.enqueue(&[dm_job(notice, &current.id, now)?]).await?;
    }
    if calendar && needs_sync(tx, current).await? {
        tx.queue_calendar_sync(&current.id, now).await?;
        Ok(CalendarStatus::Pending)
    } else {
        Ok(current.calendar_status)
    }
}

/// True when `mentor` has a usable Google grant.
async fn connected(tx: &mut WriteTx, mentor: UserId) -> ServiceResult<bool> {
    Ok(tx
        .google_account(mentor)
        .await?
        .is_some_and(|a| a.connected()))
}

/// A changed booking needs a calendar sync when its mentor is connected, or when an event
/// may exist from an earlier sync (it must be moved or deleted as far as possible).
async fn needs_sync(tx: &mut WriteTx, booking: &Booking) -> ServiceResult<bool> {
    Ok(booking.calendar_status != CalendarStatus::NotConnected
        || booking.calendar_event_id.is_some()
        || connected(tx, booking.mentor).await?)
}
