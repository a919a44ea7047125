//! The use cases the front ends call: load from the store, decide with the pure core,
//! write back in one transaction (queueing side effects as jobs). Every function takes
//! `now`, so tests and the picker see one consistent instant.
//!
//! Errors are typed: every [`ServiceError`] variant but `Internal` is something to tell the
//! user (its `Display` is the message, with a valid example where one helps); `Internal`
//! carries the cause chain for the log.

mod cache;
mod calendar;

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use chrono_tz::Tz;

pub use calendar::{CalendarView, ConnectLink, Connected, OAuthFailure};

use crate::domain::{
    Booking, CalendarStatus, Cancellation, Mentor, MentorSettings, Notice, Override, RoleFilter,
};
use crate::gcal::google::{ExternalBusy, Google};
use crate::scheduling::availability::Schedule;
use crate::scheduling::booking::{
    BookingId, BookingRequest, BookingStatus, Rejection, UserId, check_booking, check_cancel,
    check_reschedule,
};
use crate::scheduling::hours::{Days, LocalRange};
use crate::scheduling::interval::Interval;
use crate::scheduling::local_time::{end_instant, local_date, start_instant};
use crate::scheduling::parse::{
    ParseError, ParsedHours, parse_date, parse_days, parse_override_hours, parse_timezone,
    parse_weekly_hours, visible_text,
};
use crate::scheduling::slots::{SlotInputs, free_slots};
use crate::store::{
    BookingQuery, BusyTime, NewBooking, NewJob, PairBusy, Store, StoreError, WriteTx,
};

/// Days ahead an override may be set.
pub const OVERRIDE_MAX_DAYS: i64 = 365;
/// Longest cancellation reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Longest override note, in characters.
pub const MAX_NOTE_CHARS: usize = 200;
/// Longest display name kept on a booking, in characters.
const MAX_NAME_CHARS: usize = 100;
/// The longest booking horizon a mentor can set (`horizon_days`).
const MAX_HORIZON_DAYS: i64 = 365;
/// Attempts at drawing a free booking id (30 random bits each).
const ID_ATTEMPTS: usize = 8;

/// Everything that can go wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A typed text could not be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A booking rule refused the action.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The user has no mentor schedule yet.
    #[error(
        "You don't have any availability yet. Start with `/availability set days:mon-fri hours:09:00-17:00 timezone:Europe/Berlin`."
    )]
    NotAMentorYet,
    /// The person asked about has no schedule.
    #[error(
        "That person hasn't set any availability, so they can't be booked. Mentors start with `/availability set`."
    )]
    NotAMentor,
    /// A first schedule needs a zone.
    #[error(
        "Your availability needs a timezone: add `timezone:` (e.g. `/availability set days:mon-fri hours:09:00-17:00 timezone:Europe/Berlin`) or set yours with `/timezone set zone:Europe/Berlin`."
    )]
    NeedTimezone,
    /// A range cannot hold one session.
    #[error(
        "`{range}` is shorter than one session ({session} minutes). Use a longer range, e.g. `09:00-12:00`, or shorten sessions with `/availability settings session_minutes:`."
    )]
    RangeShorterThanSession {
        /// The range as typed back.
        range: String,
        /// The session length.
        session: u16,
    },
    /// A date before today.
    #[error("`{date}` is in the past. Use today or a later date, e.g. `{example}`.")]
    DateInPast {
        /// The date.
        date: NaiveDate,
        /// A valid date.
        example: NaiveDate,
    },
    /// A date too far ahead.
    #[error("`{date}` is more than {max_days} days ahead. Use a date up to `{last}`.")]
    DateTooFar {
        /// The date.
        date: NaiveDate,
        /// The limit.
        max_days: i64,
        /// The last allowed date.
        last: NaiveDate,
    },
    /// No override on that date.
    #[error("You have no override on `{0}`. `/override list` shows yours.")]
    NoOverride(NaiveDate),
    /// A setting outside its range.
    #[error("`{name}` must be between {min} and {max}, not {value}.")]
    SettingOutOfRange {
        /// The option's name.
        name: &'static str,
        /// Its lowest value.
        min: u16,
        /// Its highest value.
        max: u16,
        /// What was given.
        value: i64,
    },
    /// Free text too long.
    #[error("The {what} is too long ({len} characters); keep it under {max}.")]
    TextTooLong {
        /// What text.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A booking id that cannot be one.
    #[error("`{0}` is not a booking id. Ids look like `K7Q2MD`; `/bookings` lists yours.")]
    BadBookingId(String),
    /// A reschedule to the time the booking already has.
    #[error("Your booking is already at that time. Pick another slot to move it.")]
    SameTime,
    /// Google Calendar is not configured on this bot.
    #[error(
        "Calendar sync isn't available on this bot: its operator hasn't configured Google Calendar (`GOOGLE_CLIENT_ID`). Your bookings work all the same; `/bookings` lists them."
    )]
    CalendarOff,
    /// Anything unexpected; logged with its cause chain, shown only as a reference code.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    /// True when the message is for the user (everything but [`ServiceError::Internal`]).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, ServiceError::Internal(_))
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        ServiceError::Internal(anyhow::Error::new(error))
    }
}

