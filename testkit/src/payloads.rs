//! JSON objects shaped the way Discord sends them (and serenity 0.12.5 deserializes them).
//! Every id is a snowflake string.

use serde_json::{Value, json};

use crate::util::timestamp_now;

/// Permission bits used by the fake.
pub mod permissions {
    /// `CREATE_INSTANT_INVITE`.
    pub const CREATE_INSTANT_INVITE: u64 = 1;
    /// `ADMINISTRATOR`: every permission.
    pub const ADMINISTRATOR: u64 = 1 << 3;
    /// `MANAGE_CHANNELS`.
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    /// `MANAGE_GUILD` ("Manage Server").
    pub const MANAGE_GUILD: u64 = 1 << 5;
    /// `ADD_REACTIONS`.
    pub const ADD_REACTIONS: u64 = 1 << 6;
    /// `VIEW_CHANNEL`.
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    /// `SEND_MESSAGES`.
    pub const SEND_MESSAGES: u64 = 1 << 11;
    /// `EMBED_LINKS`.
    pub const EMBED_LINKS: u64 = 1 << 14;
    /// `ATTACH_FILES`.
    pub const ATTACH_FILES: u64 = 1 << 15;
    /// `READ_MESSAGE_HISTORY`.
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    /// `USE_EXTERNAL_EMOJIS`.
    pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
    /// `MANAGE_ROLES`.
    pub const MANAGE_ROLES: u64 = 1 << 28;
    /// `USE_APPLICATION_COMMANDS`.
    pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
    /// What `@everyone` has in a fresh server: a member without extra roles.
    pub const MEMBER: u64 = CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | USE_APPLICATION_COMMANDS;
    /// A server owner or admin.
    pub const ALL: u64 = (1 << 50) - 1;
    /// What a bot (and a user) may do in a DM, as Discord reports it in `app_permissions`.
    pub const DM: u64 = ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | USE_APPLICATION_COMMANDS;
}

/// Discord's upload limit for bots without boosts, sent in every interaction.
pub(crate) const ATTACHMENT_SIZE_LIMIT: u64 = 10 * 1024 * 1024;

pub(crate) fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "global_name": if bot { Value::Null } else { Value::from(name) },
        "discriminator": if bot { "0001" } else { "0" },
        "avatar": null,
        "bot": bot,
        "system": false,
        "public_flags": 0,
        "flags": 0,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
    })
}

/// The bot's own user as `GET /users/@me` and READY give it.
pub(crate) fn current_user(id: u64, name: &str) -> Value {
    let mut u = user(id, name, true);
    u["verified"] = json!(true);
    u["mfa_enabled"] = json!(true);
    u["email"] = Value::Null;
    u["locale"] = json!("en-US");
    u
}

pub(crate) fn member(
    user: Value,
    roles: &[u64],
    permissions: Option<u64>,
    joined_at: &str,
) -> Value {
    json!({
        "user": user,
        "nick": null,
        "avatar": null,
        "banner": null,
        "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": joined_at,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "permissions": permissions.map(|p| p.to_string()),
        "communication_disabled_until": null,
        "unusual_dm_activity_until": null,
    })
}

/// A member as it appears in `data.resolved.members`: no `user`, `deaf` or `mute`.
pub(crate) fn partial_member(roles: &[u64], permissions: u64, joined_at: &str) -> Value {
    json!({
        "nick": null,
        "avatar": null,
        "banner": null,
        "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": joined_at,
        "premium_since": null,
        "flags": 0,
        "pending": false,
        "permissions": permissions.to_string(),
        "communication_disabled_until": null,
        "unusual_dm_activity_until": null,
    })
}

pub(crate) fn role(id: u64, name: &str, position: u64, permissions: u64) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": permissions.to_string(),
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

pub(crate) fn guild_channel(id: u64, guild_id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": guild_id.to_string(),
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "topic": null,
        "nsfw": false,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "parent_id": null,
        "flags": 0,
    })
}

