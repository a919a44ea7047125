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

use super::text::fit_lines;
pub use super::text::{clip, said};

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

/// A schedule's weekly hours, one line per weekday with hours, all of them: at most 7 lines
/// of [`MAX_RANGES`](crate::scheduling::parse::MAX_RANGES) ranges, under 2,300 characters
/// (fits an embed description; a message's content takes [`weekly_lines_within`]).
pub fn weekly_lines(schedule: &Schedule) -> String {
    weekly_lines_within(schedule, usize::MAX)
}

/// [`weekly_lines`] cut to `limit` characters, pointing to `/availability show` for the
/// rest.
pub fn weekly_lines_within(schedule: &Schedule, limit: usize) -> String {
    let lines: Vec<String> = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .filter(|day| !schedule.weekly(*day).is_empty())
    .map(|day| format!("**{day}** {}\n", format_ranges(schedule.weekly(day))))
    .collect();
    if lines.is_empty() {
        return "No weekly hours.\n".to_owned();
    }
    fit_lines(&lines, lines.len(), limit, |n, _| {
        format!(
            "…and {n} more day{} (`/availability show`).\n",
            if n == 1 { "" } else { "s" }
        )
    })
}

/// Most overrides a list shows, however short.
const OVERRIDES_SHOWN: usize = 30;

/// Overrides, one line each, soonest first, cut to `limit` characters: the rest is counted,
/// for their own mentor (`own`) with the `/override list from:` that shows it.
pub fn override_lines(overrides: &[Override], limit: usize, own: bool) -> String {
    if overrides.is_empty() {
        return "No upcoming overrides.".to_owned();
    }
    let lines: Vec<String> = overrides
        .iter()
        .take(OVERRIDES_SHOWN)
        .map(|o| {
            let mut line = format!(
                "**{}** ({}) {}",
                o.date,
                o.date.format("%a"),
                format_ranges(&o.ranges)
            );
            if let Some(note) = &o.note {
                let _ = write!(line, " — {}", said(note, 80));
            }
            line.push('\n');
            line
        })
        .collect();
    fit_lines(&lines, overrides.len(), limit, |n, first| {
        match overrides.get(first) {
            Some(next) if own => {
                format!("…and {n} more (`/override list from:{}`).\n", next.date)
            }
            _ => format!("…and {n} more.\n"),
        }
    })
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
        "sessions {} min · buffer {} min · notice {} h · {} days ahead · per day: {} · per mentee: {} · changes by mentees: {}",
        s.session_minutes,
        s.buffer_minutes,
        s.min_notice_hours,
        s.horizon_days,
        cap(s.max_per_day),
        cap(s.max_per_mentee),
        if s.change_notice_hours == 0 {
            "until the start".to_owned()
        } else {
            format!("up to {} h before", s.change_notice_hours)
        }
    )
}

/// Up to ten of a mentor's sessions, one line each (id, time, mentee), cut to `limit`
/// characters; the rest are counted and left to `/bookings`.
pub fn mentee_session_lines(bookings: &[Booking], limit: usize) -> String {
    let lines: Vec<String> = bookings
        .iter()
        .take(10)
        .map(|b| {
            format!(
                "• `{}` {} with {}\n",
                b.id,
                when(b.interval.start()),
                said(&b.mentee_name, 60)
            )
        })
        .collect();
    fit_lines(&lines, bookings.len(), limit, |n, _| {
        format!("…and {n} more (`/bookings`).\n")
    })
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
    let name = format!("`{}` · with {} ({role})", booking.id, said(other, 60));
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
        let _ = write!(value, "\nReason: {}", said(reason, 150));
    }
    (name, value)
}

