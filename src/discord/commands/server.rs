//! `/calendar`, `/mentors` and `/admin`.

use chrono::Utc;
use poise::serenity_prelude as serenity;

use super::{BotError, Context, say, show};
use crate::discord::render::{clip, when};

const CALENDAR_OFF: &str = "Calendar sync isn't available on this bot: its operator hasn't configured Google Calendar (`GOOGLE_CLIENT_ID`). Your bookings work all the same; `/bookings` lists them.";

/// Google Calendar: connect, status, disconnect.
#[poise::command(
    slash_command,
    subcommands("calendar_connect", "calendar_status", "calendar_disconnect"),
    subcommand_required
)]
pub async fn calendar(_: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Connect your Google Calendar: bookings get an event with a Meet link.
#[poise::command(slash_command, rename = "connect")]
async fn calendar_connect(ctx: Context<'_>) -> Result<(), BotError> {
    say(ctx, CALENDAR_OFF).await
}

/// Which Google account is connected, and the last sync problem if any.
#[poise::command(slash_command, rename = "status")]
async fn calendar_status(ctx: Context<'_>) -> Result<(), BotError> {
    say(ctx, CALENDAR_OFF).await
}

/// Disconnect Google Calendar (existing events stay and are no longer updated).
#[poise::command(slash_command, rename = "disconnect")]
async fn calendar_disconnect(ctx: Context<'_>) -> Result<(), BotError> {
    say(ctx, CALENDAR_OFF).await
}

/// Mentors in this server and their next free slot.
#[poise::command(slash_command, guild_only)]
pub async fn mentors(ctx: Context<'_>) -> Result<(), BotError> {
    let Some(guild) = ctx.guild_id() else {
        return Err(BotError::User(
            "This command works only in a server.".into(),
        ));
    };
    let listings = ctx
        .data()
        .service
        .mentors_in(guild.get(), Utc::now())
        .await?;
    if listings.is_empty() {
        return say(
            ctx,
            "No mentors are listed here yet. Mentors appear once they use `/availability set` in this server.",
        )
        .await;
    }
    let mut text = String::new();
    for l in listings.iter().take(25) {
        let name = l
            .name
            .as_deref()
            .map(|n| clip(n, 60))
            .unwrap_or_else(|| format!("<@{}>", l.user));
        match l.next {
            Some(slot) => text.push_str(&format!(
                "• **{name}** — next free: {}\n",
                when(slot.start())
            )),
            None => text.push_str(&format!("• **{name}** — no free slots right now\n")),
        }
    }
    text.push_str(
        "\nBook with `/book mentor:@name` or right-click a mentor → Apps → **Book a session**.",
    );
    let embed = serenity::CreateEmbed::new()
        .title("Mentors")
        .description(clip(&text, 4000));
    show(ctx, embed, vec![]).await
}

/// Server settings for mentorbot (needs Manage Server).
#[poise::command(
    slash_command,
    guild_only,
    subcommands("admin_mentor_role"),
    subcommand_required,
    default_member_permissions = "MANAGE_GUILD"
)]
pub async fn admin(_: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Only members with this role can be booked here (leave empty: anyone may mentor).
#[poise::command(slash_command, rename = "mentor-role", guild_only)]
async fn admin_mentor_role(
    ctx: Context<'_>,
    #[description = "The role mentors need; leave out to allow anyone"] role: Option<
        serenity::Role,
    >,
) -> Result<(), BotError> {
    let Some(guild) = ctx.guild_id() else {
        return Err(BotError::User(
            "This command works only in a server.".into(),
        ));
    };
    // Checked here, not only by Discord's default permissions, which admins can change.
    let allowed = match ctx {
        poise::Context::Application(app) => app
            .interaction
            .member
            .as_ref()
            .and_then(|m| m.permissions)
            .is_some_and(|p| p.manage_guild()),
        poise::Context::Prefix(_) => false,
    };
    if !allowed {
        return Err(BotError::User(
            "You need the **Manage Server** permission for this.".into(),
        ));
    }
    ctx.data()
        .service
        .set_mentor_role(guild.get(), role.as_ref().map(|r| r.id.get()))
        .await?;
    let text = match role {
        Some(role) => format!(
            "Only members with the **{}** role can be booked in this server now.",
            role.name
        ),
        None => "Anyone who sets availability can be booked in this server now.".to_owned(),
    };
    say(ctx, text).await
}
