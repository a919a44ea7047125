//! Every slash command and the user context menu. Each reads its options, calls one service
//! function and renders; replies with personal data are ephemeral.

mod privacy;
mod reminders;
mod schedule;
mod server;
mod sessions;

use chrono::Utc;

use poise::serenity_prelude as serenity;
pub use privacy::{confirm_delete, decode_delete};

use super::{BotError, Context, Data};
use crate::domain::{GuildId, UserId};

/// All commands, for registration.
pub fn all() -> Vec<poise::Command<Data, BotError>> {
    vec![
        schedule::timezone(),
        schedule::availability(),
        schedule::overrides(),
        sessions::book(),
        sessions::book_menu(),
        sessions::bookings(),
        sessions::cancel(),
        sessions::reschedule(),
        server::calendar(),
        server::mentors(),
        server::admin(),
        privacy::privacy(),
        reminders::reminders(),
    ]
}

/// The invoking user.
fn me(ctx: Context<'_>) -> UserId {
    UserId(ctx.author().id.get())
}

/// The server the command runs in, if any.
fn guild(ctx: Context<'_>) -> Option<GuildId> {
    ctx.guild_id().map(|g| GuildId(g.get()))
}

/// Counts a change by the invoking user against their limit (refused when over it).
fn may_write(ctx: Context<'_>) -> Result<(), super::throttle::SlowDown> {
    ctx.data().writes.check(me(ctx).0)
}

/// An ephemeral text reply.
async fn say(ctx: Context<'_>, text: impl Into<String>) -> Result<(), BotError> {
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// An ephemeral embed reply with components.
async fn show(
    ctx: Context<'_>,
    embed: serenity::CreateEmbed,
    components: Vec<serenity::CreateActionRow>,
) -> Result<(), BotError> {
    ctx.send(
        poise::CreateReply::default()
            .embed(embed)
            .components(components)
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Lists the user as a mentor in this server (after a mentor command) and remembers names.
async fn note_mentor_here(ctx: Context<'_>) {
    let names = vec![(me(ctx), super::display_name(ctx.author()))];
    let listing = guild(ctx).map(|g| (g, me(ctx)));
    if let Err(e) = ctx.data().service.seen(names, listing, Utc::now()).await {
        tracing::warn!(error = %crate::cause::chain(&e), "could not list the mentor in this server");
    }
}

/// Autocomplete for IANA zones.
async fn ac_timezone(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let choices = crate::scheduling::parse::search_timezones(partial, 25)
        .into_iter()
        .map(serenity::AutocompleteChoice::from)
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Autocomplete choices: the `(value, label)` pairs whose label contains what was typed
/// (case-insensitive), at most 25 (Discord's limit), labels cut to 100 characters.
fn choices(
    items: impl IntoIterator<Item = (String, String)>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let wanted = partial.trim().to_lowercase();
    let choices = items
        .into_iter()
        .filter(|(_, label)| label.to_lowercase().contains(&wanted))
        .take(25)
        .map(|(value, label)| {
            serenity::AutocompleteChoice::new(crate::discord::render::clip(&label, 100), value)
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}