/// The text of a DM about the recipient's Google account.
pub fn account_dm_text(notice: &AccountNotice) -> String {
    match notice {
        AccountNotice::CalendarConnected { email, queued, .. } => {
            let account = email
                .as_deref()
                .map(|e| format!(" as **{}**", said(e, 100)))
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
        AccountNotice::ConfirmConnection { email, .. } => {
            super::connect::question_text(email.as_deref())
        }
        AccountNotice::CalendarUnreadable { .. } => "⚠️ mentorbot can't use your Google Calendar connection any more: its stored access no longer opens (the bot's operator may have changed its encryption key). Your bookings carry on, but they won't reach your calendar until you run `/calendar connect` again; your upcoming sessions are added then.".to_owned(),
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
            said(&booking.mentee_name, 60),
            when(start)
        ),
        Notice::Confirmed { .. } => {
            let mut text = format!(
                "✅ Your session with **{}** is booked: {} · {minutes} min · booking `{id}`.",
                said(&booking.mentor_name, 60),
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
            let who = actor_name.map_or_else(|| "The other person".to_owned(), |n| said(n, 60));
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
                    let _ = write!(text, "\nReason: {}", said(reason, 500));
                }
                None => text.push_str("\nNo reason was given."),
            }
            text
        }
        Notice::Reminder { recipient, .. } => {
            let other = if *recipient == booking.mentor.0 {
                &booking.mentee_name
            } else {
                &booking.mentor_name
            };
            let mut text = format!(
                "⏰ Reminder: your session with **{}** starts {} ({}) · {minutes} min · booking `{id}`.",
                said(other, 60),
                ts(start, 'R'),
                ts(start, 'F')
            );
            if let Some(link) = &booking.meet_link {
                let _ = write!(text, "\nGoogle Meet: {link}");
            }
            text.push_str(&format!(
                "\nCan't make it? `/reschedule booking:{id}` or `/cancel booking:{id}`. `/reminders set` changes when you're reminded."
            ));
            text
        }
        Notice::MeetLink { .. } => match &booking.meet_link {
            Some(link) => format!(
                "🎥 Your session with **{}** on {} has a Google Meet link: {link}\n(booking `{id}`)",
                said(&booking.mentor_name, 60),
                ts(start, 'F')
            ),
            None => format!(
                "📅 Your session with **{}** on {} is in their Google Calendar (booking `{id}`).",
                said(&booking.mentor_name, 60),
                ts(start, 'F')
            ),
        },
        Notice::Rescheduled { from_start, .. } => {
            let who = actor_name.map_or_else(|| "The other person".to_owned(), |n| said(n, 60));
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

#[cfg(test)]
mod tests {
    //! Every list and DM at its longest: each must fit the Discord limit of where it goes.
    use chrono::{Duration, NaiveDate, TimeZone};

    use super::*;
    use crate::discord::text::{CONTENT, EMBED_DESCRIPTION, EMBED_TOTAL, FIELD_VALUE, len};
    use crate::domain::{BookingId, Cancellation, UserId};
    use crate::scheduling::hours::LocalRange;
    use crate::scheduling::parse::MAX_RANGES;

    /// Every character of these needs escaping, so each doubles as sent.
    fn worst_text(n: usize) -> String {
        "*".repeat(n)
    }

    fn most_ranges() -> Vec<LocalRange> {
        (0..MAX_RANGES as u16)
            .map(|h| LocalRange::new(h * 60, h * 60 + 30).expect("a range within the day"))
            .collect()
    }

    fn worst_booking(i: u32) -> Booking {
        let start = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap() + Duration::hours(i.into());
        Booking {
            id: BookingId::from_random(i),
            mentor: UserId(1),
            mentee: UserId(2),
            mentor_name: worst_text(100),
            mentee_name: worst_text(100),
            interval: Interval::new(start, start + Duration::minutes(240)).unwrap(),
            status: BookingStatus::Cancelled,
            created_at: start,
            cancellation: Some(Cancellation {
                by: UserId(2),
                at: start,
                reason: Some("[".repeat(500)),
            }),
            calendar_status: CalendarStatus::Failed,
            calendar_event_id: Some("e".repeat(100)),
            meet_link: Some(format!("https://meet.google.com/{}", "x".repeat(60))),
            calendar_error: Some(worst_text(300)),
            guild: None,
        }
    }

    #[test]
    fn a_week_of_the_most_ranges_fits_an_embed_description_and_is_cut_for_a_message() {
        let mut schedule = Schedule::new(chrono_tz::UTC);
        schedule.set_weekly(
            crate::scheduling::parse::parse_days("everyday").unwrap(),
            &most_ranges(),
        );
        let all = weekly_lines(&schedule);
        assert_eq!(all.lines().count(), 7);
        assert!(len(&all) + 100 <= EMBED_DESCRIPTION, "{}", len(&all));
        let cut = weekly_lines_within(&schedule, 1500);
        assert!(len(&cut) <= 1500);
        assert!(
            cut.ends_with("more days (`/availability show`).\n"),
            "{cut}"
        );
    }

    #[test]
    fn forty_overrides_with_the_longest_notes_fit_a_message_and_a_field() {
        let first = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let overrides: Vec<Override> = (0..40)
            .map(|d| Override {
                date: first + Duration::days(d),
                ranges: most_ranges(),
                note: Some(worst_text(200)),
            })
            .collect();
        for limit in [CONTENT, FIELD_VALUE] {
            let text = override_lines(&overrides, limit, true);
            assert!(len(&text) <= limit, "{} > {limit}", len(&text));
            assert!(
                text.contains("more (`/override list from:2026-12-"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_page_of_bookings_at_their_longest_fits_one_embed() {
        let bookings: Vec<Booking> = (0..8).map(worst_booking).collect();
        let mut total = len("Your past sessions");
        for booking in &bookings {
            let (name, value) = booking_field(booking, UserId(1));
            assert!(len(&name) <= 256, "{name}");
            assert!(len(&value) <= FIELD_VALUE, "{value}");
            total += len(&name) + len(&value);
        }
        assert!(total <= EMBED_TOTAL, "{total}");
    }

    #[test]
    fn every_dm_at_its_longest_fits_a_message() {
        let booking = worst_booking(0);
        let notices = [
            Notice::Booked {
                booking: "b".into(),
                recipient: 1,
            },
            Notice::Confirmed {
                booking: "b".into(),
                recipient: 2,
            },
            Notice::Cancelled {
                booking: "b".into(),
                recipient: 1,
                actor: 2,
            },
            Notice::MeetLink {
                booking: "b".into(),
                recipient: 2,
            },
            Notice::Rescheduled {
                booking: "b".into(),
                recipient: 1,
                actor: 2,
                from_start: 0,
                from_end: 0,
            },
        ];
        for notice in &notices {
            let text = dm_text(notice, &booking, Some(&worst_text(100)));
            assert!(len(&text) <= CONTENT, "{notice:?}: {}", len(&text));
        }
    }

    #[test]
    fn session_lines_at_their_longest_fit_the_room_left_and_point_to_bookings() {
        let bookings: Vec<Booking> = (0..12).map(worst_booking).collect();
        let text = mentee_session_lines(&bookings, 1000);
        assert!(len(&text) <= 1000);
        let shown = text.lines().filter(|l| l.starts_with("• ")).count();
        assert!(
            text.ends_with(&format!("…and {} more (`/bookings`).\n", 12 - shown)),
            "{text}"
        );
    }
}
