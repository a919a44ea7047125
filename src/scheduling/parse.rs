//! The pure parser for the texts users type: `days`, `hours`, dates and timezones.
//!
//! Every [`ParseError`] displays as a short message for Discord that quotes the offending
//! piece of input in backticks and shows a valid example.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, Weekday};
use chrono_tz::{TZ_VARIANTS, Tz};

use super::hours::{DAY_MINUTES, Days, LocalRange, format_minutes, merge_ranges};

/// Longest `days`, `hours` or date text accepted, in characters (after trimming).
pub const MAX_INPUT_CHARS: usize = 300;
/// Most ranges one `hours` text may hold.
pub const MAX_RANGES: usize = 24;
/// Longest timezone text accepted, in characters (the longest IANA name has 32).
pub const MAX_TIMEZONE_CHARS: usize = 64;
/// Longest piece of input quoted back in an error message; longer pieces are cut with `…`.
const MAX_QUOTE_CHARS: usize = 40;

/// Zones offered when the timezone search is empty, most used first.
const COMMON_TIMEZONES: [&str; 25] = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Warsaw",
    "Europe/Kyiv",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
];

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Parsed `hours` text: `ranges` empty means `off`; `merged` tells whether overlapping or
/// touching ranges were merged (the bot tells the user so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedHours {
    /// The ranges, sorted and merged; empty for `off`.
    pub ranges: Vec<LocalRange>,
    /// True when some of the typed ranges overlapped or touched and were merged.
    pub merged: bool,
}

/// Which kind of text was being read; errors name it and show its example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A set of weekdays (`mon-fri`).
    Days,
    /// Wall-clock ranges or `off` (`09:00-12:00`).
    Hours,
    /// A date (`2026-12-01`, `today`).
    Date,
    /// An IANA timezone name (`Europe/Berlin`).
    Timezone,
}

impl Field {
    /// Valid examples of this kind of text, in backticks for Discord.
    pub fn example(self) -> &'static str {
        match self {
            Field::Days => "`mon-fri` or `mon,wed,fri`",
            Field::Hours => "`09:00-12:00, 14:00-17:30` or `off`",
            Field::Date => "`YYYY-MM-DD`, `today` or `tomorrow`",
            Field::Timezone => "`Europe/Berlin` or `America/New_York`",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Days => "days",
            Field::Hours => "hours",
            Field::Date => "date",
            Field::Timezone => "timezone",
        })
    }
}

/// One end of a span of days or a range of times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The part before the dash.
    Start,
    /// The part after the dash.
    End,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Start => "start",
            Endpoint::End => "end",
        })
    }
}

/// Why a text could not be read. `Display` is the message shown to the user: it quotes the
/// offending input (backticks in it replaced, long pieces cut) and shows a valid example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but spaces or separators was typed.
    #[error("Please type the {field}, e.g. {}.", .field.example())]
    Empty {
        /// What was expected.
        field: Field,
    },
    /// The text is longer than allowed.
    #[error(
        "That text is {len} characters long, but the {field} may be at most {max}, e.g. {}.",
        .field.example()
    )]
    TooLong {
        /// What was expected.
        field: Field,
        /// Characters typed (after trimming).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A span or range with more than one dash (`mon-wed-fri`, `9-12-14`).
    #[error("`{token}` has more than one dash; give one start and one end, e.g. {}.", .field.example())]
    TooManyDashes {
        /// The offending piece.
        token: String,
        /// What was expected.
        field: Field,
    },
    /// A word that is not a day name or a prefix of one of at least 3 letters (`funday`).
    #[error(
        "`{token}` is not a day; use day names or their first 3 letters, separated by commas, \
         e.g. `mon-fri` or `mon,wed,fri`."
    )]
    UnknownDay {
        /// The offending word.
        token: String,
    },
    /// A day span with nothing before or after its dash (`mon-`, `-fri`).
    #[error("The day span `{token}` has no {missing} day; give both, e.g. `mon-fri`.")]
    IncompleteDaySpan {
        /// The offending span.
        token: String,
        /// The side that is missing.
        missing: Endpoint,
    },
    /// A time not written in a known form (`9h`, `abc`).
    #[error(
        "`{token}` is not a time I can read; write times like `09:00`, `9` or `9am`, \
         e.g. `09:00-12:00, 14:00-17:30`."
    )]
    UnreadableTime {
        /// The offending time.
        token: String,
    },
    /// A 24-hour time with an hour past 24 (`25:00`).
    #[error("`{token}` is not a valid time: hours run from 0 to 24, e.g. `09:00-17:00`.")]
    HourOutOfRange {
        /// The offending time.
        token: String,
    },
    /// A time after `24:00` (`24:30`).
    #[error(
        "`{token}` is past the end of the day: the latest time is `24:00`, e.g. `18:00-24:00`."
    )]
    PastEndOfDay {
        /// The offending time.
        token: String,
    },
    /// An am/pm time with an hour outside 1–12 (`13pm`, `0am`).
    #[error(
        "`{token}` is not a valid time: with am/pm, hours run from 1 to 12, e.g. `9am-5pm` \
         (or `09:00-17:00` in 24-hour time)."
    )]
    AmPmHourOutOfRange {
        /// The offending time.
        token: String,
    },
    /// Minutes outside 00–59 (`9:60`).
    #[error("`{token}` is not a valid time: minutes run from 00 to 59, e.g. `09:30-17:45`.")]
    MinuteOutOfRange {
        /// The offending time.
        token: String,
    },
    /// A range without a start or an end (`09:00`, `-17:00`).
    #[error(
        "The range `{token}` has no {missing} time; give a start and an end, e.g. `09:00-17:00`."
    )]
    IncompleteRange {
        /// The offending range.
        token: String,
        /// The side that is missing.
        missing: Endpoint,
    },
    /// A range that ends when it starts (`09:00-09:00`).
    #[error(
        "The range `{token}` ends when it starts; give an end different from the start, \
         e.g. `09:00-17:00`."
    )]
    EmptyRange {
        /// The offending range.
        token: String,
    },
    /// `24:00` used as the start of a range.
    #[error(
        "`{token}` can only end a range, not start one; start the day at `00:00`, e.g. `00:00-08:00`."
    )]
    StartAtEndOfDay {
        /// The offending time.
        token: String,
    },
    /// An override range that ends after midnight (`22:00-01:00`).
    #[error(
        "The range `{token}` runs past midnight, but override hours must end by `24:00`; \
         split it into `{same_day}` on this date and `{next_day}` on the next."
    )]
    OverridePastMidnight {
        /// The offending range.
        token: String,
        /// The part up to `24:00`, as `HH:MM-24:00`.
        same_day: String,
        /// The part after midnight, as `00:00-HH:MM`.
        next_day: String,
    },
    /// More than [`MAX_RANGES`] ranges.
    #[error(
        "That is {count} ranges, but at most {max} are allowed, e.g. `09:00-12:00, 14:00-17:30`."
    )]
    TooManyRanges {
        /// Ranges typed.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// `off` together with ranges (`off, 09:00-12:00`).
    #[error(
        "`{token}` mixes `off` with time ranges; give either `off` alone or only ranges, \
         e.g. `09:00-12:00, 14:00-17:30`."
    )]
    OffWithRanges {
        /// The whole text.
        token: String,
    },
    /// A date in no known form (`next week`, `31/12/2026`).
    #[error(
        "`{token}` is not a date I can read; use `YYYY-MM-DD` (e.g. `{example}`), `today` or \
         `tomorrow`."
    )]
    UnreadableDate {
        /// The offending text.
        token: String,
        /// A valid date to show (the caller's today).
        example: NaiveDate,
    },
    /// A date with a month outside 1–12 (`2026-13-01`).
    #[error(
        "`{token}` is not a date: there is no month {month} (months run from 1 to 12), \
         e.g. `{year:04}-12-01`."
    )]
    NoSuchMonth {
        /// The offending date.
        token: String,
        /// The year typed.
        year: i32,
        /// The month typed.
        month: u32,
    },
    /// A date with a day its month does not have (`2026-02-30`).
    #[error(
        "`{token}` does not exist: {} {year} has {last_day} days, e.g. `{year:04}-{month:02}-{last_day:02}`.",
        month_name(*.month)
    )]
    NoSuchDay {
        /// The offending date.
        token: String,
        /// The year typed.
        year: i32,
        /// The month typed (1–12).
        month: u32,
        /// The number of days in that month.
        last_day: u32,
    },
    /// A timezone that is not an IANA name (`berlin`, `Mars/Olympus`).
    #[error("`{token}` is not a timezone I know; {}", timezone_hint(.suggestions))]
    UnknownTimezone {
        /// The offending text.
        token: String,
        /// Up to 3 names from [`search_timezones`], best first; may be empty.
        suggestions: Vec<&'static str>,
    },
}

