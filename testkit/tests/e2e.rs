//! End to end: a minimal poise 0.7.1 bot, connected to the fake exactly as mentorbot connects
//! (`HttpBuilder::proxy(api_base).ratelimiter_disabled(true)` and `new_with_http`), driven
//! through the testkit API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serde_json::json;
use testkit::{FakeDiscord, FakeUser, Opt, Place};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Context<'a> = poise::Context<'a, Data, Error>;

const WAIT: Duration = Duration::from_secs(5);
const THREE_SECONDS: Duration = Duration::from_secs(3);

/// Shared between the bot and the test.
#[derive(Default)]
struct Probe {
    /// Releases `/late`.
    go: Notify,
    /// What `/late` got back when it finally answered.
    late_result: Mutex<Option<String>>,
}

struct Data {
    probe: Arc<Probe>,
}

/// Describes a serenity error the way the bot would log it: HTTP status, Discord code, message.
fn describe(e: &serenity::Error) -> String {
    match e {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) => format!(
            "{} {} {}",
            r.status_code.as_u16(),
            r.error.code,
            r.error.message
        ),
        other => other.to_string(),
    }
}

/// Demo commands.
#[poise::command(
    slash_command,
    subcommands("ping", "pick", "slow"),
    subcommand_required
)]
async fn demo(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Pings a user.
#[poise::command(slash_command)]
async fn ping(
    ctx: Context<'_>,
    #[description = "Who to ping"] who: serenity::User,
) -> Result<(), Error> {
    let again = serenity::CreateButton::new(format!("again:{}", who.id)).label("Again");
    ctx.send(
        poise::CreateReply::default()
            .content(format!("Pong, {}!", who.name))
            .ephemeral(true)
            .components(vec![serenity::CreateActionRow::Buttons(vec![again])]),
    )
    .await?;
    Ok(())
}

/// Offers a choice.
#[poise::command(slash_command)]
async fn pick(ctx: Context<'_>) -> Result<(), Error> {
    let options = ["a", "b", "c"]
        .iter()
        .map(|v| serenity::CreateSelectMenuOption::new(format!("Option {v}"), *v))
        .collect();
    let menu =
        serenity::CreateSelectMenu::new("pick", serenity::CreateSelectMenuKind::String { options });
    ctx.send(
        poise::CreateReply::default()
            .content("Pick one")
            .ephemeral(true)
            .components(vec![serenity::CreateActionRow::SelectMenu(menu)]),
    )
    .await?;
    Ok(())
}

/// Defers, then answers.
#[poise::command(slash_command)]
async fn slow(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    ctx.say("Done after a deferral").await?;
    Ok(())
}

async fn zone_names(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let partial = partial.to_lowercase();
    let choices = [
        "Europe/Berlin",
        "Europe/Paris",
        "America/New_York",
        "Asia/Tokyo",
    ]
    .into_iter()
    .filter(|z| z.to_lowercase().contains(&partial))
    .map(serenity::AutocompleteChoice::from)
    .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Sets a zone.
#[poise::command(slash_command)]
async fn zone(
    ctx: Context<'_>,
    #[description = "IANA zone"]
    #[autocomplete = "zone_names"]
    name: String,
    #[description = "Hours"]
    #[min = 0]
    #[max = 24]
    hours: Option<i64>,
    #[description = "Shout it"] loud: Option<bool>,
) -> Result<(), Error> {
    ctx.say(format!(
        "Zone {name} hours={} loud={}",
        hours.unwrap_or(-1),
        loud.unwrap_or(false)
    ))
    .await?;
    Ok(())
}

/// DMs you a reminder.
#[poise::command(slash_command)]
async fn remind(ctx: Context<'_>) -> Result<(), Error> {
    let dm = ctx
        .author()
        .direct_message(
            ctx,
            serenity::CreateMessage::new().content("Reminder: session at <t:1700000000:F>"),
        )
        .await;
    let text = match dm {
        Ok(_) => "Sent you a DM".to_string(),
        Err(e) => format!("Could not DM you: {}", describe(&e)),
    };
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true))
        .await?;
    Ok(())
}

