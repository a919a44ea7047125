//! The pages of connecting Google Calendar (`service::connect` holds the rules):
//! - `GET /oauth/google/start?state=` names the Discord account the calendar will be
//!   connected to and offers Continue; it changes nothing, so link previews can't use it.
//! - `POST /oauth/google/start` (Continue) must come from our own page (`Origin`), binds the
//!   request to this browser with an HttpOnly, SameSite=Lax cookie (Secure over https) and
//!   sends the browser to Google.
//! - `GET /oauth/google/callback` is accepted only with that cookie, and ends with "confirm
//!   in Discord".

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::HttpState;
use crate::service::OAuthFailure;

/// The cookie that binds a connect request to the browser that continued.
pub const COOKIE: &str = "mentorbot_connect";

/// How browsers see the bot's pages (from `PUBLIC_BASE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// `scheme://host[:port]`, what browsers send as `Origin`.
    origin: String,
    /// The path the OAuth pages are under, as browsers see it (the cookie's `Path`).
    cookie_path: String,
    /// Over https: cookies are `Secure`.
    secure: bool,
}

impl Site {
    /// From the public base URL (validated at start-up; a URL that does not parse gives a
    /// site no browser matches, so Continue is refused rather than unchecked).
    pub fn new(public_base_url: &str) -> Site {
        match reqwest::Url::parse(public_base_url) {
            Ok(url) => Site {
                origin: url.origin().ascii_serialization(),
                cookie_path: format!("{}/oauth/google", url.path().trim_end_matches('/')),
                secure: url.scheme() == "https",
            },
            Err(_) => Site {
                origin: String::new(),
                cookie_path: "/oauth/google".to_owned(),
                secure: true,
            },
        }
    }

    /// The `Set-Cookie` value that binds this browser (`Max-Age` seconds; 0 clears it).
    fn cookie(&self, value: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{COOKIE}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
            self.cookie_path
        )
    }

    /// Whether a POST came from our own pages: its `Origin` is ours, or (browsers that send
    /// none) `Sec-Fetch-Site` says same-origin. Forms posted from other sites are refused.
    fn same_origin(&self, headers: &HeaderMap) -> bool {
        match headers.get(header::ORIGIN) {
            Some(origin) => !self.origin.is_empty() && origin.as_bytes() == self.origin.as_bytes(),
            None => headers
                .get("sec-fetch-site")
                .is_some_and(|v| v.as_bytes() == b"same-origin"),
        }
    }
}

/// The value of our cookie in the request, if any.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct StartQuery {
    state: Option<String>,
}

