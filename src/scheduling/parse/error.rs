//! [`ParseError`]: why a text could not be read, and the message each reason shows the user.

use std::fmt;

use chrono::NaiveDate;

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
    /// Reminder leads (`24h, 15m`).
    Leads,
}

impl Field {
    /// Valid examples of this kind of text, in backticks for Discord.
    pub fn example(self) -> &'static str {
        match self {
            Field::Days => "`mon-fri` or `mon,wed,fri`",
            Field::Hours => "`09:00-12:00, 14:00-17:30` or `off`",
            Field::Date => "`YYYY-MM-DD`, `today` or `tomorrow`",
            Field::Timezone => "`Europe/Berlin` or `America/New_York`",
            Field::Leads => "`24h, 1h, 15m` or `off`",
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
            Field::Leads => "reminder times",
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
    /// More than [`MAX_RANGES`](super::MAX_RANGES) ranges.
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
    /// A reminder lead not in a known form (`soon`, `15`).
    #[error(
        "`{token}` is not a reminder time I can read; write a number and a unit (`m`, `h` or `d`), e.g. `24h, 1h, 15m` or `off`."
    )]
    UnreadableLead {
        /// The offending piece.
        token: String,
    },
    /// A lead shorter than 5 minutes or longer than 7 days.
    #[error(
        "`{token}` is outside what reminders allow: from `5m` to `7d` before the session, e.g. `24h, 15m`."
    )]
    LeadOutOfRange {
        /// The offending piece.
        token: String,
    },
    /// More than three leads.
    #[error("That is {count} reminder times, but at most {max} are allowed, e.g. `24h, 1h, 15m`.")]
    TooManyLeads {
        /// Leads typed (after removing repeats).
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A timezone that is not an IANA name (`berlin`, `Mars/Olympus`).
    #[error("`{token}` is not a timezone I know; {}", timezone_hint(.suggestions))]
    UnknownTimezone {
        /// The offending text.
        token: String,
        /// Up to 3 names from [`search_timezones`](super::search_timezones), best first; may be
        /// empty.
        suggestions: Vec<&'static str>,
    },
}

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

/// The English name of `month` (1–12).
fn month_name(month: u32) -> &'static str {
    month
        .checked_sub(1)
        .and_then(|index| MONTH_NAMES.get(index as usize))
        .copied()
        .unwrap_or("That month")
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
    use crate::scheduling::parse::test_support::{assert_quotes, today};
    use crate::scheduling::parse::{
        parse_date, parse_days, parse_override_hours, parse_timezone, parse_weekly_hours,
    };

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