/// Result of use cases.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// What `/availability set` changed.
#[derive(Debug, Clone)]
pub struct AvailabilityChange {
    /// The mentor after the change.
    pub mentor: Mentor,
    /// This call made the user a mentor.
    pub became_mentor: bool,
    /// Overlapping or touching ranges were merged.
    pub merged: bool,
    /// The schedule moved from this zone to the new one (wall times kept).
    pub moved_from: Option<Tz>,
    /// Upcoming bookings as mentor (they stay where they are when the zone moves).
    pub upcoming: Vec<Booking>,
}

/// What `/availability show` shows.
#[derive(Debug, Clone)]
pub struct AvailabilityView {
    /// Schedule and settings.
    pub mentor: Mentor,
    /// Overrides from today (mentor's zone) on.
    pub overrides: Vec<Override>,
}

/// What `/override add` did.
#[derive(Debug, Clone)]
pub struct OverrideAdded {
    /// The override.
    pub added: Override,
    /// It replaced an earlier override of that date.
    pub replaced: bool,
    /// Ranges were merged.
    pub merged: bool,
    /// Active bookings on that date (they stay).
    pub bookings: Vec<Booking>,
}

/// Changes for `/availability settings`; `None` leaves a setting unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettingsPatch {
    /// 15–240.
    pub session_minutes: Option<i64>,
    /// 0–120.
    pub buffer_minutes: Option<i64>,
    /// 0–168.
    pub min_notice_hours: Option<i64>,
    /// 1–365.
    pub horizon_days: Option<i64>,
    /// 0–50, 0 = no cap.
    pub max_per_day: Option<i64>,
    /// 0–20, 0 = no cap.
    pub max_per_mentee: Option<i64>,
}

/// A mentor's free slots as one viewer sees them: one local day, and the days around it
/// that have slots.
#[derive(Debug, Clone)]
pub struct DaySlots {
    /// The zone the day is in: the viewer's, or the mentor's if the viewer set none.
    pub tz: Tz,
    /// True when `tz` is the viewer's own zone.
    pub viewer_zone: bool,
    /// The day shown.
    pub date: NaiveDate,
    /// Its free slots, soonest first.
    pub slots: Vec<Interval>,
    /// The nearest earlier day with slots.
    pub previous: Option<NaiveDate>,
    /// The nearest later day with slots.
    pub next: Option<NaiveDate>,
    /// The mentor's Google Calendar could not be checked: the slots may include times
    /// they are busy elsewhere (mentorbot's own bookings are still excluded).
    pub calendar_unavailable: bool,
}

/// Everything needed to compute one mentor's free slots day by day for one viewer.
struct SlotSource {
    mentor: Mentor,
    policy: crate::scheduling::slots::SlotPolicy,
    busy: crate::store::BusyTime,
    /// Google busy times (mentorbot's own events left out).
    external: Vec<Interval>,
    calendar_unavailable: bool,
    tz: Tz,
    viewer_zone: bool,
    now: DateTime<Utc>,
    /// Today in the viewer's zone.
    first_day: NaiveDate,
    /// The viewer's day of the horizon's end.
    last_day: NaiveDate,
    /// The days whose busy time was loaded (a window around the asked day, or everything).
    covered: (NaiveDate, NaiveDate),
    /// Whether Google could be asked.
    fetched: bool,
}

impl SlotSource {
    /// True when `date`'s busy time is loaded.
    fn covers(&self, date: NaiveDate) -> bool {
        self.covered.0 <= date && date <= self.covered.1
    }

    /// The free slots starting on `date` (viewer's zone).
    fn on(&self, date: NaiveDate) -> Vec<Interval> {
        let Some(span) = day_span(self.tz, date) else {
            return Vec::new();
        };
        free_slots(
            &SlotInputs {
                schedule: &self.mentor.schedule,
                policy: &self.policy,
                busy: &self.busy.intervals,
                external_busy: &self.external,
                booked_starts: &self.busy.mentor_starts,
                now: self.now,
            },
            span,
        )
    }

    /// Days with free slots from `start` on, walking by `step` (1 or -1) within today ..=
    /// the horizon's last day.
    fn days_from(&self, start: NaiveDate, step: i64) -> impl Iterator<Item = NaiveDate> + '_ {
        let mut day = Some(start);
        std::iter::from_fn(move || {
            let current = day?;
            day = current.checked_add_signed(Duration::days(step));
            Some(current)
        })
        .take_while(move |d| *d >= self.first_day && *d <= self.last_day && self.covers(*d))
        .filter(move |d| !self.on(*d).is_empty())
    }

    /// True when a walk from `start` by `step` leaves the covered days before the horizon.
    fn walk_leaves_cover(&self, step: i64) -> bool {
        if step > 0 {
            self.covered.1 < self.last_day
        } else {
            self.covered.0 > self.first_day
        }
    }
}

/// One line of `/mentors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentorListing {
    /// The mentor.
    pub user: UserId,
    /// Their last seen display name.
    pub name: Option<String>,
    /// Their next free slot, if any.
    pub next: Option<Interval>,
}

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
}

/// The use cases, over one store.
#[derive(Debug, Clone)]
pub struct Service {
    store: Store,
    google: Option<Arc<Google>>,
    cache: Arc<cache::ReadCache>,
}

