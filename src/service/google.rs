//! The connected Google: OAuth requests and grants, and each mentor's busy times, cached
//! for a few minutes and fetched outside every transaction. Access tokens and what happens
//! when a stored grant can't be used are in `google/tokens.rs`.

mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::connect::OAuthFailure;
use crate::domain::{BookingId, UserId};
use crate::gcal::client::{CalendarClient, GoogleError};
use crate::gcal::crypto::Keyring;
use crate::gcal::event_id::{event_id, new_salt};
use crate::gcal::oauth::{OAuth, OAuthError};
use crate::gcal::{GoogleConfig, SCOPE_EVENTS, SCOPE_FREEBUSY};
use crate::scheduling::interval::{Interval, subtract_all};
use crate::secret::Secret;
use crate::store::{OAuthState, Store, StoreError};

/// A grant that passed [`Google::accept_grant`], ready to store.
#[derive(Debug)]
pub struct AcceptedGrant {
    /// The refresh token, sealed to the user.
    pub sealed_refresh_token: Vec<u8>,
    /// The granted scopes, space-separated.
    pub scopes: String,
    /// The Google account's email, when Google told it.
    pub email: Option<String>,
}

/// The install value holding the salt of event ids.
pub const SALT_KEY: &str = "calendar_event_salt";

/// Timings of the Google side; tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleOptions {
    /// How long fetched busy times are used (at most five minutes).
    pub busy_ttl: Duration,
    /// How long a picker waits for Google's busy times before showing slots without them.
    pub busy_timeout: StdDuration,
    /// After Google failed to answer, how long pickers do without it before asking again.
    pub unavailable_ttl: Duration,
    /// How often a `pending` Meet link is read again before the event counts as synced
    /// without one.
    pub meet_reads: u32,
    /// The wait before each of those reads.
    pub meet_poll: StdDuration,
}

impl Default for GoogleOptions {
    /// Five minutes of cache, 1.5 s for busy times, 30 s without Google after a failure,
    /// four Meet re-reads a second apart.
    fn default() -> Self {
        GoogleOptions {
            busy_ttl: Duration::minutes(5),
            busy_timeout: StdDuration::from_millis(1500),
            unavailable_ttl: Duration::seconds(30),
            meet_reads: 4,
            meet_poll: StdDuration::from_secs(1),
        }
    }
}

/// A mentor's Google busy times as far as a picker can know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalBusy {
    /// No calendar connected: nothing to exclude.
    NotConnected,
    /// Busy intervals, mentorbot's own events left out.
    Known(Vec<Interval>),
    /// Google did not answer in time: slots are shown without the calendar check.
    Unavailable,
}

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The mentor has no usable grant (never connected, disconnected, or revoked).
    #[error("no Google account connected")]
    NotConnected,
    /// Google refused the grant just now; the account is marked revoked.
    #[error("Google revoked the grant (invalid_grant)")]
    Revoked,
    /// The stored token doesn't open with the configured keys: the mentor was told to
    /// reconnect (the token is kept, in case the operator restores the old key).
    #[error("the stored refresh token doesn't open with TOKEN_ENCRYPTION_KEY")]
    ReconnectNeeded,
    /// Worth trying again later.
    #[error("could not refresh the access token: {0}")]
    Transient(String),
    /// Google refused mentorbot's OAuth client: the operator's configuration is wrong, and
    /// nothing works until it is fixed (then retrying does).
    #[error("{0}")]
    Misconfigured(String),
    /// Will not work by retrying.
    #[error("Google refused the token refresh: {0}")]
    Permanent(String),
    /// The store failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for TokenError {
    fn from(error: StoreError) -> Self {
        TokenError::Internal(error.into())
    }
}

#[derive(Debug, Clone)]
struct BusyEntry {
    fetched_at: DateTime<Utc>,
    span: Interval,
    /// `None`: Google failed at `fetched_at`.
    busy: Option<Arc<Vec<Interval>>>,
}

/// Google Calendar for the whole bot: OAuth, the Calendar client, the token key and the
/// event-id salt, plus in-memory caches of access tokens and busy times.
pub struct Google {
    oauth: OAuth,
    client: CalendarClient,
    /// Seals refresh tokens and PKCE verifiers (and opens them with the previous key too).
    key: Keyring,
    /// The per-install salt of event ids.
    salt: Vec<u8>,
    /// Where browsers reach the bot's HTTP server.
    public_base: String,
    options: GoogleOptions,
    tokens: Mutex<HashMap<UserId, (Secret, DateTime<Utc>)>>,
    busy: Mutex<HashMap<UserId, BusyEntry>>,
}

