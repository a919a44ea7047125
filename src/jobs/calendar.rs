//! The calendar sync job: brings a booking's Google event to the booking's current state.
//!
//! One job per booking (re-armed by every change) reads the booking when it runs, so a late
//! create can never leave an orphan after a cancel: an active booking gets its event created
//! (or adopted, or moved) with a Meet link; a cancelled one gets it deleted. The event id is
//! derived from the booking id and the install's salt, so a create repeated after a crash
//! answers 409 and the existing (tagged) event is adopted instead of duplicated. A result is
//! recorded only if the booking did not change while Google was being called; otherwise the
//! job runs again at once.

use chrono::{DateTime, Duration, Utc};
use tokio::time::Instant;

use super::Messenger;
use super::worker::{Inner, Recorded, Tally};
use crate::domain::{Booking, CalendarStatus, Notice, UserId};
use crate::gcal::client::{Conference, Event, GoogleError, NewEvent};
use crate::scheduling::booking::BookingStatus;
use crate::secret::Secret;
use crate::service::{Google, TokenError};
use crate::store::{Job, NewJob, Store, StoreError, SyncRecord, SyncTarget};

/// How a sync ended, for the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SyncOutcome {
    /// The booking and the job were recorded together. `done`: the job finished (synced,
    /// not connected, or failed for good — `failed` says which); `false` for `done` means the
    /// booking changed meanwhile and the job is due again at once. `held`: false when the
    /// lease was lost before recording (nothing was written).
    Recorded {
        /// Finished (true) or re-queued because the booking changed (false).
        done: bool,
        /// Finished as failed.
        failed: bool,
        /// The lease was still held.
        held: bool,
    },
    /// Try again later (Google or the network failed transiently).
    Retry {
        /// Google's `Retry-After`, if it sent one.
        after: Option<std::time::Duration>,
        /// What went wrong.
        error: String,
    },
}

/// Runs one claimed `calendar_sync` job held by `owner`.
async fn run(
    google: &Google,
    store: &Store,
    job: &Job,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<SyncOutcome, StoreError> {
    let claim = Claim {
        store,
        job,
        owner,
        now,
    };
    let Some(id) = job.booking.clone() else {
        return claim.finish(Some("calendar job without a booking")).await;
    };
    let Some(booking) = store.booking(&id).await? else {
        return claim.finish(Some("booking not found")).await;
    };
    let target = SyncTarget {
        status: booking.status,
        interval: booking.interval,
    };
    if now >= booking.interval.end() {
        let error = "the session ended before its calendar event could be updated";
        let record = (booking.calendar_status == CalendarStatus::Pending)
            .then(|| bare(CalendarStatus::Failed, Some(error.to_owned())));
        return claim
            .finish_with(&booking, target, record, Some(error))
            .await;
    }

    let mut sync = Sync {
        google,
        store,
        booking: &booking,
        now,
        token: None,
    };
    let result = match booking.status {
        BookingStatus::Active => sync.make_current().await,
        BookingStatus::Cancelled => sync.remove().await,
    };
    let record = match result {
        Ok(record) => record,
        Err(Failure::NotConnected) => bare(CalendarStatus::NotConnected, None),
        Err(Failure::Retry { after, error }) => return Ok(SyncOutcome::Retry { after, error }),
        Err(Failure::Permanent(error)) => {
            tracing::warn!(booking = %booking.id, error, "calendar sync failed for good");
            bare(CalendarStatus::Failed, Some(error))
        }
        Err(Failure::Store(error)) => return Err(error),
    };
    let error = record.error.clone();
    claim
        .finish_with(&booking, target, Some(record), error.as_deref())
        .await
}

/// A result without an event id or link to record (those already stored stay).
fn bare(status: CalendarStatus, error: Option<String>) -> SyncRecord {
    SyncRecord {
        status,
        event_id: None,
        meet_link: None,
        error,
    }
}

/// Why a sync did not reach its goal.
enum Failure {
    NotConnected,
    Retry {
        after: Option<std::time::Duration>,
        error: String,
    },
    Permanent(String),
    Store(StoreError),
}

impl From<GoogleError> for Failure {
    fn from(error: GoogleError) -> Self {
        match error {
            GoogleError::Retry { after, reason } => Failure::Retry {
                after,
                error: reason,
            },
            GoogleError::Unauthorized => Failure::Retry {
                after: None,
                error: "Google refused a fresh access token (401)".to_owned(),
            },
            other => Failure::Permanent(other.to_string()),
        }
    }
}

impl From<TokenError> for Failure {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::NotConnected | TokenError::Revoked | TokenError::ReconnectNeeded => {
                Failure::NotConnected
            }
            // The operator's configuration: retried (with backoff) until it is fixed.
            TokenError::Misconfigured(e) => Failure::Retry {
                after: None,
                error: e,
            },
            TokenError::Transient(e) => Failure::Retry {
                after: None,
                error: e,
            },
            TokenError::Permanent(e) => Failure::Permanent(format!("token refresh refused: {e}")),
            // A store failure while getting the token: not the booking's fault.
            TokenError::Internal(e) => Failure::Retry {
                after: None,
                error: crate::cause::chain(e.as_ref()),
            },
        }
    }
}

