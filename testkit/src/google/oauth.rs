//! OAuth 2.0: the consent page (answering at once as a browser user), the token endpoint and
//! revocation.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::server::{Shd, oauth_error};
use super::state::{self, Code, State as FakeState};
use super::{ClientAuth, Consent, FakeGoogle, TokenRequest};

/// How long an authorization code can be exchanged.
const CODE_LIFETIME: Duration = Duration::from_secs(600);
const OPENID: &str = "openid";
const EMAIL_SCOPE: &str = "https://www.googleapis.com/auth/userinfo.email";

/// `application/x-www-form-urlencoded` pairs, in order.
fn parse_form(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// The first value of `key`.
fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

// ----- consent page -----

/// `GET /o/oauth2/v2/auth`: checks the request like Google's consent page, then answers as the
/// user configured with `set_consent`: 302 to the `redirect_uri` with `code` or
/// `error=access_denied`. A malformed request gets a 400 text page (no redirect).
pub(crate) async fn auth(State(shared): Shd, RawQuery(query): RawQuery) -> Response {
    let params = parse_form(query.unwrap_or_default().as_bytes());
    let location = match check_auth_request(&params) {
        // Google's console lists each client's redirect URIs; any other is refused on the
        // consent page, without a redirect.
        Ok(request) if !shared.with(|s| s.redirect_uris.contains(&request.redirect_uri)) => {
            return (
                StatusCode::BAD_REQUEST,
                format!(
                    "Error 400: redirect_uri_mismatch\nYou can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy.\nRequest details: redirect_uri={}",
                    request.redirect_uri
                ),
            )
                .into_response();
        }
        Ok(request) => shared.with(|s| consent(s, &request)),
        Err(page) => return (StatusCode::BAD_REQUEST, page).into_response(),
    };
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "Error 400: invalid_request\nThe redirect_uri is not a valid URL.",
        )
            .into_response(),
    }
}

/// A well-formed consent request.
struct AuthRequest {
    redirect_uri: String,
    state: String,
    scopes: Vec<String>,
    challenge: String,
    offline: bool,
    prompt_consent: bool,
    include_granted_scopes: bool,
}

fn check_auth_request(params: &[(String, String)]) -> Result<AuthRequest, String> {
    let get = |key: &str| param(params, key).filter(|v| !v.is_empty());
    let bad = |what: &str| Err(format!("Error 400: invalid_request\n{what}"));
    if get("client_id") != Some(FakeGoogle::CLIENT_ID) {
        return Err("Error 401: invalid_client\nThe OAuth client was not found.".to_string());
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return bad("Missing required parameter: redirect_uri");
    };
    let absolute = redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://");
    if !absolute
        || redirect_uri.contains('#')
        || !redirect_uri.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(format!(
            "Error 400: redirect_uri_mismatch\nInvalid redirect_uri: {redirect_uri}"
        ));
    }
    match get("response_type") {
        Some("code") => {}
        Some(other) => return bad(&format!("Invalid response_type: {other}")),
        None => return bad("Missing required parameter: response_type"),
    }
    let mut scopes: Vec<String> = Vec::new();
    for scope in get("scope").unwrap_or_default().split_whitespace() {
        let scope = state::normalize_scope(scope);
        if !state::known_scope(&scope) {
            return Err(format!(
                "Error 400: invalid_scope\nSome requested scopes were invalid: {scope}"
            ));
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return bad("Missing required parameter: scope");
    }
    let Some(state) = get("state") else {
        return bad("Missing parameter: state (testkit requires it: it is the CSRF defence)");
    };
    match get("code_challenge_method") {
        Some("S256") => {}
        Some(other) => {
            return bad(&format!(
                "Invalid code_challenge_method: {other} (testkit requires S256)"
            ));
        }
        None => return bad("Missing parameter: code_challenge_method (testkit requires S256)"),
    }
    let challenge = match get("code_challenge") {
        Some(c) if state::pkce_shaped(c) => c,
        Some(_) => return bad("Invalid code_challenge."),
        None => return bad("Missing parameter: code_challenge (testkit requires PKCE)"),
    };
    let offline = match get("access_type") {
        None | Some("online") => false,
        Some("offline") => true,
        Some(other) => return bad(&format!("Invalid access_type: {other}")),
    };
    let prompt = get("prompt").unwrap_or_default();
    if let Some(p) = prompt
        .split_whitespace()
        .find(|p| !matches!(*p, "none" | "consent" | "select_account"))
    {
        return bad(&format!("Invalid prompt: {p}"));
    }
    let include_granted_scopes = match get("include_granted_scopes") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return bad(&format!("Invalid include_granted_scopes: {other}")),
    };
    Ok(AuthRequest {
        redirect_uri: redirect_uri.to_string(),
        state: state.to_string(),
        scopes,
        challenge: challenge.to_string(),
        offline,
        prompt_consent: prompt.split_whitespace().any(|p| p == "consent"),
        include_granted_scopes,
    })
}