/// Answers twice.
#[poise::command(slash_command)]
async fn twice(ctx: Context<'_>) -> Result<(), Error> {
    ctx.say("first").await?;
    let poise::Context::Application(app) = ctx else {
        return Ok(());
    };
    let second = app
        .interaction
        .create_response(
            ctx,
            serenity::CreateInteractionResponse::Message(
                serenity::CreateInteractionResponseMessage::new().content("second"),
            ),
        )
        .await;
    let text = match second {
        Ok(()) => "second: accepted".to_string(),
        Err(e) => format!("second: {}", describe(&e)),
    };
    ctx.say(text).await?;
    Ok(())
}

/// Answers when the test says so.
#[poise::command(slash_command)]
async fn late(ctx: Context<'_>) -> Result<(), Error> {
    ctx.data().probe.go.notified().await;
    let result = ctx
        .say("finally")
        .await
        .map(|_| ())
        .map_err(|e| describe(&e));
    *ctx.data().probe.late_result.lock().unwrap() = Some(match result {
        Ok(()) => "accepted".to_string(),
        Err(e) => e,
    });
    Ok(())
}

/// Never answers (the test answers through raw HTTP).
#[poise::command(slash_command)]
async fn silent(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Opens a feedback form.
#[poise::command(slash_command)]
async fn feedback(ctx: Context<'_>) -> Result<(), Error> {
    let poise::Context::Application(app) = ctx else {
        return Ok(());
    };
    let input = serenity::CreateInputText::new(
        serenity::InputTextStyle::Paragraph,
        "Your feedback",
        "text",
    )
    .max_length(200);
    let modal = serenity::CreateModal::new("feedback", "Feedback")
        .components(vec![serenity::CreateActionRow::InputText(input)]);
    app.interaction
        .create_response(ctx, serenity::CreateInteractionResponse::Modal(modal))
        .await?;
    Ok(())
}

/// Server settings (needs Manage Server; the bot checks too).
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    required_permissions = "MANAGE_GUILD"
)]
async fn admin(ctx: Context<'_>) -> Result<(), Error> {
    ctx.say("admin ok").await?;
    Ok(())
}

/// Lists the servers in serenity's cache (filled from GUILD_CREATE).
#[poise::command(slash_command)]
async fn servers(ctx: Context<'_>) -> Result<(), Error> {
    let cache = ctx.cache();
    let mut names: Vec<String> = cache
        .guilds()
        .into_iter()
        .filter_map(|g| {
            cache
                .guild(g)
                .map(|g| format!("{} ({} roles)", g.name, g.roles.len()))
        })
        .collect();
    names.sort();
    ctx.say(names.join(", ")).await?;
    Ok(())
}

/// Says hi to a user (user context menu).
#[poise::command(context_menu_command = "Say hi")]
async fn say_hi(ctx: Context<'_>, user: serenity::User) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content(format!("Hi {}, from {}", user.name, ctx.author().name))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Components and modals go through one plain `InteractionCreate` handler, as mentorbot does.
async fn on_event(
    framework: poise::FrameworkContext<'_, Data, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    let serenity::FullEvent::InteractionCreate { interaction } = event else {
        return Ok(());
    };
    let reply = match interaction {
        serenity::Interaction::Component(c) => match &c.data.kind {
            serenity::ComponentInteractionDataKind::Button
                if c.data.custom_id.starts_with("again:") =>
            {
                let disabled = serenity::CreateButton::new(c.data.custom_id.clone())
                    .label("Again")
                    .disabled(true);
                let update = serenity::CreateInteractionResponseMessage::new()
                    .content(format!("Pinged again by {}", c.user.name))
                    .components(vec![serenity::CreateActionRow::Buttons(vec![disabled])]);
                c.create_response(
                    ctx,
                    serenity::CreateInteractionResponse::UpdateMessage(update),
                )
                .await
            }
            serenity::ComponentInteractionDataKind::StringSelect { values } => {
                let msg = serenity::CreateInteractionResponseMessage::new()
                    .content(format!("You picked {}", values.join(",")))
                    .ephemeral(true);
                c.create_response(ctx, serenity::CreateInteractionResponse::Message(msg))
                    .await
            }
            _ => Ok(()),
        },
        serenity::Interaction::Modal(m) => {
            let text = m
                .data
                .components
                .iter()
                .flat_map(|row| &row.components)
                .find_map(|c| match c {
                    serenity::ActionRowComponent::InputText(t) => t.value.clone(),
                    _ => None,
                })
                .unwrap_or_default();
            let msg = serenity::CreateInteractionResponseMessage::new()
                .content(format!("Thanks: {text}"))
                .ephemeral(true);
            m.create_response(ctx, serenity::CreateInteractionResponse::Message(msg))
                .await
        }
        _ => Ok(()),
    };
    reply.map_err(Into::into)
}

