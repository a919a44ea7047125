//! The fake Google itself, driven over HTTP with reqwest as the bot would drive it.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, LOCATION, RETRY_AFTER};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use testkit::{ClientAuth, Consent, FakeGoogle, Fault, MeetMode, Route, TokenRequest};

const EVENTS: &str = FakeGoogle::SCOPE_EVENTS;
const FREEBUSY: &str = FakeGoogle::SCOPE_FREEBUSY;
const EMAIL_URL: &str = "https://www.googleapis.com/auth/userinfo.email";
const MENTOR: &str = FakeGoogle::DEFAULT_EMAIL;
const REDIRECT: &str = "http://127.0.0.1:9/oauth/google/callback";
const VERIFIER: &str = "testkit-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// The fake with this file's redirect URIs registered for the client.
async fn start() -> FakeGoogle {
    let google = FakeGoogle::start().await;
    google.register_redirect_uri(REDIRECT);
    google.register_redirect_uri(TENANT_REDIRECT);
    google
}

/// A registered redirect URI with a query of its own.
const TENANT_REDIRECT: &str = "http://127.0.0.1:9/cb?tenant=a%20b";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn all_scopes() -> String {
    format!("openid email {EVENTS} {FREEBUSY}")
}

/// The consent parameters the bot sends, with `overrides` replacing or (value `None`)
/// removing some.
fn consent_params(scope: &str, overrides: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let challenge = challenge(VERIFIER);
    let mut params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", FakeGoogle::CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "state-123"),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("include_granted_scopes", "true"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (key, value) in overrides {
        params.retain(|(k, _)| k != key);
        if let Some(v) = value {
            params.push((key.to_string(), v.to_string()));
        }
    }
    params
}

async fn open_consent(google: &FakeGoogle, params: &[(String, String)]) -> reqwest::Response {
    http()
        .get(google.auth_url())
        .query(params)
        .send()
        .await
        .unwrap()
}

/// The query pairs of the consent redirect.
async fn consent_redirect(
    google: &FakeGoogle,
    params: &[(String, String)],
) -> Vec<(String, String)> {
    let response = open_consent(google, params).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap().to_string();
    let url = reqwest::Url::parse(&location).unwrap();
    url.query_pairs().into_owned().collect()
}

fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Goes through consent and returns the authorization code.
async fn code_for(google: &FakeGoogle, scope: &str) -> String {
    let pairs = consent_redirect(google, &consent_params(scope, &[])).await;
    pair(&pairs, "code").unwrap().to_string()
}

/// Inserts an event with a Meet request and expects 200.
async fn book(google: &FakeGoogle, token: &str, id: &str, start: &str, end: &str) -> Value {
    let (status, event) = insert(google, token, event_body(Some(id), start, end)).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    event
}

