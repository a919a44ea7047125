//! What every parser does with user text: trim and bound it, split lists, spot dashes, read
//! digits, and quote pieces back safely; plus [`visible_text`] for text others will see.

use std::str::FromStr;

use super::error::{Field, ParseError};

/// Longest `days`, `hours` or date text accepted, in characters (after trimming).
pub const MAX_INPUT_CHARS: usize = 300;

/// Longest piece of input quoted back in an error message; longer pieces are cut with `…`.
const MAX_QUOTE_CHARS: usize = 40;

/// Trims `text` and checks it is neither empty nor longer than `max` characters.
pub(super) fn trimmed_within(text: &str, field: Field, max: usize) -> Result<&str, ParseError> {
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
pub(super) fn pieces(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
}

/// A hyphen, en dash or em dash.
pub(super) fn is_dash(c: char) -> bool {
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
pub(super) fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// `text` made safe to show inside backticks: backticks become `'`, control characters
/// spaces, and long text is cut with `…`.
pub(super) fn quoted(text: &str) -> String {
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
pub(super) fn number<T: FromStr>(text: &str, min: usize, max: usize) -> Option<T> {
    if !(min..=max).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduling::parse::test_support::{assert_quotes, error_and_message};
    use crate::scheduling::parse::{parse_days, parse_timezone};

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

    #[test]
    fn backticks_and_long_input_are_made_safe_in_messages() {
        let (error, message) = error_and_message(parse_timezone("a`b"));
        assert_eq!(
            error,
            ParseError::UnknownTimezone {
                token: "a'b".into(),
                suggestions: vec![]
            }
        );
        assert_quotes(&message, &["a'b"]);
        let (error, _) = error_and_message(parse_days(&"x".repeat(100)));
        assert_eq!(
            error,
            ParseError::UnknownDay {
                token: format!("{}…", "x".repeat(MAX_QUOTE_CHARS - 1))
            }
        );
    }
}
