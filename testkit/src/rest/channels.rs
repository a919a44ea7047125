//! Channels and their messages (DMs included): create, list, read, edit, delete.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Shared, no_content, ok_json, parse_body, parse_id};
use crate::limits::{self, FormErrors};
use crate::payloads;
use crate::util::{parse_multipart, snowflake};

/// Discord's upload limit for a bot without boosts: 10 MiB a file.
const MAX_ATTACHMENT: usize = 10 * 1024 * 1024;

/// The files of a multipart message, with their bytes (none for a JSON body).
fn attached_files(headers: &HeaderMap, body: &Bytes) -> Vec<(String, Vec<u8>)> {
    headers
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .filter(|t| t.starts_with("multipart/form-data"))
        .and_then(|t| parse_multipart(t, body))
        .map(|parts| parts.files)
        .unwrap_or_default()
}

pub(super) async fn get_channel(State(inner): Shared, Path(channel): Path<String>) -> ApiResult {
    let id = parse_id(&channel).ok_or_else(ApiError::unknown_channel)?;
    let s = inner.lock();
    let c = s.channels.get(&id).ok_or_else(ApiError::unknown_channel)?;
    match (c.guild_id, c.dm_user) {
        (Some(g), _) => ok_json(payloads::guild_channel(id, g, "general")),
        (None, Some(u)) => ok_json(payloads::dm_channel(id, s.user_json(u))),
        _ => Err(ApiError::unknown_channel()),
    }
}

pub(super) async fn create_message(
    State(inner): Shared,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (payload, files) = parse_body(&headers, &body)?;
    let contents = attached_files(&headers, &body);
    if contents
        .iter()
        .any(|(_, bytes)| bytes.len() > MAX_ATTACHMENT)
    {
        return Err(ApiError::new(413, 40005, "Request entity too large"));
    }
    let channel_id = parse_id(&channel).ok_or_else(ApiError::unknown_channel)?;
    let raw = inner.update(|s| -> Result<Value, ApiError> {
        let c = s
            .channels
            .get(&channel_id)
            .ok_or_else(ApiError::unknown_channel)?;
        let (guild_id, dm_user) = (c.guild_id, c.dm_user);
        // Discord delivers a bot's DM only to someone who shares a server with it and has not
        // closed their DMs; either way the refusal is the same 50007.
        let shares_no_server = |u: u64| !s.guilds.values().any(|g| g.members.contains_key(&u));
        if dm_user.is_some_and(|u| s.dms_closed.contains(&u) || shares_no_server(u)) {
            return Err(ApiError::new(
                403,
                50007,
                "Cannot send messages to this user",
            ));
        }
        let mut errs = FormErrors::default();
        limits::check_message(&payload, "", &mut errs);
        if !errs.is_empty() {
            return Err(ApiError::form(&errs));
        }
        if !limits::message_has_body(&payload, files.len()) {
            return Err(ApiError::empty_message());
        }
        let flags = payload["flags"].as_u64().unwrap_or(0);
        if flags & 64 != 0 {
            let mut errs = FormErrors::default();
            errs.push(
                "flags",
                "MESSAGE_FLAGS_INVALID",
                "Only interaction responses can be ephemeral",
            );
            return Err(ApiError::form(&errs));
        }
        let raw = payloads::message(
            snowflake(),
            channel_id,
            inner.bot_user(),
            &payload,
            0,
            flags & (4 | 4096),
            None,
            None,
            &files,
        );
        let id = s.store_message(raw.clone(), &payload, channel_id, guild_id, dm_user);
        for (name, bytes) in contents {
            s.attachments.insert((id, name), bytes);
        }
        Ok(raw)
    })?;
    ok_json(raw)
}

pub(super) async fn list_messages(
    State(inner): Shared,
    Path(channel): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let channel_id = parse_id(&channel).ok_or_else(ApiError::unknown_channel)?;
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let s = inner.lock();
    let c = s
        .channels
        .get(&channel_id)
        .ok_or_else(ApiError::unknown_channel)?;
    let list: Vec<Value> = c
        .messages
        .iter()
        .rev()
        .filter_map(|m| s.messages.get(m))
        .filter(|m| !m.deleted && m.raw["flags"].as_u64().unwrap_or(0) & 64 == 0)
        .take(limit)
        .map(|m| m.raw.clone())
        .collect();
    ok_json(Value::Array(list))
}

pub(super) async fn channel_message(
    State(inner): Shared,
    method: Method,
    Path((channel, message)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (payload, _) = parse_body(&headers, &body)?;
    let channel_id = parse_id(&channel).ok_or_else(ApiError::unknown_channel)?;
    let message_id = parse_id(&message).ok_or_else(ApiError::unknown_message)?;
    let out = inner.update(|s| -> Result<Option<Value>, ApiError> {
        if !s.channels.contains_key(&channel_id) {
            return Err(ApiError::unknown_channel());
        }
        let m = s
            .messages
            .get_mut(&message_id)
            // Ephemeral messages exist only for their interaction's webhook.
            .filter(|m| {
                m.channel_id == channel_id
                    && !m.deleted
                    && m.raw["flags"].as_u64().unwrap_or(0) & 64 == 0
            })
            .ok_or_else(ApiError::unknown_message)?;
        if method == Method::GET {
            return Ok(Some(m.raw.clone()));
        }
        if m.raw["author"]["id"] != json!(inner.bot_user_id.to_string()) {
            return Err(ApiError::new(
                403,
                50005,
                "Cannot edit a message authored by another user",
            ));
        }
        if method == Method::DELETE {
            m.deleted = true;
            return Ok(None);
        }
        let mut errs = FormErrors::default();
        limits::check_message(&payload, "", &mut errs);
        if !errs.is_empty() {
            return Err(ApiError::form(&errs));
        }
        s.edit_message(message_id, &payload, true);
        Ok(s.message_value(message_id))
    })?;
    match out {
        Some(v) => ok_json(v),
        None => no_content(),
    }
}
