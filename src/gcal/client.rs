//! Calendar v3 over reqwest: create, read, move and delete events on the user's primary
//! calendar, and read busy times.
//!
//! Every failure is sorted into [`GoogleError`] so the job worker knows whether to refresh
//! the token, retry later or give up. Error texts keep Google's reason and message but never
//! a token.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use reqwest::{Method, RequestBuilder, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use super::event_id::is_valid_event_id;
use super::{GoogleConfig, http_client, printable};
use crate::scheduling::interval::{Interval, merge};
use crate::secret::Secret;

/// The longest span asked of freeBusy at once; Google refuses long spans, ~90 days is safe.
pub const FREE_BUSY_CHUNK: TimeDelta = TimeDelta::days(90);

/// The key under `extendedProperties.private` that marks an event as a booking's.
pub const BOOKING_TAG_KEY: &str = "mentorbotBooking";

/// Query for writes: the answer carries conference data, and Google emails nobody (the bot
/// tells people itself).
const WRITE_QUERY: [(&str, &str); 2] = [("conferenceDataVersion", "1"), ("sendUpdates", "none")];

/// A pair of times as Google sends them, before they are checked to be an [`Interval`].
type BusyInterval = (DateTime<Utc>, DateTime<Utc>);

/// Calendar v3 for one Google project. Built once; cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct CalendarClient {
    http: reqwest::Client,
    /// Calendar v3's base URL, without a trailing slash.
    base: String,
}

/// An event to create for a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event id, from [`super::event_id::event_id`]: makes a repeated insert a 409.
    pub id: String,
    /// The title.
    pub summary: String,
    /// The body text.
    pub description: String,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
    /// The IANA zone Google shows the times in, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// The booking id, stored as a private extended property to recognise the event as ours.
    pub booking_tag: String,
    /// The Meet creation request's id; the same id on a retry does not make a second Meet.
    pub request_id: String,
}

/// An event as Google has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event id.
    pub id: String,
    /// Our private `mentorbotBooking` property; `None` on events we did not make.
    pub booking_tag: Option<String>,
    /// The state of its Meet link.
    pub conference: Conference,
    /// When it starts; `None` for all-day events and for some cancelled ones.
    pub start: Option<DateTime<Utc>>,
    /// When it ends; as for `start`.
    pub end: Option<DateTime<Utc>>,
    /// Whether it is deleted (`status == "cancelled"`).
    pub cancelled: bool,
    /// The event's page in Google Calendar.
    pub html_link: Option<String>,
}

/// The Meet link of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conference {
    /// The Meet URL (the video entry point, else `hangoutLink`).
    Ready(String),
    /// Google is still creating it: read the event again later.
    Pending,
    /// Google could not create it.
    Failed,
    /// The event has no conference.
    None,
}

/// What a delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The event was deleted now.
    Now,
    /// The event was already gone (404 or 410): just as good.
    Already,
}

/// Why a Calendar call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoogleError {
    /// 401: the access token is expired or revoked. Refresh it once and retry.
    #[error("Google refused the access token (401)")]
    Unauthorized,
    /// 409: an event with this id exists (a repeated insert): fetch it.
    #[error("an event with this id already exists (409)")]
    Conflict,
    /// 404 or 410: no such event.
    #[error("no such event (404/410)")]
    NotFound,
    /// Worth retrying later with backoff: rate limits, quotas, 5xx, timeouts, connection errors.
    #[error("Google is unavailable or rate limiting: {reason}")]
    Retry {
        /// How long Google asked us to wait (`Retry-After` in seconds), if it said.
        after: Option<Duration>,
        /// What happened, for logs.
        reason: String,
    },
    /// Will not work by retrying: Google's reason and message, or what was wrong locally.
    #[error("Google refused the request: {0}")]
    Permanent(String),
}

impl CalendarClient {
    /// Builds the client from `config`; fails on a malformed base URL or unusable TLS setup.
    pub fn new(config: &GoogleConfig) -> Result<CalendarClient, anyhow::Error> {
        let base = config.calendar_base.trim_end_matches('/');
        reqwest::Url::parse(base)
            .map_err(|e| anyhow::anyhow!("Google Calendar base URL {base:?}: {e}"))?;
        Ok(CalendarClient {
            http: http_client(config.timeout)?,
            base: base.to_string(),
        })
    }

