//! Helpers the parser tests share.

use std::fmt::Debug;

use chrono::NaiveDate;

use super::{ParseError, parse_weekly_hours};
use crate::scheduling::hours::LocalRange;

/// The error in `result` and the message it shows.
pub(super) fn error_and_message<T: Debug>(result: Result<T, ParseError>) -> (ParseError, String) {
    let error = result.unwrap_err();
    let message = error.to_string();
    (error, message)
}

/// Asserts `message` quotes each of `quoted` in backticks and has balanced backticks.
pub(super) fn assert_quotes(message: &str, quoted: &[&str]) {
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

pub(super) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

pub(super) fn hm(hour: u16, minute: u16) -> u16 {
    hour * 60 + minute
}

pub(super) fn range(start: u16, end: u16) -> LocalRange {
    LocalRange::new(start, end).unwrap()
}

pub(super) fn weekly(text: &str) -> Vec<LocalRange> {
    parse_weekly_hours(text).unwrap().ranges
}

pub(super) fn weekly_error(text: &str) -> (ParseError, String) {
    error_and_message(parse_weekly_hours(text))
}
