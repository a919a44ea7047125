//! A fake Discord for mentorbot's end-to-end tests, benchmarks and load tools.
//!
//! [`FakeDiscord::start`] serves Discord's REST API under `/api/v10` and a WebSocket gateway on
//! `127.0.0.1` (random ports). Point the bot's HTTP client at [`FakeDiscord::api_base`]
//! (serenity: `HttpBuilder::new(token).proxy(api_base).ratelimiter_disabled(true)`); gateway
//! discovery then leads serenity to the fake gateway. Tests act as users ([`FakeDiscord::slash`],
//! [`FakeDiscord::click`], …) and read what the bot answered through a [`Pending`].
//!
//! The fake is as strict as Discord where that matters: 400/50035 for payloads over Discord's
//! limits (with an `errors` tree naming the field), 40060 for a second initial response, 10062
//! after 3 s, follow-ups and edits only within 15 minutes of the interaction, 403/50007 for
//! closed DMs, and injected 429s on demand. It only sends what a Discord client could send:
//! commands and options must be registered, required options present, choices respected, and
//! components must exist and be enabled on the message clicked.
//!
//! ```no_run
//! use std::time::Duration;
//! use testkit::{FakeDiscord, Opt, Place};
//!
//! # async fn example() -> Result<(), String> {
//! let fake = FakeDiscord::start().await;
//! // Start the bot with DISCORD_API_BASE = fake.api_base() and any token, then:
//! fake.wait_ready(Duration::from_secs(5)).await?;
//! let mentor = fake.user("mentor");
//! let mentee = fake.user("mentee");
//! let picker = fake
//!     .slash(&mentee, Place::Guild, "book", vec![Opt::user("mentor", &mentor)])
//!     .await
//!     .settled()
//!     .await?;
//! let day = picker.selects()[0].clone();
//! let first_slot = picker.select_options(&day)[0].1.clone();
//! let chosen = fake.select(&mentee, &picker, &day, &[&first_slot]).await.settled().await?;
//! let confirm = chosen.button_id("Confirm").ok_or("no Confirm button")?;
//! let booked = fake.click(&mentee, &chosen, &confirm).await.settled().await?;
//! assert!(booked.text().contains("<t:"));
//! fake.wait_dms(mentor.id, 1, Duration::from_secs(5)).await?;
//! fake.assert_all_answered_within(Duration::from_secs(3))?;
//! # Ok(())
//! # }
//! ```

#![recursion_limit = "256"]
#![warn(missing_docs)]

mod gateway;
pub mod google;
mod limits;
mod payloads;
mod rest;
mod state;
mod util;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use google::{
    ClientAuth, Consent, FakeEvent, FakeGoogle, Fault, GrantedTokens, LoggedRequest, MeetMode,
    Route, TokenRequest,
};
pub use payloads::permissions;
pub use state::Rejection;

use state::{Channel, Guild, Inner, MemberInfo, RateRule, State};
use util::{snowflake, timestamp_now, token};

/// How long acting-as-a-user calls wait for a connected bot and registered commands.
const SETUP_WAIT: Duration = Duration::from_secs(5);
/// How long [`Pending::settled`] waits for the result after a deferral.
const SETTLE_WAIT: Duration = Duration::from_secs(5);
/// Slack on top of Discord's 3 s before [`Pending::response`] gives up.
const RESPONSE_GRACE: Duration = Duration::from_millis(250);

/// A Discord user the tests act as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUser {
    /// Snowflake id.
    pub id: u64,
    /// Username (also used as the global display name).
    pub name: String,
    /// The client's locale sent with every interaction (default `en-US`).
    pub locale: String,
}

impl FakeUser {
    /// A user with a fresh unique id.
    pub fn new(name: &str) -> Self {
        Self::with_id(snowflake(), name)
    }

    /// A user with a chosen id.
    pub fn with_id(id: u64, name: &str) -> Self {
        FakeUser {
            id,
            name: name.to_string(),
            locale: "en-US".to_string(),
        }
    }

    /// The same user with another client locale.
    pub fn with_locale(mut self, locale: &str) -> Self {
        self.locale = locale.to_string();
        self
    }

    /// `<@id>`, as the bot would mention this user.
    pub fn mention(&self) -> String {
        format!("<@{}>", self.id)
    }
}

/// Where a user invokes a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The default test server (its `#general` channel).
    Guild,
    /// Another server made with [`FakeDiscord::add_guild`].
    InGuild(u64),
    /// The user's DM channel with the bot.
    Dm,
}

/// An option value a user fills in.
#[derive(Clone, Debug)]
pub struct Opt {
    name: String,
    value: OptValue,
}

#[derive(Clone, Debug)]
enum OptValue {
    Str(String),
    Int(i64),
    Num(f64),
    Bool(bool),
    User(FakeUser),
    Role(u64),
    Channel(u64),
}

impl Opt {
    /// A string option.
    pub fn str(name: &str, value: &str) -> Self {
        Self::of(name, OptValue::Str(value.to_string()))
    }
    /// An integer option.
    pub fn int(name: &str, value: i64) -> Self {
        Self::of(name, OptValue::Int(value))
    }
    /// A number (float) option.
    pub fn num(name: &str, value: f64) -> Self {
        Self::of(name, OptValue::Num(value))
    }
    /// A boolean option.
    pub fn bool(name: &str, value: bool) -> Self {
        Self::of(name, OptValue::Bool(value))
    }
    /// A user option (sent with `data.resolved.users`, and `members` in a server).
    pub fn user(name: &str, user: &FakeUser) -> Self {
        Self::of(name, OptValue::User(user.clone()))
    }
    /// A role option (sent with `data.resolved.roles`).
    pub fn role(name: &str, role_id: u64) -> Self {
        Self::of(name, OptValue::Role(role_id))
    }
    /// A channel option (sent with `data.resolved.channels`).
    pub fn channel(name: &str, channel_id: u64) -> Self {
        Self::of(name, OptValue::Channel(channel_id))
    }
    fn of(name: &str, value: OptValue) -> Self {
        Opt {
            name: name.to_string(),
            value,
        }
    }
}

/// The kinds of interactions the fake sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InteractionKind {
    /// A slash command (type 2, command type 1).
    Command,
    /// Autocomplete for a slash command option (type 4).
    Autocomplete,
    /// A button click or select (type 3).
    Component,
    /// A user context menu command (type 2, command type 2).
    UserMenu,
    /// A modal submission (type 5).
    ModalSubmit,
}

/// A message as the user sees it.
#[derive(Clone, Debug)]
pub struct Message {
    /// Message id.
    pub id: u64,
    /// Channel it is in.
    pub channel_id: u64,
    /// Text content.
    pub content: String,
    /// Embed objects as Discord echoes them.
    pub embeds: Vec<Value>,
    /// Component rows.
    pub components: Vec<Value>,
    /// Only the invoking user sees it (flag 64).
    pub ephemeral: bool,
    /// The full message object.
    pub raw: Value,
}

/// Every component of action rows `rows`, in order.
fn components_in(rows: &[Value]) -> impl Iterator<Item = &Value> {
    rows.iter()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
}

