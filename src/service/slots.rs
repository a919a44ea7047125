//! Free slots as a viewer sees them: the booking picker's day (`day_slots`), the date
//! autocomplete (`slot_days`), the `/book date:` check (`picker_date`) and the zone a picker
//! is shown in. Days are computed one at a time from a [`SlotSource`], so a picker costs a
//! few days' work, not the horizon's.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::ExternalBusy;
use super::{Service, ServiceError, ServiceResult, day_span, override_horizon};
use crate::domain::{BookingId, Mentor, UserId};
use crate::scheduling::interval::Interval;
use crate::scheduling::local_time::local_date;
use crate::scheduling::parse::parse_date;
use crate::scheduling::slots::{SlotInputs, SlotPolicy, free_slots};
use crate::store::BusyTime;

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
pub(super) struct SlotSource {
    mentor: Mentor,
    policy: SlotPolicy,
    busy: BusyTime,
    /// Google busy times (mentorbot's own events left out).
    external: Vec<Interval>,
    calendar_unavailable: bool,
    tz: Tz,
    viewer_zone: bool,
    now: DateTime<Utc>,
    /// Today in the viewer's zone.
    pub(super) first_day: NaiveDate,
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
    pub(super) fn on(&self, date: NaiveDate) -> Vec<Interval> {
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

/// Which days' busy time a [`SlotSource`] loads.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cover {
    /// A fortnight around this day (or around today), clamped to today ..= the horizon's
    /// last day: enough for nearly every picker.
    Near(Option<NaiveDate>),
    /// The whole booking horizon.
    Horizon,
}

/// What one answer's slot loads share: whose slots, for whom, and when.
#[derive(Debug, Clone, Copy)]
pub(super) struct SlotQuery<'a> {
    pub(super) mentor: UserId,
    pub(super) viewer: UserId,
    /// For a reschedule, the booking being moved: its own time does not block.
    pub(super) moving: Option<&'a BookingId>,
    pub(super) now: DateTime<Utc>,
}

/// A walk over a mentor's days with slots: first within `near` (a fortnight of busy time),
/// then, the first time a walk leaves it, over the whole horizon (`full`, loaded once).
pub(super) struct DayWalk<'a> {
    service: &'a Service,
    query: SlotQuery<'a>,
    pub(super) near: SlotSource,
    full: Option<SlotSource>,
}

impl<'a> DayWalk<'a> {
    /// Starts a walk with `cover` loaded; `fetch`: Google may be asked for busy times (else
    /// only its cache is used).
    pub(super) async fn start(
        service: &'a Service,
        query: SlotQuery<'a>,
        cover: Cover,
        fetch: bool,
    ) -> ServiceResult<DayWalk<'a>> {
        let near = service.slot_source(query, cover, fetch).await?;
        Ok(DayWalk {
            service,
            query,
            near,
            full: None,
        })
    }

    /// The nearest day with slots from `start` by `step` (1 or -1).
    pub(super) async fn nearest(
        &mut self,
        start: NaiveDate,
        step: i64,
    ) -> ServiceResult<Option<NaiveDate>> {
        let near = &self.near;
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
        if self.full.is_none() {
            let fetch = near.fetched;
            self.full = Some(
                self.service
                    .slot_source(self.query, Cover::Horizon, fetch)
                    .await?,
            );
        }
        Ok(self
            .full
            .as_ref()
            .and_then(|f| f.days_from(start, step).next()))
    }

    /// The free slots on `date`, from whichever source has its busy time.
    pub(super) fn slots_on(&self, date: NaiveDate) -> Vec<Interval> {
        match &self.full {
            Some(full) if !self.near.covers(date) => full.on(date),
            _ => self.near.on(date),
        }
    }

    /// True when either source could not check the mentor's Google Calendar.
    fn calendar_unavailable(&self) -> bool {
        self.near.calendar_unavailable || self.full.as_ref().is_some_and(|f| f.calendar_unavailable)
    }
}

impl Service {
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
        let query = SlotQuery {
            mentor,
            viewer,
            moving,
            now,
        };
        let mut walk = DayWalk::start(self, query, Cover::Near(date), true).await?;
        let first_day = walk.near.first_day;
        let date = match date {
            Some(date) => date,
            None => walk.nearest(first_day, 1).await?.unwrap_or(first_day),
        };
        let previous = match date.pred_opt() {
            Some(before) => walk.nearest(before, -1).await?,
            None => None,
        };
        let next = match date.succ_opt() {
            Some(after) => walk.nearest(after, 1).await?,
            None => None,
        };
        Ok(DaySlots {
            tz: walk.near.tz,
            viewer_zone: walk.near.viewer_zone,
            date,
            slots: walk.slots_on(date),
            previous,
            next,
            calendar_unavailable: walk.calendar_unavailable(),
        })
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
        let query = SlotQuery {
            mentor,
            viewer,
            moving: None,
            now,
        };
        // Autocomplete never waits for Google: cached busy times only.
        let source = self.slot_source(query, Cover::Horizon, false).await?;
        Ok(source
            .days_from(source.first_day, 1)
            .take(limit)
            .map(|day| (day, source.on(day).len()))
            .collect())
    }

    /// Loads what slot generation needs for `query`, with busy time for the days of `cover`.
    /// `fetch`: may ask Google for busy times (else only the cache is used).
    pub(super) async fn slot_source(
        &self,
        query: SlotQuery<'_>,
        cover: Cover,
        fetch: bool,
    ) -> ServiceResult<SlotSource> {
        let SlotQuery {
            mentor,
            viewer,
            moving,
            now,
        } = query;
        let mentor_id = mentor;
        let mentor = self
            .cached_mentor(mentor, override_horizon(now))
            .await?
            .ok_or(ServiceError::NotAMentor)?;
        if viewer != mentor_id && self.store.is_blocked(mentor_id, viewer).await? {
            return Err(ServiceError::Blocked);
        }
        let viewer_tz = self.cached_zone(viewer).await?;
        let tz = viewer_tz.unwrap_or(mentor.schedule.tz());
        let policy = mentor.settings.policy();
        let horizon = Interval::new(now, now + policy.horizon)
            .ok_or_else(|| anyhow::anyhow!("empty horizon"))?;
        let (first_day, last_day) = (local_date(tz, now), local_date(tz, horizon.end()));
        let covered = match cover {
            Cover::Near(day) => {
                let day = day.unwrap_or(first_day).clamp(first_day, last_day);
                (
                    (day - Duration::days(4)).max(first_day),
                    (day + Duration::days(10)).min(last_day),
                )
            }
            Cover::Horizon => (first_day, last_day),
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
}