struct Sync<'a> {
    google: &'a Google,
    store: &'a Store,
    booking: &'a Booking,
    now: DateTime<Utc>,
    token: Option<Secret>,
}

impl Sync<'_> {
    fn mentor(&self) -> UserId {
        self.booking.mentor
    }

    fn event_id(&self) -> String {
        self.google.event_id(&self.booking.id)
    }

    async fn token(&mut self) -> Result<Secret, Failure> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        let token = self
            .google
            .access_token(self.store, self.mentor(), self.now)
            .await?;
        self.token = Some(token.clone());
        Ok(token)
    }

    /// Calls Google with the access token, refreshing it once on 401. The outer error is
    /// about the token; the inner result is Google's answer to `op`.
    async fn call<T, F, Fut>(&mut self, op: F) -> Result<Result<T, GoogleError>, Failure>
    where
        F: Fn(Secret) -> Fut,
        Fut: Future<Output = Result<T, GoogleError>>,
    {
        let token = self.token().await?;
        match op(token).await {
            Err(GoogleError::Unauthorized) => {
                self.google.forget_token(self.mentor());
                self.token = None;
                let token = self.token().await?;
                Ok(op(token).await)
            }
            other => Ok(other),
        }
    }

    /// The event exists at the booking's time (created, adopted or moved), with its Meet link
    /// if Google made one.
    async fn make_current(&mut self) -> Result<SyncRecord, Failure> {
        let id = self.event_id();
        let booking = self.booking;
        let zone = match self
            .store
            .mentor(booking.mentor, self.now.date_naive())
            .await
        {
            Ok(Some(mentor)) => mentor.schedule.tz().name().to_owned(),
            Ok(None) => "UTC".to_owned(),
            Err(error) => return Err(Failure::Store(error)),
        };
        let (start, end) = (booking.interval.start(), booking.interval.end());
        let client = self.google.calendar();
        let event = if booking.calendar_event_id.is_some() {
            match self
                .call(|t| {
                    let (id, zone) = (id.clone(), zone.clone());
                    async move { client.move_event(&t, &id, start, end, &zone).await }
                })
                .await?
            {
                Err(GoogleError::NotFound) => return Err(deleted_in_google()),
                other => other?,
            }
        } else {
            let new = NewEvent {
                id: id.clone(),
                summary: format!(
                    "Mentoring: {} & {}",
                    booking.mentor_name, booking.mentee_name
                ),
                description: format!(
                    "Booked with mentorbot (booking {}). Mentor: {}. Mentee: {}.",
                    booking.id, booking.mentor_name, booking.mentee_name
                ),
                start,
                end,
                time_zone: zone.clone(),
                booking_tag: booking.id.to_string(),
                request_id: booking.id.to_string(),
            };
            let inserted = self
                .call(|t| {
                    let new = new.clone();
                    async move { client.insert_event(&t, &new).await }
                })
                .await?;
            match inserted {
                Ok(event) => event,
                Err(GoogleError::Conflict) => self.adopt(&id, &zone).await?,
                Err(other) => return Err(other.into()),
            }
        };
        let link = self.meet_link(event).await?;
        Ok(SyncRecord {
            status: CalendarStatus::Synced,
            event_id: Some(id),
            meet_link: link,
            error: None,
        })
    }

    /// A create answered 409: the id is taken. Ours (tagged with this booking, e.g. created
    /// by a run that died before recording it) is adopted and moved if needed; anyone
    /// else's is a permanent failure.
    async fn adopt(&mut self, id: &str, zone: &str) -> Result<Event, Failure> {
        let client = self.google.calendar();
        let existing = match self
            .call(|t| async move { client.get_event(&t, id).await })
            .await?
        {
            Err(GoogleError::NotFound) => return Err(deleted_in_google()),
            other => other?,
        };
        if existing.booking_tag.as_deref() != Some(self.booking.id.as_str()) {
            return Err(Failure::Permanent(format!(
                "an event with id {id} already exists in the mentor's calendar and is not this booking's"
            )));
        }
        if existing.cancelled {
            return Err(deleted_in_google());
        }
        let (start, end) = (self.booking.interval.start(), self.booking.interval.end());
        if existing.start == Some(start) && existing.end == Some(end) {
            return Ok(existing);
        }
        Ok(self
            .call(|t| async move { client.move_event(&t, id, start, end, zone).await })
            .await??)
    }

    /// The Meet link, reading a `pending` conference again a bounded number of times.
    async fn meet_link(&mut self, mut event: Event) -> Result<Option<String>, Failure> {
        let client = self.google.calendar();
        for _ in 0..self.google.options().meet_reads {
            if !matches!(event.conference, Conference::Pending) {
                break;
            }
            tokio::time::sleep(self.google.options().meet_poll).await;
            let id = event.id.clone();
            event = self
                .call(|t| {
                    let id = id.clone();
                    async move { client.get_event(&t, &id).await }
                })
                .await??;
        }
        Ok(match event.conference {
            Conference::Ready(link) => Some(link),
            Conference::Pending => {
                tracing::warn!(booking = %self.booking.id, "Meet link still pending; synced without it");
                None
            }
            Conference::Failed | Conference::None => None,
        })
    }

    /// The booking was cancelled: its event is deleted (already gone counts as done).
    async fn remove(&mut self) -> Result<SyncRecord, Failure> {
        let id = self.event_id();
        let client = self.google.calendar();
        self.call(|t| {
            let id = id.clone();
            async move { client.delete_event(&t, &id).await }
        })
        .await??;
        Ok(bare(CalendarStatus::Cancelled, None))
    }
}

