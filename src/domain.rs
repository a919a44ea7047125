//! The records the store keeps and the service hands to front ends.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::fmt;

pub use crate::ids::{BookingId, GuildId, RoleId, UserId};
use crate::scheduling::availability::Schedule;
use crate::scheduling::booking::{BookingFacts, BookingStatus};
use crate::scheduling::hours::LocalRange;
use crate::scheduling::interval::Interval;
use crate::scheduling::slots::SlotPolicy;

/// A mentor's `/availability settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MentorSettings {
    /// Session length, 15–240.
    pub session_minutes: u16,
    /// Buffer kept around sessions, 0–120.
    pub buffer_minutes: u16,
    /// Minimum notice, 0–168 hours.
    pub min_notice_hours: u16,
    /// How far ahead slots are offered, 1–365 days.
    pub horizon_days: u16,
    /// Bookings per local day, 0 = no cap (0–50).
    pub max_per_day: u16,
    /// Active bookings one mentee may hold with this mentor, 0 = no cap (0–20).
    pub max_per_mentee: u16,
    /// Hours before a start within which a mentee can't cancel or move it (0–168).
    pub change_notice_hours: u16,
}

impl Default for MentorSettings {
    /// New mentors start at 30 / 0 / 2 / 30 / no cap / no cap / 0.
    fn default() -> Self {
        MentorSettings {
            session_minutes: 30,
            buffer_minutes: 0,
            min_notice_hours: 2,
            horizon_days: 30,
            max_per_day: 0,
            max_per_mentee: 0,
            change_notice_hours: 0,
        }
    }
}

impl MentorSettings {
    /// The slot policy these settings describe.
    pub fn policy(&self) -> SlotPolicy {
        SlotPolicy {
            session: Duration::minutes(self.session_minutes.into()),
            buffer: Duration::minutes(self.buffer_minutes.into()),
            min_notice: Duration::hours(self.min_notice_hours.into()),
            horizon: Duration::days(self.horizon_days.into()),
            max_per_day: (self.max_per_day > 0).then_some(self.max_per_day.into()),
        }
    }

    /// `change_notice_hours` as a duration.
    pub fn change_notice(&self) -> Duration {
        Duration::hours(self.change_notice_hours.into())
    }

    /// `max_per_mentee`, `None` when uncapped.
    pub fn mentee_cap(&self) -> Option<u32> {
        (self.max_per_mentee > 0).then_some(self.max_per_mentee.into())
    }
}

/// A mentor: schedule (with zone, weekly ranges and every override) and settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mentor {
    /// Who.
    pub user: UserId,
    /// When they are available.
    pub schedule: Schedule,
    /// How their slots are cut.
    pub settings: MentorSettings,
}

/// A date override with its note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The date, in the mentor's zone.
    pub date: NaiveDate,
    /// The hours that day; empty = off.
    pub ranges: Vec<LocalRange>,
    /// The mentor's note, if any.
    pub note: Option<String>,
}

/// Where a booking's Google Calendar event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarStatus {
    /// A sync job is queued or running.
    Pending,
    /// The event matches the booking.
    Synced,
    /// The mentor has no calendar connected.
    NotConnected,
    /// Syncing failed permanently (the reason is kept).
    Failed,
    /// The event was removed after cancellation.
    Cancelled,
}

impl CalendarStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarStatus::Pending => "pending",
            CalendarStatus::Synced => "synced",
            CalendarStatus::NotConnected => "not_connected",
            CalendarStatus::Failed => "failed",
            CalendarStatus::Cancelled => "cancelled",
        }
    }

    /// Reads a stored name.
    pub fn from_name(name: &str) -> Option<CalendarStatus> {
        Some(match name {
            "pending" => CalendarStatus::Pending,
            "synced" => CalendarStatus::Synced,
            "not_connected" => CalendarStatus::NotConnected,
            "failed" => CalendarStatus::Failed,
            "cancelled" => CalendarStatus::Cancelled,
            _ => return None,
        })
    }
}

impl fmt::Display for CalendarStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who cancelled, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    /// The mentor or the mentee.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// Their reason, if they gave one.
    pub reason: Option<String>,
}

/// A booked session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// The short id people type.
    pub id: BookingId,
    /// Who offers the session.
    pub mentor: UserId,
    /// Who booked it.
    pub mentee: UserId,
    /// The mentor's display name when the booking was made.
    pub mentor_name: String,
    /// The mentee's display name when the booking was made.
    pub mentee_name: String,
    /// When the session runs.
    pub interval: Interval,
    /// Active or cancelled.
    pub status: BookingStatus,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// Set once cancelled.
    pub cancellation: Option<Cancellation>,
    /// Calendar sync state.
    pub calendar_status: CalendarStatus,
    /// The Google event id, once created.
    pub calendar_event_id: Option<String>,
    /// The Google Meet link, once known.
    pub meet_link: Option<String>,
    /// Why the last sync failed, if it did.
    pub calendar_error: Option<String>,
    /// The server it was booked in (`None`: in a DM); its mentor-role rule applies to moves.
    pub guild: Option<GuildId>,
}