    /// Creates `event` on the primary calendar with a Meet link requested. A 409
    /// ([`GoogleError::Conflict`]) means an event with this id exists already.
    pub async fn insert_event(
        &self,
        access: &Secret,
        event: &NewEvent,
    ) -> Result<Event, GoogleError> {
        check_id(&event.id)?;
        let request = self
            .request(
                Method::POST,
                &format!("{}/calendars/primary/events", self.base),
                access,
            )
            .query(&WRITE_QUERY)
            .json(&insert_body(event));
        parse_event(&send(request).await?)
    }

    /// Reads an event (deleted ones come back with `cancelled`, or as `NotFound`).
    pub async fn get_event(&self, access: &Secret, id: &str) -> Result<Event, GoogleError> {
        let request = self.request(Method::GET, &self.event_url(id)?, access);
        parse_event(&send(request).await?)
    }

    /// Moves an event to `start`..`end`, shown in `time_zone`.
    pub async fn move_event(
        &self,
        access: &Secret,
        id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        time_zone: &str,
    ) -> Result<Event, GoogleError> {
        let body = json!({
            "start": event_time(start, time_zone),
            "end": event_time(end, time_zone),
        });
        let request = self
            .request(Method::PATCH, &self.event_url(id)?, access)
            .query(&WRITE_QUERY)
            .json(&body);
        parse_event(&send(request).await?)
    }

    /// Deletes an event; one already gone counts as deleted.
    pub async fn delete_event(&self, access: &Secret, id: &str) -> Result<Deleted, GoogleError> {
        let request = self
            .request(Method::DELETE, &self.event_url(id)?, access)
            .query(&[("sendUpdates", "none")]);
        match send(request).await {
            Ok(_) => Ok(Deleted::Now),
            Err(GoogleError::NotFound) => Ok(Deleted::Already),
            Err(error) => Err(error),
        }
    }

    /// Busy intervals of the primary calendar in [`from`, `to`), merged and sorted, queried
    /// in chunks of at most [`FREE_BUSY_CHUNK`] (one request per chunk, in order). Errors
    /// Google reports for the calendar inside a 200 are sorted like HTTP errors.
    pub async fn free_busy(
        &self,
        access: &Secret,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Interval>, GoogleError> {
        let mut busy = Vec::new();
        for (start, end) in chunks(from, to, FREE_BUSY_CHUNK) {
            let body = json!({
                "timeMin": rfc3339(start),
                "timeMax": rfc3339(end),
                "items": [{"id": "primary"}],
            });
            let request = self
                .request(Method::POST, &format!("{}/freeBusy", self.base), access)
                .json(&body);
            busy.extend(parse_free_busy(&send(request).await?)?);
        }
        // A busy time across a chunk edge comes back as two pieces: merged here.
        Ok(merge(clip(busy, from, to)))
    }

    fn request(&self, method: Method, url: &str, access: &Secret) -> RequestBuilder {
        // `bearer_auth` marks the header sensitive, so reqwest never prints it.
        self.http
            .request(method, url)
            .bearer_auth(access.expose())
            .header(header::ACCEPT, "application/json")
    }

    fn event_url(&self, id: &str) -> Result<String, GoogleError> {
        check_id(id)?;
        Ok(format!("{}/calendars/primary/events/{id}", self.base))
    }
}

/// Refuses ids Google would not have made; valid ones need no escaping in a path.
fn check_id(id: &str) -> Result<(), GoogleError> {
    if is_valid_event_id(id) {
        Ok(())
    } else {
        Err(GoogleError::Permanent(format!(
            "invalid event id {:?}: only a-v and 0-9, 5 to 1024 long",
            printable(id, 40)
        )))
    }
}

/// Sends a request and returns a success's body; anything else becomes a [`GoogleError`].
async fn send(request: RequestBuilder) -> Result<Vec<u8>, GoogleError> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.bytes().await.map_err(transport)?;
    if status.is_success() {
        Ok(body.to_vec())
    } else {
        Err(classify(status, retry_after.as_deref(), &body))
    }
}

