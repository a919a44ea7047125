//! A fake Google for mentorbot's integration tests: OAuth 2.0 (consent, token, revoke) and the
//! parts of Calendar v3 the bot uses (events insert/get/patch/delete, freeBusy), on
//! `127.0.0.1` with a random port.
//!
//! It speaks Google's documented wire formats (OAuth 2.0, Calendar v3): the consent page answers at
//! once with a 302 to the `redirect_uri` (as a browser user would), the token endpoint checks
//! client credentials (HTTP Basic or form fields), PKCE (S256), single-use codes and revoked
//! refresh tokens, and the Calendar endpoints need a valid bearer token with the right scope and
//! answer Google's error bodies (`{"error":{"code","message","errors":[{domain,reason,message}]}}`).
//!
//! Tests steer it ([`FakeGoogle::set_consent`], [`FakeGoogle::set_meet`],
//! [`FakeGoogle::fail_next`], [`FakeGoogle::set_down`], …) and inspect it
//! ([`FakeGoogle::events`], [`FakeGoogle::requests`], [`FakeGoogle::token_requests`], …).
//!
//! Where Google does more than the minimum, the fake follows Google:
//! - the consent redirect also carries `scope`, `authuser`, `prompt` and `iss`;
//! - `email`/`profile` scopes come back as `https://www.googleapis.com/auth/userinfo.email` /
//!   `…userinfo.profile` in the token answer's `scope`;
//! - a refresh token is issued only with `access_type=offline`, and then only on the first
//!   exchange for the account unless `prompt=consent`; `include_granted_scopes=true` adds the
//!   scopes the account granted before;
//! - the Calendar endpoints answer 403 `insufficientPermissions` when the access token lacks
//!   the scope (events: `calendar` or `calendar.events`; freeBusy: `calendar`,
//!   `calendar.readonly`, `calendar.freebusy` or `calendar.events.freebusy`);
//! - revoking an access token also revokes the refresh token it came from;
//! - the consent page accepts only redirect URIs registered for the client
//!   ([`FakeGoogle::register_redirect_uri`]);
//! - a deleted event stays readable (`status: "cancelled"`), its id stays taken, and a
//!   second DELETE answers 410;
//! - freeBusy leaves out `"transparency": "transparent"` events and merges touching intervals.
//!
//! ```no_run
//! use testkit::{FakeGoogle, MeetMode};
//!
//! # async fn example() {
//! let google = FakeGoogle::start().await;
//! google.set_meet(MeetMode::PendingFor(2));
//! // Configure the bot with google.auth_url(), token_url(), revoke_url(), calendar_base(),
//! // FakeGoogle::CLIENT_ID and FakeGoogle::CLIENT_SECRET, then drive it and assert:
//! let events = google.live_events("mentor@example.com");
//! # let _ = events;
//! # }
//! ```

mod calendar;
mod oauth;
mod server;
mod state;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use state::{Shared, State, StoredEvent};

/// What the (simulated) browser user does on the next consent screens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Consent {
    /// The user signs in as `email` and allows access.
    Grant {
        /// The Google account.
        email: String,
        /// `None`: every requested scope. `Some(list)`: only the requested scopes in `list`
        /// (granular consent: the user unticked the others). `email`/`profile` may be given
        /// short or as their `userinfo` URLs.
        scopes: Option<Vec<String>>,
    },
    /// The user clicks "Cancel": the redirect carries `error=access_denied`.
    Deny,
}

impl Consent {
    /// [`Consent::Grant`] of every requested scope as `email`.
    pub fn grant(email: &str) -> Consent {
        Consent::Grant {
            email: email.to_string(),
            scopes: None,
        }
    }

    /// [`Consent::Grant`] of only `scopes` (those of them that were requested) as `email`.
    pub fn grant_only(email: &str, scopes: &[&str]) -> Consent {
        Consent::Grant {
            email: email.to_string(),
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        }
    }
}

impl Default for Consent {
    fn default() -> Self {
        Consent::grant(FakeGoogle::DEFAULT_EMAIL)
    }
}

/// How Google Meet answers conference creation requests (applies to conferences created from
/// now on).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeetMode {
    /// The conference is ready at once: `statusCode` `success`, a video entry point with a
    /// distinct `https://meet.google.com/xxx-xxxx-xxx` link per event, and `hangoutLink`.
    #[default]
    Ready,
    /// The insert answers `pending` (no entry points, no `hangoutLink`); GETs of the event
    /// answer `pending` too until the `n`-th GET, which (like every later one) answers
    /// `success` with the link. `PendingFor(1)` and `PendingFor(0)`: the first GET is ready.
    PendingFor(u32),
    /// The creation fails: `statusCode` `failure`, no link ever.
    Failure,
}