/// Where the bot registers its commands.
#[derive(Clone, Copy)]
enum Scope {
    Global,
    Guild(u64),
}

struct Bot {
    shard_manager: Arc<serenity::ShardManager>,
    task: JoinHandle<()>,
    probe: Arc<Probe>,
}

impl Bot {
    async fn start(fake: &FakeDiscord, scope: Scope) -> Bot {
        Self::start_with(fake, scope, false).await
    }

    /// `autoshard`: `Client::start_autosharded` (asks `GET /gateway/bot`) instead of `start`.
    async fn start_with(fake: &FakeDiscord, scope: Scope, autoshard: bool) -> Bot {
        let probe = Arc::new(Probe::default());
        let data_probe = probe.clone();
        let framework = poise::Framework::builder()
            .options(poise::FrameworkOptions {
                commands: vec![
                    demo(),
                    zone(),
                    remind(),
                    twice(),
                    late(),
                    silent(),
                    feedback(),
                    say_hi(),
                    admin(),
                    servers(),
                ],
                event_handler: |framework, event| Box::pin(on_event(framework, event)),
                ..Default::default()
            })
            .setup(move |ctx, _ready, framework| {
                Box::pin(async move {
                    let commands = &framework.options().commands;
                    match scope {
                        Scope::Global => poise::builtins::register_globally(ctx, commands).await?,
                        Scope::Guild(g) => {
                            poise::builtins::register_in_guild(
                                ctx,
                                commands,
                                serenity::GuildId::new(g),
                            )
                            .await?
                        }
                    }
                    Ok(Data { probe: data_probe })
                })
            })
            .build();
        let http = serenity::HttpBuilder::new(FakeDiscord::TOKEN)
            .proxy(fake.api_base())
            .ratelimiter_disabled(true)
            .build();
        let mut client = serenity::ClientBuilder::new_with_http(
            http,
            serenity::GatewayIntents::non_privileged(),
        )
        .framework(framework)
        .await
        .expect("build the serenity client");
        let shard_manager = client.shard_manager.clone();
        let task = tokio::spawn(async move {
            let run = if autoshard {
                client.start_autosharded().await
            } else {
                client.start().await
            };
            if let Err(e) = run {
                eprintln!("bot stopped: {e}");
            }
        });
        Bot {
            shard_manager,
            task,
            probe,
        }
    }

    async fn stop(self) {
        self.shard_manager.shutdown_all().await;
        let _ = tokio::time::timeout(WAIT, self.task).await;
    }
}

async fn fake_with_bot() -> (FakeDiscord, Bot) {
    let fake = FakeDiscord::start().await;
    let bot = Bot::start(&fake, Scope::Global).await;
    fake.wait_ready(WAIT).await.unwrap();
    fake.wait_commands(WAIT).await.unwrap();
    (fake, bot)
}

