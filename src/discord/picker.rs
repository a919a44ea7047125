//! The booking picker: one mentor, one day in the viewer's zone, the day's free slots in a
//! select (paged past 25), day navigation, and Confirm. All state lives in `custom_id`s and
//! the database, so a picker keeps working after a restart; every click is re-validated by
//! the service (who clicked, and that the start is offered at that moment).
//!
//! Ids (≤ 100 chars): `pk:<action>:<mentor>:<arg>:<mode>[:<page>]`
//! - `pk:d:<mentor>:<yyyymmdd>:<mode>` show a day;
//! - `pk:p:<mentor>:<yyyymmdd>:<mode>:<page>` show another page of a day's slots;
//! - `pk:s:<mentor>:<yyyymmdd>:<mode>:<page>` the slot select (value: start, Unix seconds);
//! - `pk:c:<mentor>:<start>:<mode>` confirm.
//!
//! `<mode>` is `b` (book) or `m<BOOKING ID>` (move a booking).

use chrono::{DateTime, NaiveDate, Utc};
use poise::serenity_prelude as serenity;

use super::render::{clip, said, slot_label, ts, when};
use crate::domain::{BookingId, UserId};
use crate::service::DaySlots;

/// Slots per select page (Discord's limit for one select).
pub const PAGE: usize = 25;

/// What the picker does on Confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Book a new session.
    Book,
    /// Move this booking.
    Move(BookingId),
}

impl Mode {
    fn encode(&self) -> String {
        match self {
            Mode::Book => "b".to_owned(),
            Mode::Move(id) => format!("m{id}"),
        }
    }

    fn decode(text: &str) -> Option<Mode> {
        if text == "b" {
            return Some(Mode::Book);
        }
        BookingId::parse(text.strip_prefix('m')?).map(Mode::Move)
    }
}

/// A decoded picker component id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerId {
    /// Show `date`'s slots, first page.
    Day {
        mentor: UserId,
        date: NaiveDate,
        mode: Mode,
    },
    /// Show page `page` of `date`'s slots.
    Page {
        mentor: UserId,
        date: NaiveDate,
        mode: Mode,
        page: usize,
    },
    /// The slot select of `date`, page `page`.
    Select {
        mentor: UserId,
        date: NaiveDate,
        mode: Mode,
        page: usize,
    },
    /// Book (or move to) `start`.
    Confirm {
        mentor: UserId,
        start: DateTime<Utc>,
        mode: Mode,
    },
}

impl PickerId {
    /// The `custom_id` text.
    pub fn encode(&self) -> String {
        let day = |d: &NaiveDate| d.format("%Y%m%d").to_string();
        match self {
            PickerId::Day { mentor, date, mode } => {
                format!("pk:d:{mentor}:{}:{}", day(date), mode.encode())
            }
            PickerId::Page {
                mentor,
                date,
                mode,
                page,
            } => {
                format!("pk:p:{mentor}:{}:{}:{page}", day(date), mode.encode())
            }
            PickerId::Select {
                mentor,
                date,
                mode,
                page,
            } => {
                format!("pk:s:{mentor}:{}:{}:{page}", day(date), mode.encode())
            }
            PickerId::Confirm {
                mentor,
                start,
                mode,
            } => {
                format!("pk:c:{mentor}:{}:{}", start.timestamp(), mode.encode())
            }
        }
    }

    /// Reads a `custom_id`; `None` for anything that is not a well-formed picker id.
    pub fn decode(id: &str) -> Option<PickerId> {
        let parts: Vec<&str> = id.split(':').collect();
        let (&"pk", Some(action)) = (parts.first()?, parts.get(1)) else {
            return None;
        };
        // Discord ids are never 0 (and serenity's id types refuse it).
        let mentor = UserId(parts.get(2)?.parse().ok().filter(|m| *m > 0)?);
        let date = || NaiveDate::parse_from_str(parts.get(3)?, "%Y%m%d").ok();
        let mode = Mode::decode(parts.get(4)?)?;
        let page = || parts.get(5)?.parse::<usize>().ok().filter(|p| *p < 20);
        let picked = match (*action, parts.len()) {
            ("d", 5) => PickerId::Day {
                mentor,
                date: date()?,
                mode,
            },
            ("p", 6) => PickerId::Page {
                mentor,
                date: date()?,
                mode,
                page: page()?,
            },
            ("s", 6) => PickerId::Select {
                mentor,
                date: date()?,
                mode,
                page: page()?,
            },
            ("c", 5) => {
                let secs: i64 = parts.get(3)?.parse().ok()?;
                PickerId::Confirm {
                    mentor,
                    start: DateTime::from_timestamp(secs, 0)?,
                    mode,
                }
            }
            _ => return None,
        };
        Some(picked)
    }
}