pub(crate) fn dm_channel(id: u64, recipient: Value) -> Value {
    json!({
        "id": id.to_string(),
        "type": 1,
        "last_message_id": null,
        "recipients": [recipient],
        "flags": 0,
    })
}

/// The `channel` field of an interaction (a partial channel).
pub(crate) fn interaction_channel(id: u64, guild: Option<(u64, u64)>, recipient: &Value) -> Value {
    match guild {
        Some((guild_id, permissions)) => json!({
            "id": id.to_string(),
            "type": 0,
            "guild_id": guild_id.to_string(),
            "name": "general",
            "permissions": permissions.to_string(),
            "nsfw": false,
            "parent_id": null,
            "flags": 0,
        }),
        None => json!({
            "id": id.to_string(),
            "type": 1,
            "recipients": [recipient],
            "flags": 0,
        }),
    }
}

/// Where an interaction happens, as far as its payload is concerned.
pub(crate) struct Site {
    pub channel_id: u64,
    /// Guild id and the invoking member object (with `permissions`).
    pub guild: Option<(u64, Value)>,
    /// The bot's permissions there.
    pub app_permissions: u64,
    /// The invoker's permissions in the channel (for the partial channel object).
    pub user_permissions: u64,
}

/// The common envelope of every interaction.
#[allow(clippy::too_many_arguments)]
pub(crate) fn interaction(
    id: u64,
    application_id: u64,
    token: &str,
    kind: u8,
    data: Value,
    user: &Value,
    locale: &str,
    site: &Site,
    message: Option<Value>,
) -> Value {
    let mut v = json!({
        "id": id.to_string(),
        "application_id": application_id.to_string(),
        "type": kind,
        "data": data,
        "channel_id": site.channel_id.to_string(),
        "channel": interaction_channel(
            site.channel_id,
            site.guild.as_ref().map(|(g, _)| (*g, site.user_permissions)),
            user,
        ),
        "token": token,
        "version": 1,
        "app_permissions": site.app_permissions.to_string(),
        "locale": locale,
        "entitlements": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    });
    match &site.guild {
        Some((guild_id, member)) => {
            v["guild_id"] = json!(guild_id.to_string());
            v["member"] = member.clone();
            v["guild_locale"] = json!("en-US");
            v["authorizing_integration_owners"] = json!({"0": guild_id.to_string()});
            v["context"] = json!(0);
        }
        None => {
            v["user"] = user.clone();
            v["authorizing_integration_owners"] = json!({"0": "0"});
            v["context"] = json!(1);
        }
    }
    if let Some(message) = message {
        v["message"] = message;
    }
    v
}

/// What a stored message says about the interaction that produced it.
pub(crate) struct Origin {
    pub interaction_id: u64,
    pub interaction_kind: u8,
    pub name: String,
    pub user: Value,
    pub guild_id: Option<u64>,
    pub target_user: Option<Value>,
    pub interacted_message_id: Option<u64>,
    pub original_response_message_id: Option<u64>,
}

