//! The REST API under `/api/v10`, as serenity calls it: the router, the gatekeeper every
//! request passes (log, rate limits, authentication), and Discord's error answers. The
//! handlers live by resource: `app`, `interactions`, `channels`, `guilds`.

mod app;
mod channels;
mod guilds;
mod interactions;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::limits::FormErrors;
use crate::state::{Inner, Rejection};
use crate::util::parse_multipart;

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
    use app::*;
    use channels::*;
    use guilds::*;
    use interactions::*;
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
