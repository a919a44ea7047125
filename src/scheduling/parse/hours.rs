//! `hours` texts: weekly hours and one-date override hours, read as sorted, merged
//! wall-clock ranges, or `off`.

use super::error::{Endpoint, Field, ParseError};
use super::text::{MAX_INPUT_CHARS, is_dash, pieces, quoted, squash, trimmed_within};
use super::times::parse_time;
use crate::scheduling::hours::{DAY_MINUTES, LocalRange, format_minutes, merge_ranges};

/// Most ranges one `hours` text may hold.
pub const MAX_RANGES: usize = 24;

/// Parsed `hours` text: `ranges` empty means `off`; `merged` tells whether overlapping or
/// touching ranges were merged (the bot tells the user so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedHours {
    /// The ranges, sorted and merged; empty for `off`.
    pub ranges: Vec<LocalRange>,
    /// True when some of the typed ranges overlapped or touched and were merged.
    pub merged: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::parse::test_support::{
        assert_quotes, error_and_message, hm, range, weekly, weekly_error,
    };

    const HOURS_EXAMPLE: &str = "`09:00-12:00, 14:00-17:30`";

    fn override_(text: &str) -> Vec<LocalRange> {
        parse_override_hours(text).unwrap().ranges
    }

    fn override_error(text: &str) -> (ParseError, String) {
        error_and_message(parse_override_hours(text))
    }

    #[test]
    fn several_ranges_are_separated_by_commas_or_semicolons() {
        let expected = vec![range(hm(9, 0), hm(12, 0)), range(hm(14, 0), hm(17, 30))];
        assert_eq!(weekly("09:00-12:00, 14:00-17:30"), expected);
        assert_eq!(weekly("09:00-12:00;14:00-17:30"), expected);
        assert_eq!(weekly("09:00-12:00, 14:00-17:30,"), expected);
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
}