/// A message object built from a create-message payload.
#[allow(clippy::too_many_arguments)]
pub(crate) fn message(
    id: u64,
    channel_id: u64,
    author: Value,
    payload: &Value,
    message_type: u8,
    flags: u64,
    application_id: Option<u64>,
    origin: Option<&Origin>,
    file_names: &[String],
) -> Value {
    let content = payload
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let embeds = normalize_embeds(payload.get("embeds"));
    let components = payload
        .get("components")
        .filter(|c| !c.is_null())
        .cloned()
        .unwrap_or_else(|| json!([]));
    let attachments: Vec<Value> = file_names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({
                "id": (id + 1 + i as u64).to_string(),
                "filename": name,
                "size": 0,
                "url": format!("https://cdn.discordapp.invalid/attachments/{channel_id}/{id}/{name}"),
                "proxy_url": format!("https://media.discordapp.invalid/attachments/{channel_id}/{id}/{name}"),
            })
        })
        .collect();
    let mut v = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": author,
        "content": content,
        "timestamp": timestamp_now(),
        "edited_timestamp": null,
        "tts": payload.get("tts").and_then(Value::as_bool).unwrap_or(false),
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": embeds,
        "pinned": false,
        "type": message_type,
        "flags": flags,
        "components": components,
    });
    if let Some(app) = application_id {
        v["application_id"] = json!(app.to_string());
        v["webhook_id"] = json!(app.to_string());
    }
    if let Some(origin) = origin {
        let owners = match origin.guild_id {
            Some(g) => json!({"0": g.to_string()}),
            None => json!({"0": "0"}),
        };
        let mut metadata = json!({
            "id": origin.interaction_id.to_string(),
            "type": origin.interaction_kind,
            "user": origin.user,
            "authorizing_integration_owners": owners,
        });
        if let Some(target) = &origin.target_user {
            metadata["target_user"] = target.clone();
        }
        if let Some(m) = origin.interacted_message_id {
            metadata["interacted_message_id"] = json!(m.to_string());
        }
        if let Some(m) = origin.original_response_message_id {
            metadata["original_response_message_id"] = json!(m.to_string());
        }
        v["interaction_metadata"] = metadata;
        v["interaction"] = json!({
            "id": origin.interaction_id.to_string(),
            "type": origin.interaction_kind,
            "name": origin.name,
            "user": origin.user,
        });
    }
    v
}

/// Embeds as Discord echoes them: `type: "rich"` added.
pub(crate) fn normalize_embeds(embeds: Option<&Value>) -> Value {
    let list = embeds
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Value::Array(
        list.into_iter()
            .map(|mut e| {
                if e.get("type").is_none() {
                    e["type"] = json!("rich");
                }
                e
            })
            .collect(),
    )
}

/// The READY dispatch payload.
pub(crate) fn ready(
    bot: Value,
    guild_ids: &[u64],
    session_id: &str,
    resume_url: &str,
    application_id: u64,
) -> Value {
    json!({
        "v": 10,
        "user": bot,
        "guilds": guild_ids.iter().map(|g| json!({"id": g.to_string(), "unavailable": true})).collect::<Vec<_>>(),
        "session_id": session_id,
        "resume_gateway_url": resume_url,
        "shard": [0, 1],
        "application": {"id": application_id.to_string(), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "_trace": ["testkit-fake-discord"],
    })
}

/// Everything `GUILD_CREATE` needs about one guild.
pub(crate) struct GuildInfo<'a> {
    pub id: u64,
    pub name: &'a str,
    pub owner_id: u64,
    pub channel_id: u64,
    /// `(id, name, permissions)`; the `@everyone` role has the guild's id.
    pub roles: Vec<(u64, String, u64)>,
    pub members: Vec<Value>,
}

pub(crate) fn guild_create(g: &GuildInfo<'_>) -> Value {
    let roles: Vec<Value> = g
        .roles
        .iter()
        .enumerate()
        .map(|(i, (id, name, perms))| role(*id, name, i as u64, *perms))
        .collect();
    json!({
        "id": g.id.to_string(),
        "name": g.name,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": g.owner_id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": roles,
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": g.channel_id.to_string(),
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "joined_at": timestamp_now(),
        "large": false,
        "unavailable": false,
        "member_count": g.members.len(),
        "voice_states": [],
        "members": g.members,
        "channels": [guild_channel(g.channel_id, g.id, "general")],
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    })
}