/// Overrides are kept from a few days back so that tails of past-midnight ranges and
/// zone edges near "today" see them.
fn override_horizon(now: DateTime<Utc>) -> NaiveDate {
    (now - Duration::days(3)).date_naive()
}

/// A display name as others will see it: no disguising characters, trimmed, bounded.
fn trimmed_name(name: &str) -> String {
    visible_text(name)
        .trim()
        .chars()
        .take(MAX_NAME_CHARS)
        .collect()
}

/// Free text shown to others (a reason, a note): cleaned as names are, then checked.
fn check_text(text: Option<&str>, what: &'static str, max: usize) -> ServiceResult<Option<String>> {
    let cleaned = text.map(visible_text);
    let Some(text) = cleaned.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let len = text.chars().count();
    if len > max {
        return Err(ServiceError::TextTooLong { what, len, max });
    }
    Ok(Some(text.to_owned()))
}

fn check_setting(
    value: Option<i64>,
    name: &'static str,
    min: u16,
    max: u16,
    current: u16,
) -> ServiceResult<u16> {
    match value {
        None => Ok(current),
        Some(v) if (i64::from(min)..=i64::from(max)).contains(&v) => Ok(v as u16),
        Some(v) => Err(ServiceError::SettingOutOfRange {
            name,
            min,
            max,
            value: v,
        }),
    }
}

fn check_session_fits(ranges: &[LocalRange], session: u16) -> ServiceResult<()> {
    match ranges.iter().find(|r| r.minutes() < session) {
        Some(r) => Err(ServiceError::RangeShorterThanSession {
            range: r.to_string(),
            session,
        }),
        None => Ok(()),
    }
}

/// The UTC span of local `date` in `tz`.
fn day_span(tz: Tz, date: NaiveDate) -> Option<Interval> {
    Interval::new(start_instant(tz, date, 0)?, end_instant(tz, date, 24 * 60)?)
}

fn parse_booking_id(text: &str) -> ServiceResult<BookingId> {
    BookingId::parse(text).ok_or_else(|| {
        ServiceError::BadBookingId(
            text.trim()
                .chars()
                .take(20)
                .collect::<String>()
                .replace('`', "'"),
        )
    })
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

    fn request<'a>(
        &'a self,
        mentor: &'a Mentor,
        mentee: UserId,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
        policy: &'a crate::scheduling::slots::SlotPolicy,
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
        }
    }
}

impl Service {
    /// The use cases over `store`.
    pub fn new(store: Store) -> Service {
        Service {
            store,
            google: None,
            cache: Arc::default(),
        }
    }

    /// The use cases with Google Calendar: pickers exclude connected mentors' busy times,
    /// and booking changes queue calendar syncs.
    pub fn with_google(store: Store, google: Arc<Google>) -> Service {
        Service {
            store,
            google: Some(google),
            cache: Arc::default(),
        }
    }

    /// Google Calendar, when configured.
    pub fn google(&self) -> Option<&Arc<Google>> {
        self.google.as_ref()
    }

