//! One wall time of an `hours` range (`9`, `09:30`, `9am`, `12:30pm`, `noon`), as minutes
//! after midnight.

use super::error::ParseError;
use super::text::{number, quoted, squash};

/// Reads a wall time as minutes after midnight (0..=1440): `9`, `09:30`, `24:00`, `9am`,
/// `12:30pm`, `noon`, `midnight` (00:00).
pub(super) fn parse_time(token: &str) -> Result<u16, ParseError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::hours::DAY_MINUTES;
    use crate::scheduling::parse::test_support::{assert_quotes, hm, range, weekly, weekly_error};

    #[test]
    fn a_range_of_24_hour_times_is_read() {
        assert_eq!(weekly("09:00-12:00"), vec![range(hm(9, 0), hm(12, 0))]);
        assert_eq!(weekly("9:30-17:45"), vec![range(hm(9, 30), hm(17, 45))]);
        assert_eq!(weekly("0:00-1:05"), vec![range(0, hm(1, 5))]);
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
    fn hours_ignore_case_and_spaces() {
        assert_eq!(weekly(" 9 AM – 5 PM "), vec![range(hm(9, 0), hm(17, 0))]);
        assert_eq!(
            weekly("09 : 00 - 12 : 00"),
            vec![range(hm(9, 0), hm(12, 0))]
        );
        assert_eq!(weekly("NOON-1PM"), vec![range(hm(12, 0), hm(13, 0))]);
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
}