/// `GET /oauth2/applications/@me`.
pub(crate) fn application(id: u64, bot: Value, owner: Value) -> Value {
    json!({
        "id": id.to_string(),
        "name": "mentorbot (fake)",
        "icon": null,
        "description": "",
        "rpc_origins": [],
        "bot_public": true,
        "bot_require_code_grant": false,
        "bot": bot,
        "owner": owner,
        "verify_key": "0".repeat(64),
        "team": null,
        "flags": 0,
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "approximate_guild_count": 1,
        "integration_types_config": {"0": {}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use poise::serenity_prelude as serenity;

    fn site(guild: bool) -> Site {
        let u = user(2001, "alice", false);
        Site {
            channel_id: 3001,
            guild: guild.then(|| {
                (
                    4001,
                    member(u, &[5001], Some(permissions::MEMBER), &timestamp_now()),
                )
            }),
            app_permissions: permissions::MEMBER,
            user_permissions: permissions::MEMBER,
        }
    }

    fn parse(v: &Value) -> serenity::Interaction {
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v:#}"))
    }

    #[test]
    fn a_bot_message_deserializes_as_a_serenity_message() {
        let payload = json!({"content": "hi", "embeds": [{"title": "t"}], "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]},
            {"type": 1, "components": [{"type": 3, "custom_id": "s", "options": [{"label": "a", "value": "a"}]}]}
        ]});
        let origin = Origin {
            interaction_id: 7,
            interaction_kind: 2,
            name: "ping".into(),
            user: user(2001, "alice", false),
            guild_id: Some(4001),
            target_user: None,
            interacted_message_id: None,
            original_response_message_id: None,
        };
        let m = message(
            9,
            3001,
            user(1, "bot", true),
            &payload,
            20,
            64,
            Some(11),
            Some(&origin),
            &["a.txt".into()],
        );
        let parsed: serenity::Message =
            serde_json::from_value(m.clone()).unwrap_or_else(|e| panic!("{e}: {m:#}"));
        assert_eq!(parsed.content, "hi");
        assert_eq!(parsed.components.len(), 2);
        assert!(parsed.interaction_metadata.is_some());
    }

    #[test]
    fn ready_guild_create_application_and_channels_deserialize() {
        let r = ready(
            current_user(1, "bot"),
            &[4001],
            "sess",
            "ws://127.0.0.1:1",
            11,
        );
        let parsed: serenity::Ready = serde_json::from_value(r).unwrap();
        assert_eq!(parsed.application.id.get(), 11);
        let g = guild_create(&GuildInfo {
            id: 4001,
            name: "Test",
            owner_id: 2001,
            channel_id: 3001,
            roles: vec![
                (4001, "@everyone".into(), permissions::MEMBER),
                (5001, "Mentor".into(), 0),
            ],
            members: vec![member(
                user(2001, "alice", false),
                &[5001],
                None,
                &timestamp_now(),
            )],
        });
        let parsed: serenity::Guild =
            serde_json::from_value(g.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.roles.len(), 2);
        let event = json!({"op": 0, "t": "GUILD_CREATE", "s": 2, "d": g});
        let parsed: serenity::GatewayEvent = serde_json::from_value(event).unwrap();
        assert!(matches!(
            parsed,
            serenity::GatewayEvent::Dispatch(2, serenity::Event::GuildCreate(_))
        ));
        let app = application(11, user(1, "bot", true), user(2001, "alice", false));
        let _: serenity::CurrentApplicationInfo = serde_json::from_value(app).unwrap();
        let _: serenity::PrivateChannel =
            serde_json::from_value(dm_channel(3002, user(2001, "alice", false))).unwrap();
        let _: serenity::GuildChannel =
            serde_json::from_value(guild_channel(3001, 4001, "general")).unwrap();
        let _: serenity::CurrentUser = serde_json::from_value(current_user(1, "bot")).unwrap();
        let _: serenity::Member = serde_json::from_value(member(
            user(2001, "alice", false),
            &[],
            Some(8),
            &timestamp_now(),
        ))
        .unwrap();
    }

    #[test]
    fn interactions_of_every_kind_deserialize_in_serenity() {
        let alice = user(2001, "alice", false);
        let bob = user(2002, "bob", false);
        let resolved = json!({
            "users": {"2002": bob},
            "members": {"2002": partial_member(&[], permissions::MEMBER, &timestamp_now())},
            "roles": {"5001": role(5001, "Mentor", 1, 0)},
        });
        // Slash command: group / subcommand / string, integer, boolean, user and role options.
        let data = json!({
            "id": "6001", "name": "admin", "type": 1, "guild_id": "4001", "resolved": resolved,
            "options": [{"type": 2, "name": "tools", "options": [{"type": 1, "name": "ping", "options": [
                {"type": 3, "name": "text", "value": "hi"},
                {"type": 4, "name": "count", "value": 3},
                {"type": 5, "name": "loud", "value": true},
                {"type": 6, "name": "who", "value": "2002"},
                {"type": 8, "name": "role", "value": "5001"},
                {"type": 10, "name": "ratio", "value": 0.5}
            ]}]}]
        });
        for guild in [true, false] {
            let v = interaction(
                1,
                11,
                "tok",
                2,
                data.clone(),
                &alice,
                "en-US",
                &site(guild),
                None,
            );
            let serenity::Interaction::Command(c) = parse(&v) else {
                panic!("not a command")
            };
            assert_eq!(
                c.user.id.get(),
                2001,
                "user is filled from member in guilds"
            );
            assert_eq!(c.data.resolved.users.len(), 1);
            assert_eq!(c.guild_id.is_some(), guild);
            if guild {
                assert!(c.member.as_ref().unwrap().permissions.is_some());
            }
        }

        // Subcommand without options still carries `options: []` (serenity requires it).
        let data = json!({"id": "6001", "name": "timezone", "type": 1, "options": [{"type": 1, "name": "show", "options": []}]});
        let v = interaction(1, 11, "tok", 2, data, &alice, "en-US", &site(false), None);
        assert!(matches!(parse(&v), serenity::Interaction::Command(_)));

        // Autocomplete: the focused option's value is a string even for integer options.
        let data = json!({"id": "6001", "name": "timezone", "type": 1, "options": [{"type": 1, "name": "set", "options": [
            {"type": 3, "name": "zone", "value": "Eur", "focused": true},
            {"type": 4, "name": "n", "value": 1}
        ]}]});
        let v = interaction(1, 11, "tok", 4, data, &alice, "en-US", &site(true), None);
        let serenity::Interaction::Autocomplete(a) = parse(&v) else {
            panic!("not autocomplete")
        };
        assert_eq!(a.data.autocomplete().unwrap().value, "Eur");

        // User context menu.
        let data = json!({"id": "6002", "name": "Book a session", "type": 2, "target_id": "2002",
            "resolved": {"users": {"2002": bob}, "members": {"2002": partial_member(&[], 0, &timestamp_now())}}});
        let v = interaction(1, 11, "tok", 2, data, &alice, "en-US", &site(true), None);
        let serenity::Interaction::Command(c) = parse(&v) else {
            panic!("not a command")
        };
        assert_eq!(c.data.target_id.unwrap().get(), 2002);

        // Button and string select, with the full message they sit on.
        let msg_payload = json!({"content": "pick", "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}]});
        let msg = message(
            9,
            3001,
            user(1, "bot", true),
            &msg_payload,
            20,
            64,
            Some(11),
            None,
            &[],
        );
        let v = interaction(
            1,
            11,
            "tok",
            3,
            json!({"custom_id": "go", "component_type": 2}),
            &alice,
            "en-US",
            &site(true),
            Some(msg.clone()),
        );
        let serenity::Interaction::Component(c) = parse(&v) else {
            panic!("not a component")
        };
        assert!(matches!(
            c.data.kind,
            serenity::ComponentInteractionDataKind::Button
        ));
        let v = interaction(
            1,
            11,
            "tok",
            3,
            json!({"custom_id": "s", "component_type": 3, "values": ["a"]}),
            &alice,
            "en-US",
            &site(false),
            Some(msg.clone()),
        );
        let serenity::Interaction::Component(c) = parse(&v) else {
            panic!("not a component")
        };
        assert!(matches!(
            c.data.kind,
            serenity::ComponentInteractionDataKind::StringSelect { .. }
        ));

        // Modal submit.
        let data = json!({"custom_id": "m", "components": [{"type": 1, "components": [{"type": 4, "custom_id": "reason", "value": "sick"}]}]});
        let v = interaction(
            1,
            11,
            "tok",
            5,
            data,
            &alice,
            "en-US",
            &site(true),
            Some(msg),
        );
        let serenity::Interaction::Modal(m) = parse(&v) else {
            panic!("not a modal")
        };
        assert_eq!(m.data.components.len(), 1);
    }
}
