//! Text for Discord: timestamps, wall times with zones, schedules, booking lines, DMs. Keeps
//! within Discord's limits (select labels and autocomplete names ≤ 100 characters).

use std::fmt::Write as _;

use chrono::{DateTime, Utc, Weekday};
use chrono_tz::Tz;

use crate::domain::{AccountNotice, Booking, CalendarStatus, MentorSettings, Notice, Override};
use crate::scheduling::availability::Schedule;
use crate::scheduling::booking::BookingStatus;
use crate::scheduling::hours::format_ranges;
use crate::scheduling::interval::Interval;

/// A Discord timestamp: every reader sees it in their own zone. Styles: t T d D f F R.
pub fn ts(instant: DateTime<Utc>, style: char) -> String {
    format!("<t:{}:{style}>", instant.timestamp())
}

/// `<t:..:F> (<t:..:R>)`.
pub fn when(instant: DateTime<Utc>) -> String {
    format!("{} ({})", ts(instant, 'F'), ts(instant, 'R'))
}

/// True when `tz` changes its UTC offset during the local day of `instant`.
pub fn offset_changes_that_day(tz: Tz, instant: DateTime<Utc>) -> bool {
    use chrono::{Offset, TimeZone};
    let date = instant.with_timezone(&tz).date_naive();
    let offset_at = |h: u32| {
        date.and_hms_opt(h, 0, 0)
            .and_then(|t| tz.from_local_datetime(&t).earliest())
            .map(|t| t.offset().fix())
    };
    let first = offset_at(0).or_else(|| offset_at(4));
    let last = date
        .succ_opt()
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .and_then(|t| tz.from_local_datetime(&t).earliest())
        .map(|t| t.offset().fix());
    first != last
}

/// A slot as wall time in `tz` for labels where timestamps don't render, e.g.
/// `Tue 24 Nov 09:30–10:00`, with the UTC offset on a day with a DST change.
pub fn slot_label(slot: &Interval, tz: Tz) -> String {
    let start = slot.start().with_timezone(&tz);
    let end = slot.end().with_timezone(&tz);
    let mut label = format!("{}–{}", start.format("%a %d %b %H:%M"), end.format("%H:%M"));
    if offset_changes_that_day(tz, slot.start()) {
        let _ = write!(label, " (UTC{})", start.format("%:z"));
    }
    label
}

/// A schedule's weekly hours, one line per weekday with hours.
pub fn weekly_lines(schedule: &Schedule) -> String {
    let mut lines = String::new();
    for day in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ] {
        let ranges = schedule.weekly(day);
        if !ranges.is_empty() {
            let _ = writeln!(lines, "**{day}** {}", format_ranges(ranges));
        }
    }
    if lines.is_empty() {
        lines.push_str("No weekly hours.\n");
    }
    lines
}

/// Overrides, one line each.
pub fn override_lines(overrides: &[Override]) -> String {
    if overrides.is_empty() {
        return "No upcoming overrides.".to_owned();
    }
    let mut lines = String::new();
    for o in overrides.iter().take(30) {
        let _ = write!(
            lines,
            "**{}** ({}) {}",
            o.date,
            o.date.format("%a"),
            format_ranges(&o.ranges)
        );
        if let Some(note) = &o.note {
            let _ = write!(lines, " — {}", clip(note, 80));
        }
        lines.push('\n');
    }
    if overrides.len() > 30 {
        let _ = writeln!(lines, "…and {} more.", overrides.len() - 30);
    }
    lines
}

/// Settings in one line.
pub fn settings_line(s: &MentorSettings) -> String {
    let cap = |n: u16| {
        if n == 0 {
            "no cap".to_owned()
        } else {
            n.to_string()
        }
    };
    format!(
        "sessions {} min · buffer {} min · notice {} h · {} days ahead · per day: {} · per mentee: {}",
        s.session_minutes,
        s.buffer_minutes,
        s.min_notice_hours,
        s.horizon_days,
        cap(s.max_per_day),
        cap(s.max_per_mentee)
    )
}

/// Up to ten of a mentor's sessions, one line each: id, time, mentee.
pub fn mentee_session_lines(bookings: &[Booking]) -> String {
    let mut lines = String::new();
    for b in bookings.iter().take(10) {
        let _ = writeln!(
            lines,
            "• `{}` {} with {}",
            b.id,
            when(b.interval.start()),
            clip(&b.mentee_name, 60)
        );
    }
    if bookings.len() > 10 {
        let _ = writeln!(lines, "…and {} more (`/bookings`).", bookings.len() - 10);
    }
    lines
}

