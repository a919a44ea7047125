//! The component router: picker buttons and selects, `/bookings` pages, and the Confirm /
//! Not me of a calendar connection. Each click is
//! handled from its `custom_id` and the database alone, and re-validated by the service.

use chrono::Utc;
use poise::serenity_prelude as serenity;

use super::connect::ConnectAnswer;
use super::errors::message_for;
use super::picker::{Mode, PickerId, PickerView, render};
use super::render::{booking_field, said, when};
use super::{BotError, Data, display_name};
use crate::domain::{BookingId, GuildId, RoleFilter, UserId};
use crate::scheduling::booking::Rejection;
use crate::service::{BookRequest, ServiceError};

/// Bookings per `/bookings` page.
const BOOKINGS_PAGE: usize = 8;

/// poise's event hook: routes component interactions.
pub async fn on_event(
    framework: poise::FrameworkContext<'_, Data, BotError>,
    event: &serenity::FullEvent,
) -> Result<(), BotError> {
    if let serenity::FullEvent::InteractionCreate {
        interaction: serenity::Interaction::Component(click),
    } = event
    {
        let ctx = framework.serenity_context;
        let data = framework.user_data;
        if let Err(error) = route(ctx, data, click).await {
            let text = message_for(
                &format!(
                    "component {}",
                    click
                        .data
                        .custom_id
                        .split(':')
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(":")
                ),
                &error,
            );
            let reply = serenity::CreateInteractionResponse::Message(
                serenity::CreateInteractionResponseMessage::new()
                    .content(text)
                    .ephemeral(true)
                    .allowed_mentions(serenity::CreateAllowedMentions::new()),
            );
            if let Err(e) = click.create_response(&ctx.http, reply).await {
                tracing::warn!(error = %crate::cause::chain(&e), "could not answer a component");
            }
        }
    }
    Ok(())
}

async fn route(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
) -> Result<(), BotError> {
    let id = click.data.custom_id.as_str();
    if let Some(page) = BookingsPageId::decode(id) {
        let user = UserId(click.user.id.get());
        let (embed, rows) = bookings_page(data, user, page.role, page.past, page.page).await?;
        return update(ctx, click, embed, rows).await;
    }
    if let Some(asked) = super::commands::decode_delete(id) {
        return super::commands::confirm_delete(ctx, data, click, asked).await;
    }
    if let Some(answer) = ConnectAnswer::decode(id) {
        return super::connect::answer(ctx, data, click, answer).await;
    }
    let Some(picked) = PickerId::decode(id) else {
        return Err(BotError::User(
            "This button is no longer valid. Run `/book` or `/bookings` again.".into(),
        ));
    };
    let viewer = UserId(click.user.id.get());
    let now = Utc::now();
    match picked {
        PickerId::Day { mentor, date, mode } => {
            show_day(ctx, data, click, Show::day(mentor, date, mode)).await
        }
        PickerId::Page {
            mentor,
            date,
            mode,
            page,
        } => {
            let show = Show {
                page,
                ..Show::day(mentor, date, mode)
            };
            show_day(ctx, data, click, show).await
        }
        PickerId::Select {
            mentor,
            date,
            mode,
            page,
        } => {
            let chosen = match &click.data.kind {
                serenity::ComponentInteractionDataKind::StringSelect { values } => values
                    .first()
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0)),
                _ => None,
            };
            let Some(chosen) = chosen else {
                return Err(BotError::User("Pick one of the times in the list.".into()));
            };
            let show = Show {
                page,
                chosen: Some(chosen),
                ..Show::day(mentor, date, mode)
            };
            show_day(ctx, data, click, show).await
        }
        PickerId::Confirm {
            mentor,
            start,
            mode,
        } => {
            data.writes.check(click.user.id.get())?;
            let result = match &mode {
                Mode::Book => {
                    check_mentor_role(ctx, data, click.guild_id, mentor).await?;
                    let mentor_name = data
                        .service
                        .user_name(mentor)
                        .await?
                        .unwrap_or_else(|| "your mentor".to_owned());
                    let request = BookRequest {
                        mentor,
                        mentee: viewer,
                        mentor_name,
                        mentee_name: display_name(&click.user),
                        start,
                        guild: click.guild_id.map(|g| GuildId(g.get())),
                    };
                    data.service.book(&request, now).await
                }
                Mode::Move(id) => {
                    // The rule of the server it was booked in, wherever the move started
                    // (a DM has none of its own).
                    let current = data.service.reschedulable(viewer, id.as_str(), now).await?;
                    let guild = current
                        .guild
                        .map(|g| serenity::GuildId::new(g.0.max(1)))
                        .or(click.guild_id);
                    check_mentor_role(ctx, data, guild, mentor).await?;
                    data.service
                        .reschedule(viewer, id.as_str(), start, now)
                        .await
                }
            };
            match result {
                Ok(booking) => {
                    let (_, other) = booking.other_person(viewer);
                    let (title, line) = match mode {
                        Mode::Book => (
                            "Booked ✅",
                            "The mentor gets a DM; you'll get a confirmation too.",
                        ),
                        Mode::Move(_) => {
                            ("Moved ✅", "The other person gets a DM about the new time.")
                        }
                    };
                    let embed = serenity::CreateEmbed::new().title(title).description(format!(
                        "Booking `{}` with **{}**: {} · {} min.\n{line}\n`/bookings` lists your sessions.",
                        booking.id,
                        said(other, 60),
                        when(booking.interval.start()),
                        booking.interval.duration().num_minutes()
                    ));
                    let answered = update(ctx, click, embed, vec![]).await;
                    if answered.is_ok() {
                        data.followups
                            .remember(booking.id.as_str(), viewer.0, &click.token);
                    }
                    (data.wake_jobs)();
                    answered
                }
                Err(ServiceError::Rejected(Rejection::SlotTaken | Rejection::DayFull)) => {
                    let tz = data.service.viewer_tz(mentor, viewer, now).await?;
                    let date = start.with_timezone(&tz).date_naive();
                    let show = Show {
                        notice: Some("That slot was just taken. Here are the free times now."),
                        ..Show::day(mentor, date, mode)
                    };
                    show_day(ctx, data, click, show).await
                }
                Err(other) => Err(other.into()),
            }
        }
    }
}

