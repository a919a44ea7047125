//! Checks of what users type that the pure parser cannot make alone: lengths of free text,
//! setting ranges, dates against "today" in a zone, booking ids. Each returns the
//! [`ServiceError`] that tells the user what to fix.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{ServiceError, ServiceResult, SettingsPatch};
use crate::domain::{BookingId, MentorSettings};
use crate::scheduling::hours::LocalRange;
use crate::scheduling::local_time::local_date;
use crate::scheduling::parse::visible_text;

/// Days ahead an override may be set.
pub const OVERRIDE_MAX_DAYS: i64 = 365;

/// Longest cancellation reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Longest override note, in characters.
pub const MAX_NOTE_CHARS: usize = 200;

/// Longest display name kept on a booking, in characters.
pub(super) const MAX_NAME_CHARS: usize = 100;

/// The longest booking horizon a mentor can set (`horizon_days`).
pub(super) const MAX_HORIZON_DAYS: i64 = HORIZON_DAYS.max as i64;

/// A display name as others will see it: no disguising characters, trimmed, bounded.
pub(super) fn trimmed_name(name: &str) -> String {
    visible_text(name)
        .trim()
        .chars()
        .take(MAX_NAME_CHARS)
        .collect()
}

/// Free text shown to others (a reason, a note): cleaned as names are, then checked.
pub(super) fn check_text(
    text: Option<&str>,
    what: &'static str,
    max: usize,
) -> ServiceResult<Option<String>> {
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

/// A mentor setting as `/availability settings` names it, and the values it may take.
/// The one table of these bounds: the service checks against it, the command options and
/// the database's CHECK constraints are tested against it (`poise` needs literals, SQL
/// its own text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingBounds {
    /// The option's name.
    pub name: &'static str,
    /// Its lowest value.
    pub min: u16,
    /// Its highest value.
    pub max: u16,
}

/// Session length in minutes.
pub const SESSION_MINUTES: SettingBounds = bounds("session_minutes", 15, 240);
/// Free minutes kept after each session.
pub const BUFFER_MINUTES: SettingBounds = bounds("buffer_minutes", 0, 120);
/// How many hours ahead a session must be booked.
pub const MIN_NOTICE_HOURS: SettingBounds = bounds("min_notice_hours", 0, 168);
/// How many days ahead a session may be booked.
pub const HORIZON_DAYS: SettingBounds = bounds("horizon_days", 1, 365);
/// Sessions per day (mentor's zone); 0 = no cap.
pub const MAX_PER_DAY: SettingBounds = bounds("max_per_day", 0, 50);
/// Upcoming sessions per mentee with one mentor; 0 = no cap.
pub const MAX_PER_MENTEE: SettingBounds = bounds("max_per_mentee", 0, 20);
/// Hours before a start within which a mentee can't cancel or move it; 0 = always can.
pub const CHANGE_NOTICE_HOURS: SettingBounds = bounds("change_notice_hours", 0, 168);
/// Every setting, in the order `/availability settings` lists them.
pub const SETTINGS: [SettingBounds; 7] = [
    SESSION_MINUTES,
    BUFFER_MINUTES,
    MIN_NOTICE_HOURS,
    HORIZON_DAYS,
    MAX_PER_DAY,
    MAX_PER_MENTEE,
    CHANGE_NOTICE_HOURS,
];

const fn bounds(name: &'static str, min: u16, max: u16) -> SettingBounds {
    SettingBounds { name, min, max }
}

impl SettingBounds {
    /// `value` if given and within bounds, `current` if not given.
    fn check(self, value: Option<i64>, current: u16) -> ServiceResult<u16> {
        match value {
            None => Ok(current),
            Some(v) => u16::try_from(v)
                .ok()
                .filter(|v| (self.min..=self.max).contains(v))
                .ok_or(ServiceError::SettingOutOfRange {
                    name: self.name,
                    min: self.min,
                    max: self.max,
                    value: v,
                }),
        }
    }
}

pub(super) fn check_session_fits(ranges: &[LocalRange], session: u16) -> ServiceResult<()> {
    match ranges.iter().find(|r| r.minutes() < session) {
        Some(r) => Err(ServiceError::RangeShorterThanSession {
            range: r.to_string(),
            session,
        }),
        None => Ok(()),
    }
}

pub(super) fn parse_booking_id(text: &str) -> ServiceResult<BookingId> {
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

/// An override date must be today or later (mentor's zone) and at most a year ahead.
pub(super) fn check_override_date(
    date: NaiveDate,
    tz: Tz,
    now: DateTime<Utc>,
) -> ServiceResult<NaiveDate> {
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

impl SettingsPatch {
    /// `current` with this patch applied, every value range-checked.
    pub(super) fn apply(&self, current: MentorSettings) -> ServiceResult<MentorSettings> {
        let s = current;
        Ok(MentorSettings {
            session_minutes: SESSION_MINUTES.check(self.session_minutes, s.session_minutes)?,
            buffer_minutes: BUFFER_MINUTES.check(self.buffer_minutes, s.buffer_minutes)?,
            min_notice_hours: MIN_NOTICE_HOURS.check(self.min_notice_hours, s.min_notice_hours)?,
            horizon_days: HORIZON_DAYS.check(self.horizon_days, s.horizon_days)?,
            max_per_day: MAX_PER_DAY.check(self.max_per_day, s.max_per_day)?,
            max_per_mentee: MAX_PER_MENTEE.check(self.max_per_mentee, s.max_per_mentee)?,
            change_notice_hours: CHANGE_NOTICE_HOURS
                .check(self.change_notice_hours, s.change_notice_hours)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_checks_every_setting_with_the_same_bounds() {
        let schema = [
            include_str!("../../migrations/0001_initial.sql"),
            include_str!("../../migrations/0010_change_notice.sql"),
        ]
        .concat();
        for setting in SETTINGS {
            let check = format!(
                "CHECK ({} BETWEEN {} AND {})",
                setting.name, setting.min, setting.max
            );
            assert!(schema.contains(&check), "the migration lacks `{check}`");
        }
    }

    #[test]
    fn commands_md_states_the_same_setting_ranges() {
        let doc = include_str!("../../commands.md");
        let ranges: Vec<String> = SETTINGS
            .iter()
            .map(|s| format!("{}\u{2013}{}", s.min, s.max))
            .collect();
        let line = format!("Ranges: {}", ranges.join(", "));
        assert!(doc.contains(&line), "commands.md lacks `{line}`");
    }

    #[test]
    fn a_setting_outside_its_bounds_names_them() {
        assert_eq!(SESSION_MINUTES.check(None, 30).ok(), Some(30));
        assert_eq!(SESSION_MINUTES.check(Some(240), 30).ok(), Some(240));
        for value in [14, 241, -1, i64::from(u16::MAX) + 15] {
            match SESSION_MINUTES.check(Some(value), 30) {
                Err(ServiceError::SettingOutOfRange {
                    name,
                    min,
                    max,
                    value: v,
                }) => {
                    assert_eq!((name, min, max, v), ("session_minutes", 15, 240, value));
                }
                other => panic!("{value}: {other:?}"),
            }
        }
    }
}
