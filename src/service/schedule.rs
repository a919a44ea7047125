//! A mentor's schedule: `/timezone`, `/availability set | show | clear | settings` and
//! `/override add | list | remove`. Writes go through [`Service::transact_profile`], which
//! clears the read cache once they commit.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::validate::{MAX_NOTE_CHARS, check_override_date, check_session_fits, check_text};
use super::{Service, ServiceError, ServiceResult, day_span, override_horizon, upcoming_as_mentor};
use crate::domain::{Booking, Mentor, MentorSettings, Override, UserId};
use crate::scheduling::availability::Schedule;
use crate::scheduling::hours::Days;
use crate::scheduling::local_time::local_date;
use crate::scheduling::parse::{
    ParsedHours, parse_date, parse_days, parse_override_hours, parse_timezone, parse_weekly_hours,
};
use crate::store::WriteTx;

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
    /// Within [`SESSION_MINUTES`](crate::service::SESSION_MINUTES).
    pub session_minutes: Option<i64>,
    /// Within [`BUFFER_MINUTES`](crate::service::BUFFER_MINUTES).
    pub buffer_minutes: Option<i64>,
    /// Within [`MIN_NOTICE_HOURS`](crate::service::MIN_NOTICE_HOURS).
    pub min_notice_hours: Option<i64>,
    /// Within [`HORIZON_DAYS`](crate::service::HORIZON_DAYS).
    pub horizon_days: Option<i64>,
    /// Within [`MAX_PER_DAY`](crate::service::MAX_PER_DAY).
    pub max_per_day: Option<i64>,
    /// Within [`MAX_PER_MENTEE`](crate::service::MAX_PER_MENTEE).
    pub max_per_mentee: Option<i64>,
    /// Within [`CHANGE_NOTICE_HOURS`](crate::service::CHANGE_NOTICE_HOURS).
    pub change_notice_hours: Option<i64>,
}

impl Service {
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

    /// `/override list`: overrides from today (mentor's zone) on, or from the date `from`
    /// (the pointer a cut list gives to the rest).
    pub async fn overrides(
        &self,
        user: UserId,
        from: Option<&str>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Override>> {
        let mentor = self
            .store
            .mentor(user, override_horizon(now))
            .await?
            .ok_or(ServiceError::NotAMentorYet)?;
        let from = match from {
            Some(text) => Some(parse_date(text, local_date(mentor.schedule.tz(), now))?),
            None => None,
        };
        let mut overrides = self.upcoming_overrides(&mentor, now).await?;
        if let Some(from) = from {
            overrides.retain(|o| o.date >= from);
        }
        Ok(overrides)
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
