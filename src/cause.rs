//! One way to turn an error into a log line: the error and its causes, one after another,
//! repeats dropped, and Discord's interaction and webhook tokens hidden.

use std::error::Error;

/// `error: cause: cause…` on one line, e.g. "error sending request …: operation timed out".
/// A cause whose text its parent already includes is skipped (many libraries repeat it).
/// HTTP errors can carry the request URL, and Discord's callback and webhook URLs hold the
/// interaction token, so those are redacted.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    redact_tokens(&text)
}

/// Replaces the token in `/interactions/{id}/{token}` and `/webhooks/{app}/{token}` paths.
pub fn redact_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["/interactions/", "/webhooks/"]
        .iter()
        .filter_map(|marker| rest.find(marker).map(|i| (i, marker.len())))
        .min()
    {
        let (index, len) = at;
        out.push_str(&rest[..index + len]);
        rest = &rest[index + len..];
        // Keep the id segment, hide the next one.
        let id_end = rest.find('/').unwrap_or(rest.len());
        out.push_str(&rest[..id_end]);
        rest = &rest[id_end..];
        if let Some(stripped) = rest.strip_prefix('/') {
            let token_end = stripped
                .find(|c: char| c == '/' || c == '?' || c.is_whitespace() || c == ')' || c == '"')
                .unwrap_or(stripped.len());
            out.push_str("/[redacted]");
            rest = &stripped[token_end..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Layer(String, #[source] Option<Box<Layer>>);

    #[test]
    fn a_chain_lists_each_cause_once_and_skips_repeated_text() {
        let inner = Layer("operation timed out".into(), None);
        let middle = Layer(
            "client error (Connect): operation timed out".into(),
            Some(Box::new(inner)),
        );
        let outer = Layer("error sending request".into(), Some(Box::new(middle)));
        assert_eq!(
            chain(&outer),
            "error sending request: client error (Connect): operation timed out"
        );
    }

    #[test]
    fn a_chain_hides_interaction_tokens_in_any_cause() {
        let inner = Layer(
            "PATCH /api/v10/webhooks/99/secret-token/messages/@original".into(),
            None,
        );
        let outer = Layer("editing the reply".into(), Some(Box::new(inner)));
        let text = chain(&outer);
        assert!(!text.contains("secret-token"), "{text}");
        assert!(text.contains("/webhooks/99/[redacted]/messages"), "{text}");
    }

    #[test]
    fn interaction_and_webhook_tokens_are_redacted_from_error_text() {
        let text = "error sending request for url (http://x/api/v10/interactions/123/aW50ZXJhY3Rpb24.tok/callback): refused; PATCH /api/v10/webhooks/99/secret-token/messages/@original";
        let redacted = redact_tokens(text);
        assert!(!redacted.contains("aW50ZXJhY3Rpb24.tok"), "{redacted}");
        assert!(!redacted.contains("secret-token"), "{redacted}");
        assert!(
            redacted.contains("/interactions/123/[redacted]/callback"),
            "{redacted}"
        );
        assert!(
            redacted.contains("/webhooks/99/[redacted]/messages"),
            "{redacted}"
        );
        assert_eq!(redact_tokens("no urls here"), "no urls here");
    }
}
