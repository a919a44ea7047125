//! The fake Google's state (one mutex) and small helpers: random tokens, times, scopes.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{Consent, FakeEvent, FakeGoogle, Fault, LoggedRequest, MeetMode, Route, TokenRequest};

/// What the server and the handle share.
pub(crate) struct Shared {
    pub addr: SocketAddr,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(addr: SocketAddr) -> Shared {
        Shared {
            addr,
            state: Mutex::new(State::default()),
        }
    }

    /// Runs `f` on the state. A poisoned mutex (a panic while holding it, i.e. a bug already
    /// reported by that panic) is used anyway: the fake keeps answering.
    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

/// An authorization code handed out by the consent page.
pub(crate) struct Code {
    pub email: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub challenge: String,
    pub issued: Instant,
    pub used: bool,
    /// `access_type=offline` was asked.
    pub offline: bool,
    /// `prompt` contained `consent`.
    pub prompt_consent: bool,
}

pub(crate) struct RefreshToken {
    pub token: String,
    pub email: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
}

pub(crate) struct AccessToken {
    pub token: String,
    pub email: String,
    pub scopes: Vec<String>,
    pub expires: Instant,
    pub expired: bool,
    pub revoked: bool,
    /// The refresh token it was issued with or from.
    pub refresh: Option<String>,
}

/// A Meet conference attached to an event.
pub(crate) struct Conference {
    pub request_id: String,
    pub code: String,
    pub state: ConferenceState,
}

pub(crate) enum ConferenceState {
    Ready,
    /// GETs still to be made before the conference is ready.
    Pending(u32),
    Failure,
}

pub(crate) struct StoredEvent {
    pub id: String,
    /// The client's fields (summary, start, end, extendedProperties, …).
    pub body: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub sequence: u64,
    pub deleted: bool,
    pub conference: Option<Conference>,
}

/// Fields Google sets itself: ignored in insert and patch bodies.
pub(crate) const SERVER_FIELDS: &[&str] = &[
    "kind",
    "etag",
    "id",
    "status",
    "htmlLink",
    "created",
    "updated",
    "creator",
    "organizer",
    "iCalUID",
    "sequence",
    "hangoutLink",
    "conferenceData",
];

impl StoredEvent {
    pub fn new(id: String, body: Map<String, Value>, now: DateTime<Utc>) -> StoredEvent {
        StoredEvent {
            id,
            body,
            created: now,
            updated: now,
            sequence: 0,
            deleted: false,
            conference: None,
        }
    }

    fn meet_uri(&self) -> Option<String> {
        match &self.conference {
            Some(Conference {
                state: ConferenceState::Ready,
                code,
                ..
            }) => Some(format!("https://meet.google.com/{code}")),
            _ => None,
        }
    }

    /// The event as Google answers it.
    pub fn render(&self, email: &str) -> Value {
        let mut out = self.body.clone();
        let eid = STANDARD_NO_PAD.encode(format!("{} {email}", self.id));
        let etag = self.updated.timestamp_millis().unsigned_abs() * 1000 + self.sequence;
        let fields = json!({
            "kind": "calendar#event",
            "etag": format!("\"{etag}\""),
            "id": self.id,
            // Google keeps a deleted event readable, as `cancelled`.
            "status": if self.deleted { "cancelled" } else { "confirmed" },
            "htmlLink": format!("https://www.google.com/calendar/event?eid={eid}"),
            "created": fmt_millis(self.created),
            "updated": fmt_millis(self.updated),
            "creator": {"email": email, "self": true},
            "organizer": {"email": email, "self": true},
            "iCalUID": format!("{}@google.com", self.id),
            "sequence": self.sequence,
            "eventType": "default",
        });
        if let Value::Object(fields) = fields {
            out.extend(fields);
        }
        out.entry("reminders")
            .or_insert_with(|| json!({"useDefault": true}));
        if let Some(c) = &self.conference {
            let status = match c.state {
                ConferenceState::Ready => "success",
                ConferenceState::Pending(_) => "pending",
                ConferenceState::Failure => "failure",
            };
            let mut data = json!({
                "createRequest": {
                    "requestId": c.request_id,
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                    "status": {"statusCode": status}
                }
            });
            if let Some(uri) = self.meet_uri() {
                data["entryPoints"] = json!([
                    {"entryPointType": "video", "uri": uri, "label": format!("meet.google.com/{}", c.code)},
                    {"entryPointType": "more", "uri": format!("https://tel.meet/{}?pin=1234567890123", c.code), "pin": "1234567890123"},
                    {"entryPointType": "phone", "uri": "tel:+1-555-0100", "label": "+1 555-0100", "pin": "123456789", "regionCode": "US"}
                ]);
                data["conferenceSolution"] = json!({
                    "key": {"type": "hangoutsMeet"},
                    "name": "Google Meet",
                    "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"
                });
                data["conferenceId"] = json!(c.code);
                out.insert("hangoutLink".into(), json!(uri));
            }
            out.insert("conferenceData".into(), data);
        }
        Value::Object(out)
    }