/// The user's answer: the `Location` to send the browser to.
fn consent(s: &mut FakeState, request: &AuthRequest) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("state", &request.state);
    let (email, allowed) = match &s.consent {
        Consent::Deny => (None, None),
        Consent::Grant { email, scopes } => (Some(email.clone()), scopes.clone()),
    };
    let mut granted: Vec<String> = match allowed {
        None => request.scopes.clone(),
        Some(list) => {
            let list: Vec<String> = list.iter().map(|x| state::normalize_scope(x)).collect();
            request
                .scopes
                .iter()
                .filter(|x| list.contains(x))
                .cloned()
                .collect()
        }
    };
    match email {
        Some(email) if !granted.is_empty() => {
            if request.include_granted_scopes {
                let before = s.grants.get(&state::account_key(&email));
                for scope in before.into_iter().flatten() {
                    if !granted.contains(scope) {
                        granted.push(scope.clone());
                    }
                }
            }
            s.remember_grant(&email, &granted);
            let code = format!("4/0{}", state::random_token(70));
            let issued = s.now();
            s.codes.insert(
                code.clone(),
                Code {
                    email,
                    scopes: granted.clone(),
                    redirect_uri: request.redirect_uri.clone(),
                    challenge: request.challenge.clone(),
                    issued,
                    used: false,
                    offline: request.offline,
                    prompt_consent: request.prompt_consent,
                },
            );
            query.append_pair("iss", "https://accounts.google.com");
            query.append_pair("code", &code);
            query.append_pair("scope", &granted.join(" "));
            query.append_pair("authuser", "0");
            query.append_pair("prompt", "consent");
        }
        _ => {
            query.append_pair("error", "access_denied");
        }
    }
    let uri = &request.redirect_uri;
    let separator = if uri.ends_with('?') || uri.ends_with('&') {
        ""
    } else if uri.contains('?') {
        "&"
    } else {
        "?"
    };
    format!("{uri}{separator}{}", query.finish())
}

// ----- token endpoint -----