/// Cuts `text` to `max` characters (adding `…`).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The calendar badge of a booking.
pub fn calendar_badge(status: CalendarStatus) -> &'static str {
    match status {
        CalendarStatus::Synced => "📅 synced",
        CalendarStatus::Failed => "⚠️ calendar failed",
        CalendarStatus::Pending => "⏳ calendar pending",
        CalendarStatus::NotConnected => "calendar not connected",
        CalendarStatus::Cancelled => "calendar event removed",
    }
}

/// A booking as seen by `viewer`: who, when, status, calendar badge, Meet link.
pub fn booking_field(booking: &Booking, viewer: crate::domain::UserId) -> (String, String) {
    let (_, other) = booking.other_person(viewer);
    let role = if viewer == booking.mentor {
        "mentee"
    } else {
        "mentor"
    };
    let name = format!("`{}` · with {} ({role})", booking.id, clip(other, 60));
    let mut value = when(booking.interval.start());
    let status = match booking.status {
        BookingStatus::Active => "active",
        BookingStatus::Cancelled => "cancelled",
    };
    let _ = write!(
        value,
        "\n{} min · {status} · {}",
        booking.interval.duration().num_minutes(),
        calendar_badge(booking.calendar_status)
    );
    if let Some(link) = &booking.meet_link {
        let _ = write!(value, "\n[Google Meet]({link})");
    }
    if let Some(reason) = booking
        .cancellation
        .as_ref()
        .and_then(|c| c.reason.as_ref())
    {
        let _ = write!(value, "\nReason: {}", clip(reason, 200));
    }
    (name, value)
}

/// The text of a DM about the recipient's Google account.
pub fn account_dm_text(notice: &AccountNotice) -> String {
    match notice {
        AccountNotice::CalendarConnected { email, queued, .. } => {
            let account = email
                .as_deref()
                .map(|e| format!(" as **{}**", clip(e, 100)))
                .unwrap_or_default();
            let mut text = format!(
                "📅 Google Calendar connected{account}. New bookings get an event with a Google Meet link in your calendar, and your busy times there are kept free of bookings."
            );
            if *queued > 0 {
                let _ = write!(
                    text,
                    "\n{queued} upcoming session{} will be added now.",
                    if *queued == 1 { "" } else { "s" }
                );
            }
            text.push_str("\n`/calendar status` shows how it's going; `/calendar disconnect` undoes it.");
            text
        }
        AccountNotice::CalendarRevoked { .. } => "⚠️ Google no longer lets mentorbot use your calendar (access was revoked or expired). Your bookings carry on, but they won't reach your calendar until you run `/calendar connect` again.".to_owned(),
    }
}

/// The text of a DM about `booking`.
pub fn dm_text(notice: &Notice, booking: &Booking, actor_name: Option<&str>) -> String {
    let start = booking.interval.start();
    let minutes = booking.interval.duration().num_minutes();
    let id = &booking.id;
    match notice {
        Notice::Booked { .. } => format!(
            "📅 **{}** booked a session with you: {} · {minutes} min · booking `{id}`.\n`/bookings` lists your sessions; `/cancel booking:{id}` cancels this one.",
            booking.mentee_name,
            when(start)
        ),
        Notice::Confirmed { .. } => {
            let mut text = format!(
                "✅ Your session with **{}** is booked: {} · {minutes} min · booking `{id}`.",
                booking.mentor_name,
                when(start)
            );
            if let Some(link) = &booking.meet_link {
                let _ = write!(text, "\nGoogle Meet: {link}");
            }
            text.push_str(&format!(
                "\nNeed to change it? `/reschedule booking:{id}` or `/cancel booking:{id}`."
            ));
            text
        }
        Notice::Cancelled { .. } => {
            let who = actor_name.unwrap_or("The other person");
            let mut text = format!(
                "❌ {who} cancelled your session of {} (booking `{id}`).",
                ts(start, 'F')
            );
            match booking
                .cancellation
                .as_ref()
                .and_then(|c| c.reason.as_deref())
            {
                Some(reason) => {
                    let _ = write!(text, "\nReason: {}", clip(reason, 500));
                }
                None => text.push_str("\nNo reason was given."),
            }
            text
        }
        Notice::MeetLink { .. } => match &booking.meet_link {
            Some(link) => format!(
                "🎥 Your session with **{}** on {} has a Google Meet link: {link}\n(booking `{id}`)",
                booking.mentor_name,
                ts(start, 'F')
            ),
            None => format!(
                "📅 Your session with **{}** on {} is in their Google Calendar (booking `{id}`).",
                booking.mentor_name,
                ts(start, 'F')
            ),
        },
        Notice::Rescheduled { from_start, .. } => {
            let who = actor_name.unwrap_or("The other person");
            let from = DateTime::from_timestamp(*from_start, 0)
                .map(|t| ts(t, 'F'))
                .unwrap_or_else(|| "its old time".to_owned());
            format!(
                "🔁 {who} moved your session (booking `{id}`) from {from} to {}.",
                when(start)
            )
        }
    }
}
