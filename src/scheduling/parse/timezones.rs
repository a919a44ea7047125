//! Timezone texts: IANA names, and the ranked search behind autocomplete and "did you mean".

use chrono_tz::{TZ_VARIANTS, Tz};

use super::error::{Field, ParseError};
use super::text::{quoted, trimmed_within};

/// Longest timezone text accepted, in characters (the longest IANA name has 32).
pub const MAX_TIMEZONE_CHARS: usize = 64;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::parse::test_support::{assert_quotes, error_and_message};

    fn timezone_error(text: &str) -> (ParseError, String) {
        error_and_message(parse_timezone(text))
    }

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
}