/// Everything a picker message shows.
pub struct PickerView<'a> {
    /// The mentor.
    pub mentor: UserId,
    /// Their name, as last seen.
    pub mentor_name: &'a str,
    /// The day and its slots, for the viewer.
    pub day: &'a DaySlots,
    /// Book or move.
    pub mode: &'a Mode,
    /// Which page of the day's slots.
    pub page: usize,
    /// The slot chosen in the select, waiting for Confirm.
    pub chosen: Option<DateTime<Utc>>,
    /// A line above everything (e.g. "That slot was just taken.").
    pub notice: Option<&'a str>,
}

/// The picker as an embed and its component rows.
pub fn render(view: &PickerView<'_>) -> (serenity::CreateEmbed, Vec<serenity::CreateActionRow>) {
    let day = view.day;
    let title = match view.mode {
        Mode::Book => format!("Book a session with {}", said(view.mentor_name, 60)),
        Mode::Move(id) => format!("Move booking {id} with {}", said(view.mentor_name, 60)),
    };
    let zone_note = if day.viewer_zone {
        format!("Times in {} (your timezone).", day.tz.name())
    } else {
        format!(
            "Times in {} (the mentor's timezone; set yours with `/timezone set`).",
            day.tz.name()
        )
    };
    let mut description = String::new();
    if let Some(notice) = view.notice {
        description.push_str(&format!("**{notice}**\n\n"));
    }
    description.push_str(&format!(
        "**{}**\n{zone_note}\n\n",
        day.date.format("%A %-d %B %Y")
    ));
    if day.slots.is_empty() {
        description.push_str("No free slots on this day.");
        if day.next.is_some() || day.previous.is_some() {
            description.push_str(" Use the buttons to go to a day that has some.");
        } else {
            description.push_str(" This mentor has no free slots at the moment.");
        }
    } else {
        description.push_str(&format!("{} free slot(s):\n", day.slots.len()));
        for slot in day.slots.iter().take(40) {
            description.push_str(&format!(
                "• {}–{}\n",
                ts(slot.start(), 't'),
                ts(slot.end(), 't')
            ));
        }
        if day.slots.len() > 40 {
            description.push_str(&format!(
                "…and {} more in the list below.\n",
                day.slots.len() - 40
            ));
        }
    }
    if day.calendar_unavailable {
        description.push_str(
            "\n⚠️ The mentor's Google Calendar couldn't be checked just now, so some of these times may clash with their other appointments.\n",
        );
    }
    if let Some(chosen) = view.chosen {
        description.push_str(&format!(
            "\nSelected: {}. Press **Confirm** to {}.",
            when(chosen),
            match view.mode {
                Mode::Book => "book it",
                Mode::Move(_) => "move your booking there",
            }
        ));
    }
    let embed = serenity::CreateEmbed::new()
        .title(title)
        .description(description);

    let mut rows = Vec::new();
    let pages = day.slots.len().div_ceil(PAGE).max(1);
    let page = view.page.min(pages - 1);
    let on_page: Vec<_> = day.slots.iter().skip(page * PAGE).take(PAGE).collect();
    if !on_page.is_empty() {
        let options = on_page
            .iter()
            .map(|slot| {
                let value = slot.start().timestamp().to_string();
                serenity::CreateSelectMenuOption::new(clip(&slot_label(slot, day.tz), 100), value)
                    .default_selection(view.chosen == Some(slot.start()))
            })
            .collect();
        let select_id = PickerId::Select {
            mentor: view.mentor,
            date: day.date,
            mode: view.mode.clone(),
            page,
        };
        let placeholder = if pages > 1 {
            format!("Pick a time (page {} of {pages})", page + 1)
        } else {
            "Pick a time".to_owned()
        };
        rows.push(serenity::CreateActionRow::SelectMenu(
            serenity::CreateSelectMenu::new(
                select_id.encode(),
                serenity::CreateSelectMenuKind::String { options },
            )
            .placeholder(placeholder),
        ));
    }

    let day_button = |target: Option<NaiveDate>, label: &str, fallback: &str| match target {
        Some(date) => serenity::CreateButton::new(
            PickerId::Day {
                mentor: view.mentor,
                date,
                mode: view.mode.clone(),
            }
            .encode(),
        )
        .label(label)
        .style(serenity::ButtonStyle::Secondary),
        None => serenity::CreateButton::new(fallback)
            .label(label)
            .style(serenity::ButtonStyle::Secondary)
            .disabled(true),
    };
    let mut buttons = vec![
        day_button(day.previous, "◀ Previous day", "pk:x:prev"),
        day_button(day.next, "Next day ▶", "pk:x:next"),
    ];
    if pages > 1 {
        let page_button = |target: usize, label: &str| {
            serenity::CreateButton::new(
                PickerId::Page {
                    mentor: view.mentor,
                    date: day.date,
                    mode: view.mode.clone(),
                    page: target,
                }
                .encode(),
            )
            .label(label)
            .style(serenity::ButtonStyle::Secondary)
        };
        if page > 0 {
            buttons.push(page_button(page - 1, "Earlier times"));
        }
        if page + 1 < pages {
            buttons.push(page_button(page + 1, "Later times"));
        }
    }
    rows.push(serenity::CreateActionRow::Buttons(buttons));

    if let Some(start) = view.chosen {
        let label = format!("Confirm {}", slot_label_for(day, start));
        rows.push(serenity::CreateActionRow::Buttons(vec![
            serenity::CreateButton::new(
                PickerId::Confirm {
                    mentor: view.mentor,
                    start,
                    mode: view.mode.clone(),
                }
                .encode(),
            )
            .label(clip(&label, 80))
            .style(serenity::ButtonStyle::Success),
        ]));
    }
    (embed, rows)
}