fn deleted_in_google() -> Failure {
    Failure::Permanent("the event was deleted from Google Calendar; it is not recreated".into())
}

/// The claimed job a sync runs for, and what recording its outcome needs.
#[derive(Clone, Copy)]
struct Claim<'a> {
    store: &'a Store,
    job: &'a Job,
    owner: &'a str,
    now: DateTime<Utc>,
}

impl Claim<'_> {
    /// Finishes the job without touching the booking.
    async fn finish(&self, error: Option<&str>) -> Result<SyncOutcome, StoreError> {
        let (id, owner, now) = (self.job.id, self.owner.to_owned(), self.now);
        let error = error.map(str::to_owned);
        let failed = error.is_some();
        let held = self
            .store
            .transact(move |tx| {
                Box::pin(async move { tx.finish_job(id, &owner, now, error.as_deref()).await })
            })
            .await?;
        Ok(SyncOutcome::Recorded {
            done: true,
            failed,
            held,
        })
    }

    /// Records `record` on the booking (if it still matches `target`) together with the job's
    /// outcome, in one transaction; queues the Meet link DM when a link is new.
    async fn finish_with(
        &self,
        booking: &Booking,
        target: SyncTarget,
        record: Option<SyncRecord>,
        error: Option<&str>,
    ) -> Result<SyncOutcome, StoreError> {
        let (job_id, owner, now) = (self.job.id, self.owner.to_owned(), self.now);
        let error = error.map(str::to_owned);
        let failed = error.is_some();
        let id = booking.id.clone();
        let mentor = booking.mentor;
        let meet_dm = match &record {
            Some(SyncRecord {
                meet_link: Some(_), ..
            }) if booking.meet_link.is_none()
                && booking.status == BookingStatus::Active
                && booking.interval.start() > now =>
            {
                let notice = Notice::MeetLink {
                    booking: id.to_string(),
                    recipient: booking.mentee.0,
                };
                Some(NewJob {
                    kind: Notice::JOB_KIND.to_owned(),
                    booking: Some(id.clone()),
                    payload: serde_json::to_value(&notice)
                        .map_err(|e| StoreError::Corrupt(format!("notice: {e}")))?,
                    run_after: now,
                    now,
                })
            }
            _ => None,
        };
        self.store
            .transact(move |tx| {
                Box::pin(async move {
                    let Some(record) = record else {
                        let held = tx.finish_job(job_id, &owner, now, error.as_deref()).await?;
                        return Ok(SyncOutcome::Recorded {
                            done: true,
                            failed,
                            held,
                        });
                    };
                    if !tx.record_calendar_sync(&id, target, &record).await? {
                        // The booking changed while Google was called: keep what is known to
                        // exist and run again at once towards the new state.
                        if let Some(event_id) = &record.event_id {
                            tx.keep_calendar_event_id(&id, event_id).await?;
                        }
                        let held = tx
                            .retry_job(job_id, &owner, now, "the booking changed during the sync")
                            .await?;
                        return Ok(SyncOutcome::Recorded {
                            done: false,
                            failed: false,
                            held,
                        });
                    }
                    if let Some(error) = &record.error {
                        tx.note_calendar_error(mentor, &format!("booking {id}: {error}"), now)
                            .await?;
                    }
                    if let Some(job) = meet_dm {
                        tx.enqueue(&[job]).await?;
                    }
                    let held = tx.finish_job(job_id, &owner, now, error.as_deref()).await?;
                    Ok::<SyncOutcome, StoreError>(SyncOutcome::Recorded {
                        done: true,
                        failed,
                        held,
                    })
                })
            })
            .await
    }
}