/// Reads a set of weekdays: `mon`, `mon-fri` (`fri-mon` wraps past Sunday), `mon,wed,fri`,
/// mixes like `mon-wed,fri`, `weekdays`, `weekends`, `everyday` (`every day`, `daily`).
/// A day is a weekday's full name or a prefix of it of at least 3 letters. Case and spaces
/// are ignored.
pub fn parse_days(text: &str) -> Result<Days, ParseError> {
    let text = trimmed_within(text, Field::Days, MAX_INPUT_CHARS)?;
    let mut days = Days::NONE;
    for piece in pieces(text) {
        days = days.union(parse_day_piece(piece)?);
    }
    if days.is_empty() {
        return Err(ParseError::Empty { field: Field::Days });
    }
    Ok(days)
}

/// Reads weekly hours: `off`, or up to [`MAX_RANGES`] ranges separated by `,` or `;`
/// (`09:00-12:00, 14:00-17:30`, `9-12`, `9am-5pm`, `noon-midnight`). An end of `00:00` means
/// `24:00`; an end earlier than its start runs past midnight (`22:00-01:00` is 22:00 to 01:00
/// the next day). Ranges come back sorted, with overlapping or touching ones merged.
pub fn parse_weekly_hours(text: &str) -> Result<ParsedHours, ParseError> {
    parse_hours(text, Schedule::Weekly)
}

/// Reads the hours of a one-date override: like [`parse_weekly_hours`], except that every
/// range must end by `24:00` (`22:00-01:00` is an error that says how to split it).
pub fn parse_override_hours(text: &str) -> Result<ParsedHours, ParseError> {
    parse_hours(text, Schedule::Override)
}

/// Reads a date: `YYYY-MM-DD` (single-digit month and day allowed), `today` or `tomorrow`
/// (relative to `today`). Past or far-off dates are accepted; the caller checks limits.
pub fn parse_date(text: &str, today: NaiveDate) -> Result<NaiveDate, ParseError> {
    let text = trimmed_within(text, Field::Date, MAX_INPUT_CHARS)?;
    let unreadable = || ParseError::UnreadableDate {
        token: quoted(text),
        example: today,
    };
    let squashed = squash(text);
    match squashed.as_str() {
        "today" => return Ok(today),
        // `succ_opt` fails only at the last date chrono can represent.
        "tomorrow" => return today.succ_opt().ok_or_else(unreadable),
        _ => {}
    }
    let mut parts = squashed.split(is_dash);
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unreadable());
    };
    let (Some(year), Some(month), Some(day)) = (
        number::<i32>(year, 4, 4),
        number::<u32>(month, 1, 2),
        number::<u32>(day, 1, 2),
    ) else {
        return Err(unreadable());
    };
    if !(1..=12).contains(&month) {
        return Err(ParseError::NoSuchMonth {
            token: quoted(text),
            year,
            month,
        });
    }
    let no_such_day = || ParseError::NoSuchDay {
        token: quoted(text),
        year,
        month,
        last_day: days_in_month(year, month),
    };
    if day == 0 {
        return Err(no_such_day());
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(no_such_day)
}

/// Reads an IANA timezone name (`Europe/Berlin`, `UTC`), ignoring case; spaces may stand for
/// `_` (`america/new york`). Anything else is an error suggesting close names.
pub fn parse_timezone(text: &str) -> Result<Tz, ParseError> {
    let text = trimmed_within(text, Field::Timezone, MAX_TIMEZONE_CHARS)?;
    let wanted = timezone_key(text);
    TZ_VARIANTS
        .iter()
        .copied()
        .find(|tz| tz.name().eq_ignore_ascii_case(&wanted))
        .ok_or_else(|| ParseError::UnknownTimezone {
            token: quoted(text),
            suggestions: search_timezones(text, 3),
        })
}

/// Up to `limit` IANA names containing `query` (case-insensitive; spaces match `_`, and `-`
/// matches `_`), best first: an exact name, then names whose last part (the city) starts with
/// the query, then names starting with it, then the rest, each group alphabetical. An empty
/// query gives common zones. Used for autocomplete and for "did you mean" in errors.
pub fn search_timezones(query: &str, limit: usize) -> Vec<&'static str> {
    let query = search_key(query);
    if query.is_empty() {
        return COMMON_TIMEZONES.iter().copied().take(limit).collect();
    }
    if query.chars().count() > MAX_TIMEZONE_CHARS {
        return Vec::new();
    }
    let mut found: Vec<(u8, String, &'static str)> = TZ_VARIANTS
        .iter()
        .filter_map(|tz| {
            let name = tz.name();
            let key = search_key(name);
            match_rank(&key, &query).map(|rank| (rank, key, name))
        })
        .collect();
    found.sort_unstable();
    found
        .into_iter()
        .take(limit)
        .map(|(_, _, name)| name)
        .collect()
}

/// Which rules apply to ranges that end earlier than they start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Schedule {
    /// They run past midnight into the next day.
    Weekly,
    /// They are errors: an override covers one date.
    Override,
}

fn parse_hours(text: &str, schedule: Schedule) -> Result<ParsedHours, ParseError> {
    let text = trimmed_within(text, Field::Hours, MAX_INPUT_CHARS)?;
    let pieces: Vec<&str> = pieces(text).collect();
    if pieces.is_empty() {
        return Err(ParseError::Empty {
            field: Field::Hours,
        });
    }
    let is_off = |piece: &&str| squash(piece) == "off";
    if pieces.iter().any(is_off) {
        if pieces.iter().all(is_off) {
            return Ok(ParsedHours {
                ranges: Vec::new(),
                merged: false,
            });
        }
        return Err(ParseError::OffWithRanges {
            token: quoted(text),
        });
    }
    if pieces.len() > MAX_RANGES {
        return Err(ParseError::TooManyRanges {
            count: pieces.len(),
            max: MAX_RANGES,
        });
    }
    let ranges = pieces
        .into_iter()
        .map(|piece| parse_range(piece, schedule))
        .collect::<Result<Vec<_>, _>>()?;
    let (ranges, merged) = merge_ranges(ranges);
    Ok(ParsedHours { ranges, merged })
}

