//! Date texts: `YYYY-MM-DD`, `today` and `tomorrow`.

use chrono::NaiveDate;

use super::error::{Field, ParseError};
use super::text::{MAX_INPUT_CHARS, is_dash, number, quoted, squash, trimmed_within};

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

/// The number of days in `month` (1–12) of `year`.
fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::parse::test_support::{assert_quotes, error_and_message, today};

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn date_error(text: &str) -> (ParseError, String) {
        error_and_message(parse_date(text, today()))
    }

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
}