fn assert_clean(fake: &FakeDiscord) {
    fake.assert_all_answered_within(THREE_SECONDS).unwrap();
    assert_eq!(fake.unknown_routes(), Vec::<(String, String)>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_in_a_group_replies_ephemerally_and_its_button_updates_the_message() {
    let (fake, bot) = fake_with_bot().await;
    let alice = fake.user("alice");
    let bob = fake.user("bob");

    let pending = fake
        .slash(
            &alice,
            Place::Guild,
            "demo ping",
            vec![Opt::user("who", &bob)],
        )
        .await;
    let response = pending.response().await.unwrap();
    assert_eq!(response.kind, 4);
    let reply = pending.settled().await.unwrap();
    assert!(reply.ephemeral);
    assert_eq!(reply.text(), "Pong, bob!");
    assert_eq!(
        reply.buttons(),
        vec![("Again".to_string(), format!("again:{}", bob.id), false)]
    );

    let err = fake
        .click(&bob, &reply, &format!("again:{}", bob.id))
        .await
        .response()
        .await;
    assert!(
        err.unwrap_err().contains("cannot see"),
        "bob cannot click alice's ephemeral reply"
    );

    let click = fake
        .click(&alice, &reply, &format!("again:{}", bob.id))
        .await;
    assert_eq!(click.response().await.unwrap().kind, 7);
    let updated = click.settled().await.unwrap();
    assert_eq!(updated.id, reply.id, "the update edits the clicked message");
    assert_eq!(updated.content, "Pinged again by alice");
    assert!(updated.buttons()[0].2, "the button is now disabled");
    let again = fake
        .click(&alice, &updated, &format!("again:{}", bob.id))
        .await;
    assert!(again.response().await.unwrap_err().contains("disabled"));

    assert_clean(&fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_filtered_choices_and_the_command_gets_typed_options() {
    let (fake, bot) = fake_with_bot().await;
    let alice = fake.user("alice");

    let choices = fake
        .autocomplete(
            &alice,
            Place::Dm,
            "zone",
            vec![Opt::str("name", "eur")],
            "name",
        )
        .await
        .unwrap();
    let names: Vec<&str> = choices.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Europe/Berlin", "Europe/Paris"]);
    assert_eq!(choices[0].1, json!("Europe/Berlin"));

    let reply = fake
        .slash(
            &alice,
            Place::Guild,
            "zone",
            vec![
                Opt::str("name", "Asia/Tokyo"),
                Opt::int("hours", 3),
                Opt::bool("loud", true),
            ],
        )
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(reply.content, "Zone Asia/Tokyo hours=3 loud=true");
    assert!(!reply.ephemeral);

    // What a Discord client would not let a user send never reaches the bot.
    let out_of_range = fake
        .slash(
            &alice,
            Place::Guild,
            "zone",
            vec![Opt::str("name", "x"), Opt::int("hours", 25)],
        )
        .await;
    assert!(
        out_of_range
            .response()
            .await
            .unwrap_err()
            .contains("outside")
    );
    let missing = fake.slash(&alice, Place::Guild, "zone", vec![]).await;
    assert!(
        missing
            .response()
            .await
            .unwrap_err()
            .contains("required option \"name\"")
    );
    let wrong_type = fake
        .slash(&alice, Place::Guild, "zone", vec![Opt::int("name", 3)])
        .await;
    assert!(
        wrong_type
            .response()
            .await
            .unwrap_err()
            .contains("cannot put")
    );
    let unknown = fake.slash(&alice, Place::Guild, "nope", vec![]).await;
    assert!(
        unknown
            .response()
            .await
            .unwrap_err()
            .contains("no command \"nope\"")
    );
    let no_sub = fake.slash(&alice, Place::Guild, "demo", vec![]).await;
    assert!(no_sub.response().await.unwrap_err().contains("subcommand"));

    assert_clean(&fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_select_and_a_deferred_reply_settle_into_the_messages_the_user_sees() {
    let (fake, bot) = fake_with_bot().await;
    let alice = fake.user("alice");

    let menu = fake
        .slash(&alice, Place::Guild, "demo pick", vec![])
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(
        menu.select_options("pick"),
        vec![
            ("Option a".to_string(), "a".to_string()),
            ("Option b".to_string(), "b".to_string()),
            ("Option c".to_string(), "c".to_string()),
        ]
    );
    let bad = fake.select(&alice, &menu, "pick", &["z"]).await;
    assert!(
        bad.response()
            .await
            .unwrap_err()
            .contains("not one of its options")
    );
    let picked = fake
        .select(&alice, &menu, "pick", &["b"])
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(picked.content, "You picked b");
    assert!(picked.ephemeral);

    let slow = fake.slash(&alice, Place::Dm, "demo slow", vec![]).await;
    let response = slow.response().await.unwrap();
    assert_eq!(response.kind, 5);
    let done = slow.settled().await.unwrap();
    assert_eq!(done.content, "Done after a deferral");
    assert!(done.ephemeral, "the deferral's ephemerality carries over");
    assert!(
        slow.followups().is_empty(),
        "the first follow-up filled the deferred reply"
    );

    let log = fake.interaction_log();
    let deferred = log.iter().find(|i| i.name == "demo slow").unwrap();
    assert!(deferred.result.unwrap() >= deferred.first_response.unwrap());
    assert_clean(&fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_context_menu_and_a_modal_round_trip() {
    let (fake, bot) = fake_with_bot().await;
    let alice = fake.user("alice");
    let bob = fake.user("bob");

    let hi = fake.user_menu(&alice, Place::Guild, "Say hi", &bob).await;
    assert_eq!(hi.settled().await.unwrap().content, "Hi bob, from alice");

    let opened = fake.slash(&alice, Place::Guild, "feedback", vec![]).await;
    assert_eq!(opened.response().await.unwrap().kind, 9);
    let too_long = "x".repeat(201);
    let refused = fake
        .submit_modal(&alice, &opened, &[("text", &too_long)])
        .await;
    assert!(refused.response().await.unwrap_err().contains("characters"));
    let thanks = fake
        .submit_modal(&alice, &opened, &[("text", "great sessions")])
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(thanks.content, "Thanks: great sessions");

    assert_clean(&fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_reaches_the_user_and_closed_dms_reach_the_bot_as_error_50007_without_retries() {
    let (fake, bot) = fake_with_bot().await;
    let alice = fake.user("alice");
    let bob = fake.user("bob");

    let ok = fake
        .slash(&alice, Place::Guild, "remind", vec![])
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(ok.content, "Sent you a DM");
    let dms = fake.wait_dms(alice.id, 1, WAIT).await.unwrap();
    assert_eq!(dms.len(), 1);
    assert!(dms[0].text().contains("<t:1700000000:F>"));

    fake.set_dms_closed(bob.id, true);
    let closed = fake
        .slash(&bob, Place::Guild, "remind", vec![])
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(
        closed.content,
        "Could not DM you: 403 50007 Cannot send messages to this user"
    );
    assert!(fake.dms(bob.id).is_empty());
    let posts = fake
        .requests()
        .into_iter()
        .filter(|(m, p)| m == "POST" && p.starts_with("/channels/") && p.ends_with("/messages"))
        .count();
    assert_eq!(posts, 2, "one DM attempt each, no retries");

    assert_clean(&fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_request_reaches_the_bot_as_a_429_and_the_next_one_passes() {
    let (fake, bot) = fake_with_bot().await;
    let alice = fake.user("alice");

    fake.rate_limit_next("POST /channels/*/messages", 1, 0.25);
    let limited = fake
        .slash(&alice, Place::Guild, "remind", vec![])
        .await
        .settled()
        .await
        .unwrap();
    // serenity cannot decode a 429 body without `code`, so the bot sees code -1 and no
    // retry_after: it knows only the status.
    assert!(
        limited.content.starts_with("Could not DM you: 429 -1"),
        "{}",
        limited.content
    );
    let rejection = fake
        .rejections()
        .into_iter()
        .find(|r| r.status == 429)
        .unwrap();
    assert_eq!(rejection.body["retry_after"], json!(0.25));
    assert_eq!(rejection.body["global"], json!(false));

    let ok = fake
        .slash(&alice, Place::Guild, "remind", vec![])
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(ok.content, "Sent you a DM");
    assert_clean(&fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_initial_response_is_refused_with_40060_and_a_late_one_with_10062() {
    let (fake, bot) = fake_with_bot().await;
    let alice = fake.user("alice");

    let twice = fake.slash(&alice, Place::Guild, "twice", vec![]).await;
    assert_eq!(twice.settled().await.unwrap().content, "first");
    let followups = twice.wait_followups(1, WAIT).await.unwrap();
    assert_eq!(
        followups[0].content,
        "second: 400 40060 Interaction has already been acknowledged."
    );
    assert_eq!(
        twice.refusals(),
        vec!["400 40060 Interaction has already been acknowledged.".to_string()]
    );

    let late = fake.slash(&alice, Place::Guild, "late", vec![]).await;
    fake.advance_clock(Duration::from_secs(4));
    bot.probe.go.notify_one();
    let deadline = tokio::time::Instant::now() + WAIT;
    let seen = loop {
        if let Some(r) = bot.probe.late_result.lock().unwrap().clone() {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/late never finished"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(seen, "404 10062 Unknown interaction");
    assert_eq!(
        late.refusals(),
        vec!["404 10062 Unknown interaction".to_string()]
    );
    let err = late.response().await.unwrap_err();
    assert!(err.contains("10062"), "{err}");
    let unanswered = fake.assert_all_answered_within(THREE_SECONDS).unwrap_err();
    assert!(
        unanswered.contains("\"late\"") && unanswered.contains("never answered"),
        "{unanswered}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_refuses_payloads_over_discord_limits_and_expired_tokens() {
    let (fake, bot) = fake_with_bot().await;
    let alice = fake.user("alice");
    let http = serenity::HttpBuilder::new(FakeDiscord::TOKEN)
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .application_id(serenity::ApplicationId::new(fake.application_id()))
        .build();

    let pending = fake.slash(&alice, Place::Guild, "silent", vec![]).await;
    let id = serenity::InteractionId::new(pending.id());
    let token = pending.token();
    let respond = |data: serenity::CreateInteractionResponseMessage| {
        let http = &http;
        let token = token.clone();
        async move {
            http.create_interaction_response(
                id,
                &token,
                &serenity::CreateInteractionResponse::Message(data),
                vec![],
            )
            .await
        }
    };
    let options: Vec<_> = (0..26)
        .map(|i| serenity::CreateSelectMenuOption::new(format!("slot {i}"), i.to_string()))
        .collect();
    let menu = serenity::CreateSelectMenu::new(
        "slots",
        serenity::CreateSelectMenuKind::String { options },
    );
    let err = respond(serenity::CreateInteractionResponseMessage::new().select_menu(menu))
        .await
        .unwrap_err();
    let serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) = err else {
        panic!("{err}")
    };
    assert_eq!((r.status_code.as_u16(), r.error.code), (400, 50035));
    assert_eq!(
        r.error.errors[0].path,
        "data.components.0.components.0.options"
    );

    let long_link = serenity::CreateButton::new_link(format!(
        "https://accounts.google.com/o/oauth2/v2/auth?{}",
        "x".repeat(600)
    ))
    .label("Connect");
    let err = respond(serenity::CreateInteractionResponseMessage::new().button(long_link))
        .await
        .unwrap_err();
    assert!(
        describe(&err).starts_with("400 50035"),
        "{}",
        describe(&err)
    );
    assert!(fake.rejections().last().unwrap().body["errors"]["data"]["components"]["0"]["components"]["0"]["url"].is_object());

    let embeds = vec![
        serenity::CreateEmbed::new().description("d".repeat(4000)),
        serenity::CreateEmbed::new().description("d".repeat(2001)),
    ];
    let err = respond(serenity::CreateInteractionResponseMessage::new().embeds(embeds))
        .await
        .unwrap_err();
    assert!(describe(&err).starts_with("400 50035"));

    respond(serenity::CreateInteractionResponseMessage::new().content("ok"))
        .await
        .unwrap();
    let err = respond(serenity::CreateInteractionResponseMessage::new().content("again"))
        .await
        .unwrap_err();
    assert_eq!(
        describe(&err),
        "400 40060 Interaction has already been acknowledged."
    );

    let followup = serenity::CreateInteractionResponseFollowup::new().content("later");
    http.create_followup_message(&token, &followup, vec![])
        .await
        .unwrap();
    fake.advance_clock(Duration::from_secs(15 * 60 + 1));
    let err = http
        .create_followup_message(&token, &followup, vec![])
        .await
        .unwrap_err();
    assert_eq!(describe(&err), "401 50027 Invalid Webhook Token");
    assert_eq!(pending.followups().len(), 1);
    assert_eq!(fake.unknown_routes(), Vec::<(String, String)>::new());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_resumes_after_a_reconnect_and_a_restarted_bot_gets_ready_again() {
    let (fake, bot) = fake_with_bot().await;
    let alice = FakeUser::new("alice");
    assert_eq!(fake.ready_count(), 1);
    assert_eq!(fake.registration_count(), 1);

    fake.reconnect_gateway();
    let deadline = tokio::time::Instant::now() + WAIT;
    while fake.resume_count() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "serenity did not resume"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(fake.ready_count(), 1, "a resume gets no new READY");
    let reply = fake
        .slash(
            &alice,
            Place::Dm,
            "demo ping",
            vec![Opt::user("who", &alice)],
        )
        .await;
    assert_eq!(reply.settled().await.unwrap().content, "Pong, alice!");

    bot.stop().await;
    fake.wait_disconnected(WAIT).await.unwrap();
    assert!(!fake.bot_connected());

    let bot = Bot::start_with(&fake, Scope::Guild(fake.guild_id()), true).await;
    fake.wait_ready_count(2, WAIT).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while fake.registration_count() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new bot did not register"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let guild_commands: Vec<_> = fake
        .registered_commands()
        .into_iter()
        .filter(|c| c["guild_id"].is_string())
        .collect();
    assert_eq!(guild_commands.len(), 10);
    let reply = fake
        .slash(
            &alice,
            Place::Guild,
            "zone",
            vec![Opt::str("name", "Europe/Paris")],
        )
        .await;
    assert!(
        reply
            .settled()
            .await
            .unwrap()
            .content
            .starts_with("Zone Europe/Paris")
    );
    assert!(
        fake.requests()
            .contains(&("GET".to_string(), "/gateway/bot".to_string()))
    );
    assert_eq!(fake.unknown_routes(), Vec::<(String, String)>::new());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_offered_only_where_and_to_whom_discord_offers_them() {
    let (fake, bot) = fake_with_bot().await;
    let manager = fake.user("manager");
    let member = fake.user("member");
    fake.add_member(
        &manager,
        &[],
        testkit::permissions::MEMBER | testkit::permissions::MANAGE_GUILD,
    );

    let ok = fake
        .slash(&manager, Place::Guild, "admin", vec![])
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(ok.content, "admin ok");
    let in_dm = fake.slash(&manager, Place::Dm, "admin", vec![]).await;
    assert!(
        in_dm
            .response()
            .await
            .unwrap_err()
            .contains("not offered in DMs")
    );
    let hidden = fake.slash(&member, Place::Guild, "admin", vec![]).await;
    assert!(hidden.response().await.unwrap_err().contains("hidden"));

    // After an admin override the command reaches the bot, whose own check refuses.
    fake.ignore_default_member_permissions(true);
    let refused = fake
        .slash(&member, Place::Guild, "admin", vec![])
        .await
        .settled()
        .await
        .unwrap();
    assert!(refused.ephemeral);
    assert!(
        refused.text().to_lowercase().contains("permission"),
        "{}",
        refused.text()
    );

    // Registration is checked like Discord checks it (poise takes descriptions from doc
    // comments; Discord allows 100 characters).
    let http = serenity::HttpBuilder::new(FakeDiscord::TOKEN)
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .application_id(serenity::ApplicationId::new(fake.application_id()))
        .build();
    let long = serenity::CreateCommand::new("book").description("d".repeat(101));
    let err = http.create_global_commands(&vec![long]).await.unwrap_err();
    let serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)) = err else {
        panic!("{err}")
    };
    assert_eq!(r.error.code, 50035);
    assert_eq!(r.error.errors[0].path, "0.description");
    assert_eq!(fake.registration_count(), 1);

    // Servers reach serenity's cache through GUILD_CREATE, at READY and when added later;
    // global commands work in every server.
    fake.add_role("Mentor");
    let other = fake.add_guild("Other Server");
    let listed = fake
        .slash(&member, Place::InGuild(other), "servers", vec![])
        .await;
    assert_eq!(
        listed.settled().await.unwrap().content,
        "Other Server (1 roles), Test Server (2 roles)"
    );

    assert_clean(&fake);
    bot.stop().await;
}