fn moving(mode: &Mode) -> Option<&BookingId> {
    match mode {
        Mode::Book => None,
        Mode::Move(id) => Some(id),
    }
}

/// Which picker view to show after a click.
struct Show<'a> {
    mentor: UserId,
    date: chrono::NaiveDate,
    mode: Mode,
    page: usize,
    chosen: Option<chrono::DateTime<Utc>>,
    notice: Option<&'a str>,
}

impl Show<'_> {
    /// The first page of `date`, nothing chosen.
    fn day(mentor: UserId, date: chrono::NaiveDate, mode: Mode) -> Self {
        Show {
            mentor,
            date,
            mode,
            page: 0,
            chosen: None,
            notice: None,
        }
    }
}

async fn show_day(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
    show: Show<'_>,
) -> Result<(), BotError> {
    let viewer = UserId(click.user.id.get());
    let mentor = show.mentor;
    if let Mode::Move(id) = &show.mode {
        // A move picker shows the booking's own time as free: only its two people may
        // open one, and only for the booking's own mentor.
        let booking = data
            .service
            .reschedulable(viewer, id.as_str(), Utc::now())
            .await?;
        if booking.mentor != mentor {
            return Err(ServiceError::Rejected(Rejection::NotFound).into());
        }
    }
    let day = data
        .service
        .day_slots(
            mentor,
            viewer,
            Some(show.date),
            moving(&show.mode),
            Utc::now(),
        )
        .await?;
    let mentor_name = if mentor == viewer {
        "you".to_owned()
    } else {
        data.service
            .user_name(mentor)
            .await?
            .unwrap_or_else(|| "your mentor".to_owned())
    };
    let (embed, rows) = render(&PickerView {
        mentor,
        mentor_name: &mentor_name,
        day: &day,
        mode: &show.mode,
        page: show.page,
        chosen: show.chosen,
        notice: show.notice,
    });
    update(ctx, click, embed, rows).await
}

async fn update(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    embed: serenity::CreateEmbed,
    rows: Vec<serenity::CreateActionRow>,
) -> Result<(), BotError> {
    // The picker shows names people chose: nothing in it may ping.
    let message = serenity::CreateInteractionResponseMessage::new()
        .embed(embed)
        .components(rows);
    update_with(ctx, click, message).await
}

/// Answers `click` by updating its message to `message`, which pings no one.
async fn update_with(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    message: serenity::CreateInteractionResponseMessage,
) -> Result<(), BotError> {
    let message = message.allowed_mentions(serenity::CreateAllowedMentions::new());
    click
        .create_response(
            &ctx.http,
            serenity::CreateInteractionResponse::UpdateMessage(message),
        )
        .await?;
    Ok(())
}

/// Replaces the clicked message by `text` without buttons (a question once answered).
pub(super) async fn replace_with_text(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    text: String,
) -> Result<(), BotError> {
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .components(vec![]);
    update_with(ctx, click, message).await
}

