//! Google adapters: OAuth (consent, token exchange, refresh, revoke), Calendar v3 (events and
//! busy times), refresh tokens sealed at rest, and the event ids derived from bookings.
//!
//! The only module that names Google's JSON. Pure HTTP and crypto: no database, no Discord
//! (what remembers tokens and busy times is `service::Google`; the sync job is in `jobs`).
//! Every endpoint comes from [`GoogleConfig`], so tests point the real code at a fake Google
//! on 127.0.0.1.
//!
//! - [`oauth`]: the web-server flow with PKCE (S256) through the `oauth2` crate.
//! - [`client`]: Calendar v3 over reqwest, with Google's errors sorted into retry or give up.
//! - [`crypto`]: XChaCha20-Poly1305 for refresh tokens, bound to their owner's user id.
//! - [`event_id`]: deterministic event ids (base32hex), so creating an event is idempotent.

use std::time::Duration;

use crate::secret::Secret;

pub mod client;
pub mod crypto;
pub mod event_id;
pub mod oauth;

/// Google's consent page.
pub const DEFAULT_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Google's token endpoint (code exchange and refresh).
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google's token revocation endpoint.
pub const DEFAULT_REVOKE_URL: &str = "https://oauth2.googleapis.com/revoke";
/// Calendar v3's base URL, without a trailing slash.
pub const DEFAULT_CALENDAR_BASE: &str = "https://www.googleapis.com/calendar/v3";
/// How long one request to Google may take unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Create, read, move and delete events on the user's calendars.
pub const SCOPE_EVENTS: &str = "https://www.googleapis.com/auth/calendar.events";
/// Read the user's busy times (not the events themselves).
pub const SCOPE_FREEBUSY: &str = "https://www.googleapis.com/auth/calendar.freebusy";

/// Where Google is and who we are to it.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// The OAuth client id from Google Cloud's console.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: Secret,
    /// The consent page; default [`DEFAULT_AUTH_URL`].
    pub auth_url: String,
    /// The token endpoint; default [`DEFAULT_TOKEN_URL`].
    pub token_url: String,
    /// The revocation endpoint; default [`DEFAULT_REVOKE_URL`].
    pub revoke_url: String,
    /// Calendar v3's base, without a trailing slash; default [`DEFAULT_CALENDAR_BASE`].
    pub calendar_base: String,
    /// Where Google sends the browser back: `{PUBLIC_BASE_URL}/oauth/google/callback`.
    pub redirect_url: String,
    /// The limit for one request to Google, connection included.
    pub timeout: Duration,
}

impl GoogleConfig {
    /// A configuration for the real Google: default endpoints and [`DEFAULT_TIMEOUT`].
    pub fn new(client_id: String, client_secret: Secret, redirect_url: String) -> GoogleConfig {
        GoogleConfig {
            client_id,
            client_secret,
            auth_url: DEFAULT_AUTH_URL.to_string(),
            token_url: DEFAULT_TOKEN_URL.to_string(),
            revoke_url: DEFAULT_REVOKE_URL.to_string(),
            calendar_base: DEFAULT_CALENDAR_BASE.to_string(),
            redirect_url,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The one way this module builds HTTP clients: redirects off (following them would let an
/// endpoint bounce our bearer tokens elsewhere) and a limit per request.
fn http_client(timeout: Duration) -> Result<reqwest::Client, anyhow::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client for Google: {e}"))
}

/// Text from a server, cut to `max_chars` and stripped of control characters, for logs.
fn printable(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect()
}