impl std::fmt::Debug for Google {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Google")
            .field("public_base", &self.public_base)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Access tokens are refreshed this long before Google's expiry.
const TOKEN_MARGIN: Duration = Duration::seconds(60);

impl Google {
    /// Builds the clients and reads (or creates) the install's event-id salt.
    pub async fn new(
        config: &GoogleConfig,
        key: impl Into<Keyring>,
        public_base: &str,
        options: GoogleOptions,
        store: &Store,
    ) -> anyhow::Result<Google> {
        let fresh = new_salt().to_vec();
        let salt = store
            .transact(move |tx| {
                Box::pin(async move { tx.init_install_value(SALT_KEY, &fresh).await })
            })
            .await?;
        Ok(Google {
            oauth: OAuth::new(config)?,
            client: CalendarClient::new(config)?,
            key: key.into(),
            salt,
            public_base: public_base.trim_end_matches('/').to_owned(),
            options,
            tokens: Mutex::new(HashMap::new()),
            busy: Mutex::new(HashMap::new()),
        })
    }

    /// The Calendar v3 client.
    pub fn calendar(&self) -> &CalendarClient {
        &self.client
    }

    /// The timings.
    pub fn options(&self) -> &GoogleOptions {
        &self.options
    }

    /// The Google event id of `booking` on this install.
    pub fn event_id(&self, booking: &BookingId) -> String {
        event_id(&self.salt, booking)
    }

    /// The bot's own page that starts a connect for `state` (Google's consent URL is longer
    /// than Discord's 512-character link limit).
    pub fn start_url(&self, state: &str) -> String {
        format!("{}/oauth/google/start?state={state}", self.public_base)
    }

    /// A new connect request for `user`: a fresh `state` and the PKCE verifier, sealed to
    /// the user so the store never holds it in plain text.
    pub fn new_connect(
        &self,
        user: UserId,
        display_name: &str,
        expires_at: DateTime<Utc>,
    ) -> (String, OAuthState) {
        let request = OAuth::new_request();
        let pending = OAuthState {
            user,
            display_name: display_name.to_owned(),
            sealed_verifier: self.key.seal(user.0, request.verifier.expose()),
            expires_at,
            browser: None,
        };
        (request.state, pending)
    }

    /// Whether `state` could be one of ours (checked before any database work).
    pub fn plausible_state(state: &str) -> bool {
        OAuth::plausible_state(state)
    }

    /// Google's consent URL for a stored connect request.
    pub fn consent_url(&self, state: &str, pending: &OAuthState) -> anyhow::Result<String> {
        let verifier = self.open_verifier(pending)?;
        Ok(self.oauth.authorize_url(state, &verifier))
    }

    /// Exchanges the consent screen's `code` and checks what was granted: events access
    /// and a refresh token are required (a grant without events access is handed back to
    /// Google at once); free/busy is optional. Returns the refresh token sealed to the user.
    pub async fn accept_grant(
        &self,
        pending: &OAuthState,
        code: &str,
    ) -> Result<AcceptedGrant, OAuthFailure> {
        let user = pending.user;
        let verifier = self.open_verifier(pending)?;
        let grant = match self.oauth.exchange_code(code, &verifier).await {
            Ok(grant) => grant,
            Err(OAuthError::InvalidGrant) => {
                return Err(OAuthFailure::Exchange(
                    "the sign-in code was refused".into(),
                ));
            }
            Err(error) => {
                tracing::warn!(user = user.0, error = %error, "exchanging an OAuth code failed");
                return Err(OAuthFailure::Exchange("Google could not be reached".into()));
            }
        };
        if !grant.has_scope(SCOPE_EVENTS) {
            // Not kept: hand the partial grant back.
            if let Err(error) = self.oauth.revoke(&grant.access.token).await {
                tracing::warn!(user = user.0, error = %error, "revoking a refused grant failed");
            }
            return Err(OAuthFailure::MissingScope);
        }
        let Some(refresh) = &grant.refresh_token else {
            return Err(OAuthFailure::NoRefreshToken);
        };
        if !grant.has_scope(SCOPE_FREEBUSY) {
            tracing::info!(user = user.0, "Google grant without free/busy: events only");
        }
        Ok(AcceptedGrant {
            sealed_refresh_token: self.key.seal(user.0, refresh.expose()),
            scopes: grant.scopes.join(" "),
            email: grant.email,
        })
    }

    fn open_verifier(&self, pending: &OAuthState) -> anyhow::Result<Secret> {
        self.key
            .open(pending.user.0, &pending.sealed_verifier)
            .map(|opened| opened.secret)
            .map_err(|e| anyhow::anyhow!("a stored PKCE verifier did not open: {e}"))
    }

