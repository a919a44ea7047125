//! The Discord front end: the only module that names poise and serenity. Commands stay
//! thin (read options, call one service function, render); picker clicks arrive through one
//! component router with all state in `custom_id`s, so nothing lives in memory that a
//! restart could lose — except the short-lived interaction tokens used to tell an actor
//! that a DM could not be delivered, which expire after 15 minutes anyway.

mod commands;
mod components;
mod connect;
pub mod errors;
mod messenger;
pub mod picker;
pub mod render;
pub mod text;
pub mod throttle;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poise::serenity_prelude as serenity;

pub use errors::BotError;
pub use messenger::DiscordMessenger;

use crate::service::Service;

/// poise's context with our data and error.
pub type Context<'a> = poise::Context<'a, Data, BotError>;

/// Shared state of the bot, built once per process.
pub struct Data {
    /// The use cases.
    pub service: Service,
    /// Recent interaction tokens of actors, for follow-ups about undeliverable DMs.
    pub followups: Arc<Followups>,
    /// Wakes the job worker after a change queued jobs.
    pub wake_jobs: Arc<dyn Fn() + Send + Sync>,
    /// The per-user limit on changes.
    pub writes: Arc<throttle::WriteLimit>,
}

/// How long Discord accepts follow-ups to an interaction.
const FOLLOWUP_LIFETIME: Duration = Duration::from_secs(14 * 60);

/// Interaction tokens of the people who just booked, cancelled or moved a booking, by
/// booking id and actor: if a DM about their change bounces (50007), that actor gets an
/// ephemeral follow-up. In memory only: tokens are credentials and never reach the log or the
/// database.
#[derive(Default)]
pub struct Followups {
    tokens: Mutex<HashMap<(String, u64), (String, Instant)>>,
}

impl std::fmt::Debug for Followups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Followups([redacted])")
    }
}

impl Followups {
    /// Remembers `actor`'s interaction `token` for their change of `booking`. Call it once
    /// the interaction has been answered: a follow-up needs the initial response.
    pub fn remember(&self, booking: &str, actor: u64, token: &str) {
        let Ok(mut tokens) = self.tokens.lock() else {
            return;
        };
        let now = Instant::now();
        tokens.retain(|_, (_, at)| now.duration_since(*at) < FOLLOWUP_LIFETIME);
        tokens.insert((booking.to_owned(), actor), (token.to_owned(), now));
    }

    /// `actor`'s still valid token for `booking`, if any (taken: one follow-up per change).
    pub fn take(&self, booking: &str, actor: u64) -> Option<String> {
        let mut tokens = self.tokens.lock().ok()?;
        let (token, at) = tokens.remove(&(booking.to_owned(), actor))?;
        (at.elapsed() < FOLLOWUP_LIFETIME).then_some(token)
    }
}

/// The HTTP client: to discord.com, or to `api_base` (a proxy or a fake Discord). serenity
/// ignores a proxy unless its rate limiter is off, so with `api_base` 429s are handled by the
/// callers (the job worker honours `retry_after`).
pub fn http(token: &str, api_base: Option<&str>) -> serenity::Http {
    let builder = serenity::HttpBuilder::new(token);
    match api_base {
        Some(base) => builder.proxy(base).ratelimiter_disabled(true).build(),
        None => builder.build(),
    }
}

/// The framework: every command, the component router and the error handler. Commands are
/// registered once per process (poise runs `setup` on the first READY only), in `guild` if
/// given, else globally.
pub fn framework(data: Data, guild: Option<u64>) -> poise::Framework<Data, BotError> {
    poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            // Replies quote what people typed; the bot never means to ping anyone (poise's
            // default would let user mentions ping).
            allowed_mentions: Some(serenity::CreateAllowedMentions::new()),
            on_error: |error| Box::pin(errors::on_error(error)),
            event_handler: |framework, event| Box::pin(components::on_event(framework, event)),
            initialize_owners: false,
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                let registered = match guild {
                    Some(id) => {
                        poise::builtins::register_in_guild(ctx, commands, serenity::GuildId::new(id)).await
                    }
                    None => poise::builtins::register_globally(ctx, commands).await,
                };
                // An error here must not fail setup: poise would then never hand the bot
                // another event. Commands registered earlier keep working.
                match registered {
                    Ok(()) => tracing::info!(
                        bot = %ready.user.name,
                        guilds = ready.guilds.len(),
                        scope = if guild.is_some() { "guild" } else { "global" },
                        "commands registered"
                    ),
                    Err(e) => tracing::error!(error = %crate::cause::chain(&e), "registering commands failed"),
                }
                Ok(data)
            })
        })
        .build()
}

/// The display name to show for a user.
pub fn display_name(user: &serenity::User) -> String {
    user.global_name
        .clone()
        .unwrap_or_else(|| user.name.clone())
}