pub(super) async fn start_page(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(oauth_state) = query.state.filter(|s| !s.is_empty()) else {
        return failure_page(&OAuthFailure::BadState);
    };
    let cookie = cookie(&headers);
    let page = state
        .service
        .oauth_start_page(&oauth_state, cookie.as_deref(), Utc::now())
        .await;
    match page {
        Ok(page) => {
            let body = format!(
                "<p>This connects a Google Calendar to the Discord account <strong>{}</strong> (id <code>{}</code>).</p>\
                 <p>If that isn't your Discord account, close this page: whoever sent you the link would get your calendar.</p>\
                 <form method=\"post\" action=\"start\"><input type=\"hidden\" name=\"state\" value=\"{}\"><button type=\"submit\">Continue to Google</button></form>",
                escape(&page.display_name),
                page.user.0,
                escape(&oauth_state),
            );
            self::page(StatusCode::OK, "Connect Google Calendar", &body)
        }
        Err(failure) => failure_page(&failure),
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct ContinueForm {
    state: String,
}

pub(super) async fn continue_to_google(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Form(form): Form<ContinueForm>,
) -> Response {
    if !state.site.same_origin(&headers) {
        return page(
            StatusCode::FORBIDDEN,
            "Calendar not connected",
            "<p>That request didn't come from this site's page. Open the link from Discord's /calendar connect and press Continue there.</p>",
        );
    }
    let cookie = cookie(&headers);
    let next = state
        .service
        .oauth_continue(&form.state, cookie.as_deref(), Utc::now())
        .await;
    let next = match next {
        Ok(next) => next,
        Err(failure) => return failure_page(&failure),
    };
    let Ok(location) = HeaderValue::from_str(&next.consent_url) else {
        return failure_page(&OAuthFailure::Internal(anyhow::anyhow!(
            "the consent URL is not a header value"
        )));
    };
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
    )
        .into_response();
    if let Some(nonce) = next.new_nonce
        && let Ok(value) = HeaderValue::from_str(&state.site.cookie(&nonce, 600))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

pub(super) async fn callback(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let cookie = cookie(&headers);
    let awaiting = state
        .service
        .oauth_callback(
            query.state.as_deref(),
            query.code.as_deref(),
            query.error.as_deref(),
            cookie.as_deref(),
            Utc::now(),
        )
        .await;
    let mut response = match awaiting {
        Ok(awaiting) => {
            let account = awaiting
                .email
                .as_deref()
                .map(|e| format!(" <strong>{}</strong>", escape(e)))
                .unwrap_or_default();
            let body = format!(
                "<p>Almost done: mentorbot sent a direct message in Discord to <strong>{}</strong>. Press <strong>Confirm</strong> there to connect the Google account{account}.</p><p>Nothing is connected until then. You can close this tab.</p><p>No DM? Allow direct messages from members of a server you share with mentorbot, then run /calendar connect again.</p>",
                escape(&awaiting.display_name)
            );
            page(StatusCode::OK, "Confirm in Discord", &body)
        }
        Err(failure) => failure_page(&failure),
    };
    // The request is used up either way (or was never this browser's): drop the cookie.
    if cookie.is_some()
        && let Ok(value) = HeaderValue::from_str(&state.site.cookie("", 0))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn failure_page(failure: &OAuthFailure) -> Response {
    let status = match failure {
        OAuthFailure::Internal(error) => {
            tracing::error!(error = %format!("{error:#}"), "OAuth page failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        OAuthFailure::Off => StatusCode::NOT_FOUND,
        OAuthFailure::Exchange(_) => StatusCode::BAD_GATEWAY,
        OAuthFailure::OpenedElsewhere | OAuthFailure::NotThisBrowser => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = format!("<p>{}</p>", escape(&failure.to_string()));
    page(status, "Calendar not connected", &body)
}

/// A page of ours: never cached, never framed (the Continue button must not be clickjacked),
/// no scripts, and a referrer only to ourselves (so a POST from it carries our `Origin`).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>mentorbot · {title}</title><style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;line-height:1.5}}button{{font-size:1em;padding:.5em 1em}}</style></head><body><h1>{title}</h1>{body}</body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "same-origin"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ],
        html,
    )
        .into_response()
}

/// Escapes text for HTML element content and double-quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            escape("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; 'Jerry'&lt;/a&gt;"
        );
    }

    #[test]
    fn the_cookie_is_httponly_lax_scoped_to_the_oauth_pages_and_secure_over_https() {
        let plain = Site::new("http://localhost:8080");
        assert_eq!(
            plain.cookie("n", 600),
            "mentorbot_connect=n; Path=/oauth/google; Max-Age=600; HttpOnly; SameSite=Lax"
        );
        let proxied = Site::new("https://bot.example.org/mentor/");
        assert_eq!(
            proxied.cookie("n", 0),
            "mentorbot_connect=n; Path=/mentor/oauth/google; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn continue_is_accepted_only_from_our_own_origin() {
        let site = Site::new("https://bot.example.org");
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            site.same_origin(&headers)
        };
        assert!(with(&[("origin", "https://bot.example.org")]));
        assert!(with(&[("sec-fetch-site", "same-origin")]));
        assert!(!with(&[("origin", "https://evil.example")]));
        assert!(!with(&[("origin", "null")]));
        assert!(!with(&[("origin", "http://bot.example.org")]));
        assert!(!with(&[("sec-fetch-site", "cross-site")]));
        assert!(!with(&[]));
        // A forged Sec-Fetch-Site does not outvote a foreign Origin.
        assert!(!with(&[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "same-origin")
        ]));
    }

    #[test]
    fn our_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mentorbot_connect=abc; b=2"),
        );
        assert_eq!(cookie(&headers).as_deref(), Some("abc"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("mentorbot_connectx=1"),
        );
        assert_eq!(cookie(&headers), None);
    }
}