    /// The mentor's busy times over `span` for a picker: from the cache when fresh, else
    /// fetched from Google (bounded by `busy_timeout`; never inside a transaction). With
    /// `fetch` false only the cache is read (autocomplete, listings).
    pub async fn busy(
        &self,
        store: &Store,
        mentor: UserId,
        span: Interval,
        now: DateTime<Utc>,
        fetch: bool,
    ) -> Result<ExternalBusy, StoreError> {
        let cached = self.cached(mentor, span, now);
        let raw = match cached {
            Some(hit) => hit,
            None if !fetch => return Ok(ExternalBusy::NotConnected),
            None => {
                // A day of margin on each side: pickers ask for spans that start at `now`, so
                // the next click's span (a little later) is still covered by this answer.
                let margin = Duration::days(1);
                let fetch_span =
                    Interval::new(span.start() - margin, span.end() + margin).unwrap_or(span);
                let fetched = tokio::time::timeout(
                    self.options.busy_timeout,
                    self.fetch_busy(store, mentor, fetch_span, now),
                )
                .await;
                match fetched {
                    Ok(Ok(Some(busy))) => Some(busy),
                    Ok(Ok(None)) => return Ok(ExternalBusy::NotConnected),
                    Ok(Err(error)) => {
                        tracing::warn!(mentor = mentor.0, error = %error, "Google busy times unavailable");
                        self.remember_busy(mentor, span, now, None);
                        None
                    }
                    Err(_) => {
                        tracing::warn!(mentor = mentor.0, "Google busy times timed out");
                        self.remember_busy(mentor, span, now, None);
                        None
                    }
                }
            }
        };
        match raw {
            None => Ok(ExternalBusy::Unavailable),
            Some(raw) => Ok(ExternalBusy::Known(
                self.without_own_events(store, mentor, span, &raw).await?,
            )),
        }
    }

    /// The cached busy times for a booking's commit check (never calls Google): own events
    /// left out; empty when nothing fresh is cached.
    pub async fn cached_busy(
        &self,
        store: &Store,
        mentor: UserId,
        span: Interval,
        now: DateTime<Utc>,
    ) -> Result<Vec<Interval>, StoreError> {
        match self.cached(mentor, span, now).flatten() {
            Some(raw) => self.without_own_events(store, mentor, span, &raw).await,
            None => Ok(Vec::new()),
        }
    }

    /// Drops `mentor`'s cached busy times (their bookings or account changed).
    pub fn forget_busy(&self, mentor: UserId) {
        self.lock_busy().remove(&mentor);
    }

    /// `Some(Some(busy))` fresh data, `Some(None)` a fresh failure, `None` nothing usable.
    fn cached(
        &self,
        mentor: UserId,
        span: Interval,
        now: DateTime<Utc>,
    ) -> Option<Option<Arc<Vec<Interval>>>> {
        let cache = self.lock_busy();
        let entry = cache.get(&mentor)?;
        let ttl = match entry.busy {
            Some(_) => self.options.busy_ttl,
            None => self.options.unavailable_ttl,
        };
        let fresh = entry.fetched_at <= now && now < entry.fetched_at + ttl;
        let covers = entry.span.start() <= span.start() && span.end() <= entry.span.end();
        (fresh && (covers || entry.busy.is_none())).then(|| entry.busy.clone())
    }

    fn remember_busy(
        &self,
        mentor: UserId,
        span: Interval,
        now: DateTime<Utc>,
        busy: Option<Arc<Vec<Interval>>>,
    ) {
        self.lock_busy().insert(
            mentor,
            BusyEntry {
                fetched_at: now,
                span,
                busy,
            },
        );
    }

