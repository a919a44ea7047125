//! `/reminders set | show`.

use chrono::Utc;

use super::{BotError, Context, may_write, me, say};
use crate::scheduling::parse::format_leads;

/// When you're reminded of your sessions (as mentor and as mentee).
#[poise::command(
    slash_command,
    subcommands("reminders_set", "reminders_show"),
    subcommand_required
)]
pub async fn reminders(_: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Set when reminders come before your sessions: up to three times, or off.
#[poise::command(slash_command, rename = "set")]
async fn reminders_set(
    ctx: Context<'_>,
    #[description = "Before each session, e.g. 24h, 1h, 15m (5m to 7d), or off"]
    #[max_length = 60]
    lead: String,
) -> Result<(), BotError> {
    may_write(ctx)?;
    let leads = ctx
        .data()
        .service
        .set_reminders(me(ctx), &lead, Utc::now())
        .await?;
    let text = if leads.is_empty() {
        "Reminders are off: you won't get DMs before your sessions. `/reminders set lead:24h, 15m` turns them back on.".to_owned()
    } else {
        format!(
            "You'll get a DM **{}** before each of your sessions (as mentor and as mentee), upcoming ones included. A reminder whose time has passed when a session is booked is skipped.",
            format_leads(&leads)
        )
    };
    say(ctx, text).await
}

/// Show when you're reminded of your sessions.
#[poise::command(slash_command, rename = "show")]
async fn reminders_show(ctx: Context<'_>) -> Result<(), BotError> {
    let (leads, default) = ctx.data().service.reminders(me(ctx)).await?;
    let text = match (leads.is_empty(), default) {
        (true, _) => "Reminders are off. `/reminders set lead:24h, 15m` turns them on.".to_owned(),
        (false, true) => format!(
            "You get a DM **{}** before each session (the default). `/reminders set` changes it.",
            format_leads(&leads)
        ),
        (false, false) => format!(
            "You get a DM **{}** before each session. `/reminders set` changes it.",
            format_leads(&leads)
        ),
    };
    say(ctx, text).await
}
