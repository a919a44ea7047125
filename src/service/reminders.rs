//! Reminders before a session: `/reminders set | show`, and planning them. A reminder is a
//! `dm` job per (booking, person, lead), due at the start minus the lead, written in the
//! transaction that books, moves or cancels the session (moved and dropped with it), and
//! re-planned for a person's upcoming sessions when they change their leads. Leads already
//! past when planned are skipped; the worker sends none after the start.

use chrono::{DateTime, Duration, Utc};

use super::{Service, ServiceResult};
use crate::domain::{BookingId, Notice, RoleFilter, UserId};
use crate::scheduling::parse::parse_leads;
use crate::store::{BookingQuery, NewJob, StoreError, StoreResult, WriteTx};

/// Leads for users who never set theirs: a day and a quarter of an hour before.
pub const DEFAULT_LEADS: [Duration; 2] = [Duration::days(1), Duration::minutes(15)];

/// The reminder jobs of a session starting at `start`, for each of `people` by their own
/// leads; leads already past at `now` are left out.
pub(super) async fn plan_reminders(
    tx: &mut WriteTx,
    booking: &BookingId,
    start: DateTime<Utc>,
    people: &[UserId],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut jobs = Vec::new();
    for person in people {
        let leads = tx
            .reminder_leads(*person)
            .await?
            .unwrap_or_else(|| DEFAULT_LEADS.to_vec());
        for lead in leads {
            let due = start - lead;
            if due <= now {
                continue;
            }
            let notice = Notice::Reminder {
                booking: booking.to_string(),
                recipient: person.0,
                lead_minutes: lead.num_minutes(),
            };
            jobs.push(NewJob {
                kind: Notice::JOB_KIND.to_owned(),
                booking: Some(booking.clone()),
                payload: serde_json::to_value(&notice)
                    .map_err(|e| StoreError::Corrupt(format!("a reminder: {e}")))?,
                run_after: due,
                now,
            });
        }
    }
    if !jobs.is_empty() {
        tx.enqueue(&jobs).await?;
    }
    Ok(())
}

impl Service {
    /// `/reminders set lead:`: the user's leads (longest first; empty is off), with their
    /// upcoming sessions' reminders planned again.
    pub async fn set_reminders(
        &self,
        user: UserId,
        text: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Duration>> {
        let leads = parse_leads(text)?;
        let saved = leads.clone();
        self.store
            .transact(move |tx| {
                Box::pin(async move {
                    tx.set_reminder_leads(user, &saved).await?;
                    let upcoming = tx
                        .bookings(&BookingQuery {
                            user,
                            role: RoleFilter::Both,
                            past: false,
                            include_cancelled: false,
                            now,
                            limit: 1000,
                        })
                        .await?;
                    for booking in upcoming {
                        tx.drop_reminders(&booking.id, Some(user)).await?;
                        plan_reminders(tx, &booking.id, booking.interval.start(), &[user], now)
                            .await?;
                    }
                    Ok::<(), StoreError>(())
                })
            })
            .await?;
        Ok(leads)
    }

    /// `/reminders show`: the user's leads, and whether they are the defaults.
    pub async fn reminders(&self, user: UserId) -> ServiceResult<(Vec<Duration>, bool)> {
        Ok(match self.store.reminder_leads(user).await? {
            Some(leads) => (leads, false),
            None => (DEFAULT_LEADS.to_vec(), true),
        })
    }
}