impl<M: Messenger> Inner<M> {
    pub(super) async fn run_calendar(
        &self,
        google: &Google,
        job: &Job,
        now: DateTime<Utc>,
        deliver_by: Instant,
    ) -> Recorded {
        let time_left = deliver_by.saturating_duration_since(Instant::now());
        let outcome =
            tokio::time::timeout(time_left, run(google, &self.store, job, &self.owner, now)).await;
        match outcome {
            Ok(Ok(SyncOutcome::Recorded { done, failed, held })) => {
                let tally = match (done, failed) {
                    (true, false) => Tally::Done,
                    (true, true) => Tally::Failed,
                    (false, _) => Tally::Retried,
                };
                Ok(self.held(held, tally))
            }
            Ok(Ok(SyncOutcome::Retry { after, error })) => {
                // No attempt limit: a calendar sync keeps trying (backoff capped) until the
                // session ends, so events converge however long Google was away.
                let backoff = self.config.backoff(job.attempts);
                let wait = after
                    .and_then(|a| Duration::from_std(a).ok())
                    .map_or(backoff, |a| a.max(backoff));
                let at = now
                    .checked_add_signed(wait)
                    .unwrap_or(now + self.config.max_backoff);
                self.retry(job, at, &error, Tally::Retried).await
            }
            // Whatever went wrong, the event must still converge: no attempt limit here
            // either (the run itself gives up, recording why, once the session has ended).
            Ok(Err(error)) => {
                let error = format!("calendar sync: {}", crate::cause::chain(&error));
                self.retry_with_backoff(job, now, &error).await
            }
            Err(_) => {
                let error = format!("calendar sync timed out after {time_left:?}");
                self.retry_with_backoff(job, now, &error).await
            }
        }
    }
}
