//! [`ServiceError`]: what can go wrong in a use case. Every variant but `Internal` is the
//! user's to fix, and its `Display` is the message they see (with a valid example where one
//! helps); `Internal` is the unexpected, carried with its cause chain for the log and shown
//! only as a reference code.

use chrono::NaiveDate;

use crate::scheduling::booking::Rejection;
use crate::scheduling::parse::ParseError;
use crate::store::StoreError;

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
    /// The mentor has blocked this member.
    #[error("You can't book sessions with this mentor.")]
    Blocked,
    /// A mentor tried to block themselves.
    #[error("You can't block yourself. Pick the member to block in `member:`.")]
    BlockSelf,
    /// A calendar connection's Confirm / Not me came after it lapsed or was answered.
    #[error(
        "That question has expired or was already answered, so nothing changed. Run `/calendar connect` to connect a calendar."
    )]
    ConnectionLapsed,
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
