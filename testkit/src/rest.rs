//! The REST API under `/api/v10`, as serenity calls it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::InteractionKind;
use crate::limits::{self, FormErrors};
use crate::payloads::{self, Origin};
use crate::state::{INITIAL_RESPONSE_WINDOW, Inner, Rejection, State as FakeState, TOKEN_LIFETIME};
use crate::util::{parse_multipart, snowflake};

type Shared = State<Arc<Inner>>;

/// A Discord error answer.
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    fn new(status: u16, code: u64, message: &str) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            body: json!({"code": code, "message": message}),
        }
    }
    fn form(errs: &FormErrors) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: errs.body(),
        }
    }
    fn unknown_interaction() -> Self {
        Self::new(404, 10062, "Unknown interaction")
    }
    fn unknown_webhook() -> Self {
        Self::new(404, 10015, "Unknown Webhook")
    }
    fn unknown_message() -> Self {
        Self::new(404, 10008, "Unknown Message")
    }
    fn unknown_channel() -> Self {
        Self::new(404, 10003, "Unknown Channel")
    }
    fn empty_message() -> Self {
        Self::new(400, 50006, "Cannot send an empty message")
    }
    fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.status.as_u16(),
            self.body["code"],
            self.body["message"].as_str().unwrap_or_default()
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok_json(v: Value) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    let api = Router::new()
        .route("/gateway", get(gateway))
        .route("/gateway/bot", get(gateway_bot))
        .route("/oauth2/applications/@me", get(application))
        .route("/applications/@me", get(application))
        .route("/users/@me", get(current_user))
        .route("/users/@me/channels", post(create_dm))
        .route("/users/{user}", get(get_user))
        .route(
            "/applications/{app}/commands",
            put(put_global_commands).get(get_global_commands),
        )
        .route(
            "/applications/{app}/guilds/{guild}/commands",
            put(put_guild_commands).get(get_guild_commands),
        )
        .route("/interactions/{id}/{token}/callback", post(callback))
        .route("/webhooks/{app}/{token}", post(followup))
        .route(
            "/webhooks/{app}/{token}/messages/{message}",
            get(webhook_message)
                .patch(webhook_message)
                .delete(webhook_message),
        )
        .route("/channels/{channel}", get(get_channel))
        .route(
            "/channels/{channel}/messages",
            post(create_message).get(list_messages),
        )
        .route(
            "/channels/{channel}/messages/{message}",
            get(channel_message)
                .patch(channel_message)
                .delete(channel_message),
        )
        .route("/guilds/{guild}", get(get_guild))
        .route("/guilds/{guild}/roles", get(get_roles))
        .route("/guilds/{guild}/members/{user}", get(get_member));
    Router::new()
        .nest("/api/v10", api)
        .fallback(unknown_route)
        .layer(middleware::from_fn_with_state(inner.clone(), gatekeeper))
        .with_state(inner)
}

/// Records every request, applies injected rate limits and authentication, and records (and
/// prints) every refusal.
async fn gatekeeper(State(inner): Shared, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let full_path = req.uri().path().to_string();
    let path = full_path
        .strip_prefix("/api/v10")
        .unwrap_or(&full_path)
        .to_string();
    let limited = inner.update(|s| {
        s.requests.push((method.clone(), path.clone()));
        if let Some(rule) = s
            .rate_rules
            .iter_mut()
            .find(|r| r.remaining > 0 && r.matches(&method, &path))
        {
            rule.remaining -= 1;
            return Some(rule.retry_after);
        }
        s.random_rate_rules
            .iter_mut()
            .find_map(|r| r.draw(&method, &path).then_some(r.retry_after))
    });
    let needs_auth = !(path.starts_with("/interactions/")
        || path.starts_with("/webhooks/")
        || path.starts_with("/gateway"));
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.starts_with("Bot ") && h.len() > 4);
    let response = if let Some(retry_after) = limited {
        let body = json!({
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": false,
        });
        let mut r = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        let headers = r.headers_mut();
        let secs = retry_after.ceil().max(0.0) as u64;
        headers.insert("retry-after", HeaderValue::from(secs));
        headers.insert("x-ratelimit-limit", HeaderValue::from_static("5"));
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        if let Ok(v) = HeaderValue::from_str(&format!("{retry_after:.3}")) {
            headers.insert("x-ratelimit-reset-after", v);
        }
        headers.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
        headers.insert("x-ratelimit-bucket", HeaderValue::from_static("testkit"));
        r
    } else if needs_auth && !authorized {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "401: Unauthorized", "code": 0})),
        )
            .into_response()
    } else {
        next.run(req).await
    };
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let body_json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let expected_50007 = body_json["code"] == 50007 && inner.lock().quiet_dm_refusals;
    if status != StatusCode::TOO_MANY_REQUESTS && !expected_50007 {
        eprintln!(
            "testkit: {method} {} -> {} {body_json}",
            redact(&path),
            status.as_u16()
        );
    }
    inner.update(|s| {
        s.rejections.push(Rejection {
            method,
            path,
            status: status.as_u16(),
            body: body_json,
        });
    });
    Response::from_parts(parts, Body::from(bytes))
}

