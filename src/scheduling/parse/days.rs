//! `days` texts: sets of weekdays (`mon-fri`, `mon,wed,fri`, `weekends`).

use chrono::Weekday;

use super::error::{Endpoint, Field, ParseError};
use super::text::{MAX_INPUT_CHARS, is_dash, pieces, quoted, squash, trimmed_within};
use crate::scheduling::hours::Days;

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::parse::test_support::{assert_quotes, error_and_message};

    fn days(list: &[Weekday]) -> Days {
        list.iter().fold(Days::NONE, |days, &day| days.with(day))
    }

    fn days_error(text: &str) -> (ParseError, String) {
        error_and_message(parse_days(text))
    }

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
}
