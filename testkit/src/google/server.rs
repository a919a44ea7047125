//! The router, the request log, fault injection and Google's error bodies.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::state::Shared;
use super::{Fault, LoggedRequest, Route, calendar, oauth};

/// Largest request body the fake reads.
const BODY_LIMIT: usize = 1 << 20;

pub(crate) type Shd = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/o/oauth2/v2/auth", get(oauth::auth))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .route(
            "/calendar/v3/calendars/{cal}/events",
            post(calendar::insert),
        )
        .route(
            "/calendar/v3/calendars/{cal}/events/{id}",
            get(calendar::get)
                .patch(calendar::patch)
                .delete(calendar::delete),
        )
        .route("/calendar/v3/freeBusy", post(calendar::free_busy))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), gatekeeper))
        .with_state(shared)
}

async fn not_found() -> Response {
    google_error(404, "global", "notFound", "Not Found")
}

/// The route of a request, from its method and path.
fn classify(method: &Method, path: &str) -> Route {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["o", "oauth2", "v2", "auth"]) => Route::Auth,
        ("POST", ["token"]) => Route::Token,
        ("POST", ["revoke"]) => Route::Revoke,
        ("POST", ["calendar", "v3", "calendars", _, "events"]) => Route::EventsInsert,
        ("GET", ["calendar", "v3", "calendars", _, "events", _]) => Route::EventsGet,
        ("PATCH", ["calendar", "v3", "calendars", _, "events", _]) => Route::EventsPatch,
        ("DELETE", ["calendar", "v3", "calendars", _, "events", _]) => Route::EventsDelete,
        ("POST", ["calendar", "v3", "freeBusy"]) => Route::FreeBusy,
        _ => Route::Other,
    }
}

