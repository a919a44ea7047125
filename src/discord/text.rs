//! Text the bot did not write, and lists that must fit. Two rules for everything we send:
//! - What a person typed (names, cancel reasons, override notes) reaches other people as the
//!   characters they typed: [`said`] escapes every character Discord would read as Markdown,
//!   so a reason like `[Confirm](https://evil.example)` can't become a link written in the
//!   bot's voice, and `<@id>` or `@everyone` stay text. (Pings are also switched off by
//!   `allowed_mentions` on every message; escaping keeps them from even rendering.)
//! - Lists are cut to Discord's limits at a line boundary with "…and N more" and a pointer to
//!   where the rest is ([`fit_lines`]), instead of being refused by Discord as too long.
//!
//! Discord counts characters as Unicode code points (its API is Python), as `chars()` does.

use crate::scheduling::parse::visible_text;

/// Characters of a message's content.
pub const CONTENT: usize = 2000;
/// Characters of an embed's description.
pub const EMBED_DESCRIPTION: usize = 4096;
/// Characters of an embed field's value.
pub const FIELD_VALUE: usize = 1024;
/// Characters of an embed's title and text parts together.
pub const EMBED_TOTAL: usize = 6000;

/// Characters that start or end Markdown in Discord: emphasis, code, spoilers, masked links
/// (`[`, `]`), block quotes, headings, mentions and timestamps (`<`, `@`), and the escape
/// itself. `-` and `.` (lists) only count at the start of a line, where user text never is.
const MARKDOWN: &[char] = &[
    '\\', '*', '_', '~', '`', '|', '[', ']', '(', ')', '<', '>', '#', '@',
];

/// `text` as typed, for others to read: invisible and control characters dropped (as when it
/// was stored), cut to `max` characters with `…`, and every Markdown character escaped with a
/// backslash, which Discord shows as the character alone. At most `2 * max` characters long.
pub fn said(text: &str, max: usize) -> String {
    let clipped = clip(&visible_text(text), max);
    let mut out = String::with_capacity(clipped.len() + 8);
    for c in clipped.chars() {
        if MARKDOWN.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Cuts `text` to `max` characters (adding `…`).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Characters as Discord counts them.
pub fn len(text: &str) -> usize {
    text.chars().count()
}

/// The first `lines.len()` of `total` items (each line ending in `\n`), joined while they fit
/// in `limit` characters together with the line `more(n, first)` says about the `n` items
/// left out, the first of them at index `first` (for pointers like
/// "`/override list from:…`"). A line is never cut in the middle.
pub fn fit_lines(
    lines: &[String],
    total: usize,
    limit: usize,
    more: impl Fn(usize, usize) -> String,
) -> String {
    if total == lines.len() && lines.iter().map(|l| len(l)).sum::<usize>() <= limit {
        return lines.concat();
    }
    let mut out = String::new();
    let mut used = 0;
    for (i, line) in lines.iter().enumerate() {
        let left_after = total.saturating_sub(i + 1);
        let tail = if left_after > 0 {
            len(&more(left_after, i + 1))
        } else {
            0
        };
        if used + len(line) + tail > limit {
            // The "more" line for this index is the tail reserved one line ago.
            out.push_str(&more(total - i, i));
            return out;
        }
        out.push_str(line);
        used += len(line);
    }
    if total > lines.len() {
        out.push_str(&more(total - lines.len(), lines.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Undoes Discord's escapes: what a reader sees of escaped text.
    fn rendered(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                out.extend(chars.next());
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn a_masked_link_and_a_ping_are_shown_as_typed() {
        let typed = "[Confirm your new time](https://evil.example/login) @everyone <@123> **x**";
        let escaped = said(typed, 500);
        assert_eq!(
            escaped,
            r"\[Confirm your new time\]\(https://evil.example/login\) \@everyone \<\@123\> \*\*x\*\*"
        );
        assert_eq!(rendered(&escaped), typed);
    }

    #[test]
    fn spoilers_code_headings_and_quotes_are_escaped() {
        let typed = "||a|| `b` ```c``` # d > e ~~f~~ __g__ \\h";
        let escaped = said(typed, 500);
        assert_eq!(rendered(&escaped), typed);
        for (i, c) in escaped.char_indices() {
            if MARKDOWN.contains(&c) && c != '\\' {
                assert!(escaped[..i].ends_with('\\'), "{c} at {i} in {escaped}");
            }
        }
    }

    #[test]
    fn said_text_is_clipped_before_escaping_and_loses_invisible_characters() {
        assert_eq!(said("a\u{202E}b\nc", 10), "ab c");
        let long = "*".repeat(30);
        let escaped = said(&long, 10);
        assert_eq!(rendered(&escaped), format!("{}…", "*".repeat(9)));
        assert_eq!(len(&escaped), 19);
    }

    #[test]
    fn lines_that_fit_are_all_kept_without_a_more_line() {
        let lines = vec!["a\n".to_owned(), "b\n".to_owned()];
        assert_eq!(fit_lines(&lines, 2, 4, |n, _| format!("+{n}\n")), "a\nb\n");
    }

    #[test]
    fn lines_past_the_limit_are_counted_with_a_pointer_to_the_first_left_out() {
        let lines: Vec<String> = (0..10).map(|i| format!("line {i}\n")).collect();
        let out = fit_lines(&lines, 10, 30, |n, first| {
            format!("…{n} more from {first}\n")
        });
        assert_eq!(out, "line 0\nline 1\n…8 more from 2\n");
        assert!(len(&out) <= 30);
    }

    #[test]
    fn items_never_built_into_lines_are_counted_even_when_every_line_fits() {
        let lines = vec!["a\n".to_owned(), "b\n".to_owned()];
        assert_eq!(
            fit_lines(&lines, 5, 100, |n, first| format!(
                "{n} more from {first}\n"
            )),
            "a\nb\n3 more from 2\n"
        );
    }

    #[test]
    fn a_first_line_too_long_for_the_limit_leaves_only_the_count() {
        let lines = vec!["x".repeat(50) + "\n", "y\n".to_owned()];
        assert_eq!(
            fit_lines(&lines, 2, 20, |n, _| format!("{n} more\n")),
            "2 more\n"
        );
    }
}