/// A class of requests, for [`FakeGoogle::fail_next`], [`FakeGoogle::count`] and the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `GET /o/oauth2/v2/auth` (the consent page).
    Auth,
    /// `POST /token`.
    Token,
    /// `POST /revoke`.
    Revoke,
    /// `POST /calendar/v3/calendars/{cal}/events`.
    EventsInsert,
    /// `GET /calendar/v3/calendars/{cal}/events/{id}`.
    EventsGet,
    /// `PATCH /calendar/v3/calendars/{cal}/events/{id}`.
    EventsPatch,
    /// `DELETE /calendar/v3/calendars/{cal}/events/{id}`.
    EventsDelete,
    /// `POST /calendar/v3/freeBusy`.
    FreeBusy,
    /// Wildcard: every Calendar route above (never in the log).
    AnyCalendar,
    /// Wildcard: every route except [`Route::Auth`] (never in the log).
    Any,
    /// Anything else (answered 404 `notFound`, or 405).
    Other,
}

impl Route {
    /// Whether a request of the concrete route `actual` belongs to `self` (a wildcard or the
    /// same route).
    pub fn matches(self, actual: Route) -> bool {
        match self {
            Route::Any => actual != Route::Auth,
            Route::AnyCalendar => matches!(
                actual,
                Route::EventsInsert
                    | Route::EventsGet
                    | Route::EventsPatch
                    | Route::EventsDelete
                    | Route::FreeBusy
            ),
            other => other == actual,
        }
    }

    fn is_oauth(self) -> bool {
        matches!(self, Route::Token | Route::Revoke)
    }
}

/// An injected failure, consumed by one matching request before normal handling.
///
/// Calendar routes answer Google's API error body; `/token` and `/revoke` answer OAuth error
/// bodies (`{"error": "...", "error_description": "..."}`: `internal_failure` for 5xx,
/// `rate_limit_exceeded` for 429, `access_denied` for 403, `invalid_request` otherwise); the
/// consent page answers plain text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// This status with a fitting reason: 400 `badRequest`, 401 `authError`, 403 `forbidden`,
    /// 404 `notFound`, 409 `duplicate`, 410 `deleted`, 429 `rateLimitExceeded` (without
    /// `Retry-After`), 5xx `backendError`.
    Status(u16),
    /// 429, reason `rateLimitExceeded`, with `Retry-After: retry_after_secs`.
    RateLimited {
        /// The `Retry-After` header's value in seconds.
        retry_after_secs: u64,
    },
    /// 403, domain `usageLimits`, reason `userRateLimitExceeded` (retryable).
    UsageLimit403,
    /// 403, domain `global`, reason `forbidden` (permanent).
    Forbidden403,
    /// Sleeps this long, then handles the request normally.
    Delay(Duration),
    /// Handles the request normally (its effect is kept), then waits this long before
    /// answering: models a response lost to a crash or a timeout after Google acted.
    DelayAfter(Duration),
    /// On `/token`: 400 `invalid_grant` ("Token has been expired or revoked."). Elsewhere: 400
    /// `badRequest`.
    InvalidGrant,
}

/// How a token request authenticated the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(urlencode(id):urlencode(secret))`.
    Basic,
    /// `client_id` and `client_secret` form fields.
    Form,
    /// Neither (answered 401 `invalid_client`).
    None,
}

/// One request to `/token` that reached the token logic (faulted ones are only in
/// [`FakeGoogle::requests`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// The `grant_type` form field (empty if missing).
    pub grant_type: String,
    /// How the client authenticated.
    pub auth: ClientAuth,
    /// The OAuth `error` answered, or `None` on success.
    pub error: Option<String>,
}

/// One HTTP request the fake received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, e.g. `/calendar/v3/calendars/primary/events`.
    pub path: String,
    /// The raw query string (empty if none).
    pub query: String,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// The status answered (0 while the request is still being handled).
    pub status: u16,
    /// Its route.
    pub route: Route,
    /// Whether the answer was an injected fault or the outage ([`FakeGoogle::set_down`]),
    /// not Google's own.
    pub injected: bool,
}

impl LoggedRequest {
    /// A refusal Google itself gave (4xx/5xx not injected by the test), or a route the
    /// fake does not know: what a shared teardown check reports.
    pub fn is_unexplained_refusal(&self) -> bool {
        self.route == Route::Other || (self.status >= 400 && !self.injected)
    }
}

