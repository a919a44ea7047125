//! Calendar v3: events insert/get/patch/delete and freeBusy, per account (the email of the
//! access token), calendar id `primary` or that email.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use super::server::{Shd, auth_error, google_error, google_error_with};
use super::state::{self, SERVER_FIELDS, Span, State as FakeState, StoredEvent};

/// An error answer, boxed to keep `Result`s small.
struct Refusal(Box<Response>);

impl From<Response> for Refusal {
    fn from(response: Response) -> Self {
        Refusal(Box::new(response))
    }
}

type Answer = Result<Response, Refusal>;

const SCOPE_BASE: &str = "https://www.googleapis.com/auth/";
/// Scopes that allow writing events.
const WRITE_EVENTS: &[&str] = &["calendar", "calendar.events", "calendar.events.owned"];
/// Scopes that allow reading an event.
const READ_EVENTS: &[&str] = &[
    "calendar",
    "calendar.events",
    "calendar.events.owned",
    "calendar.readonly",
    "calendar.events.readonly",
    "calendar.events.owned.readonly",
];
/// Scopes that allow freeBusy.
const FREEBUSY: &[&str] = &[
    "calendar",
    "calendar.readonly",
    "calendar.freebusy",
    "calendar.events.freebusy",
];
/// Longest freeBusy span accepted (Google documents no exact figure; about 90 days works).
const MAX_FREEBUSY_DAYS: i64 = 92;

fn answer(result: Answer) -> Response {
    result.unwrap_or_else(|e| *e.0)
}

// ----- handlers -----

/// `POST /calendar/v3/calendars/{cal}/events`.
pub(crate) async fn insert(
    State(shared): Shd,
    Path(cal): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(shared.with(|s| insert_in(s, &cal, query.as_deref(), &headers, &body)))
}

