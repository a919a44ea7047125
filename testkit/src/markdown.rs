//! How Discord's Markdown treats text the bot quotes: what a reader sees of it, and whether a
//! quote is literal (nothing the quoted person typed became formatting, a link or a mention).

/// Characters that Discord reads as formatting somewhere in a line: emphasis, strikethrough,
/// code, spoilers, masked links, quotes, headings, mentions, timestamps and custom emoji.
const ACTIVE: &[char] = &['*', '_', '~', '`', '|', '[', ']', '<', '>', '#', '@', '\\'];

/// The text's characters, each with whether a backslash escaped it.
fn tokens(text: &str) -> Vec<(char, bool)> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                // Discord honours a backslash before ASCII punctuation only.
                Some(next) if next.is_ascii_punctuation() => out.push((next, true)),
                Some(next) => {
                    out.push(('\\', false));
                    out.push((next, false));
                }
                None => out.push(('\\', false)),
            }
        } else {
            out.push((c, false));
        }
    }
    out
}

/// What a reader sees of `text`: escaped characters as themselves.
pub fn unescape(text: &str) -> String {
    tokens(text).into_iter().map(|(c, _)| c).collect()
}

/// Whether `raw` (as sent) shows `typed` literally somewhere: the characters are there in
/// order, and every one Discord would act on is escaped.
pub fn quotes_literally(raw: &str, typed: &str) -> bool {
    let raw = tokens(raw);
    let typed: Vec<char> = typed.chars().collect();
    if typed.is_empty() {
        return true;
    }
    raw.windows(typed.len()).any(|window| {
        window
            .iter()
            .zip(&typed)
            .all(|((c, escaped), t)| c == t && (*escaped || !ACTIVE.contains(c)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unescaped_masked_link_is_not_a_literal_quote() {
        let typed = "[x](https://e.example)";
        assert!(!quotes_literally(&format!("Reason: {typed}"), typed));
        assert!(quotes_literally(r"Reason: \[x\](https://e.example)", typed));
        assert_eq!(unescape(r"\[x\]\(y\)"), "[x](y)");
    }

    #[test]
    fn a_backslash_before_a_letter_is_shown() {
        assert_eq!(unescape(r"a\b"), r"a\b");
        assert!(!quotes_literally(r"a\b", r"a\b"));
        assert!(quotes_literally(r"a\\b", r"a\b"));
    }
}
