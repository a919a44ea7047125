//! The fake's shared state: one mutex, one change notification.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::payloads::{self, permissions};
use crate::util::{snowflake, timestamp_now};
use crate::{FakeUser, InteractionKind};

/// How long an interaction may go without an initial response.
pub(crate) const INITIAL_RESPONSE_WINDOW: Duration = Duration::from_secs(3);
/// How long an interaction token accepts follow-ups and edits.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

pub(crate) struct Inner {
    pub api_addr: SocketAddr,
    pub gateway_addr: SocketAddr,
    pub application_id: u64,
    pub bot_user_id: u64,
    pub bot_name: String,
    pub owner: FakeUser,
    pub guild_id: u64,
    pub state: Mutex<State>,
    pub changed: Notify,
}

pub(crate) struct Guild {
    pub name: String,
    pub channel_id: u64,
    pub members: HashMap<u64, MemberInfo>,
    /// Role id -> name, in creation order.
    pub roles: BTreeMap<u64, String>,
}

#[derive(Clone)]
pub(crate) struct MemberInfo {
    pub roles: Vec<u64>,
    pub permissions: u64,
    pub joined_at: String,
}

pub(crate) struct Channel {
    pub guild_id: Option<u64>,
    pub dm_user: Option<u64>,
    pub messages: Vec<u64>,
}

/// The `GUILDS` gateway intent (bit 0).
pub(crate) const GUILDS_INTENT: u64 = 1;

pub(crate) struct StoredMessage {
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    pub raw: Value,
    /// Only this user sees it (ephemeral messages, DMs).
    pub visible_to: Option<u64>,
    pub deleted: bool,
    /// The `allowed_mentions` the bot sent (Discord does not echo it in the message).
    pub allowed_mentions: Option<Value>,
}

pub(crate) struct Initial {
    pub at: Instant,
    pub kind: u8,
    pub body: Value,
}

pub(crate) struct Interaction {
    pub id: u64,
    pub token: String,
    pub kind: InteractionKind,
    /// Command path, context menu name or custom id.
    pub name: String,
    pub user_id: u64,
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    pub payload: Value,
    pub sent_at: Instant,
    pub initial: Option<Initial>,
    /// When the response carrying the result arrived (the callback, or the edit/follow-up
    /// after a deferral).
    pub result_at: Option<Instant>,
    /// The message the user ends up seeing, once known.
    pub result_message: Option<u64>,
    /// The `@original` message, once there is one.
    pub original: Option<u64>,
    /// The original is a "thinking…" placeholder (after type 5).
    pub loading: bool,
    /// For component and modal interactions from a component: the message clicked.
    pub source_message: Option<u64>,
    pub followups: Vec<u64>,
    pub choices: Option<Vec<Value>>,
    pub modal: Option<Value>,
    pub origin_user: Value,
    pub target_user: Option<Value>,
    /// Requests for this interaction that the fake refused, as `"status code message"`.
    pub refusals: Vec<String>,
}

pub(crate) struct Session {
    pub id: String,
    pub seq: u64,
    /// Sender to the connection currently attached, if any.
    pub conn: Option<(u64, mpsc::UnboundedSender<WsMessage>)>,
    pub backlog: VecDeque<(u64, String)>,
    pub invalid: bool,
}

pub(crate) struct RateRule {
    pub method: Option<String>,
    pub pattern: Vec<String>,
    pub remaining: usize,
    pub retry_after: f64,
}

impl RateRule {
    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        if self
            .method
            .as_deref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.pattern.len() <= segments.len()
            && self
                .pattern
                .iter()
                .zip(&segments)
                .all(|(p, s)| p == "*" || p == s)
    }
}

/// A route answered 429 at random (see `FakeDiscord::set_random_rate_limit`).
pub(crate) struct RandomRateRule {
    /// Which requests (its `remaining` is unused).
    pub rule: RateRule,
    pub rate: f64,
    pub retry_after: f64,
    /// xorshift64* state (never 0): the same seed gives the same sequence of draws.
    pub rng: u64,
    /// Requests answered 429 by this rule so far.
    pub hits: usize,
}

impl RandomRateRule {
    pub(crate) fn new(rule: RateRule, rate: f64, retry_after: f64, seed: u64) -> Self {
        // splitmix64 of the seed: nearby seeds give unrelated sequences, and 0 is avoided.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        RandomRateRule {
            rule,
            rate: rate.clamp(0.0, 1.0),
            retry_after,
            rng: (z ^ (z >> 31)) | 1,
            hits: 0,
        }
    }

    /// Whether this request of `method` to `path` is limited (one draw per matching request).
    pub(crate) fn draw(&mut self, method: &str, path: &str) -> bool {
        if !self.rule.matches(method, path) {
            return false;
        }
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let roll = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        let hit = roll < self.rate;
        if hit {
            self.hits += 1;
        }
        hit
    }
}

