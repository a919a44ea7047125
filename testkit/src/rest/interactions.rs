//! Interaction callbacks, follow-ups and the webhook messages they create, with
//! Discord's response window and token lifetime.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Shared, no_content, ok_json, parse_body, parse_id};
use crate::InteractionKind;
use crate::limits::{self, FormErrors};
use crate::payloads::{self, Origin};
use crate::state::{INITIAL_RESPONSE_WINDOW, Inner, State as FakeState, TOKEN_LIFETIME};
use crate::util::snowflake;

fn refuse(s: &mut FakeState, interaction_id: u64, e: ApiError) -> ApiError {
    if let Some(i) = s.interactions.get_mut(&interaction_id) {
        i.refusals.push(e.describe());
    }
    e
}

fn message_type_for(kind: InteractionKind) -> u8 {
    match kind {
        InteractionKind::Command => 20,
        InteractionKind::UserMenu => 23,
        _ => 19,
    }
}

fn origin_of(s: &FakeState, interaction_id: u64, original: Option<u64>) -> Option<Origin> {
    let i = s.interactions.get(&interaction_id)?;
    Some(Origin {
        interaction_id: i.id,
        interaction_kind: i.payload["type"].as_u64().unwrap_or(2) as u8,
        name: i.name.clone(),
        user: i.origin_user.clone(),
        guild_id: i.guild_id,
        target_user: i.target_user.clone(),
        interacted_message_id: i.source_message,
        original_response_message_id: original,
    })
}

