//! [`InteractionKind`] and sending one interaction: the INTERACTION_CREATE payload a Discord
//! client's action produces, recorded so that the bot's answers can be checked and awaited.

use std::time::Instant;

use serde_json::Value;

use crate::fake::FakeDiscord;
use crate::payloads::{self, permissions};
use crate::pending::Pending;
use crate::people::FakeUser;
use crate::state;
use crate::util::{snowflake, token};

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

/// One interaction to send.
pub(crate) struct Outgoing<'a> {
    pub kind: InteractionKind,
    /// Command path, menu name or custom id, for the log.
    pub name: String,
    pub who: &'a FakeUser,
    /// The server, `None` in DMs.
    pub guild: Option<u64>,
    /// The channel; `None` for the server's `#general` or the user's DM channel.
    pub channel: Option<u64>,
    pub data: Value,
    /// The message clicked, for components and the modals they opened.
    pub source: Option<u64>,
    /// For user menus: the user acted on.
    pub target_user: Option<Value>,
}

impl FakeDiscord {
    /// Records the interaction and dispatches its INTERACTION_CREATE to the bot.
    pub(crate) fn send(&self, req: Outgoing<'_>) -> Pending {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{FakeDiscord, FakeUser, Message, Opt, Pending, Place};

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
}
