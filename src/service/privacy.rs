//! `/privacy export | delete`: everything mentorbot stores about a user, as JSON, and
//! erasing it. Erasing cancels their upcoming sessions first (the other person gets the usual
//! DM), revokes their Google grant, and keeps the other people's history of past sessions
//! under a pseudonym named "deleted user" (`store/privacy.rs`).

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use serde_json::{Value, json};

use super::{Service, ServiceError, ServiceResult};
use crate::domain::{Booking, RoleFilter, UserId};
use crate::scheduling::booking::Rejection;
use crate::scheduling::hours::format_ranges;
use crate::store::BookingQuery;

/// What `/privacy delete` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    /// Upcoming sessions cancelled (the other person was told).
    pub cancelled: usize,
    /// Past or cancelled sessions kept for the other person, without the user.
    pub anonymised: u64,
    /// A Google grant was revoked and deleted.
    pub google: bool,
}

/// Every booking of `user` in either role, past and upcoming, cancelled ones too.
fn all_bookings(user: UserId, past: bool, now: DateTime<Utc>) -> BookingQuery {
    BookingQuery {
        user,
        role: RoleFilter::Both,
        past,
        include_cancelled: true,
        now,
        limit: u32::MAX,
    }
}

fn booking_json(booking: &Booking, user: UserId) -> Value {
    let (role, with) = if booking.mentor == user {
        ("mentor", &booking.mentee_name)
    } else {
        ("mentee", &booking.mentor_name)
    };
    let cancellation = booking.cancellation.as_ref().map(|c| {
        json!({
            "at": c.at.to_rfc3339(),
            "by": if c.by == user { "you" } else { "the other person" },
            "reason": c.reason,
        })
    });
    json!({
        "id": booking.id.as_str(),
        "role": role,
        "with": with,
        "start": booking.interval.start().to_rfc3339(),
        "end": booking.interval.end().to_rfc3339(),
        "booked_at": booking.created_at.to_rfc3339(),
        "status": if booking.cancellation.is_some() { "cancelled" } else { "active" },
        "cancellation": cancellation,
        "server_id": booking.guild.map(|g| g.0.to_string()),
        "calendar_status": booking.calendar_status.as_str(),
        "meet_link": booking.meet_link,
    })
}