    pub fn to_fake(&self, email: &str) -> FakeEvent {
        let text = |v: &Value| v.as_str().map(str::to_string);
        let time = |key: &str| {
            let t = &self.body.get(key).cloned().unwrap_or(Value::Null);
            text(&t["dateTime"])
                .or(text(&t["date"]))
                .unwrap_or_default()
        };
        let body = Value::Object(self.body.clone());
        FakeEvent {
            id: self.id.clone(),
            summary: text(&body["summary"]),
            description: text(&body["description"]),
            start: time("start"),
            end: time("end"),
            time_zone: text(&body["start"]["timeZone"]),
            booking_tag: text(&body["extendedProperties"]["private"]["mentorbotBooking"]),
            meet_link: self.meet_uri(),
            deleted: self.deleted,
            raw: self.render(email),
        }
    }

    /// `(start, end)` in UTC, if both parse.
    pub fn span(&self) -> Option<Span> {
        let t = |key: &str| {
            let v = self.body.get(key)?;
            v["dateTime"]
                .as_str()
                .or(v["date"].as_str())
                .and_then(parse_time)
        };
        Some((t("start")?, t("end")?))
    }
}

/// Faults injected at random (see `FakeGoogle::set_random_faults`): a seeded generator, so
/// the same seed gives the same sequence of draws.
pub(crate) struct RandomFaults {
    pub route: Route,
    pub rate: f64,
    pub faults: Vec<Fault>,
    /// xorshift64* state (never 0).
    pub rng: u64,
    /// Faults injected so far.
    pub injected: usize,
}

impl RandomFaults {
    pub fn new(route: Route, rate: f64, faults: Vec<Fault>, seed: u64) -> RandomFaults {
        RandomFaults {
            route,
            rate: rate.clamp(0.0, 1.0),
            faults,
            // splitmix64 of the seed: nearby seeds give unrelated sequences, and 0 is avoided.
            rng: splitmix64(seed) | 1,
            injected: 0,
        }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// One draw for a request of `route`: a fault with probability `rate`.
    pub fn draw(&mut self, route: Route) -> Option<Fault> {
        if !self.route.matches(route) || self.faults.is_empty() || self.rate <= 0.0 {
            return None;
        }
        let roll = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        if roll >= self.rate {
            return None;
        }
        let pick = (self.next() % self.faults.len() as u64) as usize;
        self.injected += 1;
        Some(self.faults[pick].clone())
    }
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A time interval `[start, end)`.
pub(crate) type Span = (DateTime<Utc>, DateTime<Utc>);

/// Everything the fake knows.
pub(crate) struct State {
    pub consent: Consent,
    /// The redirect URIs registered for the client (Google's console).
    pub redirect_uris: Vec<String>,
    pub meet: MeetMode,
    pub access_lifetime: u64,
    pub clock_offset: Duration,
    pub codes: HashMap<String, Code>,
    /// Issue order.
    pub refresh: Vec<RefreshToken>,
    /// Issue order.
    pub access: Vec<AccessToken>,
    /// Account key -> scopes granted so far (for `include_granted_scopes`).
    pub grants: HashMap<String, Vec<String>>,
    pub token_requests: Vec<TokenRequest>,
    /// Account key -> events in creation order.
    pub calendars: HashMap<String, Vec<StoredEvent>>,
    /// Account key -> seeded busy intervals.
    pub busy: HashMap<String, Vec<Span>>,
    pub freebusy_errors: bool,
    /// Queued faults in order.
    pub faults: Vec<(Route, Fault)>,
    pub down: bool,
    /// Faults drawn at random for requests without a queued fault.
    pub random_faults: Option<RandomFaults>,
    pub requests: Vec<LoggedRequest>,
    /// Conferences created so far (for distinct Meet codes).
    pub meet_counter: u64,
}

impl Default for State {
    fn default() -> Self {
        State {
            consent: Consent::default(),
            redirect_uris: Vec::new(),
            meet: MeetMode::default(),
            access_lifetime: FakeGoogle::DEFAULT_ACCESS_TOKEN_LIFETIME,
            clock_offset: Duration::ZERO,
            codes: HashMap::new(),
            refresh: Vec::new(),
            access: Vec::new(),
            grants: HashMap::new(),
            token_requests: Vec::new(),
            calendars: HashMap::new(),
            busy: HashMap::new(),
            freebusy_errors: false,
            faults: Vec::new(),
            down: false,
            random_faults: None,
            requests: Vec::new(),
            meet_counter: 0,
        }
    }
}

impl State {
    /// The fake's monotonic clock (moved by `advance_clock`).
    pub fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    /// The fake's wall clock.
    pub fn wall_now(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(SystemTime::now() + self.clock_offset)
    }

    /// Adds `scopes` to what `email` granted so far.
    pub fn remember_grant(&mut self, email: &str, scopes: &[String]) {
        let granted = self.grants.entry(account_key(email)).or_default();
        for s in scopes {
            if !granted.contains(s) {
                granted.push(s.clone());
            }
        }
    }

    pub fn issue_refresh(&mut self, email: &str, scopes: &[String]) -> String {
        let token = format!("1//0{}", random_token(48));
        self.refresh.push(RefreshToken {
            token: token.clone(),
            email: email.to_string(),
            scopes: scopes.to_vec(),
            revoked: false,
        });
        token
    }

    pub fn issue_access(
        &mut self,
        email: &str,
        scopes: &[String],
        refresh: Option<&str>,
    ) -> String {
        let token = format!("ya29.a0{}", random_token(96));
        let expires = self.now() + Duration::from_secs(self.access_lifetime);
        self.access.push(AccessToken {
            token: token.clone(),
            email: email.to_string(),
            scopes: scopes.to_vec(),
            expires,
            expired: false,
            revoked: false,
            refresh: refresh.map(str::to_string),
        });
        token
    }

    /// Whether `email` holds a refresh token that still works.
    pub fn has_live_refresh(&self, email: &str) -> bool {
        let key = account_key(email);
        self.refresh
            .iter()
            .any(|t| !t.revoked && account_key(&t.email) == key)
    }

    /// Revokes a refresh token and every access token issued from it.
    pub fn revoke_refresh(&mut self, token: &str) {
        for t in self.refresh.iter_mut().filter(|t| t.token == token) {
            t.revoked = true;
        }
        for t in self
            .access
            .iter_mut()
            .filter(|t| t.refresh.as_deref() == Some(token))
        {
            t.revoked = true;
        }
    }

    /// Everything of `email` stops working; its grants are forgotten.
    pub fn revoke_account(&mut self, email: &str) {
        let key = account_key(email);
        for t in self.refresh.iter_mut() {
            if account_key(&t.email) == key {
                t.revoked = true;
            }
        }
        for t in self.access.iter_mut() {
            if account_key(&t.email) == key {
                t.revoked = true;
            }
        }
        self.grants.remove(&key);
    }

    /// The access token if it is valid now.
    pub fn live_access(&self, token: &str) -> Option<&AccessToken> {
        let now = self.now();
        self.access
            .iter()
            .find(|t| t.token == token)
            .filter(|t| !t.revoked && !t.expired && now < t.expires)
    }

    /// A new conference for an event, as the current [`MeetMode`] says.
    pub fn new_conference(&mut self, request_id: String) -> Conference {
        let code = meet_code(self.meet_counter);
        self.meet_counter += 1;
        let state = match self.meet {
            MeetMode::Ready => ConferenceState::Ready,
            MeetMode::PendingFor(n) => ConferenceState::Pending(n),
            MeetMode::Failure => ConferenceState::Failure,
        };
        Conference {
            request_id,
            code,
            state,
        }
    }
}

/// Calendars and grants are keyed by the lower-cased email.
pub(crate) fn account_key(email: &str) -> String {
    email.to_ascii_lowercase()
}

/// `email` and `profile` as Google writes them in token answers.
pub(crate) fn normalize_scope(scope: &str) -> String {
    match scope {
        "email" => "https://www.googleapis.com/auth/userinfo.email".to_string(),
        "profile" => "https://www.googleapis.com/auth/userinfo.profile".to_string(),
        other => other.to_string(),
    }
}

/// Scopes the consent page accepts (normalized).
pub(crate) fn known_scope(scope: &str) -> bool {
    const BASE: &str = "https://www.googleapis.com/auth/";
    scope == "openid"
        || scope.strip_prefix(BASE).is_some_and(|rest| {
            matches!(
                rest,
                "userinfo.email"
                    | "userinfo.profile"
                    | "calendar"
                    | "calendar.readonly"
                    | "calendar.events"
                    | "calendar.events.readonly"
                    | "calendar.events.owned"
                    | "calendar.events.freebusy"
                    | "calendar.freebusy"
                    | "calendar.app.created"
            )
        })
}

/// A stable Google-like numeric account id for `email`.
pub(crate) fn subject(email: &str) -> String {
    let digest = Sha256::digest(account_key(email).as_bytes());
    let mut n: u128 = 0;
    for b in &digest[..12] {
        n = (n << 8) | u128::from(*b);
    }
    format!("1{:020}", n % 10u128.pow(20))
}

/// `base64url(sha256(verifier))`, the S256 code challenge.
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub(crate) fn pkce_shaped(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// `len` random bytes.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: still unpredictable enough for a test fake.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = RandomState::new();
        for chunk in bytes.chunks_mut(8) {
            let mut h = seed.build_hasher();
            h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            let n = h.finish().to_le_bytes();
            chunk.copy_from_slice(&n[..chunk.len()]);
        }
    }
    bytes
}

/// A random URL-safe token about `chars` long.
pub(crate) fn random_token(chars: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(chars * 3 / 4 + 1))
}

/// A random event id as Google generates them: 26 base32hex characters.
pub(crate) fn random_event_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    random_bytes(26)
        .into_iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect()
}