/// A refused request, as recorded by [`crate::FakeDiscord::rejections`].
#[derive(Clone, Debug)]
pub struct Rejection {
    /// HTTP method.
    pub method: String,
    /// Path below `/api/v10`.
    pub path: String,
    /// HTTP status the fake answered.
    pub status: u16,
    /// The Discord error body.
    pub body: Value,
}

#[derive(Default)]
pub(crate) struct State {
    pub clock_offset: Duration,
    pub users: HashMap<u64, FakeUser>,
    pub guilds: BTreeMap<u64, Guild>,
    pub channels: HashMap<u64, Channel>,
    pub dm_channel_of: HashMap<u64, u64>,
    pub dms_closed: HashSet<u64>,
    pub messages: HashMap<u64, StoredMessage>,
    pub interactions: HashMap<u64, Interaction>,
    pub interaction_order: Vec<u64>,
    pub interaction_by_token: HashMap<String, u64>,
    pub global_commands: Vec<Value>,
    pub guild_commands: BTreeMap<u64, Vec<Value>>,
    pub registrations: usize,
    pub ignore_default_member_permissions: bool,
    pub sessions: Vec<Session>,
    pub ready_count: usize,
    /// The gateway intents of the latest IDENTIFY.
    pub intents: u64,
    pub resume_count: usize,
    pub next_conn: u64,
    /// While true the gateway accepts no connection (TCP is closed at once).
    pub gateway_down: bool,
    pub rate_rules: Vec<RateRule>,
    pub random_rate_rules: Vec<RandomRateRule>,
    /// Refusals with 50007 (closed DMs) are recorded but not printed.
    pub quiet_dm_refusals: bool,
    pub requests: Vec<(String, String)>,
    pub rejections: Vec<Rejection>,
    pub unknown_routes: Vec<(String, String)>,
    /// The bytes of files attached to messages, by message id and file name.
    pub attachments: HashMap<(u64, String), Vec<u8>>,
}

impl Inner {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the state and wakes every waiter afterwards.
    pub(crate) fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let out = f(&mut self.lock());
        self.changed.notify_waiters();
        out
    }

    /// Waits until `check` returns `Some`, or `timeout` passes (then one last check).
    pub(crate) async fn wait_for<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = check(&self.lock()) {
                return Some(v);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return check(&self.lock());
            }
        }
    }

    pub(crate) fn gateway_url(&self) -> String {
        format!("ws://{}", self.gateway_addr)
    }

    pub(crate) fn bot_user(&self) -> Value {
        payloads::user(self.bot_user_id, &self.bot_name, true)
    }
}

impl State {
    /// The fake's notion of "now" for expiry checks (tests may move it forward).
    pub(crate) fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    pub(crate) fn user_json(&self, id: u64) -> Value {
        match self.users.get(&id) {
            Some(u) => payloads::user(u.id, &u.name, false),
            None => payloads::user(id, &format!("user{id}"), false),
        }
    }

    /// Makes `user` a member of `guild_id` unless it already is one.
    pub(crate) fn ensure_member(&mut self, guild_id: u64, user: &FakeUser) {
        self.users.entry(user.id).or_insert_with(|| user.clone());
        if let Some(g) = self.guilds.get_mut(&guild_id) {
            g.members.entry(user.id).or_insert_with(|| MemberInfo {
                roles: Vec::new(),
                permissions: permissions::MEMBER,
                joined_at: timestamp_now(),
            });
        }
    }

    pub(crate) fn member_json(&self, guild_id: u64, user_id: u64) -> Option<Value> {
        let m = self.guilds.get(&guild_id)?.members.get(&user_id)?;
        Some(payloads::member(
            self.user_json(user_id),
            &m.roles,
            Some(m.permissions),
            &m.joined_at,
        ))
    }

    pub(crate) fn dm_channel(&mut self, user_id: u64) -> u64 {
        if let Some(c) = self.dm_channel_of.get(&user_id) {
            return *c;
        }
        let id = snowflake();
        self.dm_channel_of.insert(user_id, id);
        self.channels.insert(
            id,
            Channel {
                guild_id: None,
                dm_user: Some(user_id),
                messages: Vec::new(),
            },
        );
        id
    }

    /// A new server with its `#general` channel; returns the server's id.
    pub(crate) fn add_guild(&mut self, name: &str) -> u64 {
        let (guild_id, channel_id) = (snowflake(), snowflake());
        self.guilds.insert(
            guild_id,
            Guild {
                name: name.to_string(),
                channel_id,
                members: Default::default(),
                roles: BTreeMap::new(),
            },
        );
        self.channels.insert(
            channel_id,
            Channel {
                guild_id: Some(guild_id),
                dm_user: None,
                messages: Vec::new(),
            },
        );
        guild_id
    }