fn slot_label_for(day: &DaySlots, start: DateTime<Utc>) -> String {
    day.slots
        .iter()
        .find(|s| s.start() == start)
        .map(|s| slot_label(s, day.tz))
        .unwrap_or_else(|| {
            start
                .with_timezone(&day.tz)
                .format("%a %d %b %H:%M")
                .to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picker_ids_round_trip_and_stay_under_one_hundred_characters() {
        let mentor = UserId(u64::MAX);
        let date = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let moving = Mode::Move(BookingId::parse("K7Q2MD").unwrap());
        let ids = [
            PickerId::Day {
                mentor,
                date,
                mode: Mode::Book,
            },
            PickerId::Page {
                mentor,
                date,
                mode: moving.clone(),
                page: 3,
            },
            PickerId::Select {
                mentor,
                date,
                mode: moving.clone(),
                page: 0,
            },
            PickerId::Confirm {
                mentor,
                start: DateTime::from_timestamp(4_102_444_800, 0).unwrap(),
                mode: moving,
            },
        ];
        for id in ids {
            let text = id.encode();
            assert!(text.len() <= 100, "{text}");
            assert_eq!(PickerId::decode(&text), Some(id));
        }
    }

    #[test]
    fn forged_or_stale_ids_do_not_decode() {
        for bad in [
            "",
            "pk",
            "pk:c:1:notanumber:b",
            "pk:d:1:20260230:b",
            "pk:d:1:20261124:x",
            "pk:d:1:20261124:mNOPE!!",
            "pk:p:1:20261124:b:99",
            "pk:d:-1:20261124:b",
            "pk:d:1:20261124:b:extra",
            "bk:d:1:20261124:b",
        ] {
            assert_eq!(PickerId::decode(bad), None, "{bad}");
        }
    }
}