    /// Fetches and caches; `Ok(None)` when the mentor has no usable grant.
    async fn fetch_busy(
        &self,
        store: &Store,
        mentor: UserId,
        span: Interval,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Arc<Vec<Interval>>>> {
        let Some(account) = store.google_account(mentor).await? else {
            return Ok(None);
        };
        if !account.scopes.split(' ').any(|s| s == SCOPE_FREEBUSY) {
            // The mentor unticked free/busy: events only, nothing to check.
            let none = Arc::new(Vec::new());
            self.remember_busy(mentor, span, now, Some(Arc::clone(&none)));
            return Ok(Some(none));
        }
        let mut token = match self.access_token(store, mentor, now).await {
            Ok(token) => token,
            Err(TokenError::NotConnected | TokenError::Revoked | TokenError::ReconnectNeeded) => {
                return Ok(None);
            }
            Err(other) => return Err(other.into()),
        };
        let mut answer = self
            .client
            .free_busy(&token, span.start(), span.end())
            .await;
        if matches!(answer, Err(GoogleError::Unauthorized)) {
            self.forget_token(mentor);
            token = match self.access_token(store, mentor, now).await {
                Ok(token) => token,
                Err(
                    TokenError::NotConnected | TokenError::Revoked | TokenError::ReconnectNeeded,
                ) => return Ok(None),
                Err(other) => return Err(other.into()),
            };
            answer = self
                .client
                .free_busy(&token, span.start(), span.end())
                .await;
        }
        let busy = Arc::new(answer?);
        self.remember_busy(mentor, span, now, Some(Arc::clone(&busy)));
        Ok(Some(busy))
    }

    /// Google's busy times include mentorbot's own events: cut out the times of the
    /// mentor's bookings whose event may exist (their own busy time is counted anyway).
    async fn without_own_events(
        &self,
        store: &Store,
        mentor: UserId,
        span: Interval,
        raw: &[Interval],
    ) -> Result<Vec<Interval>, StoreError> {
        let relevant: Vec<Interval> = raw.iter().filter(|b| b.overlaps(&span)).copied().collect();
        if relevant.is_empty() {
            return Ok(relevant);
        }
        let own = store.own_event_times(mentor, span).await?;
        Ok(subtract_all(&relevant, &own))
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, (Secret, DateTime<Utc>)>> {
        // A panic while holding this lock cannot leave the map half-written.
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_busy(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, BusyEntry>> {
        self.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Compile-time guard: these futures run on spawned tokio tasks, so they must be `Send` for
/// every lifetime (a borrowed HTTP client inside once broke that far from its cause).
#[allow(dead_code)]
fn futures_are_send(g: &Google, s: &Store, iv: Interval, now: DateTime<Utc>) {
    fn is_send<T: Send>(_: T) {}
    is_send(g.busy(s, UserId(1), iv, now, true));
    is_send(g.access_token(s, UserId(1), now));
    is_send(g.fetch_busy(s, UserId(1), iv, now));
    is_send(g.without_own_events(s, UserId(1), iv, &[]));
    is_send(g.client.free_busy(&Secret::new(""), now, now));
    is_send(g.oauth.refresh(&Secret::new("")));
}

#[cfg(test)]
mod tests {
    use testkit::google::{FakeGoogle, Route};

    use super::*;
    use crate::gcal::SCOPE_EVENTS;
    use crate::gcal::crypto::TokenKey;
    use crate::store::StoreOptions;

    const EMAIL: &str = "mentor@example.com";
    const MENTOR: UserId = UserId(7);

    #[tokio::test]
    async fn busy_times_are_fetched_once_then_served_from_the_cache_for_exactly_five_minutes() {
        let fake = FakeGoogle::start().await;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreOptions::new(dir.path().join("g.db")))
            .await
            .unwrap();
        let mut config = GoogleConfig::new(
            FakeGoogle::CLIENT_ID.into(),
            Secret::new(FakeGoogle::CLIENT_SECRET),
            "http://127.0.0.1:9/oauth/google/callback".into(),
        );
        config.token_url = fake.token_url();
        config.calendar_base = fake.calendar_base();
        let key = TokenKey::parse(testkit::TOKEN_KEY).unwrap();
        let sealed = key.seal(
            MENTOR.0,
            &fake
                .grant_directly(EMAIL, &[SCOPE_EVENTS, SCOPE_FREEBUSY])
                .refresh_token,
        );
        let google = Google::new(
            &config,
            key,
            "http://127.0.0.1:9",
            GoogleOptions::default(),
            &store,
        )
        .await
        .unwrap();
        let now = Utc::now();
        let scopes = format!("{SCOPE_EVENTS} {SCOPE_FREEBUSY}");
        store
            .transact(move |tx| {
                Box::pin(async move {
                    tx.save_google_account(MENTOR, Some(EMAIL), &sealed, &scopes, now)
                        .await
                })
            })
            .await
            .unwrap();
        let span = Interval::new(now, now + Duration::days(7)).unwrap();
        let asks = |at: DateTime<Utc>| {
            let (google, store, fake) = (&google, &store, &fake);
            async move {
                let busy = google.busy(store, MENTOR, span, at, true).await.unwrap();
                assert!(matches!(busy, ExternalBusy::Known(_)), "{busy:?}");
                fake.count(Route::FreeBusy)
            }
        };
        assert_eq!(asks(now).await, 1);
        assert_eq!(asks(now + Duration::seconds(299)).await, 1, "still cached");
        assert_eq!(asks(now + Duration::minutes(5)).await, 2, "asked again");
        assert_eq!(
            asks(now + Duration::minutes(6)).await,
            2,
            "the new answer is cached"
        );
    }
}
