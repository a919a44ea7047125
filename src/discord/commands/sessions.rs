//! `/book`, the **Book a session** menu, `/bookings`, `/cancel` and `/reschedule`.

use chrono::Utc;
use poise::serenity_prelude as serenity;

use super::{BotError, Context, choices, may_write, me, say, show};
use crate::discord::picker::{Mode, PickerView, render};
use crate::discord::render::{clip, said, slot_label, when};
use crate::discord::{components, display_name};
use crate::domain::{RoleFilter, UserId};
use crate::scheduling::booking::Rejection;
use crate::service::ServiceError;

/// Opens the picker for `mentor` (a first step shared by `/book` and the user menu).
async fn open_picker(
    ctx: Context<'_>,
    mentor: &serenity::User,
    date: Option<String>,
) -> Result<(), BotError> {
    let viewer = me(ctx);
    let mentor_id = UserId(mentor.id.get());
    if mentor_id == viewer {
        return Err(ServiceError::Rejected(Rejection::SelfBooking).into());
    }
    if mentor.bot {
        return Err(BotError::User(
            "Bots can't be booked. Pick a mentor from `/mentors`.".into(),
        ));
    }
    let data = ctx.data();
    let now = Utc::now();
    let mentor_name = display_name(mentor);
    components::check_mentor_role(ctx.serenity_context(), data, ctx.guild_id(), mentor_id).await?;
    let date = match date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(text) => Some(
            data.service
                .picker_date(mentor_id, viewer, text, now)
                .await?,
        ),
        None => None,
    };
    let day = data
        .service
        .day_slots(mentor_id, viewer, date, None, now)
        .await?;
    let (embed, rows) = render(&PickerView {
        mentor: mentor_id,
        mentor_name: &mentor_name,
        day: &day,
        mode: &Mode::Book,
        page: 0,
        chosen: None,
        notice: None,
    });
    show(ctx, embed, rows).await?;
    // Only a picker that opens remembers names (bad input changes nothing), and only after
    // it is on screen: the write waits for a disk flush that the user need not wait for, and
    // a name that could not be stored is no reason to fail the picker.
    let names = vec![
        (mentor_id, mentor_name),
        (viewer, display_name(ctx.author())),
    ];
    if let Err(e) = data.service.seen(names, None, now).await {
        tracing::warn!(error = %crate::cause::chain(&e), "could not remember display names");
    }
    Ok(())
}

/// Days with free slots of the mentor named in the `mentor` option.
async fn ac_book_dates(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let poise::Context::Application(app) = ctx else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let mentor = app
        .interaction
        .data
        .options()
        .into_iter()
        .find_map(|o| match (o.name, o.value) {
            ("mentor", serenity::ResolvedValue::User(user, _)) => Some(UserId(user.id.get())),
            _ => None,
        });
    let Some(mentor) = mentor else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let Ok(days) = ctx
        .data()
        .service
        .slot_days(mentor, me(ctx), 100, Utc::now())
        .await
    else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let items = days
        .iter()
        .map(|(date, count)| {
            let label = format!(
                "{} ({}) · {count} free",
                date.format("%Y-%m-%d"),
                date.format("%a")
            );
            (date.format("%Y-%m-%d").to_string(), label)
        })
        .collect::<Vec<_>>();
    choices(items, partial)
}

/// Book a session with a mentor: opens a picker of their free slots.
#[poise::command(slash_command, guild_only)]
pub async fn book(
    ctx: Context<'_>,
    #[description = "The mentor to book"] mentor: serenity::User,
    #[description = "A day (YYYY-MM-DD, today or tomorrow) in your timezone; default: the first with free slots"]
    #[autocomplete = "ac_book_dates"]
    #[max_length = 20]
    date: Option<String>,
) -> Result<(), BotError> {
    open_picker(ctx, &mentor, date).await
}

/// Book a session with this user.
#[poise::command(context_menu_command = "Book a session", guild_only)]
pub async fn book_menu(ctx: Context<'_>, user: serenity::User) -> Result<(), BotError> {
    open_picker(ctx, &user, None).await
}