impl Message {
    fn from_raw(raw: Value) -> Message {
        let list = |key: &str| raw[key].as_array().cloned().unwrap_or_default();
        Message {
            id: raw["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0),
            channel_id: raw["channel_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            content: raw["content"].as_str().unwrap_or_default().to_string(),
            embeds: list("embeds"),
            components: list("components"),
            ephemeral: raw["flags"].as_u64().unwrap_or(0) & 64 != 0,
            raw,
        }
    }

    fn all_components(&self) -> impl Iterator<Item = &Value> {
        components_in(&self.components)
    }

    /// Every button: `(label, custom_id or url for link buttons, disabled)`.
    pub fn buttons(&self) -> Vec<(String, String, bool)> {
        self.all_components()
            .filter(|c| c["type"] == 2)
            .map(|c| {
                let target = c["custom_id"].as_str().or(c["url"].as_str());
                (
                    c["label"].as_str().unwrap_or_default().to_string(),
                    target.unwrap_or_default().to_string(),
                    c["disabled"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }

    /// The custom id (or url) of the first button whose label contains `label_part`.
    pub fn button_id(&self, label_part: &str) -> Option<String> {
        self.buttons()
            .into_iter()
            .find(|(label, _, _)| label.contains(label_part))
            .map(|(_, id, _)| id)
    }

    /// Custom ids of every select menu.
    pub fn selects(&self) -> Vec<String> {
        self.all_components()
            .filter(|c| (3..=8).contains(&c["type"].as_u64().unwrap_or(0)) && c["type"] != 4)
            .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
            .collect()
    }

    /// `(label, value)` of each option of the string select `custom_id`.
    pub fn select_options(&self, custom_id: &str) -> Vec<(String, String)> {
        self.all_components()
            .filter(|c| c["type"] == 3 && c["custom_id"] == custom_id)
            .flat_map(|c| c["options"].as_array().cloned().unwrap_or_default())
            .map(|o| {
                (
                    o["label"].as_str().unwrap_or_default().to_string(),
                    o["value"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Content plus embed titles, descriptions, field names and values, footers and authors,
    /// one per line: what a reader sees, for `contains` asserts.
    pub fn text(&self) -> String {
        let mut parts = vec![self.content.clone()];
        for e in &self.embeds {
            for v in [&e["author"]["name"], &e["title"], &e["description"]] {
                if let Some(s) = v.as_str() {
                    parts.push(s.to_string());
                }
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                for v in [&f["name"], &f["value"]] {
                    if let Some(s) = v.as_str() {
                        parts.push(s.to_string());
                    }
                }
            }
            if let Some(s) = e["footer"]["text"].as_str() {
                parts.push(s.to_string());
            }
        }
        parts.retain(|p| !p.is_empty());
        parts.join("\n")
    }
}

/// The bot's initial response to an interaction.
#[derive(Clone, Debug)]
pub struct Response {
    /// Callback type: 4 message, 5 deferred message, 6 deferred update, 7 update message,
    /// 8 autocomplete result, 9 modal.
    pub kind: u8,
    /// The message shown, for types 4 and 7 (for 5, the "thinking…" placeholder).
    pub message: Option<Message>,
    /// Autocomplete choices `(name, value)`, for type 8.
    pub choices: Vec<(String, Value)>,
    /// The modal's `data`, for type 9.
    pub modal: Option<Value>,
    /// The callback body as the bot sent it.
    pub raw: Value,
    /// From sending INTERACTION_CREATE to this callback.
    pub latency: Duration,
}

/// What happened to one interaction (see [`FakeDiscord::interaction_log`]).
#[derive(Clone, Debug)]
pub struct AnsweredInteraction {
    /// Interaction id.
    pub id: u64,
    /// Its kind.
    pub kind: InteractionKind,
    /// Command path, menu name or custom id.
    pub name: String,
    /// Who acted.
    pub user_id: u64,
    /// When the fake sent INTERACTION_CREATE.
    pub sent_at: Instant,
    /// Callback type of the accepted initial response.
    pub callback_type: Option<u8>,
    /// Time to the accepted initial response.
    pub first_response: Option<Duration>,
    /// Time to the response carrying the result (the callback itself, or the edit/follow-up
    /// after a deferral).
    pub result: Option<Duration>,
    /// An initial response was accepted (within 3 s).
    pub answered: bool,
    /// Requests for this interaction that the fake refused (`"status code message"`).
    pub refusals: Vec<String>,
}

struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The fake Discord. Cheap to clone; the servers stop when the last clone is dropped.
#[derive(Clone)]
pub struct FakeDiscord {
    inner: Arc<Inner>,
    _tasks: Arc<Tasks>,
}

impl fmt::Debug for FakeDiscord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeDiscord")
            .field("api", &self.inner.api_addr)
            .field("gateway", &self.inner.gateway_addr)
            .finish()
    }
}

impl FakeDiscord {
    /// A token the bot can use (the fake accepts any non-empty `Bot` token).
    pub const TOKEN: &'static str = "testkit.fake.token";

    /// Starts the REST server and the gateway on `127.0.0.1` with random ports, with one
    /// server ("guild") that has a `#general` channel.
    pub async fn start() -> FakeDiscord {
        let api = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("testkit: bind the REST port");
        let gw = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("testkit: bind the gateway port");
        let guild_id = snowflake();
        let channel_id = snowflake();
        let mut state = State::default();
        state.guilds.insert(
            guild_id,
            Guild {
                name: "Test Server".to_string(),
                channel_id,
                members: Default::default(),
                roles: BTreeMap::new(),
            },
        );
        state.channels.insert(
            channel_id,
            Channel {
                guild_id: Some(guild_id),
                dm_user: None,
                messages: Vec::new(),
            },
        );
        let inner = Arc::new(Inner {
            api_addr: api.local_addr().expect("testkit: REST address"),
            gateway_addr: gw.local_addr().expect("testkit: gateway address"),
            application_id: snowflake(),
            bot_user_id: snowflake(),
            bot_name: "mentorbot".to_string(),
            owner: FakeUser::new("owner"),
            guild_id,
            state: std::sync::Mutex::new(state),
            changed: Default::default(),
        });
        let router = rest::router(inner.clone());
        let rest_task = tokio::spawn(async move {
            if let Err(e) = axum::serve(api, router).await {
                eprintln!("testkit: REST server stopped: {e}");
            }
        });
        let gateway_task = tokio::spawn(gateway::serve(gw, inner.clone()));
        FakeDiscord {
            inner,
            _tasks: Arc::new(Tasks(vec![rest_task, gateway_task])),
        }
    }

    /// `http://127.0.0.1:PORT`: the bot's `DISCORD_API_BASE` (serenity's HTTP proxy).
    pub fn api_base(&self) -> String {
        format!("http://{}", self.inner.api_addr)
    }

    /// `ws://127.0.0.1:PORT`: what `GET /gateway` answers.
    pub fn gateway_url(&self) -> String {
        self.inner.gateway_url()
    }

    /// The application's id.
    pub fn application_id(&self) -> u64 {
        self.inner.application_id
    }

    /// The bot user's id.
    pub fn bot_user_id(&self) -> u64 {
        self.inner.bot_user_id
    }

    /// The default test server's id.
    pub fn guild_id(&self) -> u64 {
        self.inner.guild_id
    }

    /// The default test server's `#general` channel.
    pub fn channel_id(&self) -> u64 {
        self.inner.lock().guilds[&self.inner.guild_id].channel_id
    }

    // ----- the bot's connection -----

    /// Waits until a bot is connected with a READY session.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        self.inner
            .wait_for(timeout, |s| s.live_session().then_some(()))
            .await
            .ok_or_else(|| format!("no bot connected to the fake gateway within {timeout:?}"))
    }

    /// Waits until READY has been sent `count` times in total (each IDENTIFY gets one; a
    /// RESUME does not).
    pub async fn wait_ready_count(&self, count: usize, timeout: Duration) -> Result<(), String> {
        self.inner
            .wait_for(timeout, |s| {
                (s.ready_count >= count && s.live_session()).then_some(())
            })
            .await
            .ok_or_else(|| {
                format!(
                    "READY sent {} times, expected {count} within {timeout:?}",
                    self.ready_count()
                )
            })
    }

    /// The gateway intents the bot sent in its latest IDENTIFY (0 before any).
    pub fn identified_intents(&self) -> u64 {
        self.inner.lock().intents
    }

    /// How many READYs the fake has sent.
    pub fn ready_count(&self) -> usize {
        self.inner.lock().ready_count
    }

    /// How many RESUMEs the fake has accepted.
    pub fn resume_count(&self) -> usize {
        self.inner.lock().resume_count
    }

    /// Whether a bot is connected now.
    pub fn bot_connected(&self) -> bool {
        self.inner.lock().live_session()
    }

    /// Waits until no bot is connected (after stopping one).
    pub async fn wait_disconnected(&self, timeout: Duration) -> Result<(), String> {
        self.inner
            .wait_for(timeout, |s| (!s.live_session()).then_some(()))
            .await
            .ok_or_else(|| format!("the bot was still connected after {timeout:?}"))
    }

    /// Sends op 7 RECONNECT: serenity reconnects and RESUMEs (missed events are replayed).
    pub fn reconnect_gateway(&self) {
        gateway::request_reconnect(&self.inner);
    }

    /// Sends op 9 INVALID SESSION (not resumable): serenity IDENTIFYs again and gets a new
    /// READY. serenity waits up to 5 s between IDENTIFYs of one client.
    pub fn invalidate_sessions(&self) {
        gateway::invalidate_sessions(&self.inner);
    }

    // ----- commands -----

    /// With `true`, commands whose `default_member_permissions` a user lacks are still offered
    /// to them, as after a server admin overrides the command's permissions (Server Settings →
    /// Integrations). Use it to test the bot's own permission checks. Default `false`: such
    /// commands are hidden, as Discord hides them.
    pub fn ignore_default_member_permissions(&self, ignore: bool) {
        self.inner
            .update(|s| s.ignore_default_member_permissions = ignore);
    }

    /// Commands registered so far: global ones, then guild ones (with `guild_id`), as
    /// Discord returned them (ids added).
    pub fn registered_commands(&self) -> Vec<Value> {
        let s = self.inner.lock();
        let mut out = s.global_commands.clone();
        out.extend(s.guild_commands.values().flatten().cloned());
        out
    }

    /// How many bulk overwrites (`PUT .../commands`) succeeded.
    pub fn registration_count(&self) -> usize {
        self.inner.lock().registrations
    }

    /// Waits until at least one registration succeeded.
    pub async fn wait_commands(&self, timeout: Duration) -> Result<(), String> {
        self.inner
            .wait_for(timeout, |s| (s.registrations > 0).then_some(()))
            .await
            .ok_or_else(|| format!("the bot registered no commands within {timeout:?}"))
    }

    // ----- people and servers -----

    /// A new user known to the fake (`GET /users/{id}` finds them).
    pub fn user(&self, name: &str) -> FakeUser {
        let user = FakeUser::new(name);
        self.inner.update(|s| s.users.insert(user.id, user.clone()));
        user
    }

    /// Makes `user` a member of the default server with these roles and permissions (see
    /// [`permissions`]); replaces an earlier membership. Users who act in a server without
    /// this become members with [`permissions::MEMBER`] and no roles.
    pub fn add_member(&self, user: &FakeUser, roles: &[u64], permissions: u64) {
        self.add_member_to(self.inner.guild_id, user, roles, permissions);
    }

    /// [`FakeDiscord::add_member`] for another server.
    pub fn add_member_to(&self, guild_id: u64, user: &FakeUser, roles: &[u64], permissions: u64) {
        self.inner.update(|s| {
            s.users.insert(user.id, user.clone());
            if let Some(g) = s.guilds.get_mut(&guild_id) {
                g.members.insert(
                    user.id,
                    MemberInfo {
                        roles: roles.to_vec(),
                        permissions,
                        joined_at: timestamp_now(),
                    },
                );
            }
        });
    }

    /// Removes `user` from a server's members (their interactions there re-add them as plain
    /// members).
    pub fn remove_member(&self, guild_id: u64, user: &FakeUser) {
        self.inner.update(|s| {
            if let Some(g) = s.guilds.get_mut(&guild_id) {
                g.members.remove(&user.id);
            }
        });
    }

    /// A new role in the default server; returns its id (see [`FakeDiscord::add_role_to`]).
    pub fn add_role(&self, name: &str) -> u64 {
        self.add_role_to(self.inner.guild_id, name)
    }

    /// A new role in another server; returns its id. A connected bot that asked for guild
    /// events gets `GUILD_ROLE_CREATE`.
    pub fn add_role_to(&self, guild_id: u64, name: &str) -> u64 {
        let id = snowflake();
        self.inner.update(|s| {
            if let Some(g) = s.guilds.get_mut(&guild_id) {
                g.roles.insert(id, name.to_string());
                let position = g.roles.len() as u64;
                let event = json!({
                    "guild_id": guild_id.to_string(),
                    "role": payloads::role(id, name, position, 0),
                });
                if s.wants_guild_events() {
                    s.dispatch("GUILD_ROLE_CREATE", &event);
                }
            }
        });
        id
    }

    /// Another server the bot is in; returns its id. A connected bot that asked for guild
    /// events gets its `GUILD_CREATE` now, as when a bot is added to a server; later READYs
    /// list it.
    pub fn add_guild(&self, name: &str) -> u64 {
        let (guild_id, channel_id) = (snowflake(), snowflake());
        self.inner.update(|s| {
            s.guilds.insert(
                guild_id,
                Guild {
                    name: name.to_string(),
                    channel_id,
                    members: Default::default(),
                    roles: BTreeMap::new(),
                },
            );
            s.channels.insert(
                channel_id,
                Channel {
                    guild_id: Some(guild_id),
                    dm_user: None,
                    messages: Vec::new(),
                },
            );
            if let Some(event) = s
                .guild_create(guild_id, self.inner.owner.id)
                .filter(|_| s.wants_guild_events())
            {
                s.dispatch("GUILD_CREATE", &event);
            }
        });
        guild_id
    }

    /// A server's `#general` channel.
    pub fn guild_channel_id(&self, guild_id: u64) -> Option<u64> {
        self.inner
            .lock()
            .guilds
            .get(&guild_id)
            .map(|g| g.channel_id)
    }

    // ----- acting as users -----

    /// `who` runs the slash command `path` ("availability set", "cancel", "admin mentor-role")
    /// with `options`. Checked like a Discord client would: the command and subcommand must be
    /// registered and available in `place`, options must exist with the right types, required
    /// ones present, choices and min/max respected. Waits (up to 5 s) for a connected bot and
    /// for the command's registration first.
    pub async fn slash(
        &self,
        who: &FakeUser,
        place: Place,
        path: &str,
        options: Vec<Opt>,
    ) -> Pending {
        self.command(who, place, path, options, None).await
    }

    /// `who` types into option `focused` of `path` (its current text is the value given in
    /// `options`); returns the bot's choices `(name, value)`.
    pub async fn autocomplete(
        &self,
        who: &FakeUser,
        place: Place,
        path: &str,
        options: Vec<Opt>,
        focused: &str,
    ) -> Result<Vec<(String, Value)>, String> {
        let pending = self.command(who, place, path, options, Some(focused)).await;
        let response = pending.response().await?;
        if response.kind != 8 {
            return Err(format!(
                "autocomplete answered with callback type {}, not 8",
                response.kind
            ));
        }
        Ok(response.choices)
    }

    /// `who` uses the user context menu command `name` on `target`.
    pub async fn user_menu(
        &self,
        who: &FakeUser,
        place: Place,
        name: &str,
        target: &FakeUser,
    ) -> Pending {
        let guild = match self.setup(place).await {
            Ok(g) => g,
            Err(e) => return Pending::failed(self, e),
        };
        let cmd = match self.find_command(guild, name, 2).await {
            Ok(c) => c,
            Err(e) => return Pending::failed(self, e),
        };
        if let Err(e) = self.check_available(&cmd, guild, who) {
            return Pending::failed(self, e);
        }
        let (resolved, target_json) = self.inner.update(|s| {
            s.users.entry(target.id).or_insert_with(|| target.clone());
            let mut resolved = json!({"users": {target.id.to_string(): s.user_json(target.id)}});
            if let Some(g) = guild {
                s.ensure_member(g, target);
                if let Some(m) = s.guilds[&g].members.get(&target.id) {
                    resolved["members"] = json!({target.id.to_string():
                        payloads::partial_member(&m.roles, m.permissions, &m.joined_at)});
                }
            }
            (resolved, s.user_json(target.id))
        });
        let mut data = json!({
            "id": cmd["id"],
            "name": name,
            "type": 2,
            "target_id": target.id.to_string(),
            "resolved": resolved,
        });
        if let Some(g) = cmd["guild_id"].as_str() {
            data["guild_id"] = json!(g);
        }
        self.send(Outgoing {
            kind: InteractionKind::UserMenu,
            name: name.to_string(),
            who,
            guild,
            channel: None,
            data,
            source: None,
            target_user: Some(target_json),
        })
    }

    /// `who` clicks the button `custom_id` on `message` (its current version). The button
    /// must exist, be enabled and not be a link; `who` must be able to see the message.
    pub async fn click(&self, who: &FakeUser, message: &Message, custom_id: &str) -> Pending {
        let found = self.component(who, message, custom_id, |c| {
            if c["type"] != 2 {
                return Err("it is not a button".to_string());
            }
            if c["style"] == 5 {
                return Err("it is a link button (it opens a URL, no interaction)".to_string());
            }
            Ok(())
        });
        match found {
            Ok((guild, channel)) => self.send(Outgoing {
                kind: InteractionKind::Component,
                name: custom_id.to_string(),
                who,
                guild,
                channel: Some(channel),
                data: json!({"custom_id": custom_id, "component_type": 2}),
                source: Some(message.id),
                target_user: None,
            }),
            Err(e) => Pending::failed(self, e),
        }
    }

    /// `who` sends a button click with a `custom_id` that need not be on `message`, as a
    /// modified client could (forged or stale ids). `message` must still be visible to `who`
    /// and carry at least one enabled button, whose place (server, channel) the click reuses.
    pub async fn click_forged(
        &self,
        who: &FakeUser,
        message: &Message,
        custom_id: &str,
    ) -> Pending {
        let enabled =
            |(_, id, disabled): &(String, String, bool)| !*disabled && !id.starts_with("http");
        let Some((_, real, _)) = message.buttons().into_iter().find(enabled) else {
            return Pending::failed(self, "the message has no button to forge from".to_string());
        };
        let found = self.component(who, message, &real, |_| Ok(()));
        match found {
            Ok((guild, channel)) => self.send(Outgoing {
                kind: InteractionKind::Component,
                name: custom_id.to_string(),
                who,
                guild,
                channel: Some(channel),
                data: json!({"custom_id": custom_id, "component_type": 2}),
                source: Some(message.id),
                target_user: None,
            }),
            Err(e) => Pending::failed(self, e),
        }
    }

    /// `who` picks `values` in the string select `custom_id` on `message`. The values must be
    /// options of the select and their number within `min_values..=max_values`.
    pub async fn select(
        &self,
        who: &FakeUser,
        message: &Message,
        custom_id: &str,
        values: &[&str],
    ) -> Pending {
        let found = self.component(who, message, custom_id, |c| {
            if c["type"] != 3 {
                return Err("it is not a string select".to_string());
            }
            let options: Vec<&str> = c["options"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["value"].as_str())
                .collect();
            if let Some(v) = values.iter().find(|v| !options.contains(v)) {
                return Err(format!("{v:?} is not one of its options {options:?}"));
            }
            let min = c["min_values"].as_u64().unwrap_or(1) as usize;
            let max = c["max_values"].as_u64().unwrap_or(1) as usize;
            if values.len() < min || values.len() > max {
                return Err(format!(
                    "it takes {min}..={max} values, not {}",
                    values.len()
                ));
            }
            Ok(())
        });
        match found {
            Ok((guild, channel)) => self.send(Outgoing {
                kind: InteractionKind::Component,
                name: custom_id.to_string(),
                who,
                guild,
                channel: Some(channel),
                data: json!({"custom_id": custom_id, "component_type": 3, "values": values}),
                source: Some(message.id),
                target_user: None,
            }),
            Err(e) => Pending::failed(self, e),
        }
    }

    /// `who` submits the modal that the bot opened in answer to `opened` (callback type 9),
    /// filling text inputs by custom id; inputs left out are sent empty.
    pub async fn submit_modal(
        &self,
        who: &FakeUser,
        opened: &Pending,
        fields: &[(&str, &str)],
    ) -> Pending {
        let response = match opened.response().await {
            Ok(r) => r,
            Err(e) => return Pending::failed(self, e),
        };
        let Some(modal) = response.modal else {
            return Pending::failed(
                self,
                format!(
                    "the bot answered with callback type {}, not a modal",
                    response.kind
                ),
            );
        };
        let (guild, channel, source) = {
            let s = self.inner.lock();
            let i = &s.interactions[&opened.id];
            (i.guild_id, i.channel_id, i.source_message)
        };
        let mut rows = Vec::new();
        let mut known = Vec::new();
        for row in modal["components"].as_array().into_iter().flatten() {
            let mut inputs = Vec::new();
            for input in row["components"].as_array().into_iter().flatten() {
                let id = input["custom_id"].as_str().unwrap_or_default();
                known.push(id.to_string());
                let value = fields
                    .iter()
                    .find(|(k, _)| *k == id)
                    .map_or("", |(_, v)| *v);
                let len = value.chars().count() as u64;
                let required = input["required"].as_bool().unwrap_or(true);
                if required && value.is_empty() {
                    return Pending::failed(self, format!("modal input {id:?} is required"));
                }
                let min = input["min_length"].as_u64().unwrap_or(0);
                let max = input["max_length"].as_u64().unwrap_or(4000);
                if !value.is_empty() && (len < min || len > max) {
                    return Pending::failed(
                        self,
                        format!("modal input {id:?} takes {min}..={max} characters, not {len}"),
                    );
                }
                inputs.push(json!({"type": 4, "custom_id": id, "value": value}));
            }
            rows.push(json!({"type": 1, "components": inputs}));
        }
        if let Some((k, _)) = fields.iter().find(|(k, _)| !known.iter().any(|id| id == k)) {
            return Pending::failed(
                self,
                format!("the modal has no input {k:?} (it has {known:?})"),
            );
        }
        let custom_id = modal["custom_id"].as_str().unwrap_or_default().to_string();
        self.send(Outgoing {
            kind: InteractionKind::ModalSubmit,
            name: custom_id.clone(),
            who,
            guild,
            channel: Some(channel),
            data: json!({"custom_id": custom_id, "components": rows}),
            source,
            target_user: None,
        })
    }

    // ----- what the bot did -----

    /// Messages the bot sent to `user_id`'s DM channel (excluding interaction responses), oldest
    /// first.
    pub fn dms(&self, user_id: u64) -> Vec<Message> {
        let s = self.inner.lock();
        let Some(channel) = s.dm_channel_of.get(&user_id) else {
            return Vec::new();
        };
        s.channels[channel]
            .messages
            .iter()
            .filter_map(|m| s.messages.get(m))
            .filter(|m| !m.deleted && m.raw.get("interaction_metadata").is_none())
            .map(|m| Message::from_raw(m.raw.clone()))
            .collect()
    }

    /// Waits until the bot has sent at least `count` DMs to `user_id`; returns them all.
    pub async fn wait_dms(
        &self,
        user_id: u64,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Message>, String> {
        self.inner
            .wait_for(timeout, |s| {
                let channel = s.dm_channel_of.get(&user_id)?;
                let n = s.channels[channel]
                    .messages
                    .iter()
                    .filter_map(|m| s.messages.get(m))
                    .filter(|m| !m.deleted && m.raw.get("interaction_metadata").is_none())
                    .count();
                (n >= count).then_some(())
            })
            .await
            .ok_or_else(|| {
                format!(
                    "{} DMs to {user_id} after {timeout:?}, expected {count}",
                    self.dms(user_id).len()
                )
            })?;
        Ok(self.dms(user_id))
    }

    /// Non-ephemeral messages the bot posted in a channel, oldest first.
    pub fn channel_messages(&self, channel_id: u64) -> Vec<Message> {
        let s = self.inner.lock();
        let Some(c) = s.channels.get(&channel_id) else {
            return Vec::new();
        };
        c.messages
            .iter()
            .filter_map(|m| s.messages.get(m))
            .filter(|m| !m.deleted && m.raw["flags"].as_u64().unwrap_or(0) & 64 == 0)
            .map(|m| Message::from_raw(m.raw.clone()))
            .collect()
    }

    /// The current version of a message (after edits), if it exists and was not deleted.
    pub fn message(&self, id: u64) -> Option<Message> {
        self.inner.lock().message_value(id).map(Message::from_raw)
    }

    /// Closes (or reopens) `user_id`'s DMs: the bot's messages to them get
    /// `403 {"code": 50007, "message": "Cannot send messages to this user"}`.
    pub fn set_dms_closed(&self, user_id: u64, closed: bool) {
        self.inner.update(|s| {
            if closed {
                s.dms_closed.insert(user_id);
            } else {
                s.dms_closed.remove(&user_id);
            }
        });
    }

    /// Whether refusals with 50007 (closed DMs, see [`set_dms_closed`]) are printed to stderr
    /// like every other refusal (the default) or only recorded in [`rejections`]: a load run
    /// with many closed DMs expects thousands of them.
    ///
    /// [`set_dms_closed`]: FakeDiscord::set_dms_closed
    /// [`rejections`]: FakeDiscord::rejections
    pub fn set_print_dm_refusals(&self, print: bool) {
        self.inner.update(|s| s.quiet_dm_refusals = !print);
    }

    /// The next `count` requests matching `route` answer 429 with
    /// `{"message", "retry_after", "global": false}` and a `Retry-After` header. `route` is a
    /// path below `/api/v10`, optionally after a method, with `*` for one segment; it matches
    /// as a prefix: `"POST /channels/*/messages"`, `"/webhooks"`.
    pub fn rate_limit_next(&self, route: &str, count: usize, retry_after_secs: f64) {
        let mut rule = rate_rule(route);
        rule.remaining = count;
        rule.retry_after = retry_after_secs;
        self.inner.update(|s| s.rate_rules.push(rule));
    }

    /// From now on, each request matching `route` (as in [`rate_limit_next`]) answers 429
    /// with `retry_after_secs` with probability `rate`, drawn from a small generator seeded
    /// with `seed` (the same seed and the same order of requests give the same 429s). Queued
    /// [`rate_limit_next`] limits come first. Calling it again for the same route replaces
    /// that route's setting; `rate` 0 removes it.
    ///
    /// ```no_run
    /// # async fn example(fake: testkit::FakeDiscord) {
    /// // One DM in ten is rate limited for half a second.
    /// fake.set_random_rate_limit("POST /channels/*/messages", 0.1, 0.5, 42);
    /// # }
    /// ```
    ///
    /// [`rate_limit_next`]: FakeDiscord::rate_limit_next
    pub fn set_random_rate_limit(&self, route: &str, rate: f64, retry_after_secs: f64, seed: u64) {
        let rule = rate_rule(route);
        self.inner.update(|s| {
            s.random_rate_rules
                .retain(|r| r.rule.method != rule.method || r.rule.pattern != rule.pattern);
            if rate > 0.0 {
                s.random_rate_rules.push(state::RandomRateRule::new(
                    rule,
                    rate,
                    retry_after_secs,
                    seed,
                ));
            }
        });
    }

    /// How many requests [`set_random_rate_limit`](FakeDiscord::set_random_rate_limit) rules
    /// answered 429 so far (rules still in place).
    pub fn random_rate_limited(&self) -> usize {
        self.inner
            .lock()
            .random_rate_rules
            .iter()
            .map(|r| r.hits)
            .sum()
    }

    /// Every interaction sent, in order, with its response latencies.
    pub fn interaction_log(&self) -> Vec<AnsweredInteraction> {
        let s = self.inner.lock();
        s.interaction_order
            .iter()
            .filter_map(|id| s.interactions.get(id))
            .map(|i| AnsweredInteraction {
                id: i.id,
                kind: i.kind,
                name: i.name.clone(),
                user_id: i.user_id,
                sent_at: i.sent_at,
                callback_type: i.initial.as_ref().map(|r| r.kind),
                first_response: i.initial.as_ref().map(|r| r.at - i.sent_at),
                result: i.result_at.map(|t| t - i.sent_at),
                answered: i.initial.is_some(),
                refusals: i.refusals.clone(),
            })
            .collect()
    }

    /// Ok if every interaction got an accepted initial response within `limit`, and every
    /// deferred message (type 5, which shows "thinking…") got its edit or follow-up.
    pub fn assert_all_answered_within(&self, limit: Duration) -> Result<(), String> {
        let problems: Vec<String> = self
            .interaction_log()
            .into_iter()
            .filter_map(|i| {
                let what = format!("{:?} {:?} ({})", i.kind, i.name, i.id);
                match (i.first_response, i.result) {
                    (None, _) => Some(format!(
                        "{what}: never answered{}",
                        if i.refusals.is_empty() {
                            String::new()
                        } else {
                            format!(" (refused: {})", i.refusals.join(", "))
                        }
                    )),
                    (Some(first), _) if first > limit => {
                        Some(format!("{what}: first response after {first:?}"))
                    }
                    (Some(_), None) if i.callback_type == Some(5) => Some(format!(
                        "{what}: deferred (type 5, \"thinking…\") but no edit or follow-up followed"
                    )),
                    _ => None,
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} of {} interactions not answered within {limit:?}:\n{}",
                problems.len(),
                self.interaction_log().len(),
                problems.join("\n")
            ))
        }
    }

    /// Every request received, as `(method, path below /api/v10)`, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.inner.lock().requests.clone()
    }

    /// Every request the fake refused (4xx/5xx), in order.
    pub fn rejections(&self) -> Vec<Rejection> {
        self.inner.lock().rejections.clone()
    }

    /// Requests to routes the fake does not implement, as `(method, path)`.
    pub fn unknown_routes(&self) -> Vec<(String, String)> {
        self.inner.lock().unknown_routes.clone()
    }

    /// Moves the fake's clock forward for expiry checks (the 3 s initial-response window and
    /// the 15-minute token lifetime), e.g. to test a follow-up after the token expired.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.update(|s| s.clock_offset += by);
    }

    // ----- internals -----

    async fn setup(&self, place: Place) -> Result<Option<u64>, String> {
        self.wait_ready(SETUP_WAIT).await?;
        match place {
            Place::Dm => Ok(None),
            Place::Guild => Ok(Some(self.inner.guild_id)),
            Place::InGuild(g) => {
                if self.inner.lock().guilds.contains_key(&g) {
                    Ok(Some(g))
                } else {
                    Err(format!("unknown guild {g} (use add_guild)"))
                }
            }
        }
    }

    async fn find_command(
        &self,
        guild: Option<u64>,
        name: &str,
        kind: u64,
    ) -> Result<Value, String> {
        let found = self
            .inner
            .wait_for(SETUP_WAIT, |s| {
                let found = s
                    .visible_commands(guild)
                    .find(|c| c["name"] == name && c["type"].as_u64().unwrap_or(1) == kind)
                    .cloned();
                match found {
                    Some(c) => Some(Some(c)),
                    // Once the bot has registered, a missing command stays missing.
                    None if s.registrations > 0 => Some(None),
                    None => None,
                }
            })
            .await
            .flatten();
        found.ok_or_else(|| {
            let names: Vec<String> = self
                .inner
                .lock()
                .visible_commands(guild)
                .map(|c| format!("{} (type {})", c["name"], c["type"]))
                .collect();
            format!(
                "no command {name:?} of type {kind} is registered {} (registered: {names:?})",
                if guild.is_some() {
                    "in this server"
                } else {
                    "for DMs"
                }
            )
        })
    }

    fn check_available(
        &self,
        cmd: &Value,
        guild: Option<u64>,
        who: &FakeUser,
    ) -> Result<(), String> {
        let name = cmd["name"].as_str().unwrap_or_default();
        if let Some(contexts) = cmd["contexts"].as_array() {
            let wanted = if guild.is_some() { 0 } else { 1 };
            if !contexts.iter().any(|c| c.as_u64() == Some(wanted)) {
                return Err(format!(
                    "{name:?} is not offered {} (contexts {contexts:?})",
                    if guild.is_some() {
                        "in servers"
                    } else {
                        "in DMs"
                    }
                ));
            }
        }
        if guild.is_none() && cmd["dm_permission"] == false {
            return Err(format!(
                "{name:?} is not offered in DMs (dm_permission false)"
            ));
        }
        let enforce = !self.inner.lock().ignore_default_member_permissions;
        if let (true, Some(g), Some(required)) = (
            enforce,
            guild,
            cmd["default_member_permissions"]
                .as_str()
                .and_then(|p| p.parse::<u64>().ok()),
        ) {
            let perms = self.inner.update(|s| {
                s.ensure_member(g, who);
                s.guilds[&g].members[&who.id].permissions
            });
            if perms & permissions::ADMINISTRATOR == 0 && perms & required != required {
                return Err(format!(
                    "{name:?} is hidden from {} (default_member_permissions {required}, they have {perms})",
                    who.name
                ));
            }
        }
        Ok(())
    }

    async fn command(
        &self,
        who: &FakeUser,
        place: Place,
        path: &str,
        options: Vec<Opt>,
        focused: Option<&str>,
    ) -> Pending {
        let parts: Vec<&str> = path.split_whitespace().collect();
        let Some(root) = parts.first() else {
            return Pending::failed(self, "empty command path".to_string());
        };
        let guild = match self.setup(place).await {
            Ok(g) => g,
            Err(e) => return Pending::failed(self, e),
        };
        let cmd = match self.find_command(guild, root, 1).await {
            Ok(c) => c,
            Err(e) => return Pending::failed(self, e),
        };
        if let Err(e) = self.check_available(&cmd, guild, who) {
            return Pending::failed(self, e);
        }
        let built = self
            .inner
            .update(|s| build_options(s, &cmd, &parts, &options, focused, guild));
        let (options_json, resolved) = match built {
            Ok(x) => x,
            Err(e) => return Pending::failed(self, format!("/{path}: {e}")),
        };
        let mut data = json!({
            "id": cmd["id"],
            "name": root,
            "type": 1,
            "options": options_json,
        });
        if resolved.as_object().is_some_and(|o| !o.is_empty()) {
            data["resolved"] = resolved;
        }
        if let Some(g) = cmd["guild_id"].as_str() {
            data["guild_id"] = json!(g);
        }
        let kind = if focused.is_some() {
            InteractionKind::Autocomplete
        } else {
            InteractionKind::Command
        };
        self.send(Outgoing {
            kind,
            name: parts.join(" "),
            who,
            guild,
            channel: None,
            data,
            source: None,
            target_user: None,
        })
    }

    fn component(
        &self,
        who: &FakeUser,
        message: &Message,
        custom_id: &str,
        check: impl FnOnce(&Value) -> Result<(), String>,
    ) -> Result<(Option<u64>, u64), String> {
        let s = self.inner.lock();
        let stored = s
            .messages
            .get(&message.id)
            .filter(|m| !m.deleted)
            .ok_or_else(|| format!("message {} no longer exists", message.id))?;
        if stored.visible_to.is_some_and(|u| u != who.id) {
            return Err(format!(
                "{} cannot see message {} (it is ephemeral or someone else's DM)",
                who.name, message.id
            ));
        }
        let rows = stored.raw["components"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let component = components_in(rows)
            .find(|c| c["custom_id"] == custom_id)
            .cloned()
            .ok_or_else(|| {
                let current = Message::from_raw(stored.raw.clone());
                format!(
                    "message {} has no component {custom_id:?} now (buttons {:?}, selects {:?})",
                    message.id,
                    current.buttons(),
                    current.selects()
                )
            })?;
        if component["disabled"] == true {
            return Err(format!("component {custom_id:?} is disabled"));
        }
        check(&component).map_err(|e| format!("component {custom_id:?}: {e}"))?;
        Ok((stored.guild_id, stored.channel_id))
    }

    fn send(&self, req: Outgoing<'_>) -> Pending {
        let inner = &self.inner;
        let id = snowflake();
        let token = token(id);
        let who = req.who;
        let dispatched = inner.update(|s| {
            s.users.entry(who.id).or_insert_with(|| who.clone());
            let user_json = s.user_json(who.id);
            let (channel_id, guild_site, app_permissions, user_permissions) = match req.guild {
                Some(g) => {
                    s.ensure_member(g, who);
                    let perms = s.guilds[&g].members[&who.id].permissions;
                    let member = s.member_json(g, who.id).expect("member just ensured");
                    let channel = req.channel.unwrap_or(s.guilds[&g].channel_id);
                    (channel, Some((g, member)), permissions::ALL, perms)
                }
                None => {
                    let channel = req.channel.unwrap_or_else(|| s.dm_channel(who.id));
                    (channel, None, permissions::DM, permissions::DM)
                }
            };
            let message = req.source.and_then(|m| s.message_value(m));
            let site = payloads::Site {
                channel_id,
                guild: guild_site,
                app_permissions,
                user_permissions,
            };
            let type_number = match req.kind {
                InteractionKind::Command | InteractionKind::UserMenu => 2,
                InteractionKind::Component => 3,
                InteractionKind::Autocomplete => 4,
                InteractionKind::ModalSubmit => 5,
            };
            let payload = payloads::interaction(
                id,
                inner.application_id,
                &token,
                type_number,
                req.data,
                &user_json,
                &who.locale,
                &site,
                message,
            );
            s.interactions.insert(
                id,
                state::Interaction {
                    id,
                    token: token.clone(),
                    kind: req.kind,
                    name: req.name,
                    user_id: who.id,
                    channel_id,
                    guild_id: req.guild,
                    payload: Value::Null,
                    sent_at: Instant::now(),
                    initial: None,
                    result_at: None,
                    result_message: None,
                    original: None,
                    loading: false,
                    source_message: req.source,
                    followups: Vec::new(),
                    choices: None,
                    modal: None,
                    origin_user: user_json,
                    target_user: req.target_user,
                    refusals: Vec::new(),
                },
            );
            s.interaction_order.push(id);
            s.interaction_by_token.insert(token.clone(), id);
            let dispatched = s.dispatch("INTERACTION_CREATE", &payload);
            if let Some(sent) = s.interactions.get_mut(&id) {
                sent.payload = payload;
            }
            dispatched
        });
        Pending {
            fake: self.clone(),
            id,
            error: (!dispatched).then(|| {
                "no bot connected: INTERACTION_CREATE was queued for a resume only".to_string()
            }),
        }
    }
}

/// A rate rule for `route` (`"POST /channels/*/messages"`, `"/webhooks"`), with nothing
/// remaining yet.
fn rate_rule(route: &str) -> RateRule {
    let route = route.trim();
    let (method, path) = match route.split_once(' ') {
        Some((m, p)) => (Some(m.to_ascii_uppercase()), p.trim()),
        None => (None, route),
    };
    let path = path.strip_prefix("/api/v10").unwrap_or(path);
    let pattern = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    RateRule {
        method,
        pattern,
        remaining: 0,
        retry_after: 0.0,
    }
}

struct Outgoing<'a> {
    kind: InteractionKind,
    name: String,
    who: &'a FakeUser,
    guild: Option<u64>,
    channel: Option<u64>,
    data: Value,
    source: Option<u64>,
    target_user: Option<Value>,
}

/// Builds `data.options` (nested under the subcommand group / subcommand in `parts`) and
/// `data.resolved`, checking everything a Discord client enforces.
fn build_options(
    s: &mut State,
    cmd: &Value,
    parts: &[&str],
    given: &[Opt],
    focused: Option<&str>,
    guild: Option<u64>,
) -> Result<(Value, Value), String> {
    let mut defs: Vec<Value> = cmd["options"].as_array().cloned().unwrap_or_default();
    let mut wrappers: Vec<(u64, String)> = Vec::new();
    for seg in &parts[1..] {
        let def = defs
            .iter()
            .find(|o| o["name"] == *seg && matches!(o["type"].as_u64(), Some(1 | 2)))
            .cloned()
            .ok_or_else(|| format!("no subcommand {seg:?} (has {:?})", names(&defs)))?;
        wrappers.push((def["type"].as_u64().unwrap_or(1), seg.to_string()));
        defs = def["options"].as_array().cloned().unwrap_or_default();
    }
    if defs
        .iter()
        .any(|o| matches!(o["type"].as_u64(), Some(1 | 2)))
    {
        return Err(format!("a subcommand is needed: one of {:?}", names(&defs)));
    }
    let mut out = Vec::new();
    let mut resolved = serde_json::Map::new();
    for opt in given {
        let def = defs
            .iter()
            .find(|d| d["name"] == opt.name.as_str())
            .ok_or_else(|| format!("no option {:?} (has {:?})", opt.name, names(&defs)))?;
        let kind = def["type"].as_u64().unwrap_or(0);
        let is_focused = focused == Some(opt.name.as_str());
        if is_focused {
            if def["autocomplete"] != true {
                return Err(format!("option {:?} has no autocomplete", opt.name));
            }
            let text = match &opt.value {
                OptValue::Str(v) => v.clone(),
                OptValue::Int(v) => v.to_string(),
                OptValue::Num(v) => v.to_string(),
                other => return Err(format!("cannot type {other:?} into an autocomplete")),
            };
            out.push(json!({"type": kind, "name": opt.name, "value": text, "focused": true}));
            continue;
        }
        let value = option_value(s, def, &opt.value, guild, &mut resolved)
            .map_err(|e| format!("option {:?}: {e}", opt.name))?;
        out.push(json!({"type": kind, "name": opt.name, "value": value}));
    }
    if let Some(f) = focused {
        if !given.iter().any(|o| o.name == f) {
            return Err(format!(
                "the focused option {f:?} must be among the options given"
            ));
        }
    } else {
        for d in &defs {
            let name = d["name"].as_str().unwrap_or_default();
            if d["required"] == true && !given.iter().any(|o| o.name == name) {
                return Err(format!("required option {name:?} is missing"));
            }
        }
    }
    let mut options = Value::Array(out);
    for (kind, name) in wrappers.into_iter().rev() {
        options = json!([{"type": kind, "name": name, "options": options}]);
    }
    Ok((options, Value::Object(resolved)))
}

fn names(defs: &[Value]) -> Vec<String> {
    defs.iter()
        .filter_map(|d| d["name"].as_str().map(str::to_string))
        .collect()
}

fn option_value(
    s: &mut State,
    def: &Value,
    value: &OptValue,
    guild: Option<u64>,
    resolved: &mut serde_json::Map<String, Value>,
) -> Result<Value, String> {
    let kind = def["type"].as_u64().unwrap_or(0);
    let choices = def["choices"].as_array().cloned().unwrap_or_default();
    let check_choice = |v: &Value| -> Result<(), String> {
        if choices.is_empty() || choices.iter().any(|c| c["value"] == *v) {
            Ok(())
        } else {
            let allowed: Vec<&Value> = choices.iter().map(|c| &c["value"]).collect();
            Err(format!("{v} is not one of the choices {allowed:?}"))
        }
    };
    let check_range = |n: f64| -> Result<(), String> {
        let min = def["min_value"].as_f64();
        let max = def["max_value"].as_f64();
        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            Err(format!("{n} is outside {min:?}..={max:?}"))
        } else {
            Ok(())
        }
    };
    let mut entry = |key: &str, id: u64, obj: Value| {
        resolved
            .entry(key.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("resolved entries are objects")
            .insert(id.to_string(), obj);
    };
    match (kind, value) {
        (3, OptValue::Str(v)) => {
            let n = v.chars().count() as u64;
            let min = def["min_length"].as_u64().unwrap_or(0);
            let max = def["max_length"].as_u64().unwrap_or(6000);
            if n < min.max(1) || n > max {
                return Err(format!("length {n} is outside {}..={max}", min.max(1)));
            }
            let v = json!(v);
            check_choice(&v)?;
            Ok(v)
        }
        (4, OptValue::Int(v)) => {
            check_range(*v as f64)?;
            let v = json!(v);
            check_choice(&v)?;
            Ok(v)
        }
        (10, OptValue::Num(v)) => {
            check_range(*v)?;
            let v = json!(v);
            check_choice(&v)?;
            Ok(v)
        }
        (10, OptValue::Int(v)) => {
            check_range(*v as f64)?;
            Ok(json!(*v as f64))
        }
        (5, OptValue::Bool(v)) => Ok(json!(v)),
        (6 | 9, OptValue::User(u)) => {
            s.users.entry(u.id).or_insert_with(|| u.clone());
            entry("users", u.id, s.user_json(u.id));
            if let Some(g) = guild {
                s.ensure_member(g, u);
                let m = s.guilds[&g].members[&u.id].clone();
                entry(
                    "members",
                    u.id,
                    payloads::partial_member(&m.roles, m.permissions, &m.joined_at),
                );
            }
            Ok(json!(u.id.to_string()))
        }
        (8 | 9, OptValue::Role(r)) => {
            let g = guild.ok_or("roles exist only in servers")?;
            let name = if *r == g {
                "@everyone".to_string()
            } else {
                s.guilds[&g].roles.get(r).cloned().ok_or_else(|| {
                    format!("role {r} does not exist in this server (use add_role)")
                })?
            };
            entry("roles", *r, payloads::role(*r, &name, 1, 0));
            Ok(json!(r.to_string()))
        }
        (7, OptValue::Channel(c)) => {
            let channel = s
                .channels
                .get(c)
                .ok_or_else(|| format!("unknown channel {c}"))?;
            let obj = match channel.guild_id {
                Some(g) => {
                    json!({"id": c.to_string(), "type": 0, "name": "general", "guild_id": g.to_string(), "permissions": permissions::ALL.to_string(), "parent_id": null, "flags": 0})
                }
                None => {
                    json!({"id": c.to_string(), "type": 1, "permissions": permissions::DM.to_string(), "flags": 0})
                }
            };
            entry("channels", *c, obj);
            Ok(json!(c.to_string()))
        }
        (kind, value) => Err(format!(
            "a Discord client cannot put {value:?} into an option of type {kind}"
        )),
    }
}

/// A handle on one interaction the fake sent: await the bot's answer.
#[derive(Clone)]
pub struct Pending {
    fake: FakeDiscord,
    id: u64,
    error: Option<String>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("id", &self.id)
            .field("error", &self.error)
            .finish()
    }
}

impl Pending {
    fn failed(fake: &FakeDiscord, error: String) -> Pending {
        Pending {
            fake: fake.clone(),
            id: 0,
            error: Some(error),
        }
    }

    /// The interaction id (0 if the fake refused to send it).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The interaction token.
    pub fn token(&self) -> String {
        self.with(|i| i.token.clone()).unwrap_or_default()
    }

    /// The INTERACTION_CREATE payload sent.
    pub fn payload(&self) -> Value {
        self.with(|i| i.payload.clone()).unwrap_or(Value::Null)
    }

    /// Requests for this interaction the fake refused so far (`"status code message"`).
    pub fn refusals(&self) -> Vec<String> {
        self.with(|i| i.refusals.clone()).unwrap_or_default()
    }

    fn with<T>(&self, f: impl FnOnce(&state::Interaction) -> T) -> Option<T> {
        self.fake.inner.lock().interactions.get(&self.id).map(f)
    }

    /// Waits for the bot's initial response (at most Discord's 3 s, plus a little slack).
    pub async fn response(&self) -> Result<Response, String> {
        self.wait_initial(|s, i, initial| {
            let message = i
                .original
                .and_then(|m| s.message_value(m))
                .map(Message::from_raw);
            Response {
                kind: initial.kind,
                message,
                choices: i
                    .choices
                    .iter()
                    .flatten()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap_or_default().to_string(),
                            c["value"].clone(),
                        )
                    })
                    .collect(),
                modal: i.modal.clone(),
                raw: initial.body.clone(),
                latency: initial.at - i.sent_at,
            }
        })
        .await
    }

    /// Waits for the initial response and reads what `read` takes of it (only what callers
    /// need: copying whole messages on every wait was most of the fake's own CPU time).
    async fn wait_initial<T>(
        &self,
        read: impl Fn(&state::State, &state::Interaction, &state::Initial) -> T,
    ) -> Result<T, String> {
        if let (Some(e), 0) = (&self.error, self.id) {
            return Err(e.clone());
        }
        let sent_at = self.with(|i| i.sent_at).ok_or("unknown interaction")?;
        let deadline = sent_at + state::INITIAL_RESPONSE_WINDOW + RESPONSE_GRACE;
        let wait = deadline.saturating_duration_since(Instant::now());
        let got = self
            .fake
            .inner
            .wait_for(wait, |s| {
                let i = s.interactions.get(&self.id)?;
                let Some(initial) = i.initial.as_ref() else {
                    // The fake's clock may have been moved past the window.
                    let expired = s.now().saturating_duration_since(i.sent_at)
                        > state::INITIAL_RESPONSE_WINDOW + RESPONSE_GRACE;
                    return expired.then_some(None);
                };
                Some(Some(read(s, i, initial)))
            })
            .await
            .flatten();
        got.ok_or_else(|| {
            let (name, refusals) = self
                .with(|i| (i.name.clone(), i.refusals.clone()))
                .unwrap_or_default();
            let mut msg =
                format!("the bot sent no accepted initial response to {name:?} within 3 s");
            if !refusals.is_empty() {
                msg.push_str(&format!("; refused: {}", refusals.join(", ")));
            }
            if let Some(e) = &self.error {
                msg.push_str(&format!("; {e}"));
            }
            msg
        })
    }

    /// The message the user ends up seeing: the callback's message (types 4 and 7), or after
    /// a deferral (5, 6) the edit of `@original` or the first follow-up (waits up to 5 s).
    pub async fn settled(&self) -> Result<Message, String> {
        let kind = self.wait_initial(|_, _, initial| initial.kind).await?;
        match kind {
            8 => return Err("an autocomplete answer has no message".to_string()),
            9 => return Err("the bot opened a modal (use submit_modal)".to_string()),
            _ => {}
        }
        let found = self
            .fake
            .inner
            .wait_for(SETTLE_WAIT, |s| {
                let i = s.interactions.get(&self.id)?;
                i.result_at?;
                Some(i.result_message.and_then(|m| s.message_value(m)))
            })
            .await;
        match found {
            Some(Some(raw)) => Ok(Message::from_raw(raw)),
            Some(None) => Err("the resulting message was deleted".to_string()),
            None => Err(format!(
                "deferred with type {} but no edit or follow-up arrived within {SETTLE_WAIT:?}{}",
                kind,
                {
                    let r = self.refusals();
                    if r.is_empty() {
                        String::new()
                    } else {
                        format!("; refused: {}", r.join(", "))
                    }
                }
            )),
        }
    }

    /// The current `@original` message (after edits), if there is one.
    pub fn original(&self) -> Option<Message> {
        let s = self.fake.inner.lock();
        let original = s.interactions.get(&self.id)?.original?;
        s.message_value(original).map(Message::from_raw)
    }

    /// Follow-up messages so far (not counting the one that filled a deferred response).
    pub fn followups(&self) -> Vec<Message> {
        let s = self.fake.inner.lock();
        let Some(i) = s.interactions.get(&self.id) else {
            return Vec::new();
        };
        i.followups
            .iter()
            .filter_map(|m| s.message_value(*m))
            .map(Message::from_raw)
            .collect()
    }

    /// Waits until there are at least `count` follow-ups; returns them all.
    pub async fn wait_followups(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Message>, String> {
        self.fake
            .inner
            .wait_for(timeout, |s| {
                (s.interactions.get(&self.id)?.followups.len() >= count).then_some(())
            })
            .await
            .ok_or_else(|| {
                format!(
                    "{} follow-ups after {timeout:?}, expected {count}",
                    self.followups().len()
                )
            })?;
        Ok(self.followups())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Benchmarks drive many users from spawned tasks: every acting future must be `Send`.
    #[allow(dead_code)]
    fn acting_futures_are_send(fake: FakeDiscord, u: FakeUser, m: Message, p: Pending) {
        fn is_send<T: Send>(_: T) {}
        is_send(fake.slash(&u, Place::Guild, "x", vec![Opt::user("u", &u)]));
        is_send(fake.autocomplete(&u, Place::Dm, "x", vec![], "y"));
        is_send(fake.user_menu(&u, Place::Guild, "x", &u));
        is_send(fake.click(&u, &m, "x"));
        is_send(fake.select(&u, &m, "x", &["a"]));
        is_send(fake.submit_modal(&u, &p, &[("a", "b")]));
        is_send(p.response());
        is_send(p.settled());
        is_send(fake.wait_dms(1, 1, Duration::ZERO));
        is_send(fake.clone());
    }

    #[test]
    fn message_helpers_read_buttons_selects_and_text() {
        let m = Message::from_raw(json!({
            "id": "5", "channel_id": "6", "content": "Pick a slot", "flags": 64,
            "embeds": [{"title": "Monday", "description": "<t:1:F>", "fields": [{"name": "Mentor", "value": "Ann"}], "footer": {"text": "Europe/Berlin"}}],
            "components": [
                {"type": 1, "components": [{"type": 3, "custom_id": "slot", "options": [{"label": "09:00", "value": "a"}]}]},
                {"type": 1, "components": [
                    {"type": 2, "style": 2, "label": "◀ Previous day", "custom_id": "prev"},
                    {"type": 2, "style": 1, "label": "Confirm 09:00", "custom_id": "ok", "disabled": true},
                    {"type": 2, "style": 5, "label": "Help", "url": "https://example.org"}
                ]}
            ]
        }));
        assert!(m.ephemeral);
        assert_eq!(m.selects(), vec!["slot".to_string()]);
        assert_eq!(
            m.select_options("slot"),
            vec![("09:00".to_string(), "a".to_string())]
        );
        assert_eq!(m.button_id("Confirm"), Some("ok".to_string()));
        assert_eq!(
            m.buttons()[2],
            ("Help".to_string(), "https://example.org".to_string(), false)
        );
        assert!(m.buttons()[1].2);
        assert_eq!(
            m.text(),
            "Pick a slot\nMonday\n<t:1:F>\nMentor\nAnn\nEurope/Berlin"
        );
    }

    /// The statuses of `n` DMs to one user through the REST API, as the bot sends them.
    async fn dm_statuses(fake: &FakeDiscord, n: usize) -> Vec<(u16, Value)> {
        let http = reqwest::Client::new();
        let auth = format!("Bot {}", FakeDiscord::TOKEN);
        let channel: Value = http
            .post(format!("{}/api/v10/users/@me/channels", fake.api_base()))
            .header("authorization", &auth)
            .json(&json!({"recipient_id": "4242"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let channel = channel["id"].as_str().unwrap().to_string();
        let mut out = Vec::new();
        for i in 0..n {
            let response = http
                .post(format!(
                    "{}/api/v10/channels/{channel}/messages",
                    fake.api_base()
                ))
                .header("authorization", &auth)
                .json(&json!({"content": format!("hello {i}")}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            out.push((status, response.json().await.unwrap_or(Value::Null)));
        }
        out
    }

    #[tokio::test]
    async fn random_rate_limits_hit_about_their_rate_and_the_same_seed_repeats_them() {
        let fake = FakeDiscord::start().await;
        fake.set_random_rate_limit("POST /channels/*/messages", 0.3, 0.25, 7);
        let first = dm_statuses(&fake, 200).await;
        let limited: Vec<&Value> = first
            .iter()
            .filter(|(s, _)| *s == 429)
            .map(|(_, b)| b)
            .collect();
        assert!(
            (30..=90).contains(&limited.len()),
            "{} of 200 limited at a rate of 0.3",
            limited.len()
        );
        assert!(limited.iter().all(|b| b["retry_after"] == 0.25));
        assert!(first.iter().all(|(s, _)| [200, 429].contains(s)));
        assert_eq!(fake.random_rate_limited(), limited.len());
        // Delivered messages are stored; limited ones are not.
        assert_eq!(fake.dms(4242).len(), 200 - limited.len());

        let again = FakeDiscord::start().await;
        again.set_random_rate_limit("POST /channels/*/messages", 0.3, 0.25, 7);
        let pattern = |v: &[(u16, Value)]| v.iter().map(|(s, _)| *s).collect::<Vec<_>>();
        assert_eq!(pattern(&dm_statuses(&again, 200).await), pattern(&first));

        // Other routes are untouched; rate 0 removes the rule.
        fake.set_random_rate_limit("POST /channels/*/messages", 0.0, 0.25, 7);
        assert!(dm_statuses(&fake, 30).await.iter().all(|(s, _)| *s == 200));
        assert_eq!(fake.random_rate_limited(), 0);
    }

    #[tokio::test]
    async fn closed_dms_are_refused_with_50007_and_recorded_also_when_not_printed() {
        let fake = FakeDiscord::start().await;
        fake.set_dms_closed(4242, true);
        fake.set_print_dm_refusals(false);
        let statuses = dm_statuses(&fake, 3).await;
        assert!(
            statuses
                .iter()
                .all(|(s, b)| *s == 403 && b["code"] == 50007)
        );
        let refused = fake.rejections();
        assert_eq!(refused.len(), 3);
        assert!(refused.iter().all(|r| r.body["code"] == 50007));
    }

    #[test]
    fn rate_limit_routes_match_by_method_and_segment_prefix() {
        let rule = |route: &str| {
            let (method, path) = match route.split_once(' ') {
                Some((m, p)) => (Some(m.to_string()), p),
                None => (None, route),
            };
            RateRule {
                method,
                pattern: path
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect(),
                remaining: 1,
                retry_after: 1.0,
            }
        };
        assert!(rule("POST /channels/*/messages").matches("POST", "/channels/42/messages"));
        assert!(!rule("POST /channels/*/messages").matches("GET", "/channels/42/messages"));
        assert!(rule("/webhooks").matches("PATCH", "/webhooks/1/tok/messages/@original"));
        assert!(!rule("/channels/*/messages").matches("POST", "/channels/42"));
    }
}