/// An event as stored in the fake calendar.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeEvent {
    /// Event id.
    pub id: String,
    /// `summary`, if set.
    pub summary: Option<String>,
    /// `description`, if set.
    pub description: Option<String>,
    /// `start.dateTime` as sent (or `start.date` for all-day events).
    pub start: String,
    /// `end.dateTime` as sent (or `end.date`).
    pub end: String,
    /// `start.timeZone`, if set.
    pub time_zone: Option<String>,
    /// `extendedProperties.private.mentorbotBooking`, if set.
    pub booking_tag: Option<String>,
    /// The Meet link once the conference is ready.
    pub meet_link: Option<String>,
    /// Deleted (GET answers it as `cancelled`; PATCH and DELETE answer 410).
    pub deleted: bool,
    /// The event as Google would answer it (reading it here does not count as a GET).
    pub raw: Value,
}

impl FakeEvent {
    /// `start` as a UTC instant (all-day dates: midnight UTC).
    pub fn start_utc(&self) -> Option<DateTime<Utc>> {
        state::parse_time(&self.start)
    }

    /// `end` as a UTC instant (all-day dates: midnight UTC).
    pub fn end_utc(&self) -> Option<DateTime<Utc>> {
        state::parse_time(&self.end)
    }
}

/// Tokens handed out by [`FakeGoogle::grant_directly`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantedTokens {
    /// A valid access token.
    pub access_token: String,
    /// A valid refresh token.
    pub refresh_token: String,
}

struct ServerTask(JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The fake Google. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeGoogle {
    shared: Arc<Shared>,
    _task: Arc<ServerTask>,
}

impl fmt::Debug for FakeGoogle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeGoogle")
            .field("addr", &self.shared.addr)
            .finish()
    }
}

impl FakeGoogle {
    /// The only OAuth client id the fake knows.
    pub const CLIENT_ID: &'static str = "test-client-id";
    /// That client's secret.
    pub const CLIENT_SECRET: &'static str = "test-client-secret";
    /// The account of the default consent.
    pub const DEFAULT_EMAIL: &'static str = "mentor@example.com";
    /// Scope to create, read, move and delete events.
    pub const SCOPE_EVENTS: &'static str = "https://www.googleapis.com/auth/calendar.events";
    /// Scope to read busy times.
    pub const SCOPE_FREEBUSY: &'static str = "https://www.googleapis.com/auth/calendar.freebusy";
    /// Default `expires_in` of access tokens, as Google answers it.
    pub const DEFAULT_ACCESS_TOKEN_LIFETIME: u64 = 3599;

