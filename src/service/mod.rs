//! The use cases the front ends call: load from the store, decide with the pure core,
//! write back in one transaction (queueing side effects as jobs). Every function takes
//! `now`, so tests and the picker see one consistent instant.
//!
//! One file per group of use cases, each public function next to its transaction body:
//! - `schedule`: timezone, weekly availability, settings, date overrides.
//! - `slots`: free slots for pickers and autocomplete.
//! - `bookings`: book, cancel, reschedule, list.
//! - `blocks`: a mentor blocking a member from booking them.
//! - `people`: names, the `/mentors` listing, the mentor role.
//! - `privacy`: a user's data: export and erasure.
//! - `reminders`: reminder leads, and planning reminders with each booking.
//! - `calendar`: `/calendar status` and `disconnect`.
//! - `connect`: connecting Google Calendar: its OAuth pages and the DM's Confirm / Not me.
//! - `google`: the connected Google: access tokens and busy times per
//!   mentor, cached (the HTTP itself is `gcal`'s).
//! - `error` ([`ServiceError`]), `validate` (checks of typed input and the settings' bounds),
//!   `cache` (the read cache of zones, names, mentors, roles and busy time).
//!
//! This room may touch the store and, through `gcal`, Google; never Discord.

mod blocks;
mod bookings;
mod cache;
mod calendar;
mod connect;
mod error;
mod google;
mod people;
mod privacy;
mod reminders;
mod schedule;
mod slots;
mod validate;

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

pub use bookings::BookRequest;
pub use calendar::CalendarView;
pub use connect::{
    AwaitingConfirmation, CONFIRM_LIFETIME, ConnectLink, Connected, Continue, OAuthFailure,
    STATE_LIFETIME, StartPage,
};
pub use error::{ServiceError, ServiceResult};
pub use google::{ExternalBusy, Google, GoogleOptions, TokenError};
pub use people::MentorListing;
pub use privacy::Deleted;
pub use reminders::DEFAULT_LEADS;
pub use schedule::{AvailabilityChange, AvailabilityView, OverrideAdded, SettingsPatch};
pub use slots::DaySlots;
pub use validate::{
    BUFFER_MINUTES, CHANGE_NOTICE_HOURS, HORIZON_DAYS, MAX_NOTE_CHARS, MAX_PER_DAY, MAX_PER_MENTEE,
    MAX_REASON_CHARS, MIN_NOTICE_HOURS, OVERRIDE_MAX_DAYS, SESSION_MINUTES, SETTINGS,
    SettingBounds,
};

use crate::domain::{AccountNotice, Mentor, RoleFilter, UserId};
use crate::scheduling::interval::Interval;
use crate::scheduling::local_time::{end_instant, start_instant};
use crate::store::{BookingQuery, NewJob, Store, StoreError, WriteTx};

/// The use cases, over one store.
#[derive(Debug, Clone)]
pub struct Service {
    store: Store,
    google: Option<Arc<Google>>,
    cache: Arc<cache::ReadCache>,
    /// The most upcoming sessions a mentee may hold with all mentors together.
    max_upcoming: Option<u32>,
}

/// [`Service::with_max_upcoming`]'s default (`MAX_UPCOMING_PER_MENTEE`).
pub const DEFAULT_MAX_UPCOMING: u32 = 10;

/// Overrides are kept from a few days back so that tails of past-midnight ranges and
/// zone edges near "today" see them.
fn override_horizon(now: DateTime<Utc>) -> NaiveDate {
    (now - Duration::days(3)).date_naive()
}

/// The job that DMs `notice` (about a user's Google account), due at `now`.
fn account_job(notice: &AccountNotice, now: DateTime<Utc>) -> anyhow::Result<NewJob> {
    Ok(NewJob {
        kind: AccountNotice::JOB_KIND.to_owned(),
        booking: None,
        payload: serde_json::to_value(notice)
            .map_err(|e| anyhow::anyhow!("an account notice: {e}"))?,
        run_after: now,
        now,
    })
}

/// The mentor's upcoming active bookings (as many as anyone could hold).
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

/// The UTC span of local `date` in `tz`.
fn day_span(tz: Tz, date: NaiveDate) -> Option<Interval> {
    Interval::new(start_instant(tz, date, 0)?, end_instant(tz, date, 24 * 60)?)
}

impl Service {
    /// The use cases over `store`.
    pub fn new(store: Store) -> Service {
        Service {
            store,
            google: None,
            cache: Arc::default(),
            max_upcoming: Some(DEFAULT_MAX_UPCOMING),
        }
    }

    /// The use cases with Google Calendar: pickers exclude connected mentors' busy times,
    /// and booking changes queue calendar syncs.
    pub fn with_google(store: Store, google: Arc<Google>) -> Service {
        Service {
            store,
            google: Some(google),
            cache: Arc::default(),
            max_upcoming: Some(DEFAULT_MAX_UPCOMING),
        }
    }

    /// The same use cases with another cap on a mentee's upcoming sessions (with all
    /// mentors together); `None` for no cap.
    pub fn with_max_upcoming(mut self, max: Option<u32>) -> Service {
        self.max_upcoming = max;
        self
    }

    /// Google Calendar, when configured.
    pub fn google(&self) -> Option<&Arc<Google>> {
        self.google.as_ref()
    }

    /// The store (for the job worker and health checks).
    pub fn store(&self) -> &Store {
        &self.store
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
}