impl Service {
    /// `/privacy export`: everything stored about `user`, as pretty JSON. Other people
    /// appear by display name only; tokens never.
    pub async fn export_user_data(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<u8>> {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let mentor = self.store.mentor(user, epoch).await?;
        let schedule = match &mentor {
            None => Value::Null,
            Some(mentor) => {
                let notes = self.store.override_notes(user, epoch).await?;
                let weekly: serde_json::Map<String, Value> = (0..7)
                    .map(|n| {
                        let day = Weekday::try_from(n).unwrap_or(Weekday::Mon);
                        let ranges = format_ranges(mentor.schedule.weekly(day));
                        (day.to_string(), Value::String(ranges))
                    })
                    .collect();
                let overrides: Vec<Value> = mentor
                    .schedule
                    .overrides()
                    .map(|(date, ranges)| {
                        let note = notes.iter().find(|(d, _)| *d == date).map(|(_, n)| n);
                        json!({"date": date.to_string(), "hours": format_ranges(ranges), "note": note})
                    })
                    .collect();
                let s = mentor.settings;
                json!({
                    "timezone": mentor.schedule.tz().name(),
                    "weekly_hours": weekly,
                    "overrides": overrides,
                    "settings": {
                        "session_minutes": s.session_minutes,
                        "buffer_minutes": s.buffer_minutes,
                        "min_notice_hours": s.min_notice_hours,
                        "horizon_days": s.horizon_days,
                        "max_per_day": s.max_per_day,
                        "max_per_mentee": s.max_per_mentee,
                        "change_notice_hours": s.change_notice_hours,
                    },
                })
            }
        };
        let listed: Vec<Value> = self
            .store
            .listings_of(user)
            .await?
            .into_iter()
            .map(|(guild, at)| json!({"server_id": guild.0.to_string(), "last_mentor_command": at.to_rfc3339()}))
            .collect();
        // The two lists overlap (cancelled bookings count as history in both).
        let mut bookings = self.store.bookings(&all_bookings(user, false, now)).await?;
        bookings.extend(self.store.bookings(&all_bookings(user, true, now)).await?);
        bookings.sort_by_key(|b| (b.interval.start(), b.id.to_string()));
        bookings.dedup_by(|a, b| a.id == b.id);
        let bookings: Vec<Value> = bookings.iter().map(|b| booking_json(b, user)).collect();
        let calendar = self.store.google_account(user).await?.map(|a| {
            json!({
                "google_account": a.email,
                "scopes": a.scopes.split(' ').collect::<Vec<_>>(),
                "connected_at": a.connected_at.to_rfc3339(),
                "status": if a.connected() { "connected" } else { "revoked" },
                "reconnect_needed": a.reconnect,
                "last_problem": a.last_error.map(|(e, at)| json!({"error": e, "at": at.to_rfc3339()})),
            })
        });
        let (timezone, name) = self.store.user_profile(user).await?;
        let data = json!({
            "exported_at": now.to_rfc3339(),
            "discord_user_id": user.0.to_string(),
            "profile": {
                "name": name,
                "timezone": timezone.map(|tz| tz.name().to_owned()),
            },
            "mentor": schedule,
            "listed_in_servers": listed,
            "members_blocked": self.store.blocked_count(user).await?,
            "reminder_leads_minutes": self
                .store
                .reminder_leads(user)
                .await?
                .map(|leads| leads.iter().map(|l| l.num_minutes()).collect::<Vec<_>>()),
            "bookings": bookings,
            "google_calendar": calendar,
        });
        serde_json::to_vec_pretty(&data)
            .map_err(|e| anyhow::anyhow!("exporting user data: {e}").into())
    }

    /// `/privacy delete` (after Confirm): cancels `user`'s upcoming sessions, revokes their
    /// Google grant, and erases everything else about them in one transaction.
    pub async fn delete_user_data(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<Deleted> {
        let account = self.store.google_account(user).await?;
        let calendar = self.google.is_some();
        if let Some(google) = &self.google {
            // No sync should act for the user with a token from before the erasure.
            google.forget_token(user);
        }
        let pseudonym = UserId(crate::random::u64() | (1 << 63));
        let (cancelled, erased) = self
            .store
            .transact(move |tx| {
                Box::pin(async move {
                    let upcoming = tx
                        .bookings(&BookingQuery {
                            include_cancelled: false,
                            ..all_bookings(user, false, now)
                        })
                        .await?;
                    let mut cancelled = 0;
                    for booking in upcoming {
                        match super::bookings::cancel_in(tx, user, booking.id, None, now, calendar)
                            .await
                        {
                            Ok(_) => cancelled += 1,
                            // Ended meanwhile: kept as history like the others.
                            Err(ServiceError::Rejected(Rejection::Ended)) => {}
                            Err(other) => return Err(other),
                        }
                    }
                    let erased = tx.erase_user(user, pseudonym).await?;
                    Ok::<_, ServiceError>((cancelled, erased))
                })
            })
            .await?;
        self.cache.clear();
        let mut google = false;
        if let (Some(g), Some(account)) = (&self.google, account) {
            if let Some(sealed) = &account.sealed_refresh_token {
                g.revoke_stored(user, sealed).await;
            }
            g.forget_token(user);
            g.forget_busy(user);
            google = true;
        }
        tracing::info!(
            user = user.0,
            cancelled,
            "a user's data was deleted at their request"
        );
        Ok(Deleted {
            cancelled,
            anonymised: erased.bookings,
            google,
        })
    }
}
