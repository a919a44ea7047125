//! Guilds, their roles and their members.

use axum::extract::{Path, State};
use serde_json::Value;

use super::{ApiError, ApiResult, Shared, ok_json, parse_id};
use crate::payloads;
use crate::state::State as FakeState;

fn guild_or_404(s: &FakeState, guild: &str) -> Result<u64, ApiError> {
    parse_id(guild)
        .filter(|g| s.guilds.contains_key(g))
        .ok_or_else(|| ApiError::new(404, 10004, "Unknown Guild"))
}

pub(super) async fn get_guild(State(inner): Shared, Path(guild): Path<String>) -> ApiResult {
    let s = inner.lock();
    let id = guild_or_404(&s, &guild)?;
    let g = &s.guilds[&id];
    let mut roles = vec![(id, "@everyone".to_string(), crate::permissions::MEMBER)];
    roles.extend(g.roles.iter().map(|(r, n)| (*r, n.clone(), 0)));
    let mut v = payloads::guild_create(&payloads::GuildInfo {
        id,
        name: &g.name,
        owner_id: inner.owner.id,
        channel_id: g.channel_id,
        roles,
        members: Vec::new(),
    });
    if let Some(obj) = v.as_object_mut() {
        for key in [
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "member_count",
            "unavailable",
        ] {
            obj.remove(key);
        }
    }
    ok_json(v)
}

pub(super) async fn get_roles(State(inner): Shared, Path(guild): Path<String>) -> ApiResult {
    let s = inner.lock();
    let id = guild_or_404(&s, &guild)?;
    let mut roles = vec![payloads::role(
        id,
        "@everyone",
        0,
        crate::permissions::MEMBER,
    )];
    roles.extend(
        s.guilds[&id]
            .roles
            .iter()
            .enumerate()
            .map(|(i, (r, n))| payloads::role(*r, n, i as u64 + 1, 0)),
    );
    ok_json(Value::Array(roles))
}

pub(super) async fn get_member(
    State(inner): Shared,
    Path((guild, user)): Path<(String, String)>,
) -> ApiResult {
    let s = inner.lock();
    let id = guild_or_404(&s, &guild)?;
    let user_id = parse_id(&user).unwrap_or(0);
    let mut m = s
        .member_json(id, user_id)
        .ok_or_else(|| ApiError::new(404, 10007, "Unknown Member"))?;
    if let Some(obj) = m.as_object_mut() {
        obj.remove("permissions");
    }
    ok_json(m)
}