/// `GET /calendar/v3/calendars/{cal}/events/{id}`.
pub(crate) async fn get(
    State(shared): Shd,
    Path((cal, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    answer(shared.with(|s| get_in(s, &cal, &id, &headers)))
}

/// `PATCH /calendar/v3/calendars/{cal}/events/{id}`.
pub(crate) async fn patch(
    State(shared): Shd,
    Path((cal, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(shared.with(|s| patch_in(s, &cal, &id, query.as_deref(), &headers, &body)))
}

/// `DELETE /calendar/v3/calendars/{cal}/events/{id}`.
pub(crate) async fn delete(
    State(shared): Shd,
    Path((cal, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    answer(shared.with(|s| delete_in(s, &cal, &id, query.as_deref(), &headers)))
}

/// `POST /calendar/v3/freeBusy`.
pub(crate) async fn free_busy(State(shared): Shd, headers: HeaderMap, body: Bytes) -> Response {
    answer(shared.with(|s| free_busy_in(s, &headers, &body)))
}

// ----- logic -----

fn insert_in(
    s: &mut FakeState,
    cal: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let account = authorize(s, headers, WRITE_EVENTS)?;
    resolve(cal, &account)?;
    let options = options(query)?;
    let mut body = json_object(body)?;
    let id = match body.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if valid_id(id) => Some(id.clone()),
        Some(_) => return Err(bad("invalid", "Invalid resource id value.")),
    };
    check_times(&body)?;
    let conference = if options.conference {
        conference_request(&body)?
    } else {
        None
    };
    let id = id.unwrap_or_else(state::random_event_id);
    if s.calendars
        .get(&account)
        .is_some_and(|events| events.iter().any(|e| e.id == id))
    {
        return Err(google_error(
            409,
            "global",
            "duplicate",
            "The requested identifier already exists.",
        )
        .into());
    }
    body.retain(|k, _| !SERVER_FIELDS.contains(&k.as_str()));
    let mut event = StoredEvent::new(id, body, s.wall_now());
    event.conference = conference.map(|request_id| s.new_conference(request_id));
    let rendered = event.render(&account);
    s.calendars.entry(account).or_default().push(event);
    Ok(axum::Json(rendered).into_response())
}

fn get_in(s: &mut FakeState, cal: &str, id: &str, headers: &HeaderMap) -> Answer {
    let account = authorize(s, headers, READ_EVENTS)?;
    resolve(cal, &account)?;
    let event = find_any(s, &account, id)?;
    if let Some(c) = &mut event.conference
        && let state::ConferenceState::Pending(n) = &mut c.state
    {
        *n = n.saturating_sub(1);
        if *n == 0 {
            c.state = state::ConferenceState::Ready;
        }
    }
    Ok(axum::Json(event.render(&account)).into_response())
}

fn patch_in(
    s: &mut FakeState,
    cal: &str,
    id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let account = authorize(s, headers, WRITE_EVENTS)?;
    resolve(cal, &account)?;
    let options = options(query)?;
    let patch = json_object(body)?;
    let request_id = if options.conference {
        conference_request(&patch)?
    } else {
        None
    };
    let event = find(s, &account, id)?;
    let mut merged = event.body.clone();
    for (key, value) in patch {
        if SERVER_FIELDS.contains(&key.as_str()) {
            continue;
        }
        match (key.as_str(), value) {
            (_, Value::Null) => {
                merged.remove(&key);
            }
            // A new time replaces the old one whole (it may switch between date and dateTime).
            ("start" | "end", value) => {
                merged.insert(key, value);
            }
            (_, value) => merge(merged.entry(key).or_insert(Value::Null), value),
        }
    }
    check_times(&merged)?;
    let moved = merged.get("start") != event.body.get("start")
        || merged.get("end") != event.body.get("end");
    let needs_conference = event.conference.is_none();
    let conference = match request_id {
        Some(r) if needs_conference => Some(s.new_conference(r)),
        _ => None,
    };
    let now = s.wall_now();
    let event = find(s, &account, id)?;
    event.body = merged;
    event.updated = now;
    if moved {
        event.sequence += 1;
    }
    if conference.is_some() {
        event.conference = conference;
    }
    Ok(axum::Json(event.render(&account)).into_response())
}

fn delete_in(
    s: &mut FakeState,
    cal: &str,
    id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Answer {
    let account = authorize(s, headers, WRITE_EVENTS)?;
    resolve(cal, &account)?;
    options(query)?;
    let now = s.wall_now();
    let event = find(s, &account, id)?;
    event.deleted = true;
    event.updated = now;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn free_busy_in(s: &mut FakeState, headers: &HeaderMap, body: &[u8]) -> Answer {
    let account = authorize(s, headers, FREEBUSY)?;
    let body = json_object(body)?;
    let time = |key: &str| match body.get(key).and_then(Value::as_str) {
        None => Err(bad("required", &format!("Missing {key}."))),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| bad("invalid", &format!("Invalid value for {key}: {t}"))),
    };
    let (min, max) = (time("timeMin")?, time("timeMax")?);
    if max <= min {
        return Err(bad("timeRangeEmpty", "The specified time range is empty."));
    }
    if max - min > TimeDelta::days(MAX_FREEBUSY_DAYS) {
        return Err(bad(
            "timeRangeTooLong",
            "The requested time range is too long.",
        ));
    }
    let mut calendars = Map::new();
    let items = body.get("items").and_then(Value::as_array);
    for id in items.into_iter().flatten().filter_map(|i| i["id"].as_str()) {
        let entry = if !is_own(id, &account) {
            json!({"errors": [{"domain": "global", "reason": "notFound"}], "busy": []})
        } else if s.freebusy_errors {
            json!({"errors": [{"domain": "global", "reason": "backendError"}], "busy": []})
        } else {
            json!({"busy": busy(s, &account, min, max)})
        };
        calendars.insert(id.to_string(), entry);
    }
    Ok(axum::Json(json!({
        "kind": "calendar#freeBusy",
        "timeMin": state::fmt_millis(min),
        "timeMax": state::fmt_millis(max),
        "calendars": calendars,
    }))
    .into_response())
}

/// The account's busy intervals within `[min, max)`: live, opaque events and seeded
/// intervals, clipped, sorted, and merged where they overlap or touch.
fn busy(s: &FakeState, account: &str, min: DateTime<Utc>, max: DateTime<Utc>) -> Vec<Value> {
    let events = s.calendars.get(account).into_iter().flatten();
    let mut spans: Vec<Span> = events
        .filter(|e| !e.deleted && e.body.get("transparency") != Some(&json!("transparent")))
        .filter_map(StoredEvent::span)
        .chain(s.busy.get(account).into_iter().flatten().copied())
        .map(|(a, b)| (a.max(min), b.min(max)))
        .filter(|(a, b)| a < b)
        .collect();
    spans.sort();
    let mut merged: Vec<Span> = Vec::new();
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
        .into_iter()
        .map(|(a, b)| json!({"start": state::fmt_secs(a), "end": state::fmt_secs(b)}))
        .collect()
}

// ----- checks -----

/// The account (lower-cased email) of a valid bearer token that has one of `scopes`.
fn authorize(s: &FakeState, headers: &HeaderMap, scopes: &[&str]) -> Result<String, Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .ok_or_else(|| Refusal::from(auth_error()))?;
    let access = s
        .live_access(token)
        .ok_or_else(|| Refusal::from(auth_error()))?;
    let allowed = access.scopes.iter().any(|granted| {
        granted
            .strip_prefix(SCOPE_BASE)
            .is_some_and(|g| scopes.contains(&g))
    });
    if !allowed {
        return Err(google_error_with(
            403,
            "global",
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
            "Insufficient Permission",
        )
        .into());
    }
    Ok(state::account_key(&access.email))
}

fn is_own(calendar_id: &str, account: &str) -> bool {
    calendar_id == "primary" || calendar_id.eq_ignore_ascii_case(account)
}

/// Only the account's own calendar exists for it.
fn resolve(calendar_id: &str, account: &str) -> Result<(), Refusal> {
    if is_own(calendar_id, account) {
        Ok(())
    } else {
        Err(not_found())
    }
}

fn not_found() -> Refusal {
    google_error(404, "global", "notFound", "Not Found").into()
}

fn bad(reason: &str, message: &str) -> Refusal {
    google_error(400, "global", reason, message).into()
}

/// The account's event `id`, deleted or not (GET still reads a deleted event, as
/// `cancelled`): 404 if unknown.
fn find_any<'a>(
    s: &'a mut FakeState,
    account: &str,
    id: &str,
) -> Result<&'a mut StoredEvent, Refusal> {
    s.calendars
        .get_mut(account)
        .and_then(|events| events.iter_mut().find(|e| e.id == id))
        .ok_or_else(not_found)
}

/// The account's event `id` to change or delete: 404 if unknown, 410 if deleted.
fn find<'a>(s: &'a mut FakeState, account: &str, id: &str) -> Result<&'a mut StoredEvent, Refusal> {
    let event = find_any(s, account, id)?;
    if event.deleted {
        return Err(google_error(410, "global", "deleted", "Resource has been deleted").into());
    }
    Ok(event)
}

struct Options {
    /// `conferenceDataVersion=1`.
    conference: bool,
}

fn options(query: Option<&str>) -> Result<Options, Refusal> {
    let mut options = Options { conference: false };
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match (key.as_ref(), value.as_ref()) {
            ("conferenceDataVersion", "0") => options.conference = false,
            ("conferenceDataVersion", "1") => options.conference = true,
            ("conferenceDataVersion", v) => {
                return Err(bad(
                    "invalid",
                    &format!("Invalid value for conferenceDataVersion: {v} (0 or 1)"),
                ));
            }
            ("sendUpdates", "all" | "externalOnly" | "none") => {}
            ("sendUpdates", v) => {
                return Err(bad(
                    "invalid",
                    &format!("Invalid value for sendUpdates: {v}"),
                ));
            }
            _ => {}
        }
    }
    Ok(options)
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(bad("parseError", "Parse Error")),
    }
}