/// Whether `mentor` holds `role` in `guild` (`false` when they are not a member).
pub async fn holds_mentor_role(
    ctx: &serenity::Context,
    guild: serenity::GuildId,
    mentor: UserId,
    role: Option<crate::domain::RoleId>,
) -> Result<bool, BotError> {
    let Some(role) = role else {
        return Ok(true);
    };
    match guild
        .member(&ctx.http, serenity::UserId::new(mentor.0.max(1)))
        .await
    {
        Ok(member) => Ok(member.roles.iter().any(|r| r.get() == role.0)),
        // 10007 Unknown Member: they left the server (or never were in it).
        Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)))
            if response.status_code.as_u16() == 404 =>
        {
            Ok(false)
        }
        Err(e) => Err(BotError::Discord(e)),
    }
}

/// Refuses a mentor who lacks the server's mentor role (when the server set one).
pub async fn check_mentor_role(
    ctx: &serenity::Context,
    data: &Data,
    guild: Option<serenity::GuildId>,
    mentor: UserId,
) -> Result<(), BotError> {
    let Some(guild) = guild else {
        return Ok(());
    };
    let Some(role) = data.service.mentor_role(GuildId(guild.get())).await? else {
        return Ok(());
    };
    let member = guild
        .member(&ctx.http, serenity::UserId::new(mentor.0))
        .await;
    match member {
        Ok(member) if member.roles.iter().any(|r| r.get() == role.0) => Ok(()),
        Ok(_) => Err(BotError::User(
            "That person isn't a mentor in this server (they don't have the server's mentor role). `/mentors` lists who is.".into(),
        )),
        // 10007 Unknown Member: they left the server (or never were in it).
        Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)))
            if response.status_code.as_u16() == 404 =>
        {
            Err(BotError::User(
                "That person isn't a mentor in this server (they aren't a member of it). `/mentors` lists who is.".into(),
            ))
        }
        Err(e) => Err(BotError::Discord(e)),
    }
}

/// `bk:<role>:<past>:<page>`, a `/bookings` page button.
struct BookingsPageId {
    role: RoleFilter,
    past: bool,
    page: usize,
}

impl BookingsPageId {
    fn encode(&self) -> String {
        let role = match self.role {
            RoleFilter::Both => "b",
            RoleFilter::Mentor => "r",
            RoleFilter::Mentee => "e",
        };
        format!("bk:{role}:{}:{}", u8::from(self.past), self.page)
    }

    fn decode(id: &str) -> Option<BookingsPageId> {
        let mut parts = id.strip_prefix("bk:")?.split(':');
        let role = match parts.next()? {
            "b" => RoleFilter::Both,
            "r" => RoleFilter::Mentor,
            "e" => RoleFilter::Mentee,
            _ => return None,
        };
        let past = match parts.next()? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        let page = parts.next()?.parse().ok().filter(|p| *p < 100)?;
        parts
            .next()
            .is_none()
            .then_some(BookingsPageId { role, past, page })
    }
}

/// One page of `/bookings`.
pub async fn bookings_page(
    data: &Data,
    user: UserId,
    role: RoleFilter,
    past: bool,
    page: usize,
) -> Result<(serenity::CreateEmbed, Vec<serenity::CreateActionRow>), BotError> {
    let limit = ((page + 1) * BOOKINGS_PAGE + 1) as u32;
    let all = data
        .service
        .bookings(user, role, past, Utc::now(), limit)
        .await?;
    let shown: Vec<_> = all
        .iter()
        .skip(page * BOOKINGS_PAGE)
        .take(BOOKINGS_PAGE)
        .collect();
    let title = if past {
        "Your past sessions"
    } else {
        "Your upcoming sessions"
    };
    let mut embed = serenity::CreateEmbed::new().title(title);
    if shown.is_empty() {
        embed = embed.description(if past {
            "Nothing here yet."
        } else {
            "No upcoming sessions. Book one with `/book` or see `/mentors`."
        });
    }
    for booking in &shown {
        let (name, value) = booking_field(booking, user);
        embed = embed.field(name, value, false);
    }
    let more = all.len() > (page + 1) * BOOKINGS_PAGE;
    let mut buttons = Vec::new();
    if page > 0 {
        buttons.push(
            serenity::CreateButton::new(
                BookingsPageId {
                    role,
                    past,
                    page: page - 1,
                }
                .encode(),
            )
            .label("◀ Sooner")
            .style(serenity::ButtonStyle::Secondary),
        );
    }
    if more {
        buttons.push(
            serenity::CreateButton::new(
                BookingsPageId {
                    role,
                    past,
                    page: page + 1,
                }
                .encode(),
            )
            .label("Later ▶")
            .style(serenity::ButtonStyle::Secondary),
        );
    }
    let rows = if buttons.is_empty() {
        vec![]
    } else {
        vec![serenity::CreateActionRow::Buttons(buttons)]
    };
    Ok((embed, rows))
}