    pub(crate) fn store_message(
        &mut self,
        raw: Value,
        payload: &Value,
        channel_id: u64,
        guild_id: Option<u64>,
        visible_to: Option<u64>,
    ) -> u64 {
        let id: u64 = raw["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
        if let Some(c) = self.channels.get_mut(&channel_id) {
            c.messages.push(id);
        }
        self.messages.insert(
            id,
            StoredMessage {
                channel_id,
                guild_id,
                raw,
                visible_to,
                deleted: false,
                allowed_mentions: payload.get("allowed_mentions").cloned(),
            },
        );
        id
    }

    /// Applies an edit payload to a stored message (fields present replace, `null` clears).
    pub(crate) fn edit_message(&mut self, id: u64, payload: &Value, mark_edited: bool) {
        let Some(m) = self.messages.get_mut(&id) else {
            return;
        };
        if let Some(allowed) = payload.get("allowed_mentions") {
            m.allowed_mentions = Some(allowed.clone());
        }
        if let Some(content) = payload.get("content") {
            m.raw["content"] = json!(content.as_str().unwrap_or_default());
        }
        if let Some(embeds) = payload.get("embeds") {
            m.raw["embeds"] = payloads::normalize_embeds(Some(embeds));
        }
        if let Some(components) = payload.get("components") {
            m.raw["components"] = if components.is_null() {
                json!([])
            } else {
                components.clone()
            };
        }
        if let Some(attachments) = payload.get("attachments").and_then(Value::as_array) {
            let keep: Vec<String> = attachments
                .iter()
                .filter_map(|a| {
                    a.get("id")
                        .map(|id| id.to_string().trim_matches('"').to_string())
                })
                .collect();
            if let Some(list) = m.raw["attachments"].as_array_mut() {
                list.retain(|a| {
                    a["id"]
                        .as_str()
                        .is_some_and(|id| keep.iter().any(|k| k == id))
                });
            }
        }
        let flags = m.raw["flags"].as_u64().unwrap_or(0) & !128;
        m.raw["flags"] = json!(flags);
        if mark_edited {
            m.raw["edited_timestamp"] = json!(timestamp_now());
        }
    }

    pub(crate) fn message_value(&self, id: u64) -> Option<Value> {
        self.messages
            .get(&id)
            .filter(|m| !m.deleted)
            .map(|m| m.raw.clone())
    }

    /// The session interactions go to: the newest one still valid.
    pub(crate) fn current_session(&mut self) -> Option<&mut Session> {
        self.sessions.iter_mut().rev().find(|s| !s.invalid)
    }

    pub(crate) fn live_session(&self) -> bool {
        self.sessions
            .iter()
            .rev()
            .find(|s| !s.invalid)
            .is_some_and(|s| s.conn.is_some())
    }

    /// Whether the bot asked for guild events (the `GUILDS` intent): `GUILD_CREATE` and
    /// role events go only to a bot that did, as on Discord.
    pub(crate) fn wants_guild_events(&self) -> bool {
        self.intents & GUILDS_INTENT != 0
    }

    /// The `GUILD_CREATE` payload for a guild.
    pub(crate) fn guild_create(&self, guild_id: u64, owner_id: u64) -> Option<Value> {
        let g = self.guilds.get(&guild_id)?;
        let mut roles = vec![(guild_id, "@everyone".to_string(), permissions::MEMBER)];
        roles.extend(g.roles.iter().map(|(id, name)| (*id, name.clone(), 0)));
        let members = g
            .members
            .keys()
            .filter_map(|u| self.member_json(guild_id, *u))
            .map(|mut m| {
                if let Some(obj) = m.as_object_mut() {
                    obj.remove("permissions");
                }
                m
            })
            .collect();
        Some(payloads::guild_create(&payloads::GuildInfo {
            id: guild_id,
            name: &g.name,
            owner_id,
            channel_id: g.channel_id,
            roles,
            members,
        }))
    }

    /// Sends a dispatch to the current session (or queues it for a resume).
    pub(crate) fn dispatch(&mut self, event: &str, data: &Value) -> bool {
        let Some(session) = self.current_session() else {
            return false;
        };
        session.seq += 1;
        let seq = session.seq;
        // Written out rather than built as a `Value`, which would deep-copy `data` first.
        let text = format!(r#"{{"op":0,"t":{},"s":{seq},"d":{data}}}"#, json!(event));
        session.backlog.push_back((seq, text.clone()));
        while session.backlog.len() > 256 {
            session.backlog.pop_front();
        }
        match &session.conn {
            Some((_, tx)) => tx.send(WsMessage::Text(text)).is_ok(),
            None => false,
        }
    }

    /// Records the result of an interaction (first time only).
    pub(crate) fn mark_result(&mut self, interaction_id: u64, message: Option<u64>) {
        if let Some(i) = self.interactions.get_mut(&interaction_id)
            && i.result_at.is_none()
        {
            i.result_at = Some(Instant::now());
            i.result_message = message;
        }
    }

    /// All commands visible in a guild (or, with `None`, in DMs): guild commands first.
    pub(crate) fn visible_commands(&self, guild_id: Option<u64>) -> impl Iterator<Item = &Value> {
        guild_id
            .and_then(|g| self.guild_commands.get(&g))
            .into_iter()
            .flatten()
            .chain(&self.global_commands)
    }
}