pub(super) async fn callback(
    State(inner): Shared,
    Path((id, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (payload, files) = parse_body(&headers, &body)?;
    let id = parse_id(&id).ok_or_else(ApiError::unknown_interaction)?;
    inner.update(|s| {
        handle_callback(&inner, s, id, &token, &payload, &files).map_err(|e| refuse(s, id, e))
    })?;
    no_content()
}

fn handle_callback(
    inner: &Inner,
    s: &mut FakeState,
    id: u64,
    token: &str,
    payload: &Value,
    files: &[String],
) -> Result<(), ApiError> {
    let now = s.now();
    let i = s
        .interactions
        .get(&id)
        .filter(|i| i.token == token)
        .ok_or_else(ApiError::unknown_interaction)?;
    if i.initial.is_some() {
        return Err(ApiError::new(
            400,
            40060,
            "Interaction has already been acknowledged.",
        ));
    }
    if now.saturating_duration_since(i.sent_at) > INITIAL_RESPONSE_WINDOW {
        return Err(ApiError::unknown_interaction());
    }
    let kind = payload["type"].as_u64().unwrap_or(0) as u8;
    let allowed: &[u8] = match (i.kind, i.source_message.is_some()) {
        (InteractionKind::Autocomplete, _) => &[8],
        (InteractionKind::Command | InteractionKind::UserMenu, _) => &[4, 5, 9],
        (InteractionKind::Component, _) => &[4, 5, 6, 7, 9],
        (InteractionKind::ModalSubmit, true) => &[4, 5, 6, 7],
        (InteractionKind::ModalSubmit, false) => &[4, 5],
    };
    if !allowed.contains(&kind) {
        let mut errs = FormErrors::default();
        errs.push(
            "type",
            "INTERACTION_RESPONSE_TYPE_INVALID",
            format!(
                "Response type {kind} is not valid for a {:?} interaction (allowed: {allowed:?})",
                i.kind
            ),
        );
        return Err(ApiError::form(&errs));
    }
    let data = payload.get("data").unwrap_or(&Value::Null);
    let mut errs = FormErrors::default();
    match kind {
        4 | 7 => limits::check_message(data, "data", &mut errs),
        8 => limits::check_choices(data, &mut errs),
        9 => limits::check_modal(data, &mut errs),
        _ => {}
    }
    if !errs.is_empty() {
        return Err(ApiError::form(&errs));
    }
    if kind == 4 && !limits::message_has_body(data, files.len()) {
        return Err(ApiError::empty_message());
    }

    let (ikind, channel_id, guild_id, user_id, source) = (
        i.kind,
        i.channel_id,
        i.guild_id,
        i.user_id,
        i.source_message,
    );
    let flags_in = data["flags"].as_u64().unwrap_or(0);
    let mut result: Option<Option<u64>> = None;
    let mut original = None;
    let mut loading = false;
    match kind {
        4 | 5 => {
            let msg_id = snowflake();
            let empty = json!({});
            let (flags, body) = if kind == 4 {
                (flags_in & (4 | 64 | 4096), data)
            } else {
                (128 | (flags_in & 64), &empty)
            };
            let origin = origin_of(s, id, None);
            let raw = payloads::message(
                msg_id,
                channel_id,
                inner.bot_user(),
                body,
                message_type_for(ikind),
                flags,
                Some(inner.application_id),
                origin.as_ref(),
                if kind == 4 { files } else { &[] },
            );
            let dm_user = guild_id.is_none().then_some(user_id);
            let visible_to = if flags & 64 != 0 {
                Some(user_id)
            } else {
                dm_user
            };
            s.store_message(raw, body, channel_id, guild_id, visible_to);
            original = Some(msg_id);
            if kind == 4 {
                result = Some(Some(msg_id));
            } else {
                loading = true;
            }
        }
        6 => original = source,
        7 => {
            if let Some(src) = source {
                s.edit_message(src, data, true);
            }
            original = source;
            result = Some(source);
        }
        _ => result = Some(None),
    }
    let i = s.interactions.get_mut(&id).expect("checked above");
    i.initial = Some(crate::state::Initial {
        at: std::time::Instant::now(),
        kind,
        body: payload.clone(),
    });
    i.original = original;
    i.loading = loading;
    match kind {
        8 => i.choices = Some(data["choices"].as_array().cloned().unwrap_or_default()),
        9 => i.modal = Some(data.clone()),
        _ => {}
    }
    if let Some(message) = result {
        s.mark_result(id, message);
    }
    Ok(())
}

/// Finds the interaction behind a webhook token, checking the application and the token's age.
fn interaction_for_token(
    inner: &Inner,
    s: &FakeState,
    app: &str,
    token: &str,
) -> Result<u64, ApiError> {
    if parse_id(app) != Some(inner.application_id) {
        return Err(ApiError::unknown_webhook());
    }
    let i = s
        .interaction_by_token
        .get(token)
        .and_then(|id| s.interactions.get(id))
        .filter(|i| i.initial.is_some())
        .ok_or_else(ApiError::unknown_webhook)?;
    if s.now().saturating_duration_since(i.sent_at) > TOKEN_LIFETIME {
        return Err(ApiError::new(401, 50027, "Invalid Webhook Token"));
    }
    Ok(i.id)
}

pub(super) async fn followup(
    State(inner): Shared,
    Path((app, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (payload, files) = parse_body(&headers, &body)?;
    let message = inner.update(|s| -> Result<Value, ApiError> {
        let id = interaction_for_token(&inner, s, &app, &token)?;
        handle_followup(&inner, s, id, &payload, &files).map_err(|e| refuse(s, id, e))
    })?;
    ok_json(message)
}

fn handle_followup(
    inner: &Inner,
    s: &mut FakeState,
    id: u64,
    payload: &Value,
    files: &[String],
) -> Result<Value, ApiError> {
    let mut errs = FormErrors::default();
    limits::check_message(payload, "", &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::form(&errs));
    }
    if !limits::message_has_body(payload, files.len()) {
        return Err(ApiError::empty_message());
    }
    let i = &s.interactions[&id];
    let (loading, original, kind, channel_id, guild_id, user_id) = (
        i.loading,
        i.original,
        i.kind,
        i.channel_id,
        i.guild_id,
        i.user_id,
    );
    // After a deferral (type 5) the first follow-up fills the "thinking…" message, keeping
    // the deferral's ephemerality.
    if let (true, Some(original)) = (loading, original) {
        s.edit_message(original, payload, false);
        if let Some(i) = s.interactions.get_mut(&id) {
            i.loading = false;
        }
        s.mark_result(id, Some(original));
        return s
            .message_value(original)
            .ok_or_else(ApiError::unknown_message);
    }
    let msg_id = snowflake();
    let flags = payload["flags"].as_u64().unwrap_or(0) & (4 | 64 | 4096);
    let origin = origin_of(s, id, original);
    let raw = payloads::message(
        msg_id,
        channel_id,
        inner.bot_user(),
        payload,
        message_type_for(kind),
        flags,
        Some(inner.application_id),
        origin.as_ref(),
        files,
    );
    let visible_to = if flags & 64 != 0 || guild_id.is_none() {
        Some(user_id)
    } else {
        None
    };
    s.store_message(raw.clone(), payload, channel_id, guild_id, visible_to);
    if let Some(i) = s.interactions.get_mut(&id) {
        i.followups.push(msg_id);
    }
    s.mark_result(id, Some(msg_id));
    Ok(raw)
}

pub(super) async fn webhook_message(
    State(inner): Shared,
    method: Method,
    Path((app, token, message)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (payload, _) = parse_body(&headers, &body)?;
    let out = inner.update(|s| -> Result<Option<Value>, ApiError> {
        let id = interaction_for_token(&inner, s, &app, &token)?;
        handle_webhook_message(s, id, &method, &message, &payload).map_err(|e| refuse(s, id, e))
    })?;
    match out {
        Some(v) => ok_json(v),
        None => no_content(),
    }
}

fn handle_webhook_message(
    s: &mut FakeState,
    id: u64,
    method: &Method,
    message: &str,
    payload: &Value,
) -> Result<Option<Value>, ApiError> {
    let i = &s.interactions[&id];
    let target = if message == "@original" {
        i.original
    } else {
        parse_id(message).filter(|m| i.original == Some(*m) || i.followups.contains(m))
    }
    .ok_or_else(ApiError::unknown_message)?;
    let is_original = i.original == Some(target);
    if *method == Method::GET {
        return s
            .message_value(target)
            .map(Some)
            .ok_or_else(ApiError::unknown_message);
    }
    if *method == Method::DELETE {
        match s.messages.get_mut(&target) {
            Some(m) if !m.deleted => m.deleted = true,
            _ => return Err(ApiError::unknown_message()),
        }
        return Ok(None);
    }
    let mut errs = FormErrors::default();
    limits::check_message(payload, "", &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::form(&errs));
    }
    if s.message_value(target).is_none() {
        return Err(ApiError::unknown_message());
    }
    let was_loading = is_original && i.loading;
    s.edit_message(target, payload, !was_loading);
    if was_loading && let Some(i) = s.interactions.get_mut(&id) {
        i.loading = false;
    }
    s.mark_result(id, Some(target));
    Ok(s.message_value(target))
}