    /// Starts the fake on `127.0.0.1` with a random port.
    ///
    /// Panics if the port cannot be bound (a broken test environment).
    pub async fn start() -> FakeGoogle {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("testkit: bind the fake Google's port");
        let addr = listener
            .local_addr()
            .expect("testkit: the fake Google's address");
        let shared = Arc::new(Shared::new(addr));
        let router = server::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("testkit: fake Google stopped: {e}");
            }
        });
        FakeGoogle {
            shared,
            _task: Arc::new(ServerTask(task)),
        }
    }

    // ----- addresses -----

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The consent page: `{base}/o/oauth2/v2/auth`.
    pub fn auth_url(&self) -> String {
        format!("{}/o/oauth2/v2/auth", self.base())
    }

    /// The token endpoint: `{base}/token`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base())
    }

    /// The revocation endpoint: `{base}/revoke`.
    pub fn revoke_url(&self) -> String {
        format!("{}/revoke", self.base())
    }

    /// Calendar v3's base: `{base}/calendar/v3`.
    pub fn calendar_base(&self) -> String {
        format!("{}/calendar/v3", self.base())
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        self.shared.with(f)
    }

    // ----- OAuth controls -----

    /// Registers a redirect URI for the client, as an operator does in Google's console. The
    /// consent page refuses any other (`redirect_uri_mismatch`, no redirect), so none works
    /// until one is registered; [`crate::bot_env`] registers the bot's.
    pub fn register_redirect_uri(&self, uri: &str) {
        self.with(|s| s.redirect_uris.push(uri.to_owned()));
    }

    /// Removes the user's own event `id` from `email`'s calendar, as deleting it in
    /// Google Calendar does: GET still reads it (`status: "cancelled"`), PATCH and DELETE
    /// answer 410, and its id stays taken (an insert answers 409).
    pub fn delete_event_directly(&self, email: &str, id: &str) {
        self.with(|s| {
            let now = s.wall_now();
            if let Some(event) = s
                .calendars
                .get_mut(email)
                .and_then(|events| events.iter_mut().find(|e| e.id == id))
            {
                event.deleted = true;
                event.updated = now;
            }
        });
    }

    /// What the next consent screens do (persists until changed). Default:
    /// `Consent::Grant { email: "mentor@example.com", scopes: None }`.
    pub fn set_consent(&self, consent: Consent) {
        self.with(|s| s.consent = consent);
    }

    /// The user removes the app's access: every refresh and access token of `email` stops
    /// working (refresh answers `invalid_grant`, Calendar answers 401) and the account's
    /// earlier grants are forgotten.
    pub fn revoke_all(&self, email: &str) {
        self.with(|s| s.revoke_account(email));
    }

    /// Every access token issued so far answers 401 from now on (new ones work).
    pub fn expire_access_tokens(&self) {
        self.with(|s| {
            for t in &mut s.access {
                t.expired = true;
            }
        });
    }

    /// The lifetime (and `expires_in`) of access tokens issued from now on. Default 3599.
    pub fn set_access_token_lifetime(&self, secs: u64) {
        self.with(|s| s.access_lifetime = secs);
    }

    /// Moves the fake's clock forward: authorization codes (10 minutes) and access tokens
    /// expire by it, and `created`/`updated` times follow it.
    pub fn advance_clock(&self, by: Duration) {
        self.with(|s| s.clock_offset += by);
    }

    /// Connects `email` without a consent screen (as if the account had gone through the flow
    /// before the test): a live refresh token and access token with `scopes` (`email` and
    /// `profile` may be short).
    pub fn grant_directly(&self, email: &str, scopes: &[&str]) -> GrantedTokens {
        self.with(|s| {
            let scopes: Vec<String> = scopes.iter().map(|x| state::normalize_scope(x)).collect();
            s.remember_grant(email, &scopes);
            let refresh_token = s.issue_refresh(email, &scopes);
            let access_token = s.issue_access(email, &scopes, Some(&refresh_token));
            GrantedTokens {
                access_token,
                refresh_token,
            }
        })
    }

    /// Every refresh token ever issued, oldest first (revoked ones included).
    pub fn refresh_tokens(&self) -> Vec<String> {
        self.with(|s| s.refresh.iter().map(|t| t.token.clone()).collect())
    }

    /// Every access token ever issued, oldest first (expired and revoked ones included).
    pub fn access_tokens(&self) -> Vec<String> {
        self.with(|s| s.access.iter().map(|t| t.token.clone()).collect())
    }

    /// Whether `refresh_token` is known and not revoked.
    pub fn refresh_token_valid(&self, refresh_token: &str) -> bool {
        self.with(|s| {
            s.refresh
                .iter()
                .any(|t| t.token == refresh_token && !t.revoked)
        })
    }

    /// The requests that reached the token logic, oldest first.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.with(|s| s.token_requests.clone())
    }

    // ----- Calendar controls -----

    /// How Meet answers conference creation from now on. Default [`MeetMode::Ready`].
    pub fn set_meet(&self, mode: MeetMode) {
        self.with(|s| s.meet = mode);
    }

    /// Adds a busy interval to `email`'s calendar that freeBusy reports (no event behind it).
    pub fn add_busy(&self, email: &str, start: DateTime<Utc>, end: DateTime<Utc>) {
        self.with(|s| {
            s.busy
                .entry(state::account_key(email))
                .or_default()
                .push((start, end));
        });
    }

    /// While on, freeBusy answers the account's own calendar with
    /// `errors: [{"domain": "global", "reason": "backendError"}]` (inside a 200).
    pub fn set_freebusy_errors(&self, on: bool) {
        self.with(|s| s.freebusy_errors = on);
    }

    /// Plants an event in `email`'s calendar (someone else's meeting, or one left over from an
    /// earlier run): a later insert with the same id answers 409. `tagged`: the
    /// `mentorbotBooking` private extended property, as mentorbot tags its events.
    ///
    /// Panics if `id` is already used in that calendar (a mistake in the test).
    pub fn insert_event_directly(
        &self,
        email: &str,
        id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        tagged: Option<&str>,
    ) {
        self.with(|s| {
            let now = s.wall_now();
            let calendar = s.calendars.entry(state::account_key(email)).or_default();
            assert!(
                !calendar.iter().any(|e| e.id == id),
                "testkit: insert_event_directly: event id {id:?} is already used in {email}'s calendar"
            );
            let mut body = serde_json::Map::new();
            let summary = if tagged.is_some() {
                "Mentoring session"
            } else {
                "Busy"
            };
            body.insert("summary".into(), json!(summary));
            body.insert(
                "start".into(),
                json!({"dateTime": state::fmt_secs(start), "timeZone": "UTC"}),
            );
            body.insert(
                "end".into(),
                json!({"dateTime": state::fmt_secs(end), "timeZone": "UTC"}),
            );
            if let Some(tag) = tagged {
                body.insert(
                    "extendedProperties".into(),
                    json!({"private": {"mentorbotBooking": tag}}),
                );
            }
            calendar.push(StoredEvent::new(id.to_string(), body, now));
        });
    }

    // ----- faults -----

    /// Queues `faults` for requests of `route` (a wildcard is fine): each matching request
    /// consumes the oldest queued fault that matches it, before normal handling.
    pub fn fail_next(&self, route: Route, faults: Vec<Fault>) {
        self.with(|s| s.faults.extend(faults.into_iter().map(|f| (route, f))));
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.with(|s| s.faults.clear());
    }

    /// From now on, each request of `route` (a wildcard is fine; the consent page only if
    /// named) that has no queued [`fail_next`](FakeGoogle::fail_next) fault gets, with
    /// probability `rate`, one of `faults` drawn uniformly, else normal handling. The draws
    /// come from a small generator seeded with `seed`: the same seed and the same order of
    /// requests give the same faults, so a run can be reproduced. Replaces an earlier
    /// setting; `rate` 0 or no `faults` turns it off.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use testkit::{FakeGoogle, Fault, Route};
    /// # async fn example(google: FakeGoogle) {
    /// // ~20% of Calendar and token requests fail (5xx or 429), ~5% answer after 2 s.
    /// google.set_random_faults(
    ///     Route::Any,
    ///     0.25,
    ///     vec![
    ///         Fault::Status(500),
    ///         Fault::Status(503),
    ///         Fault::RateLimited { retry_after_secs: 1 },
    ///         Fault::Status(429),
    ///         Fault::Delay(Duration::from_secs(2)),
    ///     ],
    ///     42,
    /// );
    /// # }
    /// ```
    pub fn set_random_faults(&self, route: Route, rate: f64, faults: Vec<Fault>, seed: u64) {
        self.with(|s| {
            s.random_faults = Some(state::RandomFaults::new(route, rate, faults, seed));
        });
    }

    /// Stops injecting random faults (queued ones stay).
    pub fn clear_random_faults(&self) {
        self.with(|s| s.random_faults = None);
    }

    /// How many faults [`set_random_faults`](FakeGoogle::set_random_faults) injected since it
    /// was last called.
    pub fn random_faults_injected(&self) -> usize {
        self.with(|s| s.random_faults.as_ref().map_or(0, |r| r.injected))
    }

    /// While down, every route except the consent page answers 503 (`backendError`).
    pub fn set_down(&self, down: bool) {
        self.with(|s| s.down = down);
    }

    // ----- inspection -----

    /// Every event of `email`'s calendar in creation order, deleted ones included.
    pub fn events(&self, email: &str) -> Vec<FakeEvent> {
        self.with(|s| {
            let key = state::account_key(email);
            s.calendars
                .get(&key)
                .map(|events| events.iter().map(|e| e.to_fake(&key)).collect())
                .unwrap_or_default()
        })
    }

    /// The events of `email`'s calendar that are not deleted.
    pub fn live_events(&self, email: &str) -> Vec<FakeEvent> {
        self.events(email)
            .into_iter()
            .filter(|e| !e.deleted)
            .collect()
    }

    /// One event of `email`'s calendar, deleted or not.
    pub fn event(&self, email: &str, id: &str) -> Option<FakeEvent> {
        self.events(email).into_iter().find(|e| e.id == id)
    }

    /// Every request received, in arrival order (faulted ones included).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.with(|s| s.requests.clone())
    }

    /// The statuses answered to the requests of `route` (a wildcard is fine), in order; 0
    /// while a request is still being handled.
    pub fn statuses(&self, route: Route) -> Vec<u16> {
        self.with(|s| {
            s.requests
                .iter()
                .filter(|r| route.matches(r.route))
                .map(|r| r.status)
                .collect()
        })
    }

    /// How many requests reached `route` (a wildcard is fine), faulted ones included.
    pub fn count(&self, route: Route) -> usize {
        self.with(|s| s.requests.iter().filter(|r| route.matches(r.route)).count())
    }

    /// Polls `f` every 10 ms until it holds (`true`) or `timeout` passes (`false`).
    pub async fn wait_until(&self, timeout: Duration, f: impl Fn(&FakeGoogle) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if f(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
