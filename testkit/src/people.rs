//! The people and places the bot meets: [`FakeUser`], server members and their roles and
//! permissions, and servers besides the default one.

use serde_json::json;

use crate::fake::FakeDiscord;
use crate::payloads;
use crate::state::MemberInfo;
use crate::util::{snowflake, timestamp_now};

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

impl FakeDiscord {
    /// A new user known to the fake (`GET /users/{id}` finds them).
    pub fn user(&self, name: &str) -> FakeUser {
        let user = FakeUser::new(name);
        self.inner.update(|s| s.users.insert(user.id, user.clone()));
        user
    }

    /// Makes `user` a member of the default server with these roles and permissions (see
    /// [`permissions`](crate::permissions)); replaces an earlier membership. Users who act in a server without
    /// this become members with [`permissions::MEMBER`](crate::permissions::MEMBER) and no roles.
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
        self.inner.update(|s| {
            let guild_id = s.add_guild(name);
            if let Some(event) = s
                .guild_create(guild_id, self.inner.owner.id)
                .filter(|_| s.wants_guild_events())
            {
                s.dispatch("GUILD_CREATE", &event);
            }
            guild_id
        })
    }

    /// A server's `#general` channel.
    pub fn guild_channel_id(&self, guild_id: u64) -> Option<u64> {
        self.inner
            .lock()
            .guilds
            .get(&guild_id)
            .map(|g| g.channel_id)
    }
}