/// Reads one `start-end` range.
fn parse_range(piece: &str, schedule: Schedule) -> Result<LocalRange, ParseError> {
    let Some((start_text, end_text)) = piece.split_once(is_dash) else {
        // A lone word: complain about it if it is no time, else about the missing end.
        parse_time(piece)?;
        return Err(ParseError::IncompleteRange {
            token: quoted(piece),
            missing: Endpoint::End,
        });
    };
    let (start_text, end_text) = (start_text.trim(), end_text.trim());
    if end_text.contains(is_dash) {
        return Err(ParseError::TooManyDashes {
            token: quoted(piece),
            field: Field::Hours,
        });
    }
    for (text, missing) in [(start_text, Endpoint::Start), (end_text, Endpoint::End)] {
        if text.is_empty() {
            return Err(ParseError::IncompleteRange {
                token: quoted(piece),
                missing,
            });
        }
    }
    let start = parse_time(start_text)?;
    if start == DAY_MINUTES {
        return Err(ParseError::StartAtEndOfDay {
            token: quoted(start_text),
        });
    }
    let end = match parse_time(end_text)? {
        0 => DAY_MINUTES,
        end => end,
    };
    let empty = || ParseError::EmptyRange {
        token: quoted(piece),
    };
    if end == start {
        return Err(empty());
    }
    let end = if end > start {
        end
    } else {
        match schedule {
            Schedule::Weekly => end + DAY_MINUTES,
            Schedule::Override => {
                return Err(ParseError::OverridePastMidnight {
                    token: quoted(piece),
                    same_day: format!("{}-24:00", format_minutes(start)),
                    next_day: format!("00:00-{}", format_minutes(end)),
                });
            }
        }
    };
    // With `start < 24:00` and `start < end <= start + 24:00` this cannot fail.
    LocalRange::new(start, end).ok_or_else(empty)
}

/// Reads a wall time as minutes after midnight (0..=1440): `9`, `09:30`, `24:00`, `9am`,
/// `12:30pm`, `noon`, `midnight` (00:00).
fn parse_time(token: &str) -> Result<u16, ParseError> {
    let text = squash(token);
    match text.as_str() {
        "noon" => return Ok(12 * 60),
        "midnight" => return Ok(0),
        _ => {}
    }
    // `Some(0)` for am, `Some(12)` for pm, `None` for 24-hour time.
    let (clock, pm_offset) = if let Some(clock) = text.strip_suffix("am") {
        (clock, Some(0))
    } else if let Some(clock) = text.strip_suffix("pm") {
        (clock, Some(12))
    } else {
        (text.as_str(), None)
    };
    let (hour, minute) = match clock.split_once(':') {
        Some((hour, minute)) => (hour, Some(minute)),
        None => (clock, None),
    };
    let unreadable = || ParseError::UnreadableTime {
        token: quoted(token),
    };
    let hour: u16 = number(hour, 1, 2).ok_or_else(unreadable)?;
    let minute: u16 = match minute {
        Some(minute) => number(minute, 2, 2).ok_or_else(unreadable)?,
        None => 0,
    };
    let hour = match pm_offset {
        Some(_) if !(1..=12).contains(&hour) => {
            return Err(ParseError::AmPmHourOutOfRange {
                token: quoted(token),
            });
        }
        Some(offset) => hour % 12 + offset,
        None if hour > 24 => {
            return Err(ParseError::HourOutOfRange {
                token: quoted(token),
            });
        }
        None => hour,
    };
    if minute > 59 {
        return Err(ParseError::MinuteOutOfRange {
            token: quoted(token),
        });
    }
    if hour == 24 && minute > 0 {
        return Err(ParseError::PastEndOfDay {
            token: quoted(token),
        });
    }
    Ok(hour * 60 + minute)
}

/// Reads one comma-separated piece of a `days` text.
fn parse_day_piece(piece: &str) -> Result<Days, ParseError> {
    match squash(piece).as_str() {
        "weekdays" | "weekday" => return Ok(Days::WEEKDAYS),
        "weekends" | "weekend" => return Ok(Days::WEEKENDS),
        "everyday" | "daily" => return Ok(Days::EVERYDAY),
        _ => {}
    }
    let Some((from, to)) = piece.split_once(is_dash) else {
        return parse_day(piece).map(Days::single);
    };
    let (from, to) = (from.trim(), to.trim());
    if to.contains(is_dash) {
        return Err(ParseError::TooManyDashes {
            token: quoted(piece),
            field: Field::Days,
        });
    }
    for (text, missing) in [(from, Endpoint::Start), (to, Endpoint::End)] {
        if text.is_empty() {
            return Err(ParseError::IncompleteDaySpan {
                token: quoted(piece),
                missing,
            });
        }
    }
    Ok(Days::span(parse_day(from)?, parse_day(to)?))
}

/// Reads a day name or a prefix of it of at least 3 letters.
fn parse_day(token: &str) -> Result<Weekday, ParseError> {
    let text = squash(token);
    DAY_NAMES
        .iter()
        .find(|(name, _)| text.len() >= 3 && name.starts_with(&text))
        .map(|&(_, day)| day)
        .ok_or_else(|| ParseError::UnknownDay {
            token: quoted(token),
        })
}

/// Trims `text` and checks it is neither empty nor longer than `max` characters.
fn trimmed_within(text: &str, field: Field, max: usize) -> Result<&str, ParseError> {
    let text = text.trim();
    let len = text.chars().count();
    if len > max {
        return Err(ParseError::TooLong { field, len, max });
    }
    if text.is_empty() {
        return Err(ParseError::Empty { field });
    }
    Ok(text)
}

/// The non-empty, trimmed pieces of a list separated by `,` or `;`.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
}

/// A hyphen, en dash or em dash.
fn is_dash(c: char) -> bool {
    matches!(c, '-' | '–' | '—')
}