impl Booking {
    /// The facts that decide who may change it.
    pub fn facts(&self) -> BookingFacts {
        BookingFacts {
            mentor: self.mentor,
            mentee: self.mentee,
            interval: self.interval,
            status: self.status,
        }
    }

    /// The other person of the booking, seen from `user`.
    pub fn other_person(&self, user: UserId) -> (UserId, &str) {
        if user == self.mentor {
            (self.mentee, &self.mentee_name)
        } else {
            (self.mentor, &self.mentor_name)
        }
    }
}

/// An earlier time of a rescheduled booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastTime {
    /// The earlier interval.
    pub interval: Interval,
    /// When it was moved away from.
    pub moved_at: DateTime<Utc>,
    /// Who moved it.
    pub moved_by: UserId,
}

/// Which bookings of a user to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoleFilter {
    /// As mentor or as mentee.
    #[default]
    Both,
    /// As mentor only.
    Mentor,
    /// As mentee only.
    Mentee,
}

/// A direct message the job worker sends about a booking. Stored as a job's JSON payload;
/// the worker reads the booking itself when it runs, so the message shows its current state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// To the mentor: someone booked a session.
    Booked {
        /// The booking.
        booking: String,
        /// The mentor's user id.
        recipient: u64,
    },
    /// To the mentee: their booking is confirmed.
    Confirmed {
        /// The booking.
        booking: String,
        /// The mentee's user id.
        recipient: u64,
    },
    /// To the other person: the session was cancelled (with the reason, kept on the booking).
    Cancelled {
        /// The booking.
        booking: String,
        /// Who is told.
        recipient: u64,
        /// Who cancelled.
        actor: u64,
    },
    /// To the mentee: the Meet link of their session, once the calendar event has one.
    MeetLink {
        /// The booking.
        booking: String,
        /// The mentee's user id.
        recipient: u64,
    },
    /// To one of the two: the session starts in `lead_minutes` (sent only before it starts).
    Reminder {
        /// The booking.
        booking: String,
        /// Who is reminded.
        recipient: u64,
        /// How long before the start this reminder was planned.
        lead_minutes: i64,
    },
    /// To the other person: the session moved.
    Rescheduled {
        /// The booking.
        booking: String,
        /// Who is told.
        recipient: u64,
        /// Who moved it.
        actor: u64,
        /// The old start, seconds since the epoch.
        from_start: i64,
        /// The old end, seconds since the epoch.
        from_end: i64,
    },
}

impl Notice {
    /// The job kind under which notices are queued.
    pub const JOB_KIND: &'static str = "dm";

    /// The booking the notice is about.
    pub fn booking(&self) -> &str {
        match self {
            Notice::Booked { booking, .. }
            | Notice::Confirmed { booking, .. }
            | Notice::Cancelled { booking, .. }
            | Notice::MeetLink { booking, .. }
            | Notice::Reminder { booking, .. }
            | Notice::Rescheduled { booking, .. } => booking,
        }
    }

    /// Who is told.
    pub fn recipient(&self) -> u64 {
        match self {
            Notice::Booked { recipient, .. }
            | Notice::Confirmed { recipient, .. }
            | Notice::Cancelled { recipient, .. }
            | Notice::MeetLink { recipient, .. }
            | Notice::Reminder { recipient, .. }
            | Notice::Rescheduled { recipient, .. } => *recipient,
        }
    }
}

/// A direct message about a user's Google account (not about a booking). Stored as a job's
/// JSON payload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum AccountNotice {
    /// The mentor connected Google Calendar.
    CalendarConnected {
        /// The mentor's user id.
        recipient: u64,
        /// The account's email, when Google told it.
        email: Option<String>,
        /// How many upcoming bookings were queued for syncing.
        queued: usize,
    },
    /// A Google account was granted through the user's connect link: is it theirs? The DM
    /// has Confirm / Not me buttons for the pending grant `grant`.
    ConfirmConnection {
        /// The Discord user the link was made for.
        recipient: u64,
        /// The pending grant's id.
        grant: String,
        /// The Google account's email, when Google told it.
        email: Option<String>,
    },
    /// The mentor's stored grant doesn't open with the bot's key: they must reconnect.
    CalendarUnreadable {
        /// The mentor's user id.
        recipient: u64,
    },
    /// Google refused the mentor's grant (`invalid_grant`): they must connect again.
    CalendarRevoked {
        /// The mentor's user id.
        recipient: u64,
    },
}

impl AccountNotice {
    /// The job kind under which account notices are queued.
    pub const JOB_KIND: &'static str = "dm_account";

    /// Who is told.
    pub fn recipient(&self) -> u64 {
        match self {
            AccountNotice::CalendarConnected { recipient, .. }
            | AccountNotice::ConfirmConnection { recipient, .. }
            | AccountNotice::CalendarUnreadable { recipient }
            | AccountNotice::CalendarRevoked { recipient } => *recipient,
        }
    }
}