/// `POST /token` with Basic client credentials.
async fn token_basic(google: &FakeGoogle, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = http()
        .post(google.token_url())
        .basic_auth(FakeGoogle::CLIENT_ID, Some(FakeGoogle::CLIENT_SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn exchange(google: &FakeGoogle, code: &str) -> (StatusCode, Value) {
    token_basic(
        google,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn refresh(google: &FakeGoogle, refresh_token: &str) -> (StatusCode, Value) {
    token_basic(
        google,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

fn id_token_claims(id_token: &str) -> Value {
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3, "JWT-shaped: {id_token}");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A started fake and an access token of the default mentor with every scope.
async fn connected() -> (FakeGoogle, String) {
    let google = start().await;
    let tokens = google.grant_directly(MENTOR, &["openid", "email", EVENTS, FREEBUSY]);
    (google, tokens.access_token)
}

async fn call(
    google: &FakeGoogle,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = http().request(method, format!("{}{path}", google.calendar_base()));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, headers, json)
}

fn event_body(id: Option<&str>, start: &str, end: &str) -> Value {
    let mut body = json!({
        "summary": "Mentoring: Ann and Bob",
        "description": "Booked with mentorbot",
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
        "extendedProperties": {"private": {"mentorbotBooking": "42"}},
        "conferenceData": {"createRequest": {"requestId": "booking-42", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    });
    if let Some(id) = id {
        body["id"] = json!(id);
    }
    body
}

const INSERT: &str = "/calendars/primary/events?conferenceDataVersion=1&sendUpdates=none";

async fn insert(google: &FakeGoogle, token: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, json) = call(
        google,
        reqwest::Method::POST,
        INSERT,
        Some(token),
        Some(body),
    )
    .await;
    (status, json)
}

async fn get_event(google: &FakeGoogle, token: &str, id: &str) -> (StatusCode, Value) {
    let path = format!("/calendars/primary/events/{id}");
    let (status, _, json) = call(google, reqwest::Method::GET, &path, Some(token), None).await;
    (status, json)
}

fn reason(body: &Value) -> &str {
    body["error"]["errors"][0]["reason"]
        .as_str()
        .unwrap_or_default()
}

// ----- OAuth -----

#[tokio::test]
async fn the_auth_code_flow_with_pkce_and_basic_credentials_gives_tokens_and_an_id_token() {
    let google = start().await;
    let pairs = consent_redirect(&google, &consent_params(&all_scopes(), &[])).await;
    assert_eq!(pair(&pairs, "state"), Some("state-123"));
    let code = pair(&pairs, "code").unwrap();
    let (status, body) = exchange(&google, code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("1//"));
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["token_type"], "Bearer");
    let scopes: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    for s in ["openid", EMAIL_URL, EVENTS, FREEBUSY] {
        assert!(scopes.contains(&s), "{scopes:?} lacks {s}");
    }
    let claims = id_token_claims(body["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], "https://accounts.google.com");
    assert_eq!(claims["email"], MENTOR);
    assert_eq!(claims["email_verified"], true);
    assert!(!claims["sub"].as_str().unwrap().is_empty());
    assert_eq!(
        google.refresh_tokens(),
        vec![body["refresh_token"].as_str().unwrap().to_string()]
    );
    assert_eq!(
        google.access_tokens(),
        vec![body["access_token"].as_str().unwrap().to_string()]
    );
    assert_eq!(
        google.token_requests(),
        vec![TokenRequest {
            grant_type: "authorization_code".into(),
            auth: ClientAuth::Basic,
            error: None
        }]
    );
}

#[tokio::test]
async fn the_same_flow_accepts_client_credentials_as_form_fields() {
    let google = start().await;
    let code = code_for(&google, &all_scopes()).await;
    let response = http()
        .post(google.token_url())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", FakeGoogle::CLIENT_ID),
            ("client_secret", FakeGoogle::CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(google.token_requests()[0].auth, ClientAuth::Form);
}

#[tokio::test]
async fn basic_credentials_are_url_decoded_and_wrong_ones_are_invalid_client() {
    let google = start().await;
    let basic =
        |id: &str, secret: &str| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let send = |authorization: Option<String>| {
        let google = google.clone();
        async move {
            let mut request = http().post(google.token_url()).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "unknown"),
            ]);
            if let Some(a) = authorization {
                request = request.header(AUTHORIZATION, a);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    // Encoded per RFC 6749 (here needlessly, as %2D for "-"): the client is recognised, and
    // the unknown refresh token is the problem.
    let (status, body) = send(Some(basic("test%2Dclient%2Did", "test-client-secret"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, body) = send(Some(basic(FakeGoogle::CLIENT_ID, "wrong"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = send(None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let auths: Vec<ClientAuth> = google.token_requests().iter().map(|t| t.auth).collect();
    assert_eq!(
        auths,
        vec![ClientAuth::Basic, ClientAuth::Basic, ClientAuth::None]
    );
}

#[tokio::test]
async fn a_wrong_verifier_a_reused_code_and_another_redirect_uri_are_invalid_grant() {
    let google = start().await;
    let code = code_for(&google, &all_scopes()).await;
    let wrong = "another-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    let (status, body) = token_basic(
        &google,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", wrong),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    let code = code_for(&google, &all_scopes()).await;
    assert_eq!(exchange(&google, &code).await.0, StatusCode::OK);
    let (status, body) = exchange(&google, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let code = code_for(&google, &all_scopes()).await;
    let (status, body) = token_basic(
        &google,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let code = code_for(&google, &all_scopes()).await;
    google.advance_clock(Duration::from_secs(601));
    assert_eq!(exchange(&google, &code).await.1["error"], "invalid_grant");
}

#[tokio::test]
async fn malformed_consent_requests_get_a_400_page_instead_of_a_redirect() {
    let google = start().await;
    let cases: Vec<(&str, Option<&str>)> = vec![
        ("client_id", Some("someone-else")),
        ("response_type", Some("token")),
        ("redirect_uri", None),
        // Well-formed, but not registered for the client: redirect_uri_mismatch.
        ("redirect_uri", Some("http://127.0.0.1:9/elsewhere")),
        ("state", None),
        ("code_challenge", None),
        ("code_challenge_method", Some("plain")),
        ("code_challenge_method", None),
        ("scope", None),
        (
            "scope",
            Some("https://www.googleapis.com/auth/drive.nonsense"),
        ),
    ];
    for (key, value) in cases {
        let response = open_consent(&google, &consent_params(&all_scopes(), &[(key, value)])).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{key}={value:?}"
        );
        assert!(response.headers().get(LOCATION).is_none());
        assert!(!response.text().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_denied_consent_redirects_with_access_denied_and_keeps_the_redirect_uri_s_query() {
    let google = start().await;
    google.set_consent(Consent::Deny);
    let params = consent_params(
        &all_scopes(),
        &[
            ("redirect_uri", Some(TENANT_REDIRECT)),
            ("state", Some("s&t=1")),
        ],
    );
    let response = open_consent(&google, &params).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(
        location.starts_with("http://127.0.0.1:9/cb?tenant="),
        "{location}"
    );
    let url = reqwest::Url::parse(&location).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(pair(&pairs, "error"), Some("access_denied"));
    assert_eq!(pair(&pairs, "state"), Some("s&t=1"));
    assert_eq!(pair(&pairs, "code"), None);
    // The setting persists until changed.
    let pairs = consent_redirect(&google, &consent_params(&all_scopes(), &[])).await;
    assert_eq!(pair(&pairs, "error"), Some("access_denied"));
}

#[tokio::test]
async fn granular_consent_returns_only_the_granted_scopes_and_no_id_token_without_openid() {
    let google = start().await;
    google.set_consent(Consent::grant_only("ann@example.com", &["email", FREEBUSY]));
    let pairs = consent_redirect(
        &google,
        &consent_params(&all_scopes(), &[("include_granted_scopes", None)]),
    )
    .await;
    let (status, body) = exchange(&google, pair(&pairs, "code").unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], format!("{EMAIL_URL} {FREEBUSY}"));
    assert!(body.get("id_token").is_none(), "{body}");

    // With openid granted the id token comes, and with the email scope it names the account.
    google.set_consent(Consent::grant_only("ann@example.com", &["openid", EVENTS]));
    let pairs = consent_redirect(
        &google,
        &consent_params(&all_scopes(), &[("include_granted_scopes", None)]),
    )
    .await;
    let body = exchange(&google, pair(&pairs, "code").unwrap()).await.1;
    assert_eq!(body["scope"], format!("openid {EVENTS}"));
    let claims = id_token_claims(body["id_token"].as_str().unwrap());
    assert!(claims.get("email").is_none());

    // include_granted_scopes=true adds what the account granted before.
    google.set_consent(Consent::grant_only("ann@example.com", &[EVENTS]));
    let pairs = consent_redirect(&google, &consent_params(&all_scopes(), &[])).await;
    let body = exchange(&google, pair(&pairs, "code").unwrap()).await.1;
    let scopes: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    assert!(scopes.contains(&EVENTS) && scopes.contains(&FREEBUSY) && scopes.contains(&"openid"));
}

#[tokio::test]
async fn refresh_tokens_come_only_offline_and_then_once_unless_prompt_is_consent() {
    let google = start().await;
    let online = consent_params(&all_scopes(), &[("access_type", None)]);
    let code = pair(&consent_redirect(&google, &online).await, "code")
        .unwrap()
        .to_string();
    let body = exchange(&google, &code).await.1;
    assert!(body.get("refresh_token").is_none());

    assert!(
        exchange(&google, &code_for(&google, &all_scopes()).await)
            .await
            .1["refresh_token"]
            .is_string()
    );
    let again = consent_params(&all_scopes(), &[("prompt", None)]);
    let code = pair(&consent_redirect(&google, &again).await, "code")
        .unwrap()
        .to_string();
    assert!(
        exchange(&google, &code)
            .await
            .1
            .get("refresh_token")
            .is_none()
    );
    assert!(
        exchange(&google, &code_for(&google, &all_scopes()).await)
            .await
            .1["refresh_token"]
            .is_string()
    );
}

#[tokio::test]
async fn refresh_works_until_revoke_or_revoke_all_makes_it_invalid_grant() {
    let google = start().await;
    let first = exchange(&google, &code_for(&google, &all_scopes()).await)
        .await
        .1;
    let first_refresh = first["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = refresh(&google, &first_refresh).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("refresh_token").is_none());
    assert_ne!(body["access_token"], first["access_token"]);
    assert_eq!(body["scope"], first["scope"]);
    assert_eq!(body["token_type"], "Bearer");
    let new_access = body["access_token"].as_str().unwrap().to_string();

    // Revoking the refresh token takes its access tokens along.
    let response = http()
        .post(google.revoke_url())
        .form(&[("token", first_refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    let (status, body) = refresh(&google, &first_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        body["error_description"],
        "Token has been expired or revoked."
    );
    assert_eq!(
        get_event(&google, &new_access, "abcde").await.0,
        StatusCode::UNAUTHORIZED
    );
    let response = http()
        .post(google.revoke_url())
        .form(&[("token", first_refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_token"
    );

    // The user removing access kills every token of the account.
    let second = exchange(&google, &code_for(&google, &all_scopes()).await)
        .await
        .1;
    let second_refresh = second["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&google, second_refresh).await.0, StatusCode::OK);
    google.revoke_all(MENTOR);
    assert_eq!(
        refresh(&google, second_refresh).await.1["error"],
        "invalid_grant"
    );
    assert!(!google.refresh_token_valid(second_refresh));
    assert_eq!(google.refresh_tokens().len(), 2);
}

#[tokio::test]
async fn revoking_an_access_token_also_revokes_its_refresh_token() {
    let google = start().await;
    let tokens = google.grant_directly(MENTOR, &[EVENTS]);
    let response = http()
        .post(format!(
            "{}?token={}",
            google.revoke_url(),
            tokens.access_token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        refresh(&google, &tokens.refresh_token).await.1["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn other_grant_types_are_unsupported() {
    let google = start().await;
    let (status, body) = token_basic(&google, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn access_tokens_last_as_long_as_configured() {
    let google = start().await;
    google.set_access_token_lifetime(60);
    let tokens = google.grant_directly(MENTOR, &[EVENTS]);
    let body = refresh(&google, &tokens.refresh_token).await.1;
    assert_eq!(body["expires_in"], 60);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        get_event(&google, access, "abcde").await.0,
        StatusCode::NOT_FOUND
    );
    google.advance_clock(Duration::from_secs(61));
    assert_eq!(
        get_event(&google, access, "abcde").await.0,
        StatusCode::UNAUTHORIZED
    );
}

// ----- Calendar -----

#[tokio::test]
async fn an_insert_with_meet_ready_gives_a_distinct_link_per_event() {
    let (google, token) = connected().await;
    let (status, event) = insert(
        &google,
        &token,
        event_body(
            Some("mb0000000001"),
            "2030-05-06T09:00:00+02:00",
            "2030-05-06T10:00:00+02:00",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["kind"], "calendar#event");
    assert_eq!(event["id"], "mb0000000001");
    assert_eq!(event["status"], "confirmed");
    assert!(
        event["htmlLink"]
            .as_str()
            .unwrap()
            .starts_with("https://www.google.com/calendar/event?eid=")
    );
    assert_eq!(
        event["start"],
        json!({"dateTime": "2030-05-06T09:00:00+02:00", "timeZone": "Europe/Berlin"})
    );
    assert_eq!(
        event["extendedProperties"]["private"]["mentorbotBooking"],
        "42"
    );
    let conference = &event["conferenceData"];
    assert_eq!(conference["createRequest"]["requestId"], "booking-42");
    assert_eq!(
        conference["createRequest"]["status"]["statusCode"],
        "success"
    );
    let video = conference["entryPoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entryPointType"] == "video")
        .unwrap();
    let link = video["uri"].as_str().unwrap();
    assert!(link.starts_with("https://meet.google.com/"));
    assert_eq!(event["hangoutLink"], link);

    let (_, second) = insert(
        &google,
        &token,
        event_body(None, "2030-05-07T09:00:00Z", "2030-05-07T10:00:00Z"),
    )
    .await;
    assert_ne!(second["hangoutLink"], event["hangoutLink"]);
    let generated = second["id"].as_str().unwrap();
    assert!(
        generated
            .bytes()
            .all(|b| matches!(b, b'a'..=b'v' | b'0'..=b'9'))
    );

    let stored = google.event(MENTOR, "mb0000000001").unwrap();
    assert_eq!(stored.meet_link.as_deref(), Some(link));
    assert_eq!(stored.booking_tag.as_deref(), Some("42"));
    assert_eq!(stored.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(stored.start_utc(), Some(at("2030-05-06T07:00:00Z")));
    assert_eq!(google.live_events(MENTOR).len(), 2);
    let logged = google
        .requests()
        .into_iter()
        .find(|r| r.route == Route::EventsInsert)
        .unwrap();
    assert_eq!(logged.query, "conferenceDataVersion=1&sendUpdates=none");
    assert_eq!(logged.status, 200);
}

#[tokio::test]
async fn conference_data_is_ignored_without_conference_data_version_1() {
    let (google, token) = connected().await;
    let (status, _, event) = call(
        &google,
        reqwest::Method::POST,
        "/calendars/primary/events?sendUpdates=none",
        Some(&token),
        Some(event_body(
            None,
            "2030-05-06T09:00:00Z",
            "2030-05-06T10:00:00Z",
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(event.get("conferenceData").is_none() && event.get("hangoutLink").is_none());
}

#[tokio::test]
async fn a_used_id_answers_409_duplicate_even_once_deleted_or_when_planted() {
    let (google, token) = connected().await;
    let body = event_body(
        Some("abcde12345"),
        "2030-05-06T09:00:00Z",
        "2030-05-06T10:00:00Z",
    );
    assert_eq!(
        insert(&google, &token, body.clone()).await.0,
        StatusCode::OK
    );
    let (status, error) = insert(&google, &token, body.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(reason(&error), "duplicate");
    assert_eq!(error["error"]["code"], 409);

    let path = "/calendars/primary/events/abcde12345";
    assert_eq!(
        call(&google, reqwest::Method::DELETE, path, Some(&token), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(insert(&google, &token, body).await.0, StatusCode::CONFLICT);

    let start = at("2030-06-01T09:00:00Z");
    google.insert_event_directly(
        MENTOR,
        "foreign01",
        start,
        start + TimeDelta::hours(1),
        None,
    );
    let planted = event_body(
        Some("foreign01"),
        "2030-06-01T09:00:00Z",
        "2030-06-01T10:00:00Z",
    );
    assert_eq!(
        insert(&google, &token, planted).await.0,
        StatusCode::CONFLICT
    );
    let (status, foreign) = get_event(&google, &token, "foreign01").await;
    assert_eq!(status, StatusCode::OK);
    assert!(foreign["extendedProperties"].is_null());
}

#[tokio::test]
async fn bad_ids_and_empty_time_ranges_are_refused_with_400() {
    let (google, token) = connected().await;
    for id in ["ABCDE", "abcdw1", "abc-de", "abcd"] {
        let (status, error) = insert(
            &google,
            &token,
            event_body(Some(id), "2030-05-06T09:00:00Z", "2030-05-06T10:00:00Z"),
        )
        .await;
        assert_eq!(
            (status, reason(&error)),
            (StatusCode::BAD_REQUEST, "invalid"),
            "{id}"
        );
    }
    let (status, error) = insert(
        &google,
        &token,
        event_body(None, "2030-05-06T10:00:00Z", "2030-05-06T10:00:00Z"),
    )
    .await;
    assert_eq!(
        (status, reason(&error)),
        (StatusCode::BAD_REQUEST, "timeRangeEmpty")
    );
    let (status, _) = insert(
        &google,
        &token,
        event_body(None, "tomorrow", "2030-05-06T10:00:00Z"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(google.events(MENTOR).is_empty());
}

#[tokio::test]
async fn a_pending_meet_becomes_ready_at_the_configured_get() {
    let (google, token) = connected().await;
    google.set_meet(MeetMode::PendingFor(3));
    let (_, event) = insert(
        &google,
        &token,
        event_body(
            Some("pending01"),
            "2030-05-06T09:00:00Z",
            "2030-05-06T10:00:00Z",
        ),
    )
    .await;
    assert_eq!(
        event["conferenceData"]["createRequest"]["status"]["statusCode"],
        "pending"
    );
    assert!(
        event["conferenceData"].get("entryPoints").is_none() && event.get("hangoutLink").is_none()
    );
    for _ in 0..2 {
        let (_, got) = get_event(&google, &token, "pending01").await;
        assert_eq!(
            got["conferenceData"]["createRequest"]["status"]["statusCode"],
            "pending"
        );
        assert!(
            google
                .event(MENTOR, "pending01")
                .unwrap()
                .meet_link
                .is_none()
        );
    }
    let (_, got) = get_event(&google, &token, "pending01").await;
    assert_eq!(
        got["conferenceData"]["createRequest"]["status"]["statusCode"],
        "success"
    );
    assert!(
        got["hangoutLink"]
            .as_str()
            .unwrap()
            .starts_with("https://meet.google.com/")
    );
    assert_eq!(
        google.event(MENTOR, "pending01").unwrap().meet_link,
        got["hangoutLink"].as_str().map(str::to_string)
    );
}

#[tokio::test]
async fn a_failed_meet_never_gives_a_link() {
    let (google, token) = connected().await;
    google.set_meet(MeetMode::Failure);
    let (_, event) = insert(
        &google,
        &token,
        event_body(
            Some("failed01"),
            "2030-05-06T09:00:00Z",
            "2030-05-06T10:00:00Z",
        ),
    )
    .await;
    assert_eq!(
        event["conferenceData"]["createRequest"]["status"]["statusCode"],
        "failure"
    );
    let (_, got) = get_event(&google, &token, "failed01").await;
    assert!(got.get("hangoutLink").is_none());
}

#[tokio::test]
async fn patch_moves_the_times_and_keeps_the_rest() {
    let (google, token) = connected().await;
    book(
        &google,
        &token,
        "move01",
        "2030-05-06T09:00:00Z",
        "2030-05-06T10:00:00Z",
    )
    .await;
    let link = google.event(MENTOR, "move01").unwrap().meet_link;
    let path = "/calendars/primary/events/move01?conferenceDataVersion=1&sendUpdates=none";
    let patch = json!({
        "start": {"dateTime": "2030-05-08T14:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-05-08T15:00:00+02:00", "timeZone": "Europe/Berlin"}
    });
    let (status, _, event) = call(
        &google,
        reqwest::Method::PATCH,
        path,
        Some(&token),
        Some(patch),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["start"]["dateTime"], "2030-05-08T14:00:00+02:00");
    assert_eq!(event["summary"], "Mentoring: Ann and Bob");
    assert_eq!(event["sequence"], 1);
    let stored = google.event(MENTOR, "move01").unwrap();
    assert_eq!(stored.start_utc(), Some(at("2030-05-08T12:00:00Z")));
    assert_eq!(stored.end_utc(), Some(at("2030-05-08T13:00:00Z")));
    assert_eq!(stored.meet_link, link);

    let backwards = json!({"end": {"dateTime": "2030-05-08T11:00:00Z"}});
    let (status, _, error) = call(
        &google,
        reqwest::Method::PATCH,
        path,
        Some(&token),
        Some(backwards),
    )
    .await;
    assert_eq!(
        (status, reason(&error)),
        (StatusCode::BAD_REQUEST, "timeRangeEmpty")
    );
    let missing = "/calendars/primary/events/nothere1";
    let (status, _, _) = call(
        &google,
        reqwest::Method::PATCH,
        missing,
        Some(&token),
        Some(json!({"summary": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_answers_204_then_410_a_deleted_event_reads_as_cancelled_and_unknown_events_404() {
    let (google, token) = connected().await;
    book(
        &google,
        &token,
        "gone01",
        "2030-05-06T09:00:00Z",
        "2030-05-06T10:00:00Z",
    )
    .await;
    let path = "/calendars/primary/events/gone01?sendUpdates=none";
    let (status, _, body) = call(&google, reqwest::Method::DELETE, path, Some(&token), None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, _, error) = call(&google, reqwest::Method::DELETE, path, Some(&token), None).await;
    assert_eq!((status, reason(&error)), (StatusCode::GONE, "deleted"));
    // A deleted event stays readable, as cancelled.
    let (status, event) = get_event(&google, &token, "gone01").await;
    assert_eq!(
        (status, event["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    assert_eq!(event["id"], "gone01");
    let (status, _, error) = call(
        &google,
        reqwest::Method::DELETE,
        "/calendars/primary/events/nothere1",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, reason(&error)),
        (StatusCode::NOT_FOUND, "notFound")
    );
    assert!(google.events(MENTOR)[0].deleted);
    assert!(google.live_events(MENTOR).is_empty());
}

#[tokio::test]
async fn the_account_s_email_works_as_calendar_id_and_other_calendars_are_not_found() {
    let (google, token) = connected().await;
    let (status, _, _) = call(
        &google,
        reqwest::Method::POST,
        "/calendars/mentor%40example.com/events",
        Some(&token),
        Some(event_body(
            None,
            "2030-05-06T09:00:00Z",
            "2030-05-06T10:00:00Z",
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(
        &google,
        reqwest::Method::POST,
        "/calendars/someone%40example.com/events",
        Some(&token),
        Some(event_body(
            None,
            "2030-05-06T09:00:00Z",
            "2030-05-06T10:00:00Z",
        )),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn free_busy_returns_live_events_and_seeded_busy_merged_and_clipped() {
    let (google, token) = connected().await;
    book(
        &google,
        &token,
        "free01",
        "2030-05-06T09:00:00Z",
        "2030-05-06T10:00:00Z",
    )
    .await;
    book(
        &google,
        &token,
        "free02",
        "2030-05-06T12:00:00Z",
        "2030-05-06T13:00:00Z",
    )
    .await;
    book(
        &google,
        &token,
        "free03",
        "2030-05-06T15:00:00Z",
        "2030-05-06T16:00:00Z",
    )
    .await;
    call(
        &google,
        reqwest::Method::DELETE,
        "/calendars/primary/events/free03",
        Some(&token),
        None,
    )
    .await;
    google.add_busy(
        MENTOR,
        at("2030-05-06T09:30:00Z"),
        at("2030-05-06T11:00:00Z"),
    );
    google.add_busy(
        MENTOR,
        at("2030-05-05T20:00:00Z"),
        at("2030-05-06T01:00:00Z"),
    );
    let query = json!({
        "timeMin": "2030-05-06T00:00:00Z",
        "timeMax": "2030-05-07T00:00:00Z",
        "items": [{"id": "primary"}, {"id": "nobody@example.com"}]
    });
    let (status, _, body) = call(
        &google,
        reqwest::Method::POST,
        "/freeBusy",
        Some(&token),
        Some(query.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "calendar#freeBusy");
    assert_eq!(
        body["calendars"]["primary"],
        json!({"busy": [
            {"start": "2030-05-06T00:00:00Z", "end": "2030-05-06T01:00:00Z"},
            {"start": "2030-05-06T09:00:00Z", "end": "2030-05-06T11:00:00Z"},
            {"start": "2030-05-06T12:00:00Z", "end": "2030-05-06T13:00:00Z"}
        ]})
    );
    assert_eq!(
        body["calendars"]["nobody@example.com"],
        json!({"errors": [{"domain": "global", "reason": "notFound"}], "busy": []})
    );

    google.set_freebusy_errors(true);
    let (_, _, body) = call(
        &google,
        reqwest::Method::POST,
        "/freeBusy",
        Some(&token),
        Some(query),
    )
    .await;
    assert_eq!(
        body["calendars"]["primary"]["errors"][0]["reason"],
        "backendError"
    );
}

#[tokio::test]
async fn free_busy_refuses_100_day_spans_and_empty_ranges() {
    let (google, token) = connected().await;
    let ask = |min: &str, max: &str| json!({"timeMin": min, "timeMax": max, "items": [{"id": "primary"}]});
    let (status, _, error) = call(
        &google,
        reqwest::Method::POST,
        "/freeBusy",
        Some(&token),
        Some(ask("2030-01-01T00:00:00Z", "2030-04-11T00:00:00Z")),
    )
    .await;
    assert_eq!(
        (status, reason(&error)),
        (StatusCode::BAD_REQUEST, "timeRangeTooLong")
    );
    let (status, _, _) = call(
        &google,
        reqwest::Method::POST,
        "/freeBusy",
        Some(&token),
        Some(ask("2030-01-01T00:00:00Z", "2030-03-31T00:00:00Z")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, error) = call(
        &google,
        reqwest::Method::POST,
        "/freeBusy",
        Some(&token),
        Some(ask("2030-01-02T00:00:00Z", "2030-01-01T00:00:00Z")),
    )
    .await;
    assert_eq!(
        (status, reason(&error)),
        (StatusCode::BAD_REQUEST, "timeRangeEmpty")
    );
}

#[tokio::test]
async fn calendar_calls_answer_401_without_a_token_and_after_expire_access_tokens() {
    let (google, token) = connected().await;
    let (status, _, error) = call(
        &google,
        reqwest::Method::GET,
        "/calendars/primary/events/abcde",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        error,
        json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "errors": [{"domain": "global", "reason": "authError", "message": "Invalid Credentials"}]}})
    );
    assert_eq!(
        get_event(&google, "ya29.made-up", "abcde").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_event(&google, &token, "abcde").await.0,
        StatusCode::NOT_FOUND
    );
    google.expire_access_tokens();
    assert_eq!(
        get_event(&google, &token, "abcde").await.0,
        StatusCode::UNAUTHORIZED
    );
    let refresh_token = google.refresh_tokens()[0].clone();
    let fresh = refresh(&google, &refresh_token).await.1;
    assert_eq!(
        get_event(&google, fresh["access_token"].as_str().unwrap(), "abcde")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403_insufficient_permissions() {
    let google = start().await;
    let token = google
        .grant_directly(MENTOR, &["openid", "email", EVENTS])
        .access_token;
    let query = json!({"timeMin": "2030-01-01T00:00:00Z", "timeMax": "2030-01-02T00:00:00Z", "items": [{"id": "primary"}]});
    let (status, _, error) = call(
        &google,
        reqwest::Method::POST,
        "/freeBusy",
        Some(&token),
        Some(query),
    )
    .await;
    assert_eq!(
        (status, reason(&error)),
        (StatusCode::FORBIDDEN, "insufficientPermissions")
    );
    assert_eq!(
        get_event(&google, &token, "abcde").await.0,
        StatusCode::NOT_FOUND
    );
}

// ----- faults -----

#[tokio::test]
async fn each_fault_kind_is_answered_once_in_order_and_logged() {
    let (google, token) = connected().await;
    google.fail_next(
        Route::EventsGet,
        vec![
            Fault::Status(500),
            Fault::Status(503),
            Fault::RateLimited {
                retry_after_secs: 7,
            },
            Fault::UsageLimit403,
            Fault::Forbidden403,
            Fault::Status(400),
        ],
    );
    let path = "/calendars/primary/events/abcde";
    let mut seen = Vec::new();
    for _ in 0..7 {
        let (status, headers, body) =
            call(&google, reqwest::Method::GET, path, Some(&token), None).await;
        let domain = body["error"]["errors"][0]["domain"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        seen.push((status.as_u16(), domain, reason(&body).to_string()));
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(headers[RETRY_AFTER], "7");
        }
    }
    let expected = [
        (500, "global", "backendError"),
        (503, "global", "backendError"),
        (429, "usageLimits", "rateLimitExceeded"),
        (403, "usageLimits", "userRateLimitExceeded"),
        (403, "global", "forbidden"),
        (400, "global", "badRequest"),
        (404, "global", "notFound"),
    ];
    let expected: Vec<(u16, String, String)> = expected
        .iter()
        .map(|(s, d, r)| (*s, d.to_string(), r.to_string()))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(google.count(Route::EventsGet), 7);
    assert_eq!(google.count(Route::AnyCalendar), 7);
    let statuses: Vec<u16> = google.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![500, 503, 429, 403, 403, 400, 404]);
}

#[tokio::test]
async fn faults_match_their_route_and_wildcards() {
    let (google, token) = connected().await;
    google.fail_next(Route::FreeBusy, vec![Fault::Status(502)]);
    google.fail_next(Route::AnyCalendar, vec![Fault::Status(500)]);
    // The GET skips the freeBusy fault and takes the wildcard one.
    assert_eq!(
        get_event(&google, &token, "abcde").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let query = json!({"timeMin": "2030-01-01T00:00:00Z", "timeMax": "2030-01-02T00:00:00Z", "items": [{"id": "primary"}]});
    let (status, _, _) = call(
        &google,
        reqwest::Method::POST,
        "/freeBusy",
        Some(&token),
        Some(query),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        get_event(&google, &token, "abcde").await.0,
        StatusCode::NOT_FOUND
    );

    google.fail_next(Route::Any, vec![Fault::Status(503)]);
    google.clear_faults();
    assert_eq!(
        get_event(&google, &token, "abcde").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn token_faults_answer_oauth_errors_and_invalid_grant() {
    let google = start().await;
    let tokens = google.grant_directly(MENTOR, &[EVENTS]);
    google.fail_next(
        Route::Token,
        vec![
            Fault::InvalidGrant,
            Fault::Status(503),
            Fault::RateLimited {
                retry_after_secs: 2,
            },
        ],
    );
    let (status, body) = refresh(&google, &tokens.refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, body) = refresh(&google, &tokens.refresh_token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["error"].is_string());
    let response = http()
        .post(google.token_url())
        .basic_auth(FakeGoogle::CLIENT_ID, Some(FakeGoogle::CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "2");
    assert_eq!(
        refresh(&google, &tokens.refresh_token).await.0,
        StatusCode::OK
    );
    // The refresh token survived the injected invalid_grant.
    assert!(google.refresh_token_valid(&tokens.refresh_token));
    assert_eq!(google.count(Route::Token), 4);
    assert_eq!(google.token_requests().len(), 1);
}

#[tokio::test]
async fn a_delay_fault_answers_normally_after_the_delay() {
    let (google, token) = connected().await;
    google.fail_next(
        Route::EventsGet,
        vec![Fault::Delay(Duration::from_millis(300))],
    );
    let started = Instant::now();
    assert_eq!(
        get_event(&google, &token, "abcde").await.0,
        StatusCode::NOT_FOUND
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_delay_after_fault_keeps_the_effect_even_when_the_client_gives_up() {
    let (google, token) = connected().await;
    google.fail_next(
        Route::EventsInsert,
        vec![Fault::DelayAfter(Duration::from_secs(5))],
    );
    let gave_up = http()
        .post(format!(
            "{}/calendars/primary/events?conferenceDataVersion=1",
            google.calendar_base()
        ))
        .bearer_auth(&token)
        .json(&event_body(
            Some("abcdef"),
            "2026-12-01T09:00:00Z",
            "2026-12-01T09:30:00Z",
        ))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(gave_up.is_err(), "the answer comes only after the delay");
    let events = google.events(FakeGoogle::DEFAULT_EMAIL);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id, "abcdef");
}

/// The statuses of `n` GETs of a missing event (404 when no fault is drawn).
async fn statuses(google: &FakeGoogle, token: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(get_event(google, token, "abcde").await.0.as_u16());
    }
    out
}

#[tokio::test]
async fn random_faults_hit_about_their_rate_and_the_same_seed_repeats_the_same_faults() {
    let faults = vec![
        Fault::Status(503),
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    ];
    let (google, token) = connected().await;
    google.set_random_faults(Route::AnyCalendar, 0.3, faults.clone(), 7);
    let first = statuses(&google, &token, 200).await;
    let faulted = first.iter().filter(|s| **s != 404).count();
    assert!(
        (30..=90).contains(&faulted),
        "{faulted} of 200 faulted at a rate of 0.3"
    );
    assert!(
        first.iter().all(|s| [404, 503, 429].contains(s)),
        "{first:?}"
    );
    assert!(first.contains(&503) && first.contains(&429), "{first:?}");
    assert_eq!(google.random_faults_injected(), faulted);

    // Another fake with the same seed answers the same sequence; another seed does not.
    let (again, token2) = connected().await;
    again.set_random_faults(Route::AnyCalendar, 0.3, faults.clone(), 7);
    assert_eq!(statuses(&again, &token2, 200).await, first);
    let (other, token3) = connected().await;
    other.set_random_faults(Route::AnyCalendar, 0.3, faults, 8);
    assert_ne!(statuses(&other, &token3, 200).await, first);

    // Queued faults come first; the consent page is not a Calendar route; off means off.
    google.fail_next(Route::EventsGet, vec![Fault::Status(500)]);
    assert_eq!(get_event(&google, &token, "abcde").await.0.as_u16(), 500);
    let response = open_consent(&google, &consent_params(&all_scopes(), &[])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    google.clear_random_faults();
    assert!(
        statuses(&google, &token, 50)
            .await
            .iter()
            .all(|s| *s == 404)
    );
    assert_eq!(google.random_faults_injected(), 0);
}

#[tokio::test]
async fn a_random_delay_fault_answers_normally_after_the_delay_and_rate_zero_is_off() {
    let (google, token) = connected().await;
    google.set_random_faults(
        Route::EventsGet,
        1.0,
        vec![Fault::Delay(Duration::from_millis(200))],
        1,
    );
    let started = Instant::now();
    assert_eq!(statuses(&google, &token, 2).await, vec![404, 404]);
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(google.random_faults_injected(), 2);
    google.set_random_faults(Route::Any, 0.0, vec![Fault::Status(500)], 1);
    assert!(
        statuses(&google, &token, 20)
            .await
            .iter()
            .all(|s| *s == 404)
    );
}

#[tokio::test]
async fn while_down_everything_but_the_consent_page_answers_503() {
    let (google, token) = connected().await;
    google.set_down(true);
    let (status, error) = get_event(&google, &token, "abcde").await;
    assert_eq!(
        (status, reason(&error)),
        (StatusCode::SERVICE_UNAVAILABLE, "backendError")
    );
    let refresh_token = google.refresh_tokens()[0].clone();
    assert_eq!(
        refresh(&google, &refresh_token).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let response = open_consent(&google, &consent_params(&all_scopes(), &[])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    google.set_down(false);
    assert_eq!(
        get_event(&google, &token, "abcde").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(google.count(Route::Any), 3);
    assert_eq!(google.count(Route::Auth), 1);
}

#[tokio::test]
async fn wait_until_sees_changes_made_meanwhile_and_gives_up_after_the_timeout() {
    let (google, token) = connected().await;
    let writer = google.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        insert(
            &writer,
            &token,
            event_body(
                Some("later01"),
                "2030-05-06T09:00:00Z",
                "2030-05-06T10:00:00Z",
            ),
        )
        .await;
    });
    assert!(
        google
            .wait_until(Duration::from_secs(2), |g| g.live_events(MENTOR).len() == 1)
            .await
    );
    assert!(
        !google
            .wait_until(Duration::from_millis(30), |g| g.count(Route::FreeBusy) > 0)
            .await
    );
}

// ----- the bot's OAuth client -----

#[tokio::test]
async fn the_oauth2_crate_completes_the_flow_refreshes_and_reads_invalid_grant() {
    use oauth2::basic::{BasicClient, BasicErrorResponseType};
    use oauth2::{
        AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
        RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
    };

    let google = start().await;
    let client = BasicClient::new(ClientId::new(FakeGoogle::CLIENT_ID.to_string()))
        .set_client_secret(ClientSecret::new(FakeGoogle::CLIENT_SECRET.to_string()))
        .set_auth_uri(AuthUrl::new(google.auth_url()).unwrap())
        .set_token_uri(TokenUrl::new(google.token_url()).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.to_string()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(["openid", "email", EVENTS, FREEBUSY].map(|s| Scope::new(s.to_string())))
        .add_extra_param("access_type", "offline")
        .add_extra_param("prompt", "consent")
        .add_extra_param("include_granted_scopes", "true")
        .set_pkce_challenge(challenge)
        .url();
    let http = http();
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = reqwest::Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(pair(&pairs, "state"), Some(csrf.secret().as_str()));
    let code = AuthorizationCode::new(pair(&pairs, "code").unwrap().to_string());

    let token = client
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(token.expires_in(), Some(Duration::from_secs(3599)));
    let scopes: Vec<String> = token
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(scopes.contains(&EVENTS.to_string()), "{scopes:?}");
    let refresh_token = token.refresh_token().unwrap().clone();
    assert_eq!(google.token_requests()[0].auth, ClientAuth::Basic);

    let refreshed = client
        .exchange_refresh_token(&refresh_token)
        .request_async(&http)
        .await
        .unwrap();
    assert!(refreshed.refresh_token().is_none());
    let access = refreshed.access_token().secret().clone();
    assert_eq!(
        get_event(&google, &access, "abcde").await.0,
        StatusCode::NOT_FOUND
    );

    google.revoke_all(MENTOR);
    let error = client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.secret().clone()))
        .request_async(&http)
        .await
        .unwrap_err();
    match error {
        RequestTokenError::ServerResponse(e) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant);
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}
