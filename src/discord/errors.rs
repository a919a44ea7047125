//! Errors as users see them: user errors are ephemeral messages that say what to fix;
//! anything else is a generic message with a reference code that is also in the log, with
//! the cause chain. Replaces poise's default handler, which would show raw error strings.

use std::fmt::Write as _;

use poise::serenity_prelude as serenity;

use super::{Context, Data};
use crate::service::ServiceError;

/// What a command or component handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// A use case refused or failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A problem with what the user did in Discord itself (e.g. a stale button).
    #[error("{0}")]
    User(String),
    /// Talking to Discord failed.
    #[error("Discord request failed")]
    Discord(#[from] serenity::Error),
}

impl BotError {
    /// The message for the user, or `None` when it is an internal error.
    pub fn user_message(&self) -> Option<String> {
        match self {
            BotError::Service(e) if e.is_user_error() => Some(e.to_string()),
            BotError::User(message) => Some(message.clone()),
            _ => None,
        }
    }
}

/// A short code that ties a user's report to the log line.
pub fn reference_code() -> String {
    let mut bytes = [0u8; 4];
    // Without randomness, a time-based code still distinguishes reports.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (chrono::Utc::now().timestamp_subsec_nanos()).to_be_bytes();
    }
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// `error` and its sources, one after another, with interaction tokens redacted (HTTP
/// errors can carry the request URL, and callback and webhook URLs hold the token).
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(chain, ": {cause}");
        source = cause.source();
    }
    redact_tokens(&chain)
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

/// Logs an internal error under a fresh reference and returns the user-facing text.
pub fn internal_message(what: &str, error: &BotError) -> String {
    let reference = reference_code();
    let chain = match error {
        BotError::Service(ServiceError::Internal(e)) => format!("{e:#}"),
        other => cause_chain(other),
    };
    tracing::error!(reference = %reference, what, error = %chain, "internal error");
    format!(
        "Something went wrong on my side, sorry. Please try again in a moment. If it keeps happening, tell the server's admins the reference `{reference}`."
    )
}

/// The text to show for `error` (logging internal ones).
pub fn message_for(what: &str, error: &BotError) -> String {
    error
        .user_message()
        .unwrap_or_else(|| internal_message(what, error))
}

async fn reply(ctx: Context<'_>, text: String) {
    let reply = poise::CreateReply::default().content(text).ephemeral(true);
    if let Err(e) = ctx.send(reply).await {
        tracing::warn!(error = %cause_chain(&e), "could not send an error reply");
    }
}

/// The framework's error handler.
pub async fn on_error(error: poise::FrameworkError<'_, Data, BotError>) {
    use poise::FrameworkError as F;
    match error {
        F::Command { error, ctx, .. } => {
            let text = message_for(&ctx.command().qualified_name, &error);
            reply(ctx, text).await;
        }
        F::ArgumentParse { ctx, input, .. } => {
            let shown = input
                .map(|i| {
                    format!(
                        " `{}`",
                        i.chars().take(40).collect::<String>().replace('`', "'")
                    )
                })
                .unwrap_or_default();
            let text = format!(
                "I couldn't read the option{shown}. Check it and try again; `/{}` shows each option's format.",
                ctx.command().qualified_name
            );
            reply(ctx, text).await;
        }
        F::GuildOnly { ctx, .. } => {
            reply(
                ctx,
                "This command works only in a server, where mentors are listed.".into(),
            )
            .await;
        }
        F::MissingUserPermissions { ctx, .. } => {
            reply(
                ctx,
                "You need the **Manage Server** permission for this.".into(),
            )
            .await;
        }
        F::CommandStructureMismatch {
            ctx, description, ..
        } => {
            let error = BotError::User(description.to_owned());
            let reference = reference_code();
            tracing::error!(reference = %reference, error = %error, "command structure mismatch");
            let text = format!(
                "Something went wrong on my side, sorry (reference `{reference}`). The bot's commands may be updating; try again in a minute."
            );
            let reply_ctx = poise::Context::Application(ctx);
            reply(reply_ctx, text).await;
        }
        F::CommandPanic { ctx, payload, .. } => {
            let reference = reference_code();
            tracing::error!(reference = %reference, panic = ?payload, "command panicked");
            reply(
                ctx,
                format!("Something went wrong on my side, sorry. Reference `{reference}`."),
            )
            .await;
        }
        F::Setup { error, .. } => {
            tracing::error!(error = %cause_chain(&error), "setup failed");
        }
        F::EventHandler { error, event, .. } => {
            tracing::error!(error = %cause_chain(&error), event = event.snake_case_name(), "event handler failed");
        }
        other => {
            tracing::warn!(error = %other, "unhandled framework error");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