fn transport(error: reqwest::Error) -> GoogleError {
    if error.is_builder() {
        GoogleError::Permanent(crate::cause::chain(&error))
    } else {
        // Timeouts, refused connections, resets mid-body: all worth another try.
        GoogleError::Retry {
            after: None,
            reason: crate::cause::chain(&error),
        }
    }
}

/// Sorts a failed answer by its status and Google's error body (read leniently: a body
/// that is not Google's JSON still classifies by status).
fn classify(status: StatusCode, retry_after: Option<&str>, body: &[u8]) -> GoogleError {
    let details = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_default();
    let reason = || format!("HTTP {}: {}", status.as_u16(), details.describe());
    let after = || retry_after.and_then(parse_retry_after);
    match status.as_u16() {
        401 => GoogleError::Unauthorized,
        404 | 410 => GoogleError::NotFound,
        409 => GoogleError::Conflict,
        429 | 500 | 502 | 503 | 504 => GoogleError::Retry {
            after: after(),
            reason: reason(),
        },
        403 if details.is_rate_limit() => GoogleError::Retry {
            after: after(),
            reason: reason(),
        },
        _ => GoogleError::Permanent(reason()),
    }
}

/// `Retry-After` as delay-seconds; the HTTP-date form is ignored (Google sends seconds).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `{"error": {...}}`, Google's error answer.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorDetails,
}

#[derive(Deserialize, Default)]
struct ErrorDetails {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize, Default)]
struct ErrorItem {
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Reasons that mean "slow down", whatever the status.
const RATE_LIMIT_REASONS: [&str; 3] = [
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "quotaExceeded",
];

impl ErrorItem {
    fn is_rate_limit(&self) -> bool {
        self.domain.as_deref() == Some("usageLimits")
            || self
                .reason
                .as_deref()
                .is_some_and(|r| RATE_LIMIT_REASONS.contains(&r))
    }
}

impl ErrorDetails {
    fn is_rate_limit(&self) -> bool {
        self.errors.iter().any(ErrorItem::is_rate_limit)
    }