/// Logs every request, then answers it with an injected fault, the outage, or normally.
async fn gatekeeper(State(shared): Shd, req: Request, next: Next) -> Response {
    let route = classify(req.method(), req.uri().path());
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
        }
    };
    let (index, outage, fault) = shared.with(|s| {
        s.requests.push(LoggedRequest {
            method,
            path,
            query,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            status: 0,
            route,
            injected: false,
        });
        let outage = s.down && route != Route::Auth;
        let fault = if outage {
            None
        } else {
            s.faults
                .iter()
                .position(|(r, _)| r.matches(route))
                .map(|i| s.faults.remove(i).1)
                .or_else(|| s.random_faults.as_mut().and_then(|r| r.draw(route)))
        };
        (s.requests.len() - 1, outage, fault)
    });
    let injected =
        outage || matches!(&fault, Some(f) if !matches!(f, Fault::Delay(_) | Fault::DelayAfter(_)));
    let response = if outage {
        fault_response(route, &Fault::Status(503))
    } else {
        match fault {
            Some(Fault::Delay(d)) => {
                tokio::time::sleep(d).await;
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
            Some(Fault::DelayAfter(d)) => {
                // The work is done (and kept) before the wait: a client that gives up or
                // dies meanwhile never learns that it succeeded.
                let response = next
                    .run(Request::from_parts(parts, Body::from(bytes)))
                    .await;
                tokio::time::sleep(d).await;
                response
            }
            Some(f) => fault_response(route, &f),
            None => {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
        }
    };
    let status = response.status().as_u16();
    shared.with(|s| {
        if let Some(r) = s.requests.get_mut(index) {
            r.status = status;
            r.injected = injected;
        }
    });
    response
}

/// The answer to an injected fault (never called with [`Fault::Delay`] or
/// [`Fault::DelayAfter`]).
fn fault_response(route: Route, fault: &Fault) -> Response {
    let (status, domain, reason, message) = match fault {
        Fault::Status(code) => {
            let (reason, message) = match code {
                400 => ("badRequest", "Bad Request"),
                401 => ("authError", "Invalid Credentials"),
                403 => ("forbidden", "Forbidden"),
                404 => ("notFound", "Not Found"),
                409 => ("duplicate", "The requested identifier already exists."),
                410 => ("deleted", "Resource has been deleted"),
                429 => ("rateLimitExceeded", "Rate Limit Exceeded"),
                503 => ("backendError", "The service is currently unavailable."),
                c if *c >= 500 => ("backendError", "Backend Error"),
                _ => ("badRequest", "Bad Request"),
            };
            (*code, "global", reason, message)
        }
        Fault::RateLimited { .. } => (
            429,
            "usageLimits",
            "rateLimitExceeded",
            "Rate Limit Exceeded",
        ),
        Fault::UsageLimit403 => (
            403,
            "usageLimits",
            "userRateLimitExceeded",
            "User Rate Limit Exceeded",
        ),
        Fault::Forbidden403 => (403, "global", "forbidden", "Forbidden"),
        Fault::InvalidGrant => (400, "global", "badRequest", "Bad Request"),
        Fault::Delay(_) | Fault::DelayAfter(_) => (500, "global", "backendError", "Backend Error"),
    };
    let mut response = match route {
        Route::Token if *fault == Fault::InvalidGrant => oauth_error(
            400,
            "invalid_grant",
            Some("Token has been expired or revoked."),
        ),
        r if r.is_oauth() => {
            let error = match status {
                s if s >= 500 => "internal_failure",
                429 => "rate_limit_exceeded",
                403 => "access_denied",
                _ => "invalid_request",
            };
            oauth_error(
                status,
                error,
                Some(&format!("testkit fault: HTTP {status}")),
            )
        }
        Route::Auth => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            format!("testkit fault: HTTP {status}"),
        )
            .into_response(),
        _ if status == 401 => auth_error(),
        _ => google_error(status, domain, reason, message),
    };
    if let Fault::RateLimited { retry_after_secs } = fault {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    response
}

/// Google's API error body: `{"error":{"code","message","errors":[{domain,reason,message}]}}`.
pub(crate) fn google_error(status: u16, domain: &str, reason: &str, message: &str) -> Response {
    google_error_with(status, domain, reason, message, message)
}

/// [`google_error`] whose top-level message differs from the item's.
pub(crate) fn google_error_with(
    status: u16,
    domain: &str,
    reason: &str,
    top: &str,
    item: &str,
) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "error": {
            "code": code.as_u16(),
            "message": top,
            "errors": [{"domain": domain, "reason": reason, "message": item}]
        }
    });
    (code, axum::Json(body)).into_response()
}

/// The 401 for a missing, unknown, expired or revoked access token.
pub(crate) fn auth_error() -> Response {
    let mut r = google_error_with(
        401,
        "global",
        "authError",
        "Request had invalid authentication credentials.",
        "Invalid Credentials",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
    );
    r
}

/// An OAuth error body: `{"error": "...", "error_description": "..."}`.
pub(crate) fn oauth_error(status: u16, error: &str, description: Option<&str>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = match description {
        Some(d) => json!({"error": error, "error_description": d}),
        None => json!({"error": error}),
    };
    (code, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_classified_by_method_and_shape() {
        let c = |m: Method, p: &str| classify(&m, p);
        assert_eq!(c(Method::GET, "/o/oauth2/v2/auth"), Route::Auth);
        assert_eq!(c(Method::POST, "/token"), Route::Token);
        assert_eq!(c(Method::GET, "/token"), Route::Other);
        assert_eq!(
            c(Method::POST, "/calendar/v3/calendars/primary/events"),
            Route::EventsInsert
        );
        assert_eq!(
            c(
                Method::DELETE,
                "/calendar/v3/calendars/primary/events/abcde"
            ),
            Route::EventsDelete
        );
        assert_eq!(
            c(Method::GET, "/calendar/v3/calendars/primary/events"),
            Route::Other
        );
        assert_eq!(c(Method::POST, "/calendar/v3/freeBusy"), Route::FreeBusy);
    }
}