/// Meet code number `n`: `abc-defg-hij`, `abc-defg-hik`, … (distinct for every `n`).
fn meet_code(n: u64) -> String {
    // "abcdefghij" read as a base-26 number, plus n.
    let mut digits: Vec<u64> = (0..10).collect();
    let mut carry = n;
    for d in digits.iter_mut().rev() {
        let sum = *d + carry;
        *d = sum % 26;
        carry = sum / 26;
    }
    let letters: String = digits
        .iter()
        .map(|d| char::from(b'a' + (*d as u8)))
        .collect();
    format!("{}-{}-{}", &letters[..3], &letters[3..7], &letters[7..])
}

/// RFC 3339 with an offset, or an all-day `YYYY-MM-DD` (midnight UTC).
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

/// `2024-05-01T10:00:00Z`.
pub(crate) fn fmt_secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2024-05-01T10:00:00.000Z`.
pub(crate) fn fmt_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meet_codes_are_distinct_and_shaped_like_google_s() {
        assert_eq!(meet_code(0), "abc-defg-hij");
        assert_eq!(meet_code(1), "abc-defg-hik");
        assert_eq!(meet_code(17), "abc-defg-hja");
        let codes: std::collections::HashSet<String> = (0..1000).map(meet_code).collect();
        assert_eq!(codes.len(), 1000);
    }

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn subjects_are_stable_per_account() {
        assert_eq!(subject("A@example.com"), subject("a@example.com"));
        assert_ne!(subject("a@example.com"), subject("b@example.com"));
        assert_eq!(subject("a@example.com").len(), 21);
    }

    #[test]
    fn random_event_ids_are_base32hex() {
        let id = random_event_id();
        assert_eq!(id.len(), 26);
        assert!(id.bytes().all(|b| matches!(b, b'a'..=b'v' | b'0'..=b'9')));
    }
}
