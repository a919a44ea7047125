//! `/timezone`, `/availability` and `/override`.

use chrono::{Duration, Utc};
use poise::serenity_prelude as serenity;

use super::{BotError, Context, ac_timezone, choices, may_write, me, note_mentor_here, say, show};
use crate::discord::render::{
    clip, mentee_session_lines, override_lines, said, settings_line, weekly_lines,
    weekly_lines_within,
};
use crate::discord::text as limits;
use crate::domain::UserId;
use crate::scheduling::hours::format_ranges;
use crate::scheduling::local_time::local_date;
use crate::service::SettingsPatch;

/// Your own timezone, used for pickers and the dates you type.
#[poise::command(
    slash_command,
    subcommands("timezone_set", "timezone_show"),
    subcommand_required
)]
pub async fn timezone(_: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Set your timezone (an IANA name such as Europe/Berlin).
#[poise::command(slash_command, rename = "set")]
async fn timezone_set(
    ctx: Context<'_>,
    #[description = "Your timezone, e.g. Europe/Berlin or America/New_York"]
    #[autocomplete = "ac_timezone"]
    #[max_length = 64]
    zone: String,
) -> Result<(), BotError> {
    may_write(ctx)?;
    let tz = ctx.data().service.set_timezone(me(ctx), &zone).await?;
    let now = Utc::now().with_timezone(&tz);
    say(
        ctx,
        format!(
            "Your timezone is now **{}** (it's {} there). Pickers and dates you type use it.",
            tz.name(),
            now.format("%H:%M on %a %-d %b")
        ),
    )
    .await
}

/// Show your timezone.
#[poise::command(slash_command, rename = "show")]
async fn timezone_show(ctx: Context<'_>) -> Result<(), BotError> {
    let text = match ctx.data().service.timezone(me(ctx)).await? {
        Some(tz) => format!("Your timezone is **{}**.", tz.name()),
        None => "You haven't set a timezone. Pickers show the mentor's zone until you do: `/timezone set zone:Europe/Berlin`.".to_owned(),
    };
    say(ctx, text).await
}

/// Your weekly availability as a mentor.
#[poise::command(
    slash_command,
    subcommands(
        "availability_set",
        "availability_show",
        "availability_clear",
        "availability_settings",
        "availability_block",
        "availability_unblock"
    ),
    subcommand_required
)]
pub async fn availability(_: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Set the hours of some weekdays (replaces those days' hours). Makes you a mentor.
#[poise::command(slash_command, rename = "set")]
async fn availability_set(
    ctx: Context<'_>,
    #[description = "Which days: mon, mon-fri, mon,wed,fri, weekdays, weekends, everyday"]
    #[max_length = 100]
    days: String,
    #[description = "Hours, e.g. 09:00-12:00, 14:00-17:30 or 9am-5pm; off for none"]
    #[max_length = 300]
    hours: String,
    #[description = "Your timezone (needed the first time; a new one moves your whole schedule)"]
    #[autocomplete = "ac_timezone"]
    #[max_length = 64]
    timezone: Option<String>,
) -> Result<(), BotError> {
    may_write(ctx)?;
    let change = ctx
        .data()
        .service
        .set_availability(me(ctx), &days, &hours, timezone.as_deref(), Utc::now())
        .await?;
    note_mentor_here(ctx).await;
    let schedule = &change.mentor.schedule;
    let mut text = String::new();
    if change.became_mentor {
        text.push_str("You're now a mentor. ");
    }
    text.push_str(&format!("Your weekly hours ({}):\n", schedule.tz().name()));
    let mut tail = String::new();
    if change.merged {
        tail.push_str("Overlapping or touching ranges were merged.\n");
    }
    if let Some(old) = change.moved_from {
        tail.push_str(&format!(
            "Your schedule moved from {} to {} with the same wall times. Existing bookings stay at their times ({} upcoming).\n",
            old.name(),
            schedule.tz().name(),
            change.upcoming.len()
        ));
    }
    if change.became_mentor {
        tail.push_str(
            "Mentees can now book you with `/book`. Tune sessions with `/availability settings`.",
        );
    }
    let room = limits::CONTENT.saturating_sub(limits::len(&text) + limits::len(&tail));
    text.push_str(&weekly_lines_within(schedule, room));
    text.push_str(&tail);
    say(ctx, text).await
}

/// Show a mentor's weekly schedule, upcoming overrides and settings.
#[poise::command(slash_command, rename = "show")]
async fn availability_show(
    ctx: Context<'_>,
    #[description = "Whose availability (default: yours)"] mentor: Option<serenity::User>,
) -> Result<(), BotError> {
    let who = mentor
        .as_ref()
        .map(|u| UserId(u.id.get()))
        .unwrap_or(me(ctx));
    let name = mentor
        .as_ref()
        .map(crate::discord::display_name)
        .unwrap_or_else(|| "Your".to_owned());
    let view = match ctx.data().service.availability(who, Utc::now()).await {
        Err(crate::service::ServiceError::NotAMentor) if who == me(ctx) => {
            return Err(crate::service::ServiceError::NotAMentorYet.into());
        }
        other => other?,
    };
    let title = if mentor.is_some() {
        format!("{}'s availability", said(&name, 60))
    } else {
        "Your availability".to_owned()
    };
    // The weekly hours go in the description: 7 days of the most ranges need up to 2,300
    // characters, more than a field holds.
    let embed = serenity::CreateEmbed::new()
        .title(title)
        .description(format!(
            "**Weekly hours** ({})\n{}",
            view.mentor.schedule.tz().name(),
            weekly_lines(&view.mentor.schedule)
        ))
        .field(
            "Upcoming overrides",
            override_lines(&view.overrides, limits::FIELD_VALUE, mentor.is_none()),
            false,
        )
        .field("Settings", settings_line(&view.mentor.settings), false);
    show(ctx, embed, vec![]).await
}

/// Stop a member from booking you (their existing sessions stay).
#[poise::command(slash_command, rename = "block")]
async fn availability_block(
    ctx: Context<'_>,
    #[description = "The member who may no longer book you"] member: serenity::User,
) -> Result<(), BotError> {
    may_write(ctx)?;
    let who = UserId(member.id.get());
    let name = said(&crate::discord::display_name(&member), 60);
    let text = if ctx
        .data()
        .service
        .block_member(me(ctx), who, Utc::now())
        .await?
    {
        format!(
            "**{name}** can no longer book you or move a session with you, and won't see you in `/mentors`; their cancellations no longer DM you. Sessions already booked stay (cancel them with `/cancel` if you want). `/availability unblock` undoes it."
        )
    } else {
        format!("**{name}** was already blocked. `/availability unblock` undoes it.")
    };
    say(ctx, text).await
}

/// Let a member you blocked book you again.
#[poise::command(slash_command, rename = "unblock")]
async fn availability_unblock(
    ctx: Context<'_>,
    #[description = "The member who may book you again"] member: serenity::User,
) -> Result<(), BotError> {
    may_write(ctx)?;
    let who = UserId(member.id.get());
    let name = said(&crate::discord::display_name(&member), 60);
    let text = if ctx.data().service.unblock_member(me(ctx), who).await? {
        format!("**{name}** can book you again.")
    } else {
        format!("**{name}** wasn't blocked.")
    };
    say(ctx, text).await
}

/// Remove all your weekly hours (bookings stay).
#[poise::command(slash_command, rename = "clear")]
async fn availability_clear(ctx: Context<'_>) -> Result<(), BotError> {
    may_write(ctx)?;
    let upcoming = ctx
        .data()
        .service
        .clear_availability(me(ctx), Utc::now())
        .await?;
    let mut text = "Your weekly hours are cleared; overrides stay.".to_owned();
    if upcoming.is_empty() {
        text.push_str(" You have no upcoming sessions.");
    } else {
        text.push_str(&format!(
            " Your {} upcoming session(s) stay booked:\n",
            upcoming.len()
        ));
        let room = limits::CONTENT.saturating_sub(limits::len(&text));
        text.push_str(&mentee_session_lines(&upcoming, room));
    }
    say(ctx, text).await
}

/// Session length, buffer, notice, horizon and caps (options left out stay as they are).
#[poise::command(slash_command, rename = "settings")]
#[allow(clippy::too_many_arguments)]
async fn availability_settings(
    ctx: Context<'_>,
    #[description = "Session length in minutes (15-240)"]
    #[min = 15]
    #[max = 240]
    session_minutes: Option<i64>,
    #[description = "Free minutes kept around sessions (0-120)"]
    #[min = 0]
    #[max = 120]
    buffer_minutes: Option<i64>,
    #[description = "Hours of notice a booking needs (0-168)"]
    #[min = 0]
    #[max = 168]
    min_notice_hours: Option<i64>,
    #[description = "How many days ahead you can be booked (1-365)"]
    #[min = 1]
    #[max = 365]
    horizon_days: Option<i64>,
    #[description = "Most sessions per day, 0 = no cap (0-50)"]
    #[min = 0]
    #[max = 50]
    max_per_day: Option<i64>,
    #[description = "Most upcoming sessions one mentee may hold with you, 0 = no cap (0-20)"]
    #[min = 0]
    #[max = 20]
    max_per_mentee: Option<i64>,
    #[description = "Hours before a session within which mentees can't cancel or move it (0-168)"]
    #[min = 0]
    #[max = 168]
    change_notice_hours: Option<i64>,
) -> Result<(), BotError> {
    may_write(ctx)?;
    let patch = SettingsPatch {
        session_minutes,
        buffer_minutes,
        min_notice_hours,
        horizon_days,
        max_per_day,
        max_per_mentee,
        change_notice_hours,
    };
    let settings = ctx
        .data()
        .service
        .update_settings(me(ctx), patch, Utc::now())
        .await?;
    note_mentor_here(ctx).await;
    say(
        ctx,
        format!("Settings saved: {}.", settings_line(&settings)),
    )
    .await
}

/// Date overrides: special hours (or none) on one date.
#[poise::command(
    slash_command,
    rename = "override",
    subcommands("override_add", "override_list", "override_remove"),
    subcommand_required
)]
pub async fn overrides(_: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// The next 25 dates in the mentor's zone.
async fn ac_next_days(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let now = Utc::now();
    let tz = match ctx.data().service.availability(me(ctx), now).await {
        Ok(view) => view.mentor.schedule.tz(),
        Err(_) => chrono_tz::UTC,
    };
    let today = local_date(tz, now);
    let items = (0..25)
        .map(|d| today + Duration::days(d))
        .map(|date| {
            (
                date.format("%Y-%m-%d").to_string(),
                date.format("%Y-%m-%d (%A)").to_string(),
            )
        })
        .collect::<Vec<_>>();
    choices(items, partial)
}

/// The mentor's upcoming overrides.
async fn ac_overrides(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let overrides = ctx
        .data()
        .service
        .overrides(me(ctx), None, Utc::now())
        .await
        .unwrap_or_default();
    let items = overrides
        .iter()
        .map(|o| {
            let label = clip(
                &format!(
                    "{} ({}) {}",
                    o.date,
                    o.date.format("%a"),
                    format_ranges(&o.ranges)
                ),
                100,
            );
            (o.date.format("%Y-%m-%d").to_string(), label)
        })
        .collect::<Vec<_>>();
    choices(items, partial)
}

/// Give one date special hours, or take it off (bookings on it stay).
#[poise::command(slash_command, rename = "add")]
async fn override_add(
    ctx: Context<'_>,
    #[description = "The date (YYYY-MM-DD, today or tomorrow), in your timezone"]
    #[autocomplete = "ac_next_days"]
    #[max_length = 20]
    date: String,
    #[description = "Hours that day, e.g. 10:00-12:00; default off"]
    #[max_length = 300]
    hours: Option<String>,
    #[description = "A note shown with the override"]
    #[max_length = 200]
    note: Option<String>,
) -> Result<(), BotError> {
    may_write(ctx)?;
    let added = ctx
        .data()
        .service
        .add_override(
            me(ctx),
            &date,
            hours.as_deref(),
            note.as_deref(),
            Utc::now(),
        )
        .await?;
    note_mentor_here(ctx).await;
    let o = &added.added;
    let mut text = format!(
        "{} **{}** ({}): {}.",
        if added.replaced {
            "Replaced the override of"
        } else {
            "Override set for"
        },
        o.date,
        o.date.format("%A"),
        if o.ranges.is_empty() {
            "off".to_owned()
        } else {
            format_ranges(&o.ranges)
        }
    );
    if added.merged {
        text.push_str(" Overlapping ranges were merged.");
    }
    if !added.bookings.is_empty() {
        text.push_str(&format!(
            "\nThese {} booking(s) on that date stay as they are:\n",
            added.bookings.len()
        ));
        let room = limits::CONTENT.saturating_sub(limits::len(&text));
        text.push_str(&mentee_session_lines(&added.bookings, room));
    }
    say(ctx, text).await
}

/// List your upcoming overrides.
#[poise::command(slash_command, rename = "list")]
async fn override_list(
    ctx: Context<'_>,
    #[description = "Start at this date (YYYY-MM-DD) in your timezone; default: today"]
    #[max_length = 40]
    from: Option<String>,
) -> Result<(), BotError> {
    let overrides = ctx
        .data()
        .service
        .overrides(me(ctx), from.as_deref(), Utc::now())
        .await?;
    say(ctx, override_lines(&overrides, limits::CONTENT, true)).await
}

/// Remove the override of one date.
#[poise::command(slash_command, rename = "remove")]
async fn override_remove(
    ctx: Context<'_>,
    #[description = "The date of the override"]
    #[autocomplete = "ac_overrides"]
    #[max_length = 20]
    date: String,
) -> Result<(), BotError> {
    may_write(ctx)?;
    let date = ctx
        .data()
        .service
        .remove_override(me(ctx), &date, Utc::now())
        .await?;
    note_mentor_here(ctx).await;
    say(
        ctx,
        format!("Removed the override of **{date}**: its weekly hours apply again."),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::SETTINGS;

    #[test]
    fn the_settings_options_offer_exactly_the_bounds_the_service_checks() {
        let command = availability_settings();
        assert_eq!(command.parameters.len(), SETTINGS.len());
        for bounds in SETTINGS {
            let parameter = command
                .parameters
                .iter()
                .find(|p| p.name == bounds.name)
                .unwrap_or_else(|| panic!("no option `{}`", bounds.name));
            let option = serde_json::to_value(parameter.create_as_slash_command_option())
                .expect("an option serializes");
            assert_eq!(
                option["min_value"],
                serde_json::json!(f64::from(bounds.min))
            );
            assert_eq!(
                option["max_value"],
                serde_json::json!(f64::from(bounds.max))
            );
            let description = parameter.description.as_deref().unwrap_or_default();
            let range = format!("({}-{})", bounds.min, bounds.max);
            assert!(description.contains(&range), "{description} lacks {range}");
        }
    }
}
