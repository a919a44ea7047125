//! The bot's own identity and setup: gateway URL, application, users, DM channels and
//! command registration.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Shared, ok_json, parse_body, parse_id};
use crate::limits::{self, FormErrors};
use crate::payloads;
use crate::state::Inner;
use crate::util::snowflake;

pub(super) async fn gateway(State(inner): Shared) -> ApiResult {
    ok_json(json!({"url": inner.gateway_url()}))
}

pub(super) async fn gateway_bot(State(inner): Shared) -> ApiResult {
    ok_json(json!({
        "url": inner.gateway_url(),
        "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1},
    }))
}

pub(super) async fn application(State(inner): Shared) -> ApiResult {
    let owner = payloads::user(inner.owner.id, &inner.owner.name, false);
    ok_json(payloads::application(
        inner.application_id,
        inner.bot_user(),
        owner,
    ))
}

pub(super) async fn current_user(State(inner): Shared) -> ApiResult {
    ok_json(payloads::current_user(inner.bot_user_id, &inner.bot_name))
}

pub(super) async fn get_user(State(inner): Shared, Path(user): Path<String>) -> ApiResult {
    let id = parse_id(&user).ok_or_else(|| ApiError::new(404, 10013, "Unknown User"))?;
    if id == inner.bot_user_id {
        return ok_json(inner.bot_user());
    }
    let s = inner.lock();
    if s.users.contains_key(&id) {
        ok_json(s.user_json(id))
    } else {
        Err(ApiError::new(404, 10013, "Unknown User"))
    }
}

pub(super) async fn create_dm(State(inner): Shared, headers: HeaderMap, body: Bytes) -> ApiResult {
    let (payload, _) = parse_body(&headers, &body)?;
    let recipient = match &payload["recipient_id"] {
        Value::String(s) => parse_id(s),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let Some(user_id) = recipient else {
        let mut errs = FormErrors::default();
        errs.push(
            "recipient_id",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
        return Err(ApiError::form(&errs));
    };
    if user_id == inner.bot_user_id {
        return Err(ApiError::new(400, 50033, "Invalid Recipient(s)"));
    }
    let channel = inner.update(|s| {
        let id = s.dm_channel(user_id);
        payloads::dm_channel(id, s.user_json(user_id))
    });
    ok_json(channel)
}

fn check_app(inner: &Inner, app: &str) -> Result<(), ApiError> {
    if parse_id(app) == Some(inner.application_id) {
        Ok(())
    } else {
        Err(ApiError::new(
            403,
            20012,
            "You are not authorized to perform this action on this application",
        ))
    }
}

/// Validates a bulk overwrite and returns the commands as Discord stores them (ids kept for
/// commands that already existed with the same name and type).
fn overwrite_commands(
    inner: &Inner,
    previous: &[Value],
    payload: &Value,
    guild_id: Option<u64>,
) -> Result<Vec<Value>, ApiError> {
    let mut errs = FormErrors::default();
    limits::check_commands(payload, &mut errs);
    if !errs.is_empty() {
        eprintln!("testkit: command registration refused: {}", errs.summary());
        return Err(ApiError::form(&errs));
    }
    let list = payload.as_array().cloned().unwrap_or_default();
    Ok(list
        .into_iter()
        .map(|mut cmd| {
            let kind = cmd["type"].as_u64().unwrap_or(1);
            let id = previous
                .iter()
                .find(|p| p["name"] == cmd["name"] && p["type"].as_u64() == Some(kind))
                .and_then(|p| p["id"].as_str().map(str::to_string))
                .unwrap_or_else(|| snowflake().to_string());
            cmd["id"] = json!(id);
            cmd["type"] = json!(kind);
            cmd["application_id"] = json!(inner.application_id.to_string());
            cmd["version"] = json!(snowflake().to_string());
            if cmd.get("description").is_none_or(Value::is_null) {
                cmd["description"] = json!("");
            }
            if cmd.get("default_member_permissions").is_none() {
                cmd["default_member_permissions"] = Value::Null;
            }
            if cmd.get("nsfw").is_none() {
                cmd["nsfw"] = json!(false);
            }
            if cmd.get("integration_types").is_none() {
                cmd["integration_types"] = json!([0]);
            }
            if let Some(g) = guild_id {
                cmd["guild_id"] = json!(g.to_string());
            }
            cmd
        })
        .collect())
}

pub(super) async fn put_global_commands(
    State(inner): Shared,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    check_app(&inner, &app)?;
    let (payload, _) = parse_body(&headers, &body)?;
    let previous = inner.lock().global_commands.clone();
    let stored = overwrite_commands(&inner, &previous, &payload, None)?;
    inner.update(|s| {
        s.global_commands = stored.clone();
        s.registrations += 1;
    });
    ok_json(Value::Array(stored))
}

pub(super) async fn get_global_commands(
    State(inner): Shared,
    Path(app): Path<String>,
) -> ApiResult {
    check_app(&inner, &app)?;
    ok_json(Value::Array(inner.lock().global_commands.clone()))
}

pub(super) async fn put_guild_commands(
    State(inner): Shared,
    Path((app, guild)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    check_app(&inner, &app)?;
    let guild_id = parse_id(&guild)
        .filter(|g| inner.lock().guilds.contains_key(g))
        .ok_or_else(|| ApiError::new(403, 50001, "Missing Access"))?;
    let (payload, _) = parse_body(&headers, &body)?;
    let previous = inner
        .lock()
        .guild_commands
        .get(&guild_id)
        .cloned()
        .unwrap_or_default();
    let stored = overwrite_commands(&inner, &previous, &payload, Some(guild_id))?;
    inner.update(|s| {
        s.guild_commands.insert(guild_id, stored.clone());
        s.registrations += 1;
    });
    ok_json(Value::Array(stored))
}

pub(super) async fn get_guild_commands(
    State(inner): Shared,
    Path((app, guild)): Path<(String, String)>,
) -> ApiResult {
    check_app(&inner, &app)?;
    let guild_id = parse_id(&guild).unwrap_or(0);
    let s = inner.lock();
    if !s.guilds.contains_key(&guild_id) {
        return Err(ApiError::new(403, 50001, "Missing Access"));
    }
    ok_json(Value::Array(
        s.guild_commands.get(&guild_id).cloned().unwrap_or_default(),
    ))
}