    /// Runs a write of cached data (zones, names, schedules, settings, roles) and clears the
    /// read cache once it has committed, before anyone in its batch hears back (or after it
    /// failed, whose outcome a failed COMMIT leaves unknown).
    async fn transact_profile<T, E, F>(&self, unit: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut WriteTx) -> crate::store::BoxFuture<'t, Result<T, E>>
            + Send
            + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let cache = Arc::clone(&self.cache);
        let result = self
            .store
            .transact_then(unit, move |_: &T| cache.clear())
            .await;
        if result.is_err() {
            self.cache.clear();
        }
        result
    }

    /// A user's own zone, through the read cache.
    async fn cached_zone(&self, user: UserId) -> ServiceResult<Option<Tz>> {
        match self.cache.zone(user) {
            Some(zone) => Ok(zone),
            None => Ok(self.load_user(user).await?.0),
        }
    }

    /// Reads a user's zone and name together and keeps both: a new user's first picker
    /// needs both, and one read costs half of two.
    async fn load_user(&self, user: UserId) -> ServiceResult<(Option<Tz>, Option<String>)> {
        let ticket = self.cache.ticket();
        let (zone, name) = self.store.user_profile(user).await?;
        self.cache.keep_zone(ticket, user, zone);
        self.cache.keep_name(ticket, user, name.clone());
        Ok((zone, name))
    }

    /// A mentor (overrides from `since`), through the read cache.
    async fn cached_mentor(&self, user: UserId, since: NaiveDate) -> ServiceResult<Option<Mentor>> {
        if let Some(mentor) = self.cache.mentor(user, since) {
            return Ok(mentor);
        }
        let ticket = self.cache.ticket();
        let mentor = self.store.mentor(user, since).await?;
        self.cache.keep_mentor(ticket, user, since, mentor.clone());
        Ok(mentor)
    }

    /// The name last seen for a user, through the read cache.
    async fn cached_name(&self, user: UserId) -> ServiceResult<Option<String>> {
        match self.cache.name(user) {
            Some(name) => Ok(name),
            None => Ok(self.load_user(user).await?.1),
        }
    }

    /// The store (for the job worker and health checks).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// `/timezone set`.
    pub async fn set_timezone(&self, user: UserId, zone: &str) -> ServiceResult<Tz> {
        let tz = parse_timezone(zone)?;
        self.transact_profile(move |tx| {
            Box::pin(async move {
                tx.set_user_timezone(user, tz).await?;
                Ok(tz)
            })
        })
        .await
    }

    /// `/timezone show`: the user's zone, if set.
    pub async fn timezone(&self, user: UserId) -> ServiceResult<Option<Tz>> {
        self.cached_zone(user).await
    }

    /// `/availability set`: replaces the ranges of `days`; makes the user a mentor on first
    /// use; a `zone` moves the whole schedule to it, keeping wall times.
    pub async fn set_availability(
        &self,
        user: UserId,
        days: &str,
        hours: &str,
        zone: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<AvailabilityChange> {
        let days = parse_days(days)?;
        let hours = parse_weekly_hours(hours)?;
        let zone = zone
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .map(parse_timezone)
            .transpose()?;
        self.transact_profile(move |tx| {
            Box::pin(set_availability_in(tx, user, days, hours, zone, now))
        })
        .await
    }

    /// `/availability show` for `mentor`.
    pub async fn availability(
        &self,
        mentor: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<AvailabilityView> {
        let found = self.cached_mentor(mentor, override_horizon(now)).await?;
        let mentor = found.ok_or(ServiceError::NotAMentor)?;
        let overrides = self.upcoming_overrides(&mentor, now).await?;
        Ok(AvailabilityView { mentor, overrides })
    }

    /// `/availability clear`: removes weekly ranges; returns the upcoming bookings, which stay.
    pub async fn clear_availability(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Booking>> {
        self.transact_profile(move |tx| {
            Box::pin(async move {
                let mut mentor = existing_mentor(tx, user, now).await?;
                mentor.schedule.clear_weekly();
                tx.save_mentor(&mentor, now).await?;
                Ok(tx.bookings(&upcoming_as_mentor(user, now)).await?)
            })
        })
        .await
    }

    /// `/availability settings`: options left out stay unchanged.
    pub async fn update_settings(
        &self,
        user: UserId,
        patch: SettingsPatch,
        now: DateTime<Utc>,
    ) -> ServiceResult<MentorSettings> {
        self.transact_profile(move |tx| {
            Box::pin(async move {
                let mut mentor = existing_mentor(tx, user, now).await?;
                mentor.settings = patch.apply(mentor.settings)?;
                tx.save_mentor(&mentor, now).await?;
                Ok(mentor.settings)
            })
        })
        .await
    }

    /// `/override add`: `date` (mentor's zone) uses exactly `hours` (default `off`).
    pub async fn add_override(
        &self,
        user: UserId,
        date: &str,
        hours: Option<&str>,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<OverrideAdded> {
        let note = check_text(note, "note", MAX_NOTE_CHARS)?;
        let hours = parse_override_hours(
            hours
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .unwrap_or("off"),
        )?;
        let date = date.to_owned();
        self.transact_profile(move |tx| Box::pin(add_override_in(tx, user, date, hours, note, now)))
            .await
    }

    /// `/override list`: overrides from today (mentor's zone) on.
    pub async fn overrides(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Override>> {
        let mentor = self
            .store
            .mentor(user, override_horizon(now))
            .await?
            .ok_or(ServiceError::NotAMentorYet)?;
        self.upcoming_overrides(&mentor, now).await
    }

    /// `/override remove`.
    pub async fn remove_override(
        &self,
        user: UserId,
        date: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<NaiveDate> {
        let date = date.to_owned();
        self.transact_profile(move |tx| {
            Box::pin(async move {
                let mentor = existing_mentor(tx, user, now).await?;
                let date = parse_date(&date, local_date(mentor.schedule.tz(), now))?;
                if !tx.delete_override(user, date).await? {
                    return Err(ServiceError::NoOverride(date));
                }
                Ok(date)
            })
        })
        .await
    }

    async fn upcoming_overrides(
        &self,
        mentor: &Mentor,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Override>> {
        let today = local_date(mentor.schedule.tz(), now);
        let notes = self.store.override_notes(mentor.user, today).await?;
        Ok(mentor
            .schedule
            .overrides()
            .filter(|(date, _)| *date >= today)
            .map(|(date, ranges)| Override {
                date,
                ranges: ranges.to_vec(),
                note: notes
                    .iter()
                    .find(|(d, _)| *d == date)
                    .map(|(_, n)| n.clone()),
            })
            .collect())
    }

    /// The booking picker's data: `mentor`'s free slots on local `date` of the viewer (or the
    /// first day with slots when `date` is `None`) and the nearest days with slots around it.
    /// For a reschedule, `moving` is the booking being moved: its own time does not block.
    /// Days are computed one at a time, so a picker costs a few days' work, not the horizon's.
    pub async fn day_slots(
        &self,
        mentor: UserId,
        viewer: UserId,
        date: Option<NaiveDate>,
        moving: Option<&BookingId>,
        now: DateTime<Utc>,
    ) -> ServiceResult<DaySlots> {
        // Busy time for a fortnight around the day: enough for nearly every picker; a walk to
        // a farther day with slots loads the whole horizon.
        let near = self
            .slot_source(mentor, viewer, moving, now, Some(date), true)
            .await?;
        let mut full = None;
        let date = match date {
            Some(date) => date,
            None => self
                .walk(
                    &near,
                    &mut full,
                    mentor,
                    viewer,
                    moving,
                    now,
                    near.first_day,
                    1,
                )
                .await?
                .unwrap_or(near.first_day),
        };
        let previous = match date.pred_opt() {
            Some(before) => {
                self.walk(&near, &mut full, mentor, viewer, moving, now, before, -1)
                    .await?
            }
            None => None,
        };
        let next = match date.succ_opt() {
            Some(after) => {
                self.walk(&near, &mut full, mentor, viewer, moving, now, after, 1)
                    .await?
            }
            None => None,
        };
        let slots = match &full {
            Some(full) if !near.covers(date) => full.on(date),
            _ => near.on(date),
        };
        let calendar_unavailable =
            near.calendar_unavailable || full.as_ref().is_some_and(|f| f.calendar_unavailable);
        Ok(DaySlots {
            tz: near.tz,
            viewer_zone: near.viewer_zone,
            date,
            slots,
            previous,
            next,
            calendar_unavailable,
        })
    }

    /// The nearest day with slots from `start` by `step`, first within `near`'s window, then,
    /// if the walk leaves it, over the whole horizon (loaded once into `full`).
    #[allow(clippy::too_many_arguments)]
    async fn walk(
        &self,
        near: &SlotSource,
        full: &mut Option<SlotSource>,
        mentor: UserId,
        viewer: UserId,
        moving: Option<&BookingId>,
        now: DateTime<Utc>,
        start: NaiveDate,
        step: i64,
    ) -> ServiceResult<Option<NaiveDate>> {
        if start < near.first_day || start > near.last_day {
            return Ok(None);
        }
        if near.covers(start) {
            if let Some(found) = near.days_from(start, step).next() {
                return Ok(Some(found));
            }
            if !near.walk_leaves_cover(step) {
                return Ok(None);
            }
        }
        if full.is_none() {
            *full = Some(
                self.slot_source(mentor, viewer, moving, now, None, near.fetched)
                    .await?,
            );
        }
        Ok(full.as_ref().and_then(|f| f.days_from(start, step).next()))
    }

    /// Up to `limit` days (viewer's zone) with free slots of `mentor`, soonest first, with
    /// how many each has (for date autocomplete).
    pub async fn slot_days(
        &self,
        mentor: UserId,
        viewer: UserId,
        limit: usize,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<(NaiveDate, usize)>> {
        // Autocomplete never waits for Google: cached busy times only.
        let source = self
            .slot_source(mentor, viewer, None, now, None, false)
            .await?;
        Ok(source
            .days_from(source.first_day, 1)
            .take(limit)
            .map(|day| (day, source.on(day).len()))
            .collect())
    }

    /// Loads what slot generation needs. `around`: `Some(day)` loads busy time for a
    /// fortnight around `day` (or today, for `Some(None)`); `None` for the whole horizon.
    /// `fetch`: may ask Google for busy times (else only the cache is used).
    async fn slot_source(
        &self,
        mentor: UserId,
        viewer: UserId,
        moving: Option<&BookingId>,
        now: DateTime<Utc>,
        around: Option<Option<NaiveDate>>,
        fetch: bool,
    ) -> ServiceResult<SlotSource> {
        let mentor = self
            .cached_mentor(mentor, override_horizon(now))
            .await?
            .ok_or(ServiceError::NotAMentor)?;
        let viewer_tz = self.cached_zone(viewer).await?;
        let tz = viewer_tz.unwrap_or(mentor.schedule.tz());
        let policy = mentor.settings.policy();
        let horizon = Interval::new(now, now + policy.horizon)
            .ok_or_else(|| anyhow::anyhow!("empty horizon"))?;
        let (first_day, last_day) = (local_date(tz, now), local_date(tz, horizon.end()));
        let covered = match around {
            Some(day) => {
                let day = day.unwrap_or(first_day).clamp(first_day, last_day);
                (
                    (day - Duration::days(4)).max(first_day),
                    (day + Duration::days(10)).min(last_day),
                )
            }
            None => (first_day, last_day),
        };
        // Busy time of the covered days, with a day's margin for zones and buffers.
        let loaded = match (day_span(tz, covered.0), day_span(tz, covered.1)) {
            (Some(from), Some(to)) => Interval::new(from.start(), to.end()),
            _ => None,
        }
        .unwrap_or(horizon)
        .widened(Duration::days(2));
        let busy = self
            .busy_time(mentor.user, loaded, moving, now, policy.horizon)
            .await?;
        let (external, calendar_unavailable) = match &self.google {
            None => (Vec::new(), false),
            Some(google) => {
                // The whole horizon at once: one cached answer serves every day's picker.
                let span = horizon.widened(Duration::days(2));
                match google
                    .busy(&self.store, mentor.user, span, now, fetch)
                    .await?
                {
                    ExternalBusy::Known(busy) => (busy, false),
                    ExternalBusy::NotConnected => (Vec::new(), false),
                    ExternalBusy::Unavailable => (Vec::new(), true),
                }
            }
        };
        Ok(SlotSource {
            external,
            calendar_unavailable,
            fetched: fetch,
            covered,
            first_day,
            last_day,
            mentor,
            policy,
            busy,
            tz,
            viewer_zone: viewer_tz.is_some(),
            now,
        })
    }

    /// `user`'s busy time over `span`, through the read cache. A miss reads the whole
    /// horizon with a margin of days for any viewer's zone, so one read serves every day's
    /// picker until a booking of `user`'s commits. A reschedule picker, which leaves one
    /// booking out, reads the database.
    async fn busy_time(
        &self,
        user: UserId,
        span: Interval,
        moving: Option<&BookingId>,
        now: DateTime<Utc>,
        horizon: Duration,
    ) -> ServiceResult<BusyTime> {
        if moving.is_some() {
            return Ok(self.store.busy_time(user, span, moving).await?);
        }
        if let Some(busy) = self.cache.busy(user, span) {
            return Ok(busy);
        }
        let margin = Duration::days(4);
        let wide = Interval::new(now - margin, now + horizon + margin)
            .filter(|wide| wide.contains(&span))
            .unwrap_or(span);
        let ticket = self.cache.ticket();
        let busy = self.store.busy_time(user, wide, None).await?;
        let asked = busy.within(span);
        self.cache.keep_busy(ticket, user, wide, busy);
        Ok(asked)
    }

    /// Reads a `/book` date: in the viewer's zone (the mentor's if the viewer set none);
    /// from today to the last day of the mentor's booking horizon.
    pub async fn picker_date(
        &self,
        mentor: UserId,
        viewer: UserId,
        text: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<NaiveDate> {
        let tz = self.viewer_tz(mentor, viewer, now).await?;
        let today = local_date(tz, now);
        let date = parse_date(text, today)?;
        if date < today {
            return Err(ServiceError::DateInPast {
                date,
                example: today,
            });
        }
        let mentor = self
            .cached_mentor(mentor, override_horizon(now))
            .await?
            .ok_or(ServiceError::NotAMentor)?;
        let days = i64::from(mentor.settings.horizon_days);
        let last = local_date(tz, now + Duration::days(days));
        if date > last {
            return Err(ServiceError::DateTooFar {
                date,
                max_days: days,
                last,
            });
        }
        Ok(date)
    }

    /// The zone a picker of `mentor` is shown in to `viewer`: the viewer's own, else the
    /// mentor's.
    pub async fn viewer_tz(
        &self,
        mentor: UserId,
        viewer: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<Tz> {
        if let Some(tz) = self.cached_zone(viewer).await? {
            return Ok(tz);
        }
        let mentor = self
            .cached_mentor(mentor, override_horizon(now))
            .await?
            .ok_or(ServiceError::NotAMentor)?;
        Ok(mentor.schedule.tz())
    }

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
        let external = self.cached_busy(request.mentor, request.start, now).await?;
        let calendar = self.google.is_some();
        let cache = Arc::clone(&self.cache);
        let booked = self
            .store
            .transact_then(
                move |tx| Box::pin(book_in(tx, request, now, external, calendar)),
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
        check_reschedule(&current.facts(), actor, now)?;
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
        let calendar = self.google.is_some();
        let cache = Arc::clone(&self.cache);
        let moved = self
            .store
            .transact_then(
                move |tx| Box::pin(reschedule_in(tx, actor, id, start, now, external, calendar)),
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

    /// Remembers display names seen in an interaction, and lists `mentor_in` in `guild` when
    /// they are a mentor (a mentor is listed in a server once they used a mentor command
    /// there).
    pub async fn seen(
        &self,
        names: Vec<(UserId, String)>,
        mentor_in: Option<(u64, UserId)>,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        // Names rarely change: check on the read side and write only what differs, so
        // opening a picker does not queue a write behind the bookings.
        let mut changed = Vec::new();
        for (user, name) in names {
            let name = trimmed_name(&name);
            if self.cached_name(user).await?.as_deref() != Some(name.as_str()) {
                changed.push((user, name));
            }
        }
        if changed.is_empty() && mentor_in.is_none() {
            return Ok(());
        }
        let users: Vec<UserId> = changed.iter().map(|(user, _)| *user).collect();
        let names = changed;
        // Only names are cached of what this writes (server listings are always read
        // fresh), so only they are forgotten: a new mentee's first picker must not empty
        // the cache everyone's clicks are served from.
        let cache = Arc::clone(&self.cache);
        let written = users.clone();
        let result = self
            .store
            .transact_then(
                move |tx| {
                    Box::pin(async move {
                        for (user, name) in &names {
                            tx.remember_name(*user, name).await?;
                        }
                        if let Some((guild, mentor)) = mentor_in {
                            tx.list_in_guild(guild, mentor, now).await?;
                        }
                        Ok::<(), ServiceError>(())
                    })
                },
                move |_: &()| cache.forget_names(&written),
            )
            .await;
        // A failed COMMIT leaves the outcome unknown.
        if result.is_err() {
            self.cache.forget_names(&users);
        }
        result
    }

    /// The display name last seen for `user`.
    pub async fn user_name(&self, user: UserId) -> ServiceResult<Option<String>> {
        self.cached_name(user).await
    }

    /// `/mentors`: the mentors listed in `guild` with their next free slot, soonest first
    /// (mentors without free slots last).
    pub async fn mentors_in(
        &self,
        guild: u64,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<MentorListing>> {
        let mut listings = Vec::new();
        for (user, name) in self.store.guild_mentors(guild).await? {
            let near = match self
                .slot_source(user, user, None, now, Some(None), false)
                .await
            {
                Ok(source) => source,
                Err(ServiceError::NotAMentor) => continue,
                Err(other) => return Err(other),
            };
            let mut full = None;
            let day = self
                .walk(&near, &mut full, user, user, None, now, near.first_day, 1)
                .await?;
            let next = day.and_then(|day| {
                let source = match &full {
                    Some(full) if !near.covers(day) => full,
                    _ => &near,
                };
                source.on(day).into_iter().next()
            });
            listings.push(MentorListing { user, name, next });
        }
        listings.sort_by_key(|l| (l.next.is_none(), l.next.map(|n| n.start())));
        Ok(listings)
    }

    /// `/admin mentor-role`: sets (or, with `None`, clears) the role a mentor needs in `guild`.
    pub async fn set_mentor_role(&self, guild: u64, role: Option<u64>) -> ServiceResult<()> {
        self.transact_profile(move |tx| {
            Box::pin(async move {
                tx.set_mentor_role(guild, role).await?;
                Ok::<(), ServiceError>(())
            })
        })
        .await
    }

    /// The role a mentor needs in `guild`, if the server set one.
    pub async fn mentor_role(&self, guild: u64) -> ServiceResult<Option<u64>> {
        if let Some(role) = self.cache.role(guild) {
            return Ok(role);
        }
        let ticket = self.cache.ticket();
        let role = self.store.mentor_role(guild).await?;
        self.cache.keep_role(ticket, guild, role);
        Ok(role)
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

impl SettingsPatch {
    /// `current` with this patch applied, every value range-checked.
    fn apply(&self, current: MentorSettings) -> ServiceResult<MentorSettings> {
        let s = current;
        Ok(MentorSettings {
            session_minutes: check_setting(
                self.session_minutes,
                "session_minutes",
                15,
                240,
                s.session_minutes,
            )?,
            buffer_minutes: check_setting(
                self.buffer_minutes,
                "buffer_minutes",
                0,
                120,
                s.buffer_minutes,
            )?,
            min_notice_hours: check_setting(
                self.min_notice_hours,
                "min_notice_hours",
                0,
                168,
                s.min_notice_hours,
            )?,
            horizon_days: check_setting(self.horizon_days, "horizon_days", 1, 365, s.horizon_days)?,
            max_per_day: check_setting(self.max_per_day, "max_per_day", 0, 50, s.max_per_day)?,
            max_per_mentee: check_setting(
                self.max_per_mentee,
                "max_per_mentee",
                0,
                20,
                s.max_per_mentee,
            )?,
        })
    }
}

async fn existing_mentor(
    tx: &mut WriteTx,
    user: UserId,
    now: DateTime<Utc>,
) -> ServiceResult<Mentor> {
    tx.mentor(user, override_horizon(now))
        .await?
        .ok_or(ServiceError::NotAMentorYet)
}

async fn set_availability_in(
    tx: &mut WriteTx,
    user: UserId,
    days: Days,
    hours: ParsedHours,
    zone: Option<Tz>,
    now: DateTime<Utc>,
) -> ServiceResult<AvailabilityChange> {
    let existing = tx.mentor(user, override_horizon(now)).await?;
    let became_mentor = existing.is_none();
    let mut mentor = match existing {
        Some(mentor) => mentor,
        None => {
            let tz = match zone {
                Some(tz) => tz,
                None => tx
                    .user_timezone(user)
                    .await?
                    .ok_or(ServiceError::NeedTimezone)?,
            };
            Mentor {
                user,
                schedule: Schedule::new(tz),
                settings: MentorSettings::default(),
            }
        }
    };
    check_session_fits(&hours.ranges, mentor.settings.session_minutes)?;
    let old_tz = mentor.schedule.tz();
    let moved_from = zone
        .filter(|tz| *tz != old_tz && !became_mentor)
        .map(|_| old_tz);
    if let Some(tz) = zone {
        mentor.schedule = mentor.schedule.with_tz(tz);
    }
    mentor.schedule.set_weekly(days, &hours.ranges);
    tx.save_mentor(&mentor, now).await?;
    let upcoming = tx.bookings(&upcoming_as_mentor(user, now)).await?;
    Ok(AvailabilityChange {
        mentor,
        became_mentor,
        merged: hours.merged,
        moved_from,
        upcoming,
    })
}

async fn add_override_in(
    tx: &mut WriteTx,
    user: UserId,
    date: String,
    hours: ParsedHours,
    note: Option<String>,
    now: DateTime<Utc>,
) -> ServiceResult<OverrideAdded> {
    let mentor = existing_mentor(tx, user, now).await?;
    let tz = mentor.schedule.tz();
    let date = check_override_date(parse_date(&date, local_date(tz, now))?, tz, now)?;
    check_session_fits(&hours.ranges, mentor.settings.session_minutes)?;
    let replaced = mentor.schedule.override_on(date).is_some();
    tx.put_override(user, date, &hours.ranges, note.as_deref(), now)
        .await?;
    let bookings = match day_span(tz, date) {
        Some(span) => tx
            .bookings(&upcoming_as_mentor(user, now))
            .await?
            .into_iter()
            .filter(|b| span.contains_instant(b.interval.start()))
            .collect(),
        None => Vec::new(),
    };
    Ok(OverrideAdded {
        added: Override {
            date,
            ranges: hours.ranges,
            note,
        },
        replaced,
        merged: hours.merged,
        bookings,
    })
}

async fn book_in(
    tx: &mut WriteTx,
    request: BookRequest,
    now: DateTime<Utc>,
    external: Vec<Interval>,
    calendar: bool,
) -> ServiceResult<Booking> {
    let mentor = tx
        .mentor(request.mentor, override_horizon(now))
        .await?
        .ok_or(ServiceError::NotAMentor)?;
    let policy = mentor.settings.policy();
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
    let interval =
        check_booking(&facts.request(&mentor, request.mentee, request.start, now, &policy))?;

    let mut new = NewBooking {
        id: BookingId::from_random(0),
        mentor: request.mentor,
        mentee: request.mentee,
        mentor_name: trimmed_name(&request.mentor_name),
        mentee_name: trimmed_name(&request.mentee_name),
        interval,
        calendar_status: CalendarStatus::NotConnected,
        now,
    };
    let mut inserted = false;
    for _ in 0..ID_ATTEMPTS {
        let random = getrandom::u32().map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        new.id = BookingId::from_random(random);
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
    if calendar && connected(tx, request.mentor).await? {
        tx.queue_calendar_sync(&id, now).await?;
        new.calendar_status = CalendarStatus::Pending;
    }
    Ok(new.into_booking())
}

async fn cancel_in(
    tx: &mut WriteTx,
    actor: UserId,
    id: BookingId,
    reason: Option<String>,
    now: DateTime<Utc>,
    calendar: bool,
) -> ServiceResult<Booking> {
    let current = tx.booking(&id).await?.ok_or(Rejection::NotFound)?;
    check_cancel(&current.facts(), actor, now)?;
    tx.cancel_booking(&id, actor, reason.as_deref(), now)
        .await?;
    let (other, _) = current.other_person(actor);
    let notice = Notice::Cancelled {
        booking: id.to_string(),
        recipient: other.0,
        actor: actor.0,
    };
    tx.enqueue(&[dm_job(notice, &id, now)?]).await?;
    let calendar_status = if calendar && needs_sync(tx, &current).await? {
        tx.queue_calendar_sync(&id, now).await?;
        CalendarStatus::Pending
    } else {
        current.calendar_status
    };
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
    external: Vec<Interval>,
    calendar: bool,
) -> ServiceResult<Booking> {
    let current = tx.booking(&id).await?.ok_or(Rejection::NotFound)?;
    check_reschedule(&current.facts(), actor, now)?;
    let mentor = tx
        .mentor(current.mentor, override_horizon(now))
        .await?
        .ok_or(ServiceError::NotAMentor)?;
    let policy = mentor.settings.policy();
    let facts =
        CommitFacts::load(tx, &mentor, current.mentee, start, now, Some(&id), external).await?;
    let interval = check_booking(&facts.request(&mentor, current.mentee, start, now, &policy))?;
    if interval == current.interval {
        return Err(ServiceError::SameTime);
    }
    match tx.move_booking(&id, interval, actor, now).await {
        Ok(()) => {}
        Err(StoreError::Overlap) => return Err(Rejection::SlotTaken.into()),
        Err(other) => return Err(other.into()),
    }
    let (other, _) = current.other_person(actor);
    let notice = Notice::Rescheduled {
        booking: id.to_string(),
        recipient: other.0,
        actor: actor.0,
        from_start: current.interval.start().timestamp(),
        from_end: current.interval.end().timestamp(),
    };
    tx.enqueue(&[dm_job(notice, &id, now)?]).await?;
    let calendar_status = if calendar && needs_sync(tx, &current).await? {
        tx.queue_calendar_sync(&id, now).await?;
        CalendarStatus::Pending
    } else {
        current.calendar_status
    };
    Ok(Booking {
        interval,
        calendar_status,
        ..current
    })
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

fn upcoming_as_mentor(user: UserId, now: DateTime<Utc>) -> BookingQuery {
    BookingQuery {
        user,
        role: RoleFilter::Mentor,
        past: false,
        include_cancelled: false,
        now,
        limit: 1000,
    }
}

/// An override date must be today or later (mentor's zone) and at most a year ahead.
fn check_override_date(date: NaiveDate, tz: Tz, now: DateTime<Utc>) -> ServiceResult<NaiveDate> {
    let today = local_date(tz, now);
    if date < today {
        return Err(ServiceError::DateInPast {
            date,
            example: today + Duration::days(1),
        });
    }
    let last = today + Duration::days(OVERRIDE_MAX_DAYS);
    if date > last {
        return Err(ServiceError::DateTooFar {
            date,
            max_days: OVERRIDE_MAX_DAYS,
            last,
        });
    }
    Ok(date)
}