/// Event ids chosen by clients: base32hex (`a-v`, `0-9`), 5 to 1024 characters.
fn valid_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| matches!(b, b'a'..=b'v' | b'0'..=b'9'))
}

/// `start` and `end` exist, parse, are of one kind (date or dateTime) and end after start.
fn check_times(body: &Map<String, Value>) -> Result<(), Refusal> {
    let (start, start_all_day) = time_of(body, "start")?;
    let (end, end_all_day) = time_of(body, "end")?;
    if start_all_day != end_all_day {
        return Err(bad(
            "invalid",
            "Start and end times must either both be date or both be dateTime.",
        ));
    }
    if end <= start {
        return Err(bad("timeRangeEmpty", "The specified time range is empty."));
    }
    Ok(())
}

/// The instant of `start` or `end`, and whether it is an all-day date.
fn time_of(body: &Map<String, Value>, key: &str) -> Result<(DateTime<Utc>, bool), Refusal> {
    let missing = || bad("required", &format!("Missing {key} time."));
    let invalid = || bad("invalid", &format!("Invalid {key} time."));
    let v = body
        .get(key)
        .filter(|v| v.is_object())
        .ok_or_else(missing)?;
    if v.get("timeZone").is_some_and(|tz| !tz.is_string()) {
        return Err(invalid());
    }
    match (v["dateTime"].as_str(), v["date"].as_str()) {
        (Some(t), None) => match DateTime::parse_from_rfc3339(t) {
            Ok(t) => Ok((t.with_timezone(&Utc), false)),
            Err(_) if NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").is_ok() => Err(bad(
                "invalid",
                &format!(
                    "{key}.dateTime {t:?} has no UTC offset: Google then reads it in timeZone, \
                     which testkit does not support (send RFC 3339 with an offset)"
                ),
            )),
            Err(_) => Err(invalid()),
        },
        (None, Some(d)) if d.len() == 10 => {
            state::parse_time(d).map(|t| (t, true)).ok_or_else(invalid)
        }
        (None, None) => Err(missing()),
        _ => Err(invalid()),
    }
}