/// Which side of your bookings to list.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum RoleChoice {
    /// Sessions you give.
    #[name = "mentor"]
    Mentor,
    /// Sessions you booked.
    #[name = "mentee"]
    Mentee,
}

/// Your sessions, soonest first.
#[poise::command(slash_command)]
pub async fn bookings(
    ctx: Context<'_>,
    #[description = "Only as mentor or only as mentee (default: both)"] role: Option<RoleChoice>,
    #[description = "Show past and cancelled sessions instead"] past: Option<bool>,
) -> Result<(), BotError> {
    let role = match role {
        Some(RoleChoice::Mentor) => RoleFilter::Mentor,
        Some(RoleChoice::Mentee) => RoleFilter::Mentee,
        None => RoleFilter::Both,
    };
    let (embed, rows) =
        components::bookings_page(ctx.data(), me(ctx), role, past.unwrap_or(false), 0).await?;
    show(ctx, embed, rows).await
}

/// Your cancellable bookings, labelled with wall time in your zone and the other person.
async fn ac_my_bookings(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let user = me(ctx);
    let service = &ctx.data().service;
    let now = Utc::now();
    let Ok(list) = service
        .bookings(user, RoleFilter::Both, false, now, 100)
        .await
    else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let tz = service
        .timezone(user)
        .await
        .ok()
        .flatten()
        .unwrap_or(chrono_tz::UTC);
    let items = list
        .iter()
        .map(|b| {
            let (_, other) = b.other_person(user);
            let label = format!(
                "{} · {} {} · with {}",
                b.id,
                slot_label(&b.interval, tz),
                tz.name(),
                other
            );
            (b.id.to_string(), clip(&label, 100))
        })
        .collect::<Vec<_>>();
    choices(items, partial)
}

/// Cancel one of your sessions; the other person gets a DM.
#[poise::command(slash_command)]
pub async fn cancel(
    ctx: Context<'_>,
    #[description = "The booking id, e.g. K7Q2MD"]
    #[autocomplete = "ac_my_bookings"]
    #[max_length = 20]
    booking: String,
    #[description = "Why (sent to the other person)"]
    #[max_length = 500]
    reason: Option<String>,
) -> Result<(), BotError> {
    may_write(ctx)?;
    let data = ctx.data();
    let cancelled = data
        .service
        .cancel(me(ctx), &booking, reason.as_deref(), Utc::now())
        .await?;
    let (_, other) = cancelled.other_person(me(ctx));
    let answered = say(
        ctx,
        format!(
            "Cancelled `{}` ({}) with {}. They'll get a DM{}.",
            cancelled.id,
            when(cancelled.interval.start()),
            said(other, 60),
            if reason.is_some() {
                " with your reason"
            } else {
                ""
            }
        ),
    )
    .await;
    if let (Ok(()), poise::Context::Application(app)) = (&answered, ctx) {
        data.followups
            .remember(cancelled.id.as_str(), me(ctx).0, &app.interaction.token);
    }
    (data.wake_jobs)();
    answered
}

/// Move one of your sessions to another free slot of the same mentor.
#[poise::command(slash_command)]
pub async fn reschedule(
    ctx: Context<'_>,
    #[description = "The booking id, e.g. K7Q2MD"]
    #[autocomplete = "ac_my_bookings"]
    #[max_length = 20]
    booking: String,
) -> Result<(), BotError> {
    let data = ctx.data();
    let now = Utc::now();
    let current = data.service.reschedulable(me(ctx), &booking, now).await?;
    let day = data
        .service
        .day_slots(current.mentor, me(ctx), None, Some(&current.id), now)
        .await?;
    let mentor_name = if current.mentor == me(ctx) {
        "you".to_owned()
    } else {
        current.mentor_name.clone()
    };
    let notice = format!(
        "Now: {}. Pick the new time.",
        when(current.interval.start())
    );
    let (embed, rows) = render(&PickerView {
        mentor: current.mentor,
        mentor_name: &mentor_name,
        day: &day,
        mode: &Mode::Move(current.id.clone()),
        page: 0,
        chosen: None,
        notice: Some(&notice),
    });
    show(ctx, embed, rows).await
}
