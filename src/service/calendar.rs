//! Calendar use cases: `/calendar status | disconnect` (connecting is `connect.rs`).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::Google;
use super::{Service, ServiceError, ServiceResult, upcoming_as_mentor};
use crate::domain::{Booking, CalendarStatus, RoleFilter, UserId};
use crate::store::{BookingQuery, GoogleAccount};

/// How long a sync that gave up stays in `/calendar status` after its session.
const RECENT_FAILURES: Duration = Duration::days(7);

/// What `/calendar status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarView {
    /// The account, connected or revoked; `None` when never connected (or disconnected).
    pub account: Option<GoogleAccount>,
    /// Bookings whose sync failed: upcoming ones, soonest first, then those of the last
    /// week whose sync gave up, latest first.
    pub failed: Vec<Booking>,
    /// Upcoming bookings whose sync is under way.
    pub pending: usize,
}

impl Service {
    fn google_or_off(&self) -> ServiceResult<&Arc<Google>> {
        self.google.as_ref().ok_or(ServiceError::CalendarOff)
    }

    /// `/calendar status`.
    pub async fn calendar_status(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<CalendarView> {
        self.google_or_off()?;
        let account = self.store.google_account(user).await?;
        let upcoming = self.store.bookings(&upcoming_as_mentor(user, now)).await?;
        let pending = upcoming
            .iter()
            .filter(|b| b.calendar_status == CalendarStatus::Pending)
            .count();
        let mut failed: Vec<Booking> = upcoming
            .into_iter()
            .filter(|b| b.calendar_status == CalendarStatus::Failed)
            .collect();
        // Syncs that gave up when their session ended (or whose cancel couldn't remove the
        // event) stay listed for a week.
        let recent = self
            .store
            .bookings(&BookingQuery {
                user,
                role: RoleFilter::Mentor,
                past: true,
                include_cancelled: true,
                now,
                limit: 200,
            })
            .await?;
        failed.extend(recent.into_iter().filter(|b| {
            b.calendar_status == CalendarStatus::Failed && b.interval.end() > now - RECENT_FAILURES
        }));
        Ok(CalendarView {
            account,
            failed,
            pending,
        })
    }

    /// `/calendar disconnect`: revokes the grant at Google (best effort) and deletes the
    /// stored token. Existing events stay and are no longer updated; their ids are
    /// forgotten, since they belong to that account. False when nothing was connected.
    pub async fn calendar_disconnect(&self, user: UserId) -> ServiceResult<bool> {
        let google = self.google_or_off()?;
        let Some(account) = self.store.google_account(user).await? else {
            return Ok(false);
        };
        if let Some(sealed) = &account.sealed_refresh_token {
            google.revoke_stored(user, sealed).await;
        }
        google.forget_token(user);
        google.forget_busy(user);
        let deleted = self
            .store
            .transact(move |tx| {
                Box::pin(async move {
                    tx.forget_calendar_events(user).await?;
                    tx.delete_google_account(user).await
                })
            })
            .await?;
        Ok(deleted)
    }
}
