//! Application commands: where a user invokes them ([`Place`]), what the bot registered,
//! which commands a user is offered where, and invoking them (slash commands, autocomplete,
//! user context menus).

use std::time::Duration;

use serde_json::{Value, json};

use crate::fake::FakeDiscord;
use crate::interaction::{InteractionKind, Outgoing};
use crate::options::{Opt, build_options};
use crate::payloads::{self, permissions};
use crate::pending::Pending;
use crate::people::FakeUser;

/// How long acting-as-a-user calls wait for a connected bot and registered commands.
const SETUP_WAIT: Duration = Duration::from_secs(5);

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

impl FakeDiscord {
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
        let (guild, cmd) = match self.offered_command(who, place, name, 2).await {
            Ok(found) => found,
            Err(e) => return Pending::failed(self, e),
        };
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

    /// The server `place` is in (`None` for DMs) and the command `name` of `kind` (1 slash,
    /// 2 user menu) as registered, if `who` is offered it there.
    async fn offered_command(
        &self,
        who: &FakeUser,
        place: Place,
        name: &str,
        kind: u64,
    ) -> Result<(Option<u64>, Value), String> {
        let guild = self.setup(place).await?;
        let cmd = self.find_command(guild, name, kind).await?;
        self.check_available(&cmd, guild, who)?;
        Ok((guild, cmd))
    }

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
        let (guild, cmd) = match self.offered_command(who, place, root, 1).await {
            Ok(found) => found,
            Err(e) => return Pending::failed(self, e),
        };
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
}
