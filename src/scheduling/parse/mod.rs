//! The pure parser for the texts users type: `days`, `hours`, dates and timezones
//! (commands.md, "Text formats", tells users what each accepts).
//!
//! Every [`ParseError`] displays as a short message for Discord that quotes the offending
//! piece of input in backticks and shows a valid example.
//!
//! - `days`: sets of weekdays (`mon-fri`, `mon,wed,fri`, `weekends`).
//! - `hours`: weekly and override hours, lists of ranges or `off`.
//! - `times`: one wall time of a range (`09:30`, `9am`, `noon`).
//! - `dates`: `YYYY-MM-DD`, `today` and `tomorrow`.
//! - `timezones`: IANA names and the search behind autocomplete.
//! - `leads`: reminder leads (`24h, 1h, 15m`).
//! - `error`: [`ParseError`] and the messages it shows.
//! - `text`: trimming, splitting and quoting shared by all, and [`visible_text`].

mod dates;
mod days;
mod error;
mod hours;
mod leads;
#[cfg(test)]
mod test_support;
mod text;
mod times;
mod timezones;

pub use dates::parse_date;
pub use days::parse_days;
pub use error::{Endpoint, Field, ParseError};
pub use hours::{MAX_RANGES, ParsedHours, parse_override_hours, parse_weekly_hours};
pub use leads::{MAX_LEAD, MAX_LEADS, MIN_LEAD, format_leads, parse_leads};
pub use text::{MAX_INPUT_CHARS, visible_text};
pub use timezones::{MAX_TIMEZONE_CHARS, parse_timezone, search_timezones};
