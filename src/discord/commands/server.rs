//! `/calendar`, `/mentors` and `/admin`.

use chrono::Utc;
use poise::serenity_prelude as serenity;

use std::fmt::Write as _;

use super::{BotError, Context, may_write, me, say, show};
use crate::discord::display_name;
use crate::discord::render::{clip, said, ts, when};
use crate::discord::text as limits;
use crate::domain::{GuildId, RoleId};
use crate::service::CalendarView;

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
    may_write(ctx)?;
    let link = ctx
        .data()
        .service
        .calendar_connect(me(ctx), &display_name(ctx.author()), Utc::now())
        .await?;
    let text = format!(
        "Connect your Google Calendar: the button opens mentorbot's page in your browser, which shows the Discord account it connects to and continues to Google. Allow access to your calendar events (and free/busy times, so bookings avoid your other appointments); then I'll DM you to confirm the Google account.\nThe link is yours alone: it works once, in one browser, until {}.",
        ts(link.expires_at, 't')
    );
    let button = serenity::CreateButton::new_link(link.url).label("Connect Google Calendar");
    ctx.send(
        poise::CreateReply::default()
            .content(text)
            .components(vec![serenity::CreateActionRow::Buttons(vec![button])])
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Which Google account is connected, and the last sync problem if any.
#[poise::command(slash_command, rename = "status")]
async fn calendar_status(ctx: Context<'_>) -> Result<(), BotError> {
    let view = ctx
        .data()
        .service
        .calendar_status(me(ctx), Utc::now())
        .await?;
    say(ctx, calendar_status_text(&view)).await
}

/// Disconnect Google Calendar (existing events stay and are no longer updated).
#[poise::command(slash_command, rename = "disconnect")]
async fn calendar_disconnect(ctx: Context<'_>) -> Result<(), BotError> {
    may_write(ctx)?;
    // Revoking asks Google, which may be slow: answer Discord first.
    ctx.defer_ephemeral().await?;
    let text = if ctx.data().service.calendar_disconnect(me(ctx)).await? {
        "Google Calendar disconnected and mentorbot's access revoked. Events already in your calendar stay there and will no longer be updated (cancel or move them yourself if a booking changes). `/calendar connect` reconnects."
    } else {
        "No Google Calendar is connected. `/calendar connect` connects one."
    };
    say(ctx, text).await
}

fn calendar_status_text(view: &CalendarView) -> String {
    let mut text = match &view.account {
        None => "No Google Calendar connected. `/calendar connect` adds your bookings to your calendar with a Google Meet link.".to_owned(),
        Some(account) => {
            let email = account
                .email
                .as_deref()
                .map(|e| format!("**{}**", said(e, 100)))
                .unwrap_or_else(|| "your Google account".to_owned());
            if account.reconnect.is_some() {
                format!(
                    "⚠️ Reconnect needed: mentorbot can't use its stored access to {email} any more (its encryption key changed). Run `/calendar connect` to reconnect; until then bookings don't reach your calendar."
                )
            } else if account.connected() {
                format!(
                    "📅 Connected to {email} since {}.",
                    ts(account.connected_at, 'D')
                )
            } else {
                format!(
                    "⚠️ Google revoked mentorbot's access to {email}. Run `/calendar connect` to reconnect; until then bookings don't reach your calendar."
                )
            }
        }
    };
    if view.pending > 0 {
        let _ = write!(
            text,
            "\n⏳ {} upcoming session{} being synced.",
            view.pending,
            if view.pending == 1 { " is" } else { "s are" }
        );
    }
    for booking in view.failed.iter().take(5) {
        let reason = booking
            .calendar_error
            .as_deref()
            .unwrap_or("unknown reason");
        let _ = write!(
            text,
            "\n⚠️ Booking `{}` ({}) couldn't be synced: {}",
            booking.id,
            ts(booking.interval.start(), 'F'),
            clip(reason, 200)
        );
    }
    if let Some((error, at)) = view.account.as_ref().and_then(|a| a.last_error.as_ref()) {
        let _ = write!(
            text,
            "\nLast sync problem ({}): {}",
            ts(*at, 'R'),
            clip(error, 300)
        );
    }
    text
}

/// Most mentors `/mentors` shows (and computes free slots for).
const MENTORS_SHOWN: usize = 25;

/// Mentors in this server and their next free slot.
#[poise::command(slash_command, guild_only)]
pub async fn mentors(ctx: Context<'_>) -> Result<(), BotError> {
    let Some(guild) = ctx.guild_id() else {
        return Err(BotError::User(
            "This command works only in a server.".into(),
        ));
    };
    // Member lookups and slot searches (maybe asking Google) can take a while.
    ctx.defer_ephemeral().await?;
    let service = &ctx.data().service;
    let listed = service
        .listed_mentors(GuildId(guild.get()), me(ctx))
        .await?;
    let role = service.mentor_role(GuildId(guild.get())).await?;
    // With a mentor role, only those who hold it are shown; their roles are looked up one by
    // one, so only until the list is full: how many more hold it stays unknown.
    let mut shown = Vec::new();
    let mut rest = 0;
    for (user, name) in listed {
        if shown.len() == MENTORS_SHOWN {
            rest += 1;
            continue;
        }
        if crate::discord::components::holds_mentor_role(ctx.serenity_context(), guild, user, role)
            .await?
        {
            shown.push((user, name));
        }
    }
    if shown.is_empty() {
        let text = if role.is_some() {
            "No mentors here yet: nobody listed holds this server's mentor role. Mentors appear once they have the role and use `/availability set` in this server."
        } else {
            "No mentors are listed here yet. Mentors appear once they use `/availability set` in this server."
        };
        return say(ctx, text).await;
    }
    let listings = service.next_free(shown, Utc::now()).await?;
    let lines: Vec<String> = listings
        .iter()
        .map(|l| {
            let name = l
                .name
                .as_deref()
                .map(|n| said(n, 60))
                .unwrap_or_else(|| format!("<@{}>", l.user));
            match l.next {
                Some(slot) => format!("• **{name}** — next free: {}\n", when(slot.start())),
                None => format!("• **{name}** — no free slots right now\n"),
            }
        })
        .collect();
    let footer =
        "\nBook with `/book mentor:@name` or right-click a mentor → Apps → **Book a session**.";
    let room = limits::EMBED_DESCRIPTION - limits::len(footer);
    let total = listings.len() + rest;
    let mut text = limits::fit_lines(&lines, total, room, |n, _| {
        if role.is_some() {
            format!("…and up to {n} more (`/book mentor:@name` books any of them).\n")
        } else {
            format!("…and {n} more (`/book mentor:@name` books any of them).\n")
        }
    });
    text.push_str(footer);
    let embed = serenity::CreateEmbed::new()
        .title("Mentors")
        .description(text);
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
    may_write(ctx)?;
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
        .set_mentor_role(
            GuildId(guild.get()),
            role.as_ref().map(|r| RoleId(r.id.get())),
        )
        .await?;
    let text = match role {
        Some(role) => format!(
            "Only members with the **{}** role can be booked in this server now.",
            said(&role.name, 100)
        ),
        None => "Anyone who sets availability can be booked in this server now.".to_owned(),
    };
    say(ctx, text).await
}
