//! `/privacy export | delete`, and the Confirm of a delete (`pv:d:<unix seconds asked>`; it
//! works for 10 minutes and only for the user who asked, whose ephemeral message it is on).

use chrono::{DateTime, Duration, Utc};
use poise::serenity_prelude as serenity;

use super::{BotError, Context, Data, may_write, me, say};
use crate::domain::UserId;

/// How long the delete question's Confirm works.
const CONFIRM_WINDOW: Duration = Duration::minutes(10);

/// The export's file name.
const EXPORT_FILE: &str = "mentorbot-data.json";

/// Your data in mentorbot: get a copy, or delete it.
#[poise::command(
    slash_command,
    subcommands("privacy_export", "privacy_delete"),
    subcommand_required
)]
pub async fn privacy(_: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// DMs you a JSON file of everything mentorbot stores about you.
#[poise::command(slash_command, rename = "export")]
async fn privacy_export(ctx: Context<'_>) -> Result<(), BotError> {
    may_write(ctx)?;
    ctx.defer_ephemeral().await?;
    let data = ctx
        .data()
        .service
        .export_user_data(me(ctx), Utc::now())
        .await?;
    let file = || serenity::CreateAttachment::bytes(data.clone(), EXPORT_FILE);
    let dm = serenity::CreateMessage::new()
        .content("Here is everything mentorbot stores about you (`/privacy delete` erases it).")
        .add_file(file());
    match ctx.author().dm(ctx.http(), dm).await {
        Ok(_) => say(ctx, format!("I sent you a DM with `{EXPORT_FILE}`.")).await,
        // DMs closed: the ephemeral reply carries the file instead (only you see it).
        Err(error) => {
            tracing::info!(error = %crate::cause::chain(&error), "export DM refused; attaching it to the reply");
            ctx.send(
                poise::CreateReply::default()
                    .content("I couldn't DM you, so here is your data (only you can see this).")
                    .attachment(file())
                    .ephemeral(true),
            )
            .await?;
            Ok(())
        }
    }
}

/// Deletes everything mentorbot stores about you (asks first).
#[poise::command(slash_command, rename = "delete")]
async fn privacy_delete(ctx: Context<'_>) -> Result<(), BotError> {
    let asked = Utc::now();
    let button = serenity::CreateButton::new(format!("pv:d:{}", asked.timestamp()))
        .label("Delete my data")
        .style(serenity::ButtonStyle::Danger);
    ctx.send(
        poise::CreateReply::default()
            .content("This deletes everything mentorbot stores about you: your timezone, your availability, overrides and settings, your listings, members you blocked, and your Google Calendar connection (mentorbot's access is revoked). Your upcoming sessions are cancelled and the other person gets the usual DM. In other people's past sessions your name becomes \"deleted user\" and reasons you wrote are removed; they keep the times. This can't be undone.\nPress **Delete my data** within 10 minutes to go ahead, or dismiss this message to keep everything.")
            .components(vec![serenity::CreateActionRow::Buttons(vec![button])])
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The `pv:d:` button: when it was asked, if `id` is one.
pub fn decode_delete(id: &str) -> Option<DateTime<Utc>> {
    let secs = id.strip_prefix("pv:d:")?.parse::<i64>().ok()?;
    DateTime::from_timestamp(secs, 0)
}

/// Answers the delete question's button.
pub async fn confirm_delete(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
    asked: DateTime<Utc>,
) -> Result<(), BotError> {
    let user = UserId(click.user.id.get());
    data.writes.check(user.0)?;
    let now = Utc::now();
    if now - asked > CONFIRM_WINDOW || asked > now + Duration::minutes(1) {
        return Err(BotError::User(
            "That question has expired; nothing was deleted. Run `/privacy delete` again.".into(),
        ));
    }
    let deleted = data.service.delete_user_data(user, now).await?;
    (data.wake_jobs)();
    let mut text = "Done: everything mentorbot stored about you is deleted.".to_owned();
    if deleted.cancelled > 0 {
        text.push_str(&format!(
            " {} upcoming session{} cancelled and the other person told.",
            deleted.cancelled,
            if deleted.cancelled == 1 {
                " was"
            } else {
                "s were"
            }
        ));
    }
    if deleted.google {
        text.push_str(" Your Google Calendar connection was revoked; events already in your calendar stay there.");
    }
    crate::discord::components::replace_with_text(ctx, click, text).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delete_button_id_round_trips_and_junk_is_not_one() {
        let asked = DateTime::from_timestamp(1_796_000_000, 0).unwrap();
        assert_eq!(decode_delete("pv:d:1796000000"), Some(asked));
        for junk in ["pv:d:", "pv:d:x", "pv:x:1", "pk:d:1"] {
            assert_eq!(decode_delete(junk), None, "{junk}");
        }
    }
}
