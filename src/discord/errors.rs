//! Errors as users see them: user errors are ephemeral messages that say what to fix;
//! anything else is a generic message with a reference code that is also in the log, with
//! the cause chain. Replaces poise's default handler, which would show raw error strings.

use std::fmt::Write as _;

use poise::serenity_prelude as serenity;

use super::{Context, Data};
use crate::cause;
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
    crate::random::fill(&mut bytes);
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// Logs an internal error under a fresh reference and returns the user-facing text.
pub fn internal_message(what: &str, error: &BotError) -> String {
    let reference = reference_code();
    let chain = match error {
        BotError::Service(ServiceError::Internal(e)) => cause::chain(e.as_ref()),
        other => cause::chain(other),
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
        tracing::warn!(error = %cause::chain(&e), "could not send an error reply");
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
            tracing::error!(error = %cause::chain(&error), "setup failed");
        }
        F::EventHandler { error, event, .. } => {
            tracing::error!(error = %cause::chain(&error), event = event.snake_case_name(), "event handler failed");
        }
        other => {
            tracing::warn!(error = %other, "unhandled framework error");
        }
    }
}