/// The path with interaction/webhook tokens replaced by `<token>`, for logs.
fn redact(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    // ["", "interactions", id, token, ...] and ["", "webhooks", app, token, ...]
    if matches!(segments.get(1), Some(&"interactions" | &"webhooks")) && segments.len() > 3 {
        segments[3] = "<token>";
    }
    segments.join("/")
}

async fn unknown_route(State(inner): Shared, method: Method, req: Request) -> Response {
    let path = req.uri().path().to_string();
    eprintln!(
        "testkit: UNKNOWN ROUTE {method} {} — the fake does not implement it; answering 404",
        redact(path.strip_prefix("/api/v10").unwrap_or(&path))
    );
    inner.update(|s| s.unknown_routes.push((method.to_string(), path.clone())));
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            json!({"message": format!("404: Not Found ({method} {path} is not faked)"), "code": 0}),
        ),
    )
        .into_response()
}

/// Parses a JSON or `multipart/form-data` body; returns the payload and the attached file names.
fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<(Value, Vec<String>), ApiError> {
    let content_type = headers
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let (json_bytes, files) = if content_type.starts_with("multipart/form-data") {
        let parts = parse_multipart(content_type, body)
            .ok_or_else(|| ApiError::new(400, 50035, "Invalid Form Body"))?;
        (
            parts.payload_json.unwrap_or_else(|| b"{}".to_vec()),
            parts.file_names,
        )
    } else {
        (body.to_vec(), Vec::new())
    };
    if json_bytes.is_empty() {
        return Ok((Value::Null, files));
    }
    serde_json::from_slice(&json_bytes)
        .map(|v| (v, files))
        .map_err(|_| ApiError::new(400, 50109, "The request body contains invalid JSON."))
}

fn parse_id(s: &str) -> Option<u64> {
    s.parse().ok().filter(|id| *id > 0)
}

async fn gateway(State(inner): Shared) -> ApiResult {
    ok_json(json!({"url": inner.gateway_url()}))
}

async fn gateway_bot(State(inner): Shared) -> ApiResult {
    ok_json(json!({
        "url": inner.gateway_url(),
        "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1},
    }))
}

async fn application(State(inner): Shared) -> ApiResult {
    let owner = payloads::user(inner.owner.id, &inner.owner.name, false);
    ok_json(payloads::application(
        inner.application_id,
        inner.bot_user(),
        owner,
    ))
}

async fn current_user(State(inner): Shared) -> ApiResult {
    ok_json(payloads::current_user(inner.bot_user_id, &inner.bot_name))
}

async fn get_user(State(inner): Shared, Path(user): Path<String>) -> ApiResult {
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

async fn create_dm(State(inner): Shared, headers: HeaderMap, body: Bytes) -> ApiResult {
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

async fn put_global_commands(
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

async fn get_global_commands(State(inner): Shared, Path(app): Path<String>) -> ApiResult {
    check_app(&inner, &app)?;
    ok_json(Value::Array(inner.lock().global_commands.clone()))
}

async fn put_guild_commands(
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

async fn get_guild_commands(
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

async fn callback(
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
            s.store_message(raw, channel_id, guild_id, visible_to);
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

async fn followup(
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
    s.store_message(raw.clone(), channel_id, guild_id, visible_to);
    if let Some(i) = s.interactions.get_mut(&id) {
        i.followups.push(msg_id);
    }
    s.mark_result(id, Some(msg_id));
    Ok(raw)
}

async fn webhook_message(
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

async fn get_channel(State(inner): Shared, Path(channel): Path<String>) -> ApiResult {
    let id = parse_id(&channel).ok_or_else(ApiError::unknown_channel)?;
    let s = inner.lock();
    let c = s.channels.get(&id).ok_or_else(ApiError::unknown_channel)?;
    match (c.guild_id, c.dm_user) {
        (Some(g), _) => ok_json(payloads::guild_channel(id, g, "general")),
        (None, Some(u)) => ok_json(payloads::dm_channel(id, s.user_json(u))),
        _ => Err(ApiError::unknown_channel()),
    }
}

async fn create_message(
    State(inner): Shared,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (payload, files) = parse_body(&headers, &body)?;
    let channel_id = parse_id(&channel).ok_or_else(ApiError::unknown_channel)?;
    let raw = inner.update(|s| -> Result<Value, ApiError> {
        let c = s
            .channels
            .get(&channel_id)
            .ok_or_else(ApiError::unknown_channel)?;
        let (guild_id, dm_user) = (c.guild_id, c.dm_user);
        if dm_user.is_some_and(|u| s.dms_closed.contains(&u)) {
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
        s.store_message(raw.clone(), channel_id, guild_id, dm_user);
        Ok(raw)
    })?;
    ok_json(raw)
}

async fn list_messages(
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

async fn channel_message(
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

fn guild_or_404(s: &FakeState, guild: &str) -> Result<u64, ApiError> {
    parse_id(guild)
        .filter(|g| s.guilds.contains_key(g))
        .ok_or_else(|| ApiError::new(404, 10004, "Unknown Guild"))
}

async fn get_guild(State(inner): Shared, Path(guild): Path<String>) -> ApiResult {
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

async fn get_roles(State(inner): Shared, Path(guild): Path<String>) -> ApiResult {
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

async fn get_member(
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