/// Text that other people will see (display names, cancel reasons, override notes), without
/// the characters that could disguise it: bidi overrides, embeddings, isolates and marks
/// reorder what follows them, and zero-width spaces, invisible operators and the BOM hide
/// text. The joiners U+200C and U+200D stay (scripts and emoji sequences need them); control
/// characters become spaces.
pub fn visible_text(text: &str) -> String {
    text.chars()
        .filter(|c| !is_invisible_format(*c) || matches!(c, '\u{200C}' | '\u{200D}'))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` lowercased, without any whitespace.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// `text` made safe to show inside backticks: backticks become `'`, control characters
/// spaces, and long text is cut with `…`.
fn quoted(text: &str) -> String {
    let clean = text.chars().map(|c| match c {
        '`' => '\'',
        c if c.is_control() || is_invisible_format(c) => ' ',
        c => c,
    });
    if text.chars().count() <= MAX_QUOTE_CHARS {
        clean.collect()
    } else {
        clean.take(MAX_QUOTE_CHARS - 1).chain(['…']).collect()
    }
}

/// Invisible formatting characters (bidi overrides and isolates, zero-width spaces and
/// joiners, the BOM): echoed back they would reorder or hide the rest of the message.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// `text` as a number when it has `min..=max` ASCII digits and nothing else.
fn number<T: FromStr>(text: &str, min: usize, max: usize) -> Option<T> {
    if !(min..=max).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The number of days in `month` (1–12) of `year`.
fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The English name of `month` (1–12).
fn month_name(month: u32) -> &'static str {
    month
        .checked_sub(1)
        .and_then(|index| MONTH_NAMES.get(index as usize))
        .copied()
        .unwrap_or("That month")
}

/// A timezone as typed, with the spaces around `/` dropped and other runs of spaces made `_`.
fn timezone_key(text: &str) -> String {
    text.split('/')
        .map(|part| part.split_whitespace().collect::<Vec<_>>().join("_"))
        .collect::<Vec<_>>()
        .join("/")
}

/// The form in which timezone names and queries are compared.
fn search_key(text: &str) -> String {
    timezone_key(text).to_lowercase().replace('-', "_")
}

/// How well the timezone `name` matches `query` (both as [`search_key`]), lower is better.
fn match_rank(name: &str, query: &str) -> Option<u8> {
    let city = name.rsplit('/').next().unwrap_or(name);
    if name == query {
        Some(0)
    } else if city.starts_with(query) {
        Some(1)
    } else if name.starts_with(query) {
        Some(2)
    } else if name.contains(query) {
        Some(3)
    } else {
        None
    }
}

/// The end of an unknown-timezone message: "did you mean …?" or examples.
fn timezone_hint(suggestions: &[&str]) -> String {
    let quoted: Vec<String> = suggestions.iter().map(|name| format!("`{name}`")).collect();
    match quoted.as_slice() {
        [] => "use an IANA name such as `Europe/Berlin` or `America/New_York`.".to_owned(),
        [one] => format!("did you mean {one}?"),
        [rest @ .., last] => format!("did you mean {} or {last}?", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_drops_bidi_and_zero_width_tricks_but_keeps_joiners_and_words() {
        assert_eq!(
            visible_text("\u{202E}evil\u{202C} \u{2066}x\u{2069}\u{200B}y\u{FEFF}\u{200F}"),
            "evil xy"
        );
        assert_eq!(
            visible_text("👩\u{200D}👩\u{200D}👧 می\u{200C}خواهم"),
            "👩\u{200D}👩\u{200D}👧 می\u{200C}خواهم"
        );
        assert_eq!(visible_text("a\tb\nc"), "a b c");
        assert_eq!(visible_text("Zoë"), "Zoë");
    }

    #[test]
    fn quoted_input_loses_bidi_overrides_and_zero_width_characters() {
        let quoted = quoted("Europe/Berlin\u{202E}tpyrc\u{200B}\u{FEFF}x");
        assert_eq!(quoted, "Europe/Berlin tpyrc  x");
    }

    const HOURS_EXAMPLE: &str = "`09:00-12:00, 14:00-17:30`";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn hm(hour: u16, minute: u16) -> u16 {
        hour * 60 + minute
    }

    fn range(start: u16, end: u16) -> LocalRange {
        LocalRange::new(start, end).unwrap()
    }

    fn days(list: &[Weekday]) -> Days {
        list.iter().fold(Days::NONE, |days, &day| days.with(day))
    }

    fn weekly(text: &str) -> Vec<LocalRange> {
        parse_weekly_hours(text).unwrap().ranges
    }

    fn override_(text: &str) -> Vec<LocalRange> {
        parse_override_hours(text).unwrap().ranges
    }

    /// Asserts `message` quotes each of `quoted` in backticks and has balanced backticks.
    fn assert_quotes(message: &str, quoted: &[&str]) {
        for piece in quoted {
            let wanted = format!("`{piece}`");
            assert!(
                message.contains(&wanted),
                "{message:?} should contain {wanted}"
            );
        }
        assert_eq!(
            message.matches('`').count() % 2,
            0,
            "unbalanced: {message:?}"
        );
    }

    fn days_error(text: &str) -> (ParseError, String) {
        let error = parse_days(text).unwrap_err();
        let message = error.to_string();
        (error, message)
    }

    fn weekly_error(text: &str) -> (ParseError, String) {
        let error = parse_weekly_hours(text).unwrap_err();
        let message = error.to_string();
        (error, message)
    }

    fn override_error(text: &str) -> (ParseError, String) {
        let error = parse_override_hours(text).unwrap_err();
        let message = error.to_string();
        (error, message)
    }

    fn date_error(text: &str) -> (ParseError, String) {
        let error = parse_date(text, today()).unwrap_err();
        let message = error.to_string();
        (error, message)
    }

    fn timezone_error(text: &str) -> (ParseError, String) {
        let error = parse_timezone(text).unwrap_err();
        let message = error.to_string();
        (error, message)
    }

    // ---- days ----

    #[test]
    fn a_day_is_its_full_name_or_a_prefix_of_at_least_three_letters() {
        use Weekday::*;
        for (text, day) in [
            ("mon", Mon),
            ("monday", Mon),
            ("tue", Tue),
            ("tues", Tue),
            ("wed", Wed),
            ("wednesday", Wed),
            ("thu", Thu),
            ("thur", Thu),
            ("thurs", Thu),
            ("fri", Fri),
            ("sat", Sat),
            ("sun", Sun),
            ("sunday", Sun),
        ] {
            assert_eq!(parse_days(text), Ok(Days::single(day)), "{text}");
        }
    }

    #[test]
    fn day_names_ignore_case_and_spaces() {
        assert_eq!(parse_days("  MON "), Ok(Days::single(Weekday::Mon)));
        assert_eq!(parse_days("Wed nes day"), Ok(Days::single(Weekday::Wed)));
        assert_eq!(parse_days(" Mon - Fri "), Ok(Days::WEEKDAYS));
    }

    #[test]
    fn a_day_span_includes_both_ends() {
        assert_eq!(parse_days("mon-fri"), Ok(Days::WEEKDAYS));
        assert_eq!(
            parse_days("tue-thu"),
            Ok(days(&[Weekday::Tue, Weekday::Wed, Weekday::Thu]))
        );
        assert_eq!(parse_days("sat-sun"), Ok(Days::WEEKENDS));
    }

    #[test]
    fn a_day_span_may_use_an_en_dash_or_an_em_dash() {
        assert_eq!(parse_days("mon–fri"), Ok(Days::WEEKDAYS));
        assert_eq!(parse_days("mon—fri"), Ok(Days::WEEKDAYS));
    }

    #[test]
    fn a_day_span_ending_before_it_starts_wraps_past_sunday() {
        use Weekday::*;
        assert_eq!(parse_days("fri-mon"), Ok(days(&[Fri, Sat, Sun, Mon])));
        assert_eq!(parse_days("sun-sat"), Ok(Days::EVERYDAY));
    }

    #[test]
    fn a_span_from_a_day_to_itself_is_that_day() {
        assert_eq!(parse_days("wed-wed"), Ok(Days::single(Weekday::Wed)));
    }

    #[test]
    fn a_comma_list_of_days_holds_each_of_them() {
        use Weekday::*;
        assert_eq!(parse_days("mon,wed,fri"), Ok(days(&[Mon, Wed, Fri])));
        assert_eq!(parse_days("Mon, Wed; Fri"), Ok(days(&[Mon, Wed, Fri])));
        assert_eq!(parse_days("mon,mon"), Ok(Days::single(Mon)));
    }

    #[test]
    fn spans_and_single_days_mix() {
        use Weekday::*;
        assert_eq!(parse_days("mon-wed,fri"), Ok(days(&[Mon, Tue, Wed, Fri])));
        assert_eq!(parse_days("sat, mon-tue"), Ok(days(&[Mon, Tue, Sat])));
        assert_eq!(
            parse_days("weekends,wed"),
            Ok(Days::WEEKENDS.with(Weekday::Wed))
        );
    }

    #[test]
    fn weekdays_weekends_and_everyday_are_keywords() {
        assert_eq!(parse_days("weekdays"), Ok(Days::WEEKDAYS));
        assert_eq!(parse_days("Weekday"), Ok(Days::WEEKDAYS));
        assert_eq!(parse_days("WEEKENDS"), Ok(Days::WEEKENDS));
        assert_eq!(parse_days("weekend"), Ok(Days::WEEKENDS));
        assert_eq!(parse_days("everyday"), Ok(Days::EVERYDAY));
        assert_eq!(parse_days("every day"), Ok(Days::EVERYDAY));
        assert_eq!(parse_days("Daily"), Ok(Days::EVERYDAY));
    }

    #[test]
    fn empty_pieces_between_commas_are_skipped() {
        use Weekday::*;
        assert_eq!(parse_days("mon,,wed,"), Ok(days(&[Mon, Wed])));
    }

    #[test]
    fn empty_days_ask_for_days_with_an_example() {
        for text in ["", "   ", ",", " , ; "] {
            let (error, message) = days_error(text);
            assert_eq!(error, ParseError::Empty { field: Field::Days }, "{text:?}");
            assert_quotes(&message, &["mon-fri"]);
        }
    }

    #[test]
    fn an_unknown_day_is_quoted_with_an_example() {
        let (error, message) = days_error("mon,funday");
        assert!(matches!(error, ParseError::UnknownDay { .. }));
        assert_quotes(&message, &["funday", "mon-fri", "mon,wed,fri"]);
    }

    #[test]
    fn a_day_prefix_shorter_than_three_letters_is_unknown() {
        for text in ["tu", "s", "th"] {
            let (error, message) = days_error(text);
            assert!(matches!(error, ParseError::UnknownDay { .. }), "{text}");
            assert_quotes(&message, &[text]);
        }
    }

    #[test]
    fn day_names_separated_only_by_spaces_are_unknown_and_the_hint_shows_commas() {
        let (_, message) = days_error("mon wed fri");
        assert_quotes(&message, &["mon wed fri", "mon,wed,fri"]);
    }

    #[test]
    fn an_unknown_day_in_a_span_is_quoted() {
        let (_, message) = days_error("mon-funday");
        assert_quotes(&message, &["funday"]);
        let (_, message) = days_error("weekdays-sun");
        assert_quotes(&message, &["weekdays"]);
    }

    #[test]
    fn a_day_span_without_an_end_says_so() {
        let (error, message) = days_error("mon-");
        assert_eq!(
            error,
            ParseError::IncompleteDaySpan {
                token: "mon-".into(),
                missing: Endpoint::End
            }
        );
        assert_quotes(&message, &["mon-", "mon-fri"]);
        assert!(message.contains("no end day"), "{message}");
    }

    #[test]
    fn a_day_span_without_a_start_says_so() {
        let (error, message) = days_error("-fri");
        assert_eq!(
            error,
            ParseError::IncompleteDaySpan {
                token: "-fri".into(),
                missing: Endpoint::Start
            }
        );
        assert_quotes(&message, &["-fri", "mon-fri"]);
        assert!(message.contains("no start day"), "{message}");
    }

    #[test]
    fn a_day_span_with_two_dashes_is_an_error() {
        let (error, message) = days_error("mon-wed-fri");
        assert!(matches!(error, ParseError::TooManyDashes { .. }));
        assert_quotes(&message, &["mon-wed-fri", "mon-fri"]);
    }

    #[test]
    fn overlong_days_are_refused_with_the_length() {
        let text = "mon,".repeat(80);
        assert_eq!(text.chars().count(), 320);
        let (error, message) = days_error(&text);
        assert_eq!(
            error,
            ParseError::TooLong {
                field: Field::Days,
                len: 320,
                max: MAX_INPUT_CHARS
            }
        );
        assert!(
            message.contains("320") && message.contains("300"),
            "{message}"
        );
        assert_quotes(&message, &["mon-fri"]);
    }

    // ---- hours: accepted formats ----

    #[test]
    fn a_range_of_24_hour_times_is_read() {
        assert_eq!(weekly("09:00-12:00"), vec![range(hm(9, 0), hm(12, 0))]);
        assert_eq!(weekly("9:30-17:45"), vec![range(hm(9, 30), hm(17, 45))]);
        assert_eq!(weekly("0:00-1:05"), vec![range(0, hm(1, 5))]);
    }

    #[test]
    fn several_ranges_are_separated_by_commas_or_semicolons() {
        let expected = vec![range(hm(9, 0), hm(12, 0)), range(hm(14, 0), hm(17, 30))];
        assert_eq!(weekly("09:00-12:00, 14:00-17:30"), expected);
        assert_eq!(weekly("09:00-12:00;14:00-17:30"), expected);
        assert_eq!(weekly("09:00-12:00, 14:00-17:30,"), expected);
    }

    #[test]
    fn bare_hours_are_whole_hours() {
        assert_eq!(weekly("9-12"), vec![range(hm(9, 0), hm(12, 0))]);
        assert_eq!(weekly("13-17"), vec![range(hm(13, 0), hm(17, 0))]);
    }

    #[test]
    fn am_and_pm_times_are_read() {
        assert_eq!(weekly("9am-12pm"), vec![range(hm(9, 0), hm(12, 0))]);
        assert_eq!(weekly("9:30am-5pm"), vec![range(hm(9, 30), hm(17, 0))]);
        assert_eq!(weekly("1pm-11:59pm"), vec![range(hm(13, 0), hm(23, 59))]);
        assert_eq!(weekly("10-2pm"), vec![range(hm(10, 0), hm(14, 0))]);
    }

    #[test]
    fn twelve_am_is_midnight_and_twelve_pm_is_noon() {
        assert_eq!(weekly("12am-6am"), vec![range(0, hm(6, 0))]);
        assert_eq!(weekly("12:30am-1am"), vec![range(hm(0, 30), hm(1, 0))]);
        assert_eq!(weekly("12pm-1pm"), vec![range(hm(12, 0), hm(13, 0))]);
        assert_eq!(weekly("9pm-12am"), vec![range(hm(21, 0), DAY_MINUTES)]);
    }

    #[test]
    fn noon_and_midnight_are_words_for_times() {
        assert_eq!(weekly("9-noon"), vec![range(hm(9, 0), hm(12, 0))]);
        assert_eq!(weekly("noon-midnight"), vec![range(hm(12, 0), DAY_MINUTES)]);
        assert_eq!(weekly("Midnight-6"), vec![range(0, hm(6, 0))]);
    }

    #[test]
    fn an_end_of_24_00_or_00_00_is_the_end_of_the_day() {
        assert_eq!(weekly("18:00-24:00"), vec![range(hm(18, 0), DAY_MINUTES)]);
        assert_eq!(weekly("18-24"), vec![range(hm(18, 0), DAY_MINUTES)]);
        assert_eq!(weekly("22:00-00:00"), vec![range(hm(22, 0), DAY_MINUTES)]);
        assert_eq!(
            override_("22:00-00:00"),
            vec![range(hm(22, 0), DAY_MINUTES)]
        );
    }

    #[test]
    fn a_whole_day_can_be_written() {
        for text in ["00:00-24:00", "0-24", "00:00-00:00", "midnight-midnight"] {
            assert_eq!(weekly(text), vec![range(0, DAY_MINUTES)], "{text}");
            assert_eq!(override_(text), vec![range(0, DAY_MINUTES)], "{text}");
        }
    }

    #[test]
    fn the_dash_may_be_an_en_dash_or_an_em_dash() {
        assert_eq!(weekly("09:00–12:00"), vec![range(hm(9, 0), hm(12, 0))]);
        assert_eq!(weekly("9am—5pm"), vec![range(hm(9, 0), hm(17, 0))]);
    }

    #[test]
    fn hours_ignore_case_and_spaces() {
        assert_eq!(weekly(" 9 AM – 5 PM "), vec![range(hm(9, 0), hm(17, 0))]);
        assert_eq!(
            weekly("09 : 00 - 12 : 00"),
            vec![range(hm(9, 0), hm(12, 0))]
        );
        assert_eq!(weekly("NOON-1PM"), vec![range(hm(12, 0), hm(13, 0))]);
    }

    #[test]
    fn off_means_no_ranges() {
        for text in ["off", "OFF", "  Off  ", "o f f", "off, off"] {
            assert_eq!(
                parse_weekly_hours(text),
                Ok(ParsedHours {
                    ranges: vec![],
                    merged: false
                }),
                "{text:?}"
            );
            assert_eq!(override_(text), vec![], "{text:?}");
        }
    }

    #[test]
    fn a_range_ending_before_it_starts_runs_past_midnight() {
        assert_eq!(
            weekly("22:00-01:00"),
            vec![LocalRange::new(1320, 1500).unwrap()]
        );
        assert_eq!(
            weekly("11pm-2am"),
            vec![range(hm(23, 0), DAY_MINUTES + hm(2, 0))]
        );
        assert_eq!(weekly("9-5"), vec![range(hm(9, 0), DAY_MINUTES + hm(5, 0))]);
    }

    #[test]
    fn a_range_of_almost_a_day_past_midnight_is_kept() {
        assert_eq!(
            weekly("00:01-00:00"),
            vec![range(1, DAY_MINUTES)],
            "an end of 00:00 is 24:00, not a day later"
        );
        assert_eq!(
            weekly("12:00-11:59"),
            vec![range(hm(12, 0), DAY_MINUTES + hm(11, 59))]
        );
    }

    #[test]
    fn override_hours_accept_ranges_that_end_by_midnight() {
        assert_eq!(
            parse_override_hours("09:15-09:45, 14-17"),
            Ok(ParsedHours {
                ranges: vec![range(hm(9, 15), hm(9, 45)), range(hm(14, 0), hm(17, 0))],
                merged: false
            })
        );
        assert_eq!(
            override_("22:00-24:00"),
            vec![range(hm(22, 0), DAY_MINUTES)]
        );
    }

    #[test]
    fn ranges_come_back_sorted() {
        assert_eq!(
            weekly("14:00-15:00, 09:00-10:00"),
            vec![range(hm(9, 0), hm(10, 0)), range(hm(14, 0), hm(15, 0))]
        );
    }

    #[test]
    fn overlapping_ranges_merge_and_say_so() {
        assert_eq!(
            parse_weekly_hours("09:00-12:00, 11:00-13:00, 15-16"),
            Ok(ParsedHours {
                ranges: vec![range(hm(9, 0), hm(13, 0)), range(hm(15, 0), hm(16, 0))],
                merged: true
            })
        );
    }

    #[test]
    fn touching_ranges_merge_and_say_so() {
        assert_eq!(
            parse_override_hours("9-12, 12-17"),
            Ok(ParsedHours {
                ranges: vec![range(hm(9, 0), hm(17, 0))],
                merged: true
            })
        );
    }

    #[test]
    fn separate_ranges_are_not_reported_as_merged() {
        assert!(!parse_weekly_hours("9-12, 13-17").unwrap().merged);
        assert!(!parse_weekly_hours("9-12").unwrap().merged);
    }

    #[test]
    fn a_past_midnight_range_merges_with_ranges_of_its_own_day() {
        assert_eq!(
            parse_weekly_hours("20-23, 22-02"),
            Ok(ParsedHours {
                ranges: vec![range(hm(20, 0), DAY_MINUTES + hm(2, 0))],
                merged: true
            })
        );
    }

    #[test]
    fn twenty_four_ranges_are_allowed() {
        let text: Vec<String> = (0..24).map(|h| format!("{h}:00-{h}:30")).collect();
        let parsed = parse_weekly_hours(&text.join(", ")).unwrap();
        assert_eq!(parsed.ranges.len(), 24);
        assert!(!parsed.merged);
    }

    #[test]
    fn hours_of_exactly_300_characters_are_allowed() {
        let text = format!("9-12{}", " ".repeat(292) + ",1-2");
        assert_eq!(text.chars().count(), 300);
        assert_eq!(weekly(&text).len(), 2);
    }

    // ---- hours: errors ----

    #[test]
    fn empty_hours_ask_for_hours_with_an_example() {
        for text in ["", "  ", ",", ";,"] {
            let (error, message) = weekly_error(text);
            assert_eq!(
                error,
                ParseError::Empty {
                    field: Field::Hours
                },
                "{text:?}"
            );
            assert_quotes(&message, &["09:00-12:00, 14:00-17:30", "off"]);
            assert_eq!(override_error(text).0, error);
        }
    }

    #[test]
    fn an_unreadable_time_is_quoted_with_an_example() {
        for (text, token) in [
            ("9h-12", "9h"),
            ("abc-12", "abc"),
            ("9-abc", "abc"),
            ("9.30-12", "9.30"),
            ("9:5-12", "9:5"),
            ("9:300-12", "9:300"),
            ("900-1200", "900"),
            ("am-5pm", "am"),
            ("9:-12", "9:"),
        ] {
            let (error, message) = weekly_error(text);
            assert_eq!(
                error,
                ParseError::UnreadableTime {
                    token: token.into()
                },
                "{text}"
            );
            assert_quotes(&message, &[token]);
        }
        let (error, message) = weekly_error("9h-12");
        assert_eq!(error, ParseError::UnreadableTime { token: "9h".into() });
        assert_quotes(
            &message,
            &["9h", "09:00", "9am", "09:00-12:00, 14:00-17:30"],
        );
    }

    #[test]
    fn a_lone_word_that_is_no_time_is_called_unreadable() {
        let (error, message) = weekly_error("abc");
        assert_eq!(
            error,
            ParseError::UnreadableTime {
                token: "abc".into()
            }
        );
        assert_quotes(&message, &["abc", HOURS_EXAMPLE.trim_matches('`')]);
    }

    #[test]
    fn an_hour_past_24_is_out_of_range() {
        for (text, token) in [
            ("25:00-26:00", "25:00"),
            ("9-25", "25"),
            ("9-99:00", "99:00"),
        ] {
            let (error, message) = weekly_error(text);
            assert_eq!(
                error,
                ParseError::HourOutOfRange {
                    token: token.into()
                }
            );
            assert_quotes(&message, &[token, "09:00-17:00"]);
            assert!(message.contains("0 to 24"), "{message}");
        }
    }

    #[test]
    fn a_time_after_24_00_is_past_the_end_of_the_day() {
        let (error, message) = weekly_error("18:00-24:30");
        assert_eq!(
            error,
            ParseError::PastEndOfDay {
                token: "24:30".into()
            }
        );
        assert_quotes(&message, &["24:30", "24:00", "18:00-24:00"]);
    }

    #[test]
    fn an_am_pm_hour_outside_1_to_12_is_out_of_range() {
        for (text, token) in [("13pm-2pm", "13pm"), ("0am-5am", "0am"), ("9am-0pm", "0pm")] {
            let (error, message) = weekly_error(text);
            assert_eq!(
                error,
                ParseError::AmPmHourOutOfRange {
                    token: token.into()
                }
            );
            assert_quotes(&message, &[token, "9am-5pm"]);
            assert!(message.contains("1 to 12"), "{message}");
        }
    }

    #[test]
    fn minutes_past_59_are_out_of_range() {
        for (text, token) in [("9:60-10", "9:60"), ("9-10:99pm", "10:99pm")] {
            let (error, message) = weekly_error(text);
            assert_eq!(
                error,
                ParseError::MinuteOutOfRange {
                    token: token.into()
                }
            );
            assert_quotes(&message, &[token, "09:30-17:45"]);
        }
    }

    #[test]
    fn a_range_without_an_end_says_so() {
        for text in ["09:00", "9am", "09:00-", "noon"] {
            let (error, message) = weekly_error(text);
            assert_eq!(
                error,
                ParseError::IncompleteRange {
                    token: text.into(),
                    missing: Endpoint::End
                }
            );
            assert_quotes(&message, &[text, "09:00-17:00"]);
            assert!(message.contains("no end time"), "{message}");
        }
    }

    #[test]
    fn a_range_without_a_start_says_so() {
        let (error, message) = weekly_error("9-12, -17:00");
        assert_eq!(
            error,
            ParseError::IncompleteRange {
                token: "-17:00".into(),
                missing: Endpoint::Start
            }
        );
        assert_quotes(&message, &["-17:00", "09:00-17:00"]);
        assert!(message.contains("no start time"), "{message}");
    }

    #[test]
    fn a_range_ending_when_it_starts_is_refused() {
        for text in ["09:00-09:00", "9am-9am", "noon-12:00", "14-2pm"] {
            let (error, message) = weekly_error(text);
            assert_eq!(error, ParseError::EmptyRange { token: text.into() });
            assert_quotes(&message, &[text, "09:00-17:00"]);
            assert_eq!(override_error(text).0, error);
        }
    }

    #[test]
    fn twenty_four_o_clock_cannot_start_a_range() {
        for (text, token) in [("24:00-02:00", "24:00"), ("24-6", "24")] {
            let (error, message) = weekly_error(text);
            assert_eq!(
                error,
                ParseError::StartAtEndOfDay {
                    token: token.into()
                }
            );
            assert_quotes(&message, &[token, "00:00", "00:00-08:00"]);
        }
        let (error, _) = override_error("24:00-24:00");
        assert!(matches!(error, ParseError::StartAtEndOfDay { .. }));
    }

    #[test]
    fn an_override_range_past_midnight_says_how_to_split_it() {
        let (error, message) = override_error("22:00-01:00");
        assert_eq!(
            error,
            ParseError::OverridePastMidnight {
                token: "22:00-01:00".into(),
                same_day: "22:00-24:00".into(),
                next_day: "00:00-01:00".into()
            }
        );
        assert_quotes(
            &message,
            &["22:00-01:00", "24:00", "22:00-24:00", "00:00-01:00"],
        );
        assert!(message.contains("override"), "{message}");
    }

    #[test]
    fn an_override_range_past_midnight_in_am_pm_splits_in_24_hour_time() {
        let (_, message) = override_error("9-17, 11pm-1:30am");
        assert_quotes(&message, &["11pm-1:30am", "23:00-24:00", "00:00-01:30"]);
    }

    #[test]
    fn more_than_24_ranges_are_refused() {
        let text: Vec<String> = (0..25).map(|m| format!("0:{m:02}-0:{m:02}")).collect();
        let (error, message) = weekly_error(&text.join(","));
        assert_eq!(
            error,
            ParseError::TooManyRanges {
                count: 25,
                max: MAX_RANGES
            }
        );
        assert!(
            message.contains("25") && message.contains("24"),
            "{message}"
        );
        assert_quotes(&message, &["09:00-12:00, 14:00-17:30"]);
    }

    #[test]
    fn hours_longer_than_300_characters_are_refused() {
        let text = format!("9-12,{}1-2", " ".repeat(293));
        let (error, message) = override_error(&text);
        assert_eq!(
            error,
            ParseError::TooLong {
                field: Field::Hours,
                len: 301,
                max: MAX_INPUT_CHARS
            }
        );
        assert!(
            message.contains("301") && message.contains("300"),
            "{message}"
        );
        assert_quotes(&message, &["09:00-12:00, 14:00-17:30"]);
    }

    #[test]
    fn off_mixed_with_ranges_is_refused() {
        for text in ["off, 09:00-12:00", "9-12; OFF"] {
            let (error, message) = weekly_error(text);
            assert_eq!(error, ParseError::OffWithRanges { token: text.into() });
            assert_quotes(&message, &[text, "off", "09:00-12:00, 14:00-17:30"]);
        }
    }

    #[test]
    fn a_range_with_two_dashes_is_refused() {
        let (error, message) = weekly_error("9-12-14");
        assert_eq!(
            error,
            ParseError::TooManyDashes {
                token: "9-12-14".into(),
                field: Field::Hours
            }
        );
        assert_quotes(&message, &["9-12-14", "09:00-12:00, 14:00-17:30"]);
    }

    #[test]
    fn ranges_separated_only_by_spaces_are_refused() {
        let (_, message) = weekly_error("9-12 14-17");
        assert_quotes(&message, &["9-12 14-17"]);
    }

    #[test]
    fn the_first_bad_range_is_the_one_reported() {
        let (error, _) = weekly_error("9-12, 25-26, 9h-10");
        assert_eq!(error, ParseError::HourOutOfRange { token: "25".into() });
    }

    // ---- dates ----

    #[test]
    fn an_iso_date_is_read() {
        assert_eq!(parse_date("2026-12-01", today()), Ok(date(2026, 12, 1)));
        assert_eq!(parse_date(" 2027-01-31 ", today()), Ok(date(2027, 1, 31)));
    }

    #[test]
    fn a_date_may_have_a_single_digit_month_and_day() {
        assert_eq!(parse_date("2026-1-5", today()), Ok(date(2026, 1, 5)));
        assert_eq!(parse_date("2026-12-5", today()), Ok(date(2026, 12, 5)));
    }

    #[test]
    fn a_date_ignores_spaces_and_accepts_an_en_dash() {
        assert_eq!(parse_date("2026 - 12 - 01", today()), Ok(date(2026, 12, 1)));
        assert_eq!(parse_date("2026–12–01", today()), Ok(date(2026, 12, 1)));
    }

    #[test]
    fn today_and_tomorrow_are_relative_to_the_given_day() {
        assert_eq!(parse_date("today", today()), Ok(today()));
        assert_eq!(parse_date(" Today ", today()), Ok(today()));
        assert_eq!(parse_date("tomorrow", today()), Ok(date(2026, 11, 25)));
        assert_eq!(
            parse_date("TOMORROW", date(2026, 12, 31)),
            Ok(date(2027, 1, 1))
        );
    }

    #[test]
    fn past_and_far_dates_are_left_to_the_caller() {
        assert_eq!(parse_date("2020-01-01", today()), Ok(date(2020, 1, 1)));
        assert_eq!(parse_date("2999-12-31", today()), Ok(date(2999, 12, 31)));
    }

    #[test]
    fn a_leap_day_exists_in_leap_years() {
        assert_eq!(parse_date("2028-02-29", today()), Ok(date(2028, 2, 29)));
        assert_eq!(parse_date("2000-02-29", today()), Ok(date(2000, 2, 29)));
    }

    #[test]
    fn an_empty_date_asks_for_one_with_examples() {
        let (error, message) = date_error("  ");
        assert_eq!(error, ParseError::Empty { field: Field::Date });
        assert_quotes(&message, &["YYYY-MM-DD", "today", "tomorrow"]);
    }

    #[test]
    fn a_day_past_the_end_of_its_month_does_not_exist() {
        let (error, message) = date_error("2026-02-30");
        assert_eq!(
            error,
            ParseError::NoSuchDay {
                token: "2026-02-30".into(),
                year: 2026,
                month: 2,
                last_day: 28
            }
        );
        assert_quotes(&message, &["2026-02-30", "2026-02-28"]);
        assert!(message.contains("February 2026 has 28 days"), "{message}");
    }

    #[test]
    fn the_day_count_of_a_month_follows_the_calendar() {
        for (text, wanted) in [
            ("2027-02-29", "February 2027 has 28 days"),
            ("2100-02-29", "February 2100 has 28 days"),
            ("2028-02-30", "February 2028 has 29 days"),
            ("2026-04-31", "April 2026 has 30 days"),
            ("2026-12-32", "December 2026 has 31 days"),
            ("2026-1-0", "January 2026 has 31 days"),
        ] {
            let (error, message) = date_error(text);
            assert!(matches!(error, ParseError::NoSuchDay { .. }), "{text}");
            assert!(message.contains(wanted), "{message}");
            assert_quotes(&message, &[text]);
        }
    }

    #[test]
    fn a_month_outside_1_to_12_does_not_exist() {
        let (error, message) = date_error("2026-13-01");
        assert_eq!(
            error,
            ParseError::NoSuchMonth {
                token: "2026-13-01".into(),
                year: 2026,
                month: 13
            }
        );
        assert!(message.contains("no month 13"), "{message}");
        assert_quotes(&message, &["2026-13-01", "2026-12-01"]);
        let (_, message) = date_error("2026-0-10");
        assert!(message.contains("no month 0"), "{message}");
    }

    #[test]
    fn an_unreadable_date_shows_the_accepted_forms() {
        for text in [
            "next week",
            "31/12/2026",
            "26-11-24",
            "2026-11",
            "2026-11-24-1",
            "2026-011-24",
            "2026-11-240",
            "2026-+1-24",
            "20261124",
            "yesterday",
        ] {
            let (error, message) = date_error(text);
            assert_eq!(
                error,
                ParseError::UnreadableDate {
                    token: text.into(),
                    example: today()
                },
                "{text}"
            );
            assert_quotes(
                &message,
                &[text, "YYYY-MM-DD", "2026-11-24", "today", "tomorrow"],
            );
        }
    }

    #[test]
    fn an_overlong_date_is_refused() {
        let (error, _) = date_error(&"1".repeat(301));
        assert!(matches!(error, ParseError::TooLong { len: 301, .. }));
    }

    // ---- timezones ----

    #[test]
    fn an_iana_name_is_read() {
        assert_eq!(parse_timezone("Europe/Berlin"), Ok(Tz::Europe__Berlin));
        assert_eq!(
            parse_timezone("America/Argentina/Buenos_Aires"),
            Ok(Tz::America__Argentina__Buenos_Aires)
        );
        assert_eq!(
            parse_timezone("America/Port-au-Prince"),
            Ok(Tz::America__PortauPrince)
        );
    }

    #[test]
    fn timezone_names_ignore_case() {
        assert_eq!(parse_timezone("europe/berlin"), Ok(Tz::Europe__Berlin));
        assert_eq!(parse_timezone(" ASIA/KOLKATA "), Ok(Tz::Asia__Kolkata));
    }

    #[test]
    fn spaces_in_a_timezone_stand_for_underscores() {
        assert_eq!(
            parse_timezone("america/new york"),
            Ok(Tz::America__New_York)
        );
        assert_eq!(
            parse_timezone("America / New  York"),
            Ok(Tz::America__New_York)
        );
    }

    #[test]
    fn utc_is_a_timezone() {
        assert_eq!(parse_timezone("UTC"), Ok(Tz::UTC));
        assert_eq!(parse_timezone("utc"), Ok(Tz::UTC));
        assert_eq!(parse_timezone("Etc/UTC"), Ok(Tz::Etc__UTC));
    }

    #[test]
    fn an_empty_timezone_asks_for_one_with_examples() {
        let (error, message) = timezone_error("");
        assert_eq!(
            error,
            ParseError::Empty {
                field: Field::Timezone
            }
        );
        assert_quotes(&message, &["Europe/Berlin", "America/New_York"]);
    }

    #[test]
    fn a_city_alone_suggests_its_timezone() {
        let (error, message) = timezone_error("berlin");
        assert_eq!(
            error,
            ParseError::UnknownTimezone {
                token: "berlin".into(),
                suggestions: vec!["Europe/Berlin"]
            }
        );
        assert_quotes(&message, &["berlin", "Europe/Berlin"]);
        assert!(message.contains("did you mean"), "{message}");
    }

    #[test]
    fn at_most_three_timezones_are_suggested() {
        let (error, message) = timezone_error("new");
        let ParseError::UnknownTimezone { suggestions, .. } = error else {
            panic!("{error:?}");
        };
        assert_eq!(suggestions.len(), 3);
        assert_eq!(suggestions[0], "America/New_York");
        assert_quotes(&message, &["new", "America/New_York"]);
        assert!(
            message.contains(", ") && message.contains(" or "),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_timezone_without_matches_shows_examples() {
        for text in ["Mars/Olympus", "../etc/passwd", "Europe/Berlin/x", "+02:00"] {
            let (error, message) = timezone_error(text);
            assert_eq!(
                error,
                ParseError::UnknownTimezone {
                    token: text.into(),
                    suggestions: vec![]
                },
                "{text}"
            );
            assert_quotes(&message, &[text, "Europe/Berlin", "America/New_York"]);
        }
    }

    #[test]
    fn an_overlong_timezone_is_refused() {
        let text = "Europe/".repeat(10);
        let (error, message) = timezone_error(&text);
        assert_eq!(
            error,
            ParseError::TooLong {
                field: Field::Timezone,
                len: 70,
                max: MAX_TIMEZONE_CHARS
            }
        );
        assert_quotes(&message, &["Europe/Berlin"]);
    }

    #[test]
    fn backticks_and_long_input_are_made_safe_in_messages() {
        let (error, message) = timezone_error("a`b");
        assert_eq!(
            error,
            ParseError::UnknownTimezone {
                token: "a'b".into(),
                suggestions: vec![]
            }
        );
        assert_quotes(&message, &["a'b"]);
        let (error, _) = days_error(&"x".repeat(100));
        assert_eq!(
            error,
            ParseError::UnknownDay {
                token: format!("{}…", "x".repeat(MAX_QUOTE_CHARS - 1))
            }
        );
    }

    #[test]
    fn an_empty_search_lists_common_zones_that_all_exist() {
        let common = search_timezones("", 25);
        assert_eq!(common.len(), 25);
        assert_eq!(common[0], "UTC");
        for name in common {
            assert!(parse_timezone(name).is_ok(), "{name}");
        }
        assert_eq!(
            search_timezones("  ", 3),
            vec!["UTC", "Europe/London", "Europe/Berlin"]
        );
    }

    #[test]
    fn a_search_prefers_city_prefixes_then_goes_alphabetically() {
        assert_eq!(
            search_timezones("ber", 10),
            vec!["Atlantic/Bermuda", "Europe/Berlin", "Australia/Canberra"]
        );
        assert_eq!(
            search_timezones("lon", 2),
            vec!["Arctic/Longyearbyen", "Europe/London"]
        );
    }

    #[test]
    fn a_search_ranks_an_exact_name_first_and_name_prefixes_before_other_matches() {
        assert_eq!(search_timezones("utc", 5), vec!["UTC", "Etc/UTC"]);
        let found = search_timezones("europe/", 3);
        assert!(
            found.iter().all(|name| name.starts_with("Europe/")),
            "{found:?}"
        );
    }

    #[test]
    fn a_search_ignores_case_and_reads_spaces_as_underscores() {
        assert_eq!(search_timezones("BERLIN", 5), vec!["Europe/Berlin"]);
        assert_eq!(search_timezones("new york", 5), vec!["America/New_York"]);
        assert_eq!(search_timezones("york", 5), vec!["America/New_York"]);
        assert_eq!(
            search_timezones("port au prince", 5),
            vec!["America/Port-au-Prince"]
        );
    }

    #[test]
    fn a_search_respects_its_limit_and_may_find_nothing() {
        assert_eq!(search_timezones("a", 7).len(), 7);
        assert!(search_timezones("berlin", 0).is_empty());
        assert!(search_timezones("", 0).is_empty());
        assert!(search_timezones("olympus", 5).is_empty());
        assert!(search_timezones(&"a".repeat(100), 5).is_empty());
    }

    #[test]
    fn every_search_result_parses_as_a_timezone() {
        for query in ["a", "san", "gmt", "america/", "indiana"] {
            for name in search_timezones(query, 1000) {
                assert!(parse_timezone(name).is_ok(), "{name}");
            }
        }
    }

    // ---- messages ----

    #[test]
    fn every_field_example_is_valid_input() {
        assert!(parse_days("mon-fri").is_ok() && parse_days("mon,wed,fri").is_ok());
        assert!(parse_weekly_hours("09:00-12:00, 14:00-17:30").is_ok());
        assert!(parse_override_hours("off").is_ok());
        assert!(parse_timezone("Europe/Berlin").is_ok());
        assert!(parse_timezone("America/New_York").is_ok());
        for field in [Field::Days, Field::Hours, Field::Date, Field::Timezone] {
            assert_quotes(field.example(), &[]);
        }
    }

    #[test]
    fn every_example_in_an_error_message_is_valid_input() {
        for range in [
            "09:00-17:00",
            "18:00-24:00",
            "9am-5pm",
            "09:30-17:45",
            "00:00-08:00",
        ] {
            assert!(parse_override_hours(range).is_ok(), "{range}");
        }
        assert!(parse_date("2026-12-01", today()).is_ok());
        assert!(parse_date("2026-02-28", today()).is_ok());
    }
}