    /// "reason: message" from the first error, else the top message, for logs.
    fn describe(&self) -> String {
        let first = self.errors.first();
        let reason = first.and_then(|e| e.reason.as_deref());
        let message = first
            .and_then(|e| e.message.as_deref())
            .or(self.message.as_deref());
        let text = match (reason, message) {
            (Some(reason), Some(message)) => format!("{reason}: {message}"),
            (Some(text), None) | (None, Some(text)) => text.to_string(),
            (None, None) => "no error details".to_string(),
        };
        printable(&text, 300)
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn event_time(at: DateTime<Utc>, time_zone: &str) -> serde_json::Value {
    json!({"dateTime": rfc3339(at), "timeZone": time_zone})
}

/// The JSON Google expects for a new event.
fn insert_body(event: &NewEvent) -> serde_json::Value {
    json!({
        "id": event.id,
        "summary": event.summary,
        "description": event.description,
        "start": event_time(event.start, &event.time_zone),
        "end": event_time(event.end, &event.time_zone),
        "conferenceData": {
            "createRequest": {
                "requestId": event.request_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            },
        },
        "extendedProperties": {"private": {BOOKING_TAG_KEY: event.booking_tag}},
    })
}

/// The parts of Google's event resource we read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    html_link: Option<String>,
    #[serde(default)]
    hangout_link: Option<String>,
    #[serde(default)]
    start: Option<RawTime>,
    #[serde(default)]
    end: Option<RawTime>,
    #[serde(default)]
    conference_data: Option<RawConferenceData>,
    #[serde(default)]
    extended_properties: Option<RawExtendedProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTime {
    /// Absent on all-day events, which have `date` instead.
    #[serde(default)]
    date_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConferenceData {
    #[serde(default)]
    create_request: Option<RawCreateRequest>,
    #[serde(default)]
    entry_points: Vec<RawEntryPoint>,
}

#[derive(Deserialize)]
struct RawCreateRequest {
    #[serde(default)]
    status: Option<RawCreateStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCreateStatus {
    #[serde(default)]
    status_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntryPoint {
    #[serde(default)]
    entry_point_type: Option<String>,
    #[serde(default)]
    uri: Option<String>,
}

#[derive(Deserialize)]
struct RawExtendedProperties {
    #[serde(default)]
    private: HashMap<String, String>,
}

fn parse_event(body: &[u8]) -> Result<Event, GoogleError> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|e| unreadable("event", &e))?;
    let time = |t: &Option<RawTime>| {
        t.as_ref()
            .and_then(|t| t.date_time.as_deref())
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    Ok(Event {
        conference: conference(&raw),
        start: time(&raw.start),
        end: time(&raw.end),
        cancelled: raw.status.as_deref() == Some("cancelled"),
        booking_tag: raw
            .extended_properties
            .and_then(|mut p| p.private.remove(BOOKING_TAG_KEY)),
        html_link: raw.html_link,
        id: raw.id,
    })
}

fn conference(raw: &RawEvent) -> Conference {
    let data = raw.conference_data.as_ref();
    let video = data.and_then(|d| {
        d.entry_points
            .iter()
            .find(|e| e.entry_point_type.as_deref() == Some("video"))
            .and_then(|e| e.uri.clone())
    });
    if let Some(uri) = video.or_else(|| raw.hangout_link.clone()) {
        return Conference::Ready(uri);
    }
    let status = data
        .and_then(|d| d.create_request.as_ref())
        .and_then(|r| r.status.as_ref())
        .and_then(|s| s.status_code.as_deref());
    match status {
        Some("pending") => Conference::Pending,
        Some("failure") => Conference::Failed,
        _ => Conference::None,
    }
}

/// An answer that is not what Google documents. Only the kind and place of the problem are
/// kept: serde's messages may quote the answer.
fn unreadable(what: &str, error: &serde_json::Error) -> GoogleError {
    GoogleError::Permanent(format!(
        "unreadable {what} from Google ({:?} error at line {} column {})",
        error.classify(),
        error.line(),
        error.column()
    ))
}

#[derive(Deserialize)]
struct RawFreeBusy {
    #[serde(default)]
    calendars: HashMap<String, RawCalendarBusy>,
}

#[derive(Deserialize)]
struct RawCalendarBusy {
    #[serde(default)]
    busy: Vec<RawPeriod>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct RawPeriod {
    start: String,
    end: String,
}

/// Reasons inside a freeBusy answer that may go away on a retry.
const FREE_BUSY_RETRY_REASONS: [&str; 2] = ["backendError", "internalError"];

fn parse_free_busy(body: &[u8]) -> Result<Vec<BusyInterval>, GoogleError> {
    let raw: RawFreeBusy =
        serde_json::from_slice(body).map_err(|e| unreadable("freeBusy answer", &e))?;
    let Some(primary) = raw.calendars.get("primary") else {
        return Err(GoogleError::Permanent(
            "freeBusy answer has no `primary` calendar".to_string(),
        ));
    };
    if let Some(error) = primary.errors.first() {
        let reason = error.reason.as_deref().unwrap_or("unknown");
        let retry = primary.errors.iter().all(|e| {
            e.is_rate_limit()
                || e.reason
                    .as_deref()
                    .is_some_and(|r| FREE_BUSY_RETRY_REASONS.contains(&r))
        });
        let text = format!("freeBusy error for primary: {}", printable(reason, 100));
        return Err(if retry {
            GoogleError::Retry {
                after: None,
                reason: text,
            }
        } else {
            GoogleError::Permanent(text)
        });
    }
    primary
        .busy
        .iter()
        .map(|period| {
            let parse = |s: &str| {
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        GoogleError::Permanent(format!(
                            "unreadable busy time {:?} from Google",
                            printable(s, 40)
                        ))
                    })
            };
            Ok((parse(&period.start)?, parse(&period.end)?))
        })
        .collect()
}

/// [`from`, `to`) cut into consecutive pieces of at most `max` (none if the range is empty).
fn chunks(from: DateTime<Utc>, to: DateTime<Utc>, max: TimeDelta) -> Vec<BusyInterval> {
    let mut pieces = Vec::new();
    let mut start = from;
    while start < to && max > TimeDelta::zero() {
        let end = (start + max).min(to);
        pieces.push((start, end));
        start = end;
    }
    pieces
}

/// Intervals cut to [`from`, `to`); empty ones dropped.
fn clip(intervals: Vec<BusyInterval>, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Interval> {
    intervals
        .into_iter()
        .filter_map(|(start, end)| Interval::new(start.max(from), end.min(to)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use chrono::TimeZone;
    use testkit::google::{FakeGoogle, Fault, Route};

    use crate::gcal::{SCOPE_EVENTS, SCOPE_FREEBUSY};

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, day, hour, 0, 0).unwrap()
    }

    fn new_event() -> NewEvent {
        NewEvent {
            id: "cpnmuoj1e8abc".into(),
            summary: "Mentoring: Ada & Grace".into(),
            description: "Booking K7Q2MD".into(),
            start: at(10, 15),
            end: at(10, 16),
            time_zone: "Europe/Berlin".into(),
            booking_tag: "K7Q2MD".into(),
            request_id: "K7Q2MD-1".into(),
        }
    }

    fn event_json(conference: &str) -> Vec<u8> {
        format!(
            r#"{{"kind":"calendar#event","id":"cpnmuoj1e8abc","status":"confirmed",
            "htmlLink":"https://www.google.com/calendar/event?eid=abc",
            "start":{{"dateTime":"2025-03-10T16:00:00+01:00","timeZone":"Europe/Berlin"}},
            "end":{{"dateTime":"2025-03-10T17:00:00+01:00","timeZone":"Europe/Berlin"}},
            "extendedProperties":{{"private":{{"mentorbotBooking":"K7Q2MD"}}}}{conference}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn the_insert_body_has_times_meet_request_and_booking_tag() {
        let body = insert_body(&new_event());
        let expected = json!({
            "id": "cpnmuoj1e8abc",
            "summary": "Mentoring: Ada & Grace",
            "description": "Booking K7Q2MD",
            "start": {"dateTime": "2025-03-10T15:00:00Z", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2025-03-10T16:00:00Z", "timeZone": "Europe/Berlin"},
            "conferenceData": {"createRequest": {
                "requestId": "K7Q2MD-1",
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }},
            "extendedProperties": {"private": {"mentorbotBooking": "K7Q2MD"}},
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn an_event_with_a_video_entry_point_is_ready_with_that_uri() {
        let event = parse_event(&event_json(
            r#","hangoutLink":"https://meet.google.com/old-link",
            "conferenceData":{"createRequest":{"requestId":"K7Q2MD-1","status":{"statusCode":"success"}},
            "entryPoints":[{"entryPointType":"phone","uri":"tel:+1-555"},
                           {"entryPointType":"video","uri":"https://meet.google.com/abc-defg-hij"}]}"#,
        ))
        .unwrap();
        assert_eq!(
            event,
            Event {
                id: "cpnmuoj1e8abc".into(),
                booking_tag: Some("K7Q2MD".into()),
                conference: Conference::Ready("https://meet.google.com/abc-defg-hij".into()),
                start: Some(at(10, 15)),
                end: Some(at(10, 16)),
                cancelled: false,
                html_link: Some("https://www.google.com/calendar/event?eid=abc".into()),
            }
        );
    }

    #[test]
    fn an_event_with_only_a_hangout_link_is_ready_with_it() {
        let event = parse_event(&event_json(
            r#","hangoutLink":"https://meet.google.com/xyz""#,
        ));
        assert_eq!(
            event.unwrap().conference,
            Conference::Ready("https://meet.google.com/xyz".into())
        );
    }

    #[test]
    fn a_pending_or_failed_meet_request_is_reported_as_such() {
        let with_status = |code: &str| {
            parse_event(&event_json(&format!(
                r#","conferenceData":{{"createRequest":{{"requestId":"r","status":{{"statusCode":"{code}"}}}}}}"#
            )))
            .unwrap()
            .conference
        };
        assert_eq!(with_status("pending"), Conference::Pending);
        assert_eq!(with_status("failure"), Conference::Failed);
    }

    #[test]
    fn an_event_without_conference_data_has_none_and_others_events_have_no_tag() {
        let event = parse_event(br#"{"id":"abcde12345","status":"cancelled"}"#).unwrap();
        assert_eq!(event.conference, Conference::None);
        assert_eq!(event.booking_tag, None);
        assert!(event.cancelled);
        assert_eq!((event.start, event.end), (None, None));
        let all_day = parse_event(
            br#"{"id":"abcde12345","start":{"date":"2025-03-10"},"end":{"date":"2025-03-11"}}"#,
        )
        .unwrap();
        assert_eq!(all_day.start, None);
        assert_eq!(all_day.conference, Conference::None);
    }

    #[test]
    fn an_unreadable_event_is_permanent_and_does_not_quote_the_body() {
        let error = parse_event(br#"{"id": 12, "summary": "private text"}"#).unwrap_err();
        assert!(matches!(&error, GoogleError::Permanent(_)), "{error}");
        assert!(!error.to_string().contains("private"));
    }

    fn google_error(status: u16, domain: &str, reason: &str, message: &str) -> Vec<u8> {
        json!({"error": {"code": status, "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}]}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn errors_are_classified_by_status_and_reason() {
        let status = |code| StatusCode::from_u16(code).unwrap();
        let retry = |after: Option<u64>, reason: &str| GoogleError::Retry {
            after: after.map(Duration::from_secs),
            reason: reason.to_string(),
        };
        let table: Vec<(u16, Option<&str>, Vec<u8>, GoogleError)> = vec![
            (
                401,
                None,
                google_error(401, "global", "authError", "Invalid Credentials"),
                GoogleError::Unauthorized,
            ),
            (
                409,
                None,
                google_error(
                    409,
                    "global",
                    "duplicate",
                    "The requested identifier already exists.",
                ),
                GoogleError::Conflict,
            ),
            (
                404,
                None,
                google_error(404, "global", "notFound", "Not Found"),
                GoogleError::NotFound,
            ),
            (
                410,
                None,
                google_error(410, "global", "deleted", "Resource has been deleted"),
                GoogleError::NotFound,
            ),
            (
                429,
                Some("7"),
                google_error(
                    429,
                    "usageLimits",
                    "rateLimitExceeded",
                    "Rate Limit Exceeded",
                ),
                retry(Some(7), "HTTP 429: rateLimitExceeded: Rate Limit Exceeded"),
            ),
            (
                403,
                None,
                google_error(
                    403,
                    "usageLimits",
                    "userRateLimitExceeded",
                    "User Rate Limit Exceeded",
                ),
                retry(
                    None,
                    "HTTP 403: userRateLimitExceeded: User Rate Limit Exceeded",
                ),
            ),
            (
                403,
                Some("Wed, 21 Oct 2015 07:28:00 GMT"),
                google_error(
                    403,
                    "calendar",
                    "quotaExceeded",
                    "Calendar usage limits exceeded.",
                ),
                retry(
                    None,
                    "HTTP 403: quotaExceeded: Calendar usage limits exceeded.",
                ),
            ),
            (
                403,
                None,
                google_error(403, "global", "forbidden", "Forbidden"),
                GoogleError::Permanent("HTTP 403: forbidden: Forbidden".into()),
            ),
            (
                400,
                None,
                google_error(400, "global", "invalid", "Invalid resource id value."),
                GoogleError::Permanent("HTTP 400: invalid: Invalid resource id value.".into()),
            ),
            (
                500,
                None,
                google_error(500, "global", "backendError", "Backend Error"),
                retry(None, "HTTP 500: backendError: Backend Error"),
            ),
            (
                503,
                Some("30"),
                Vec::new(),
                retry(Some(30), "HTTP 503: no error details"),
            ),
            (
                502,
                None,
                b"<html><body>Bad Gateway</body></html>".to_vec(),
                retry(None, "HTTP 502: no error details"),
            ),
            (
                418,
                None,
                br#"{"error":{"code":418,"message":"teapot"}}"#.to_vec(),
                GoogleError::Permanent("HTTP 418: teapot".into()),
            ),
            (
                302,
                None,
                Vec::new(),
                GoogleError::Permanent("HTTP 302: no error details".into()),
            ),
        ];
        for (code, retry_after, body, expected) in table {
            assert_eq!(
                classify(status(code), retry_after, &body),
                expected,
                "HTTP {code}"
            );
        }
    }

    #[test]
    fn a_200_day_range_is_queried_in_pieces_of_at_most_90_days() {
        let from = at(1, 0);
        let to = from + TimeDelta::days(200);
        let pieces = chunks(from, to, FREE_BUSY_CHUNK);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces[0], (from, from + TimeDelta::days(90)));
        assert_eq!(
            pieces[1],
            (from + TimeDelta::days(90), from + TimeDelta::days(180))
        );
        assert_eq!(pieces[2], (from + TimeDelta::days(180), to));
        assert!(
            pieces
                .iter()
                .all(|(s, e)| s < e && *e - *s <= FREE_BUSY_CHUNK)
        );
        assert_eq!(
            chunks(from, from + TimeDelta::days(90), FREE_BUSY_CHUNK).len(),
            1
        );
        assert!(chunks(from, from, FREE_BUSY_CHUNK).is_empty());
        assert!(chunks(to, from, FREE_BUSY_CHUNK).is_empty());
    }

    fn intervals(pairs: &[BusyInterval]) -> Vec<Interval> {
        pairs
            .iter()
            .map(|(start, end)| Interval::new(*start, *end).unwrap())
            .collect()
    }

    #[test]
    fn busy_times_are_clipped_sorted_and_merged() {
        let busy = vec![
            (at(5, 10), at(5, 12)),
            (at(1, 0), at(2, 0)),
            (at(5, 12), at(5, 13)),
            (at(5, 11), at(5, 11)),
            (at(9, 0), at(12, 0)),
        ];
        assert_eq!(
            merge(clip(busy, at(1, 12), at(10, 0))),
            intervals(&[
                (at(1, 12), at(2, 0)),
                (at(5, 10), at(5, 13)),
                (at(9, 0), at(10, 0))
            ])
        );
    }

    #[test]
    fn errors_inside_a_free_busy_answer_are_sorted_by_reason() {
        let answer = |reason: &str| {
            format!(
                r#"{{"calendars":{{"primary":{{"busy":[],"errors":[{{"domain":"global","reason":"{reason}"}}]}}}}}}"#
            )
        };
        assert!(matches!(
            parse_free_busy(answer("backendError").as_bytes()),
            Err(GoogleError::Retry { .. })
        ));
        assert!(matches!(
            parse_free_busy(answer("rateLimitExceeded").as_bytes()),
            Err(GoogleError::Retry { .. })
        ));
        assert!(matches!(
            parse_free_busy(answer("notFound").as_bytes()),
            Err(GoogleError::Permanent(m)) if m.contains("notFound")
        ));
        assert!(matches!(
            parse_free_busy(b"{}"),
            Err(GoogleError::Permanent(_))
        ));
        let ok = br#"{"kind":"calendar#freeBusy","calendars":{"primary":{"busy":[
            {"start":"2025-03-10T16:00:00+01:00","end":"2025-03-10T17:00:00+01:00"}]}}}"#;
        assert_eq!(parse_free_busy(ok).unwrap(), vec![(at(10, 15), at(10, 16))]);
    }

    #[test]
    fn ids_outside_googles_alphabet_are_refused_before_any_request() {
        let client = CalendarClient::new(&crate::gcal::GoogleConfig::new(
            "id".into(),
            Secret::new("s"),
            "https://bot.example/cb".into(),
        ))
        .unwrap();
        assert!(matches!(
            client.event_url("abc/../x"),
            Err(GoogleError::Permanent(_))
        ));
        assert!(matches!(
            client.event_url("ABCDEF"),
            Err(GoogleError::Permanent(_))
        ));
        assert_eq!(
            client.event_url("abcde12345").unwrap(),
            "https://www.googleapis.com/calendar/v3/calendars/primary/events/abcde12345"
        );
    }

    /// testkit's fake Google, an account on it with calendar access, and a client for it.
    async fn fake_calendar() -> (FakeGoogle, CalendarClient, Secret) {
        let google = FakeGoogle::start().await;
        let tokens = google.grant_directly("ada@example.com", &[SCOPE_EVENTS, SCOPE_FREEBUSY]);
        let mut config = crate::gcal::GoogleConfig::new(
            "id".into(),
            Secret::new("s"),
            "https://bot.example/cb".into(),
        );
        config.calendar_base = google.calendar_base();
        let client = CalendarClient::new(&config).unwrap();
        (google, client, Secret::new(tokens.access_token))
    }

    #[tokio::test]
    async fn requests_carry_the_token_query_and_body_google_expects() {
        let (google, client, token) = fake_calendar().await;

        let event = client.insert_event(&token, &new_event()).await.unwrap();
        assert!(matches!(event.conference, Conference::Ready(_)));
        let insert = &google.requests()[0];
        assert_eq!(insert.method, "POST");
        assert_eq!(insert.path, "/calendar/v3/calendars/primary/events");
        assert_eq!(insert.query, "conferenceDataVersion=1&sendUpdates=none");
        let body: serde_json::Value = serde_json::from_str(&insert.body).unwrap();
        assert_eq!(body, insert_body(&new_event()));
        let stored = google.event("ada@example.com", &new_event().id).unwrap();
        assert_eq!(stored.start_utc(), Some(new_event().start));

        let id = new_event().id;
        assert_eq!(client.delete_event(&token, &id).await, Ok(Deleted::Now));
        assert_eq!(client.delete_event(&token, &id).await, Ok(Deleted::Already));
        google.fail_next(
            Route::EventsGet,
            vec![Fault::RateLimited {
                retry_after_secs: 3,
            }],
        );
        assert!(matches!(
            client.get_event(&token, &id).await,
            Err(GoogleError::Retry { after: Some(after), .. }) if after == Duration::from_secs(3)
        ));
        assert_eq!(
            client.get_event(&Secret::new("expired"), &id).await,
            Err(GoogleError::Unauthorized)
        );
    }

    #[tokio::test]
    async fn free_busy_asks_one_chunk_at_a_time_in_order_and_merges_the_answers() {
        let (google, client, token) = fake_calendar().await;
        let from = at(1, 0);
        let to = from + TimeDelta::days(200);
        let hour = TimeDelta::hours(1);
        let edge1 = from + TimeDelta::days(90);
        let edge2 = from + TimeDelta::days(180);
        // Busy at both ends and across each chunk edge: Google clips each answer to its
        // window, so the pieces at an edge come back in two answers and must be merged.
        let expected = [
            (from, from + hour),
            (edge1 - hour, edge1 + hour),
            (edge2 - hour, edge2 + hour),
            (to - hour, to),
        ];
        for (start, end) in expected {
            google.add_busy("ada@example.com", start, end);
        }
        let busy = client.free_busy(&token, from, to).await.unwrap();
        assert_eq!(busy, intervals(&expected));
        let windows: Vec<(String, String)> = google
            .requests()
            .iter()
            .map(|request| {
                assert_eq!(request.path, "/calendar/v3/freeBusy");
                let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
                assert_eq!(body["items"], json!([{"id": "primary"}]));
                (
                    body["timeMin"].as_str().unwrap().into(),
                    body["timeMax"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            windows,
            vec![
                (rfc3339(from), rfc3339(edge1)),
                (rfc3339(edge1), rfc3339(edge2)),
                (rfc3339(edge2), rfc3339(to)),
            ]
        );
    }

    #[tokio::test]
    async fn an_unreachable_google_is_worth_a_retry_even_from_a_spawned_task() {
        let mut config = crate::gcal::GoogleConfig::new(
            "id".into(),
            Secret::new("s"),
            "https://bot.example/cb".into(),
        );
        config.calendar_base = "http://127.0.0.1:1/calendar/v3".into();
        let client = Arc::new(CalendarClient::new(&config).unwrap());
        let token = Secret::new("ya29.secret");
        // Compiles only if the futures are `Send`, as tokio::spawn needs.
        let task = tokio::spawn(async move {
            let moved = client.move_event(&token, "abcde12345", at(1, 0), at(1, 1), "UTC");
            let _ = moved.await;
            let _ = client.insert_event(&token, &new_event()).await;
            let _ = client.delete_event(&token, "abcde12345").await;
            let _ = client.free_busy(&token, at(1, 0), at(2, 0)).await;
            client.get_event(&token, "abcde12345").await
        });
        let error = task.await.unwrap();
        assert!(
            matches!(&error, Err(GoogleError::Retry { after: None, .. })),
            "{error:?}"
        );
        assert!(!format!("{error:?}").contains("ya29"));
    }
}