/// An OAuth error answer: status, `error`, `error_description`.
type OauthFailure = (u16, &'static str, String);

/// `POST /token`: the authorization-code and refresh-token grants.
pub(crate) async fn token(State(shared): Shd, headers: HeaderMap, body: Bytes) -> Response {
    let params = parse_form(&body);
    let grant_type = param(&params, "grant_type").unwrap_or_default().to_string();
    let (auth, client_ok) = client_auth(&headers, &params);
    let result = if !is_form(&headers) {
        Err((
            400,
            "invalid_request",
            "Invalid content type: expected application/x-www-form-urlencoded".to_string(),
        ))
    } else if !client_ok {
        Err((401, "invalid_client", "Unauthorized".to_string()))
    } else {
        shared.with(|s| match grant_type.as_str() {
            "authorization_code" => exchange_code(s, &params),
            "refresh_token" => refresh(s, &params),
            "" => Err((
                400,
                "invalid_request",
                "Missing required parameter: grant_type".to_string(),
            )),
            other => Err((
                400,
                "unsupported_grant_type",
                format!("Invalid grant_type: {other}"),
            )),
        })
    };
    shared.with(|s| {
        s.token_requests.push(TokenRequest {
            grant_type,
            auth,
            error: result.as_ref().err().map(|(_, e, _)| e.to_string()),
        });
    });
    let mut response = match result {
        Ok(body) => axum::Json(body).into_response(),
        Err((status, error, description)) => oauth_error(status, error, Some(&description)),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// How the client authenticated and whether its credentials are right. HTTP Basic carries
/// `urlencode(id):urlencode(secret)` (RFC 6749 §2.3.1); form fields are plain.
fn client_auth(headers: &HeaderMap, params: &[(String, String)]) -> (ClientAuth, bool) {
    let form_id = param(params, "client_id");
    let form_secret = param(params, "client_secret");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        });
    if let Some(encoded) = basic {
        let decoded = STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let ok = decoded
            .as_deref()
            .and_then(|d| d.split_once(':'))
            .is_some_and(|(id, secret)| {
                url_decode(id).as_deref() == Some(FakeGoogle::CLIENT_ID)
                    && url_decode(secret).as_deref() == Some(FakeGoogle::CLIENT_SECRET)
            });
        // A client_id field next to Basic must name the same client.
        let consistent = form_id.is_none_or(|id| id == FakeGoogle::CLIENT_ID)
            && form_secret.is_none_or(|s| s == FakeGoogle::CLIENT_SECRET);
        return (ClientAuth::Basic, ok && consistent);
    }
    if form_id.is_some() || form_secret.is_some() {
        let ok = form_id == Some(FakeGoogle::CLIENT_ID)
            && form_secret == Some(FakeGoogle::CLIENT_SECRET);
        return (ClientAuth::Form, ok);
    }
    (ClientAuth::None, false)
}

/// Percent-decoding with `+` as space; `None` for a malformed escape or invalid UTF-8.
fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn invalid_grant(description: &str) -> OauthFailure {
    (400, "invalid_grant", description.to_string())
}

fn exchange_code(s: &mut FakeState, params: &[(String, String)]) -> Result<Value, OauthFailure> {
    let missing = |p: &str| {
        (
            400,
            "invalid_request",
            format!("Missing required parameter: {p}"),
        )
    };
    let code = param(params, "code").ok_or_else(|| missing("code"))?;
    let redirect_uri = param(params, "redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
    let now = s.now();
    let c = s
        .codes
        .get_mut(code)
        .ok_or_else(|| invalid_grant("Malformed auth code."))?;
    // Any attempt uses the code up, so a wrong verifier cannot be followed by guesses.
    if std::mem::replace(&mut c.used, true) {
        return Err(invalid_grant("Bad Request: the code was already redeemed."));
    }
    if now.saturating_duration_since(c.issued) > CODE_LIFETIME {
        return Err(invalid_grant("Bad Request: the code has expired."));
    }
    if redirect_uri != c.redirect_uri {
        return Err(invalid_grant(
            "Bad Request: redirect_uri differs from the one of the consent request.",
        ));
    }
    let verifier =
        param(params, "code_verifier").ok_or_else(|| invalid_grant("Missing code verifier."))?;
    if !state::pkce_shaped(verifier) || state::s256(verifier) != c.challenge {
        return Err(invalid_grant("Invalid code verifier."));
    }
    let (email, scopes) = (c.email.clone(), c.scopes.clone());
    let (offline, prompt_consent) = (c.offline, c.prompt_consent);
    let give_refresh = offline && (prompt_consent || !s.has_live_refresh(&email));
    let refresh = give_refresh.then(|| s.issue_refresh(&email, &scopes));
    let mut body = token_answer(s, &email, &scopes, refresh.as_deref());
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    Ok(body)
}

fn refresh(s: &mut FakeState, params: &[(String, String)]) -> Result<Value, OauthFailure> {
    let token = param(params, "refresh_token").ok_or_else(|| {
        (
            400,
            "invalid_request",
            "Missing required parameter: refresh_token".to_string(),
        )
    })?;
    let (email, scopes) = s
        .refresh
        .iter()
        .find(|t| t.token == token && !t.revoked)
        .map(|t| (t.email.clone(), t.scopes.clone()))
        .ok_or_else(|| invalid_grant("Token has been expired or revoked."))?;
    Ok(token_answer(s, &email, &scopes, Some(token)))
}

/// A new access token and the answer carrying it (without `refresh_token`).
fn token_answer(s: &mut FakeState, email: &str, scopes: &[String], refresh: Option<&str>) -> Value {
    let access = s.issue_access(email, scopes, refresh);
    let mut body = json!({
        "access_token": access,
        "expires_in": s.access_lifetime,
        "scope": scopes.join(" "),
        "token_type": "Bearer",
    });
    if scopes.iter().any(|x| x == OPENID) {
        let with_email = scopes.iter().any(|x| x == EMAIL_SCOPE);
        body["id_token"] = json!(id_token(email, with_email, s.wall_now().timestamp()));
    }
    body
}

/// A JWT-shaped id token (its signature is not real).
fn id_token(email: &str, with_email: bool, now: i64) -> String {
    let header = json!({"alg": "RS256", "kid": "testkit", "typ": "JWT"});
    let mut claims = json!({
        "iss": "https://accounts.google.com",
        "azp": FakeGoogle::CLIENT_ID,
        "aud": FakeGoogle::CLIENT_ID,
        "sub": state::subject(email),
        "iat": now,
        "exp": now + 3600,
    });
    if with_email {
        claims["email"] = json!(email);
        claims["email_verified"] = json!(true);
    }
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(&header),
        part(&claims),
        URL_SAFE_NO_PAD.encode("sig")
    )
}

// ----- revocation -----

/// `POST /revoke` with `token=` (form body or query): a refresh token takes its access
/// tokens along; an access token takes its refresh token (and so its siblings) along.
pub(crate) async fn revoke(
    State(shared): Shd,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !body.is_empty() && !is_form(&headers) {
        return oauth_error(
            400,
            "invalid_request",
            Some("Invalid content type: expected application/x-www-form-urlencoded"),
        );
    }
    let mut params = parse_form(&body);
    params.extend(parse_form(query.unwrap_or_default().as_bytes()));
    let Some(token) = param(&params, "token").filter(|t| !t.is_empty()) else {
        return oauth_error(
            400,
            "invalid_request",
            Some("Missing required parameter: token"),
        );
    };
    let revoked = shared.with(|s| {
        let email = if let Some(t) = s.refresh.iter().find(|t| t.token == token && !t.revoked) {
            let email = t.email.clone();
            s.revoke_refresh(token);
            email
        } else if let Some(t) = s.live_access(token) {
            let (email, refresh) = (t.email.clone(), t.refresh.clone());
            for a in s.access.iter_mut().filter(|a| a.token == token) {
                a.revoked = true;
            }
            if let Some(r) = refresh {
                s.revoke_refresh(&r);
            }
            email
        } else {
            return false;
        };
        if !s.has_live_refresh(&email) {
            s.grants.remove(&state::account_key(&email));
        }
        true
    });
    if revoked {
        axum::Json(json!({})).into_response()
    } else {
        oauth_error(400, "invalid_token", Some("Token expired or revoked"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decoding_handles_escapes_plus_and_garbage() {
        assert_eq!(url_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(
            url_decode("test-client-id").as_deref(),
            Some("test-client-id")
        );
        assert_eq!(url_decode("%zz"), None);
        assert_eq!(url_decode("%4"), None);
    }

    #[test]
    fn id_tokens_carry_the_email_only_with_the_email_scope() {
        let payload = |t: &str| -> Value {
            let part = t.split('.').nth(1).unwrap();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let with = payload(&id_token("a@example.com", true, 1));
        assert_eq!(with["email"], "a@example.com");
        assert_eq!(with["email_verified"], true);
        assert_eq!(with["iss"], "https://accounts.google.com");
        let without = payload(&id_token("a@example.com", false, 1));
        assert!(without.get("email").is_none());
        assert_eq!(with["sub"], without["sub"]);
    }
}