/// With `conferenceDataVersion=1`: the Meet `requestId` of `conferenceData.createRequest`.
fn conference_request(body: &Map<String, Value>) -> Result<Option<String>, Refusal> {
    let Some(request) = body
        .get("conferenceData")
        .and_then(|c| c.get("createRequest"))
        .filter(|r| !r.is_null())
    else {
        return Ok(None);
    };
    let kind = request["conferenceSolutionKey"]["type"].as_str();
    if kind.is_some_and(|k| k != "hangoutsMeet") {
        return Err(bad("invalid", "Invalid conference type value."));
    }
    match request["requestId"].as_str() {
        Some(id) if !id.is_empty() => Ok(Some(id.to_string())),
        _ => Err(bad(
            "invalid",
            "Invalid conference create request: missing requestId.",
        )),
    }
}

/// JSON merge patch (RFC 7396) of `patch` into `target`.
fn merge(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in fields {
                    if v.is_null() {
                        t.remove(&k);
                    } else {
                        merge(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_must_be_base32hex_of_5_to_1024_characters() {
        assert!(valid_id("abcde"));
        assert!(valid_id("0123456789abcdefghijklmnopqrstuv"));
        assert!(!valid_id("abcd"));
        assert!(!valid_id("abcdw"));
        assert!(!valid_id("ABCDE"));
        assert!(!valid_id("abc-de"));
        assert!(valid_id(&"a".repeat(1024)));
        assert!(!valid_id(&"a".repeat(1025)));
    }

    #[test]
    fn merge_patch_keeps_siblings_and_removes_nulls() {
        let mut target = json!({"a": {"x": 1, "y": 2}, "b": 1});
        merge(&mut target, json!({"a": {"y": null, "z": 3}, "c": [1]}));
        assert_eq!(target, json!({"a": {"x": 1, "z": 3}, "b": 1, "c": [1]}));
    }
}
