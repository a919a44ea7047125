//! Google's OAuth web-server flow with PKCE (S256), through the `oauth2` crate.
//!
//! The caller keeps a [`PendingAuth`] (state + verifier) per Discord user, sends the browser
//! to [`OAuth::authorize_url`], and on the callback hands the code to [`OAuth::exchange_code`].
//! Errors are sorted into [`OAuthError`]'s three cases; their texts never hold tokens, codes
//! or the client secret, because they get logged.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::{GoogleConfig, SCOPE_EVENTS, SCOPE_FREEBUSY, http_client, printable};
use crate::secret::Secret;

/// Access tokens last this long when Google does not say (it always has, so far).
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);

/// Fields of Google's token answer beyond RFC 6749's: the OpenID Connect `id_token`.
#[derive(Deserialize, Serialize, Clone)]
struct IdTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenFields {}

impl fmt::Debug for IdTokenFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.id_token.as_ref().map(|_| "[redacted]");
        f.debug_struct("IdTokenFields")
            .field("id_token", &shown)
            .finish()
    }
}

/// Google's token answer.
type GoogleTokenResponse = StandardTokenResponse<IdTokenFields, BasicTokenType>;

/// An `oauth2` client reading [`GoogleTokenResponse`], with the auth and token URLs set.
type GoogleClient = oauth2::Client<
    BasicErrorResponse,
    GoogleTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,    // auth URL
    EndpointNotSet, // device authorization URL
    EndpointNotSet, // introspection URL
    EndpointNotSet, // revocation URL: see `OAuth::revoke`
    EndpointSet,    // token URL
>;

/// Talks OAuth to Google. Built once at start; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct OAuth {
    client: GoogleClient,
    http: reqwest::Client,
    revoke_url: reqwest::Url,
}

/// What to remember between sending a user to Google and their coming back: the `state`
/// (to find and check the request) and the PKCE verifier (to prove the code is ours).
#[derive(Debug, Clone)]
pub struct PendingAuth {
    /// The `state` parameter: 128 random bits, base64url.
    pub state: String,
    /// The PKCE code verifier; Google sees only its SHA-256 challenge until the exchange.
    pub verifier: Secret,
}

/// What a user granted: tokens, the scopes they left ticked, and which account it is.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The access token and its lifetime.
    pub access: AccessToken,
    /// The refresh token; Google sends one because the consent URL asks `prompt=consent`.
    pub refresh_token: Option<Secret>,
    /// The scopes granted, from the answer's `scope`. Empty when Google omitted it: then
    /// nothing is assumed granted.
    pub scopes: Vec<String>,
    /// The Google account's email, from the `id_token`, to show which account is connected.
    pub email: Option<String>,
}

impl Grant {
    /// Whether the user granted `scope` (e.g. [`SCOPE_EVENTS`]); with granular consent they
    /// may untick some.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// An access token for Calendar calls.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub token: Secret,
    /// How long it lasts from when Google answered (3600 s if Google did not say).
    pub expires_in: Duration,
}

/// Why a token request failed. Texts never contain tokens, codes or secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// Google answered `invalid_grant`: the code or refresh token is expired, revoked or
    /// used. The user must connect again.
    #[error("Google refused the grant (invalid_grant): the user must connect again")]
    InvalidGrant,
    /// Google answered `invalid_client`: mentorbot's OAuth client id or secret is wrong. The
    /// operator must fix the configuration; no user can.
    #[error(
        "Google refused mentorbot's OAuth client (invalid_client): check GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET"
    )]
    InvalidClient,
    /// Worth retrying later: timeouts, connection errors, 429 and 5xx.
    #[error("Google's OAuth endpoint is unavailable for now: {0}")]
    Transient(String),
    /// Will not work by retrying: other refusals and unreadable answers.
    #[error("Google's OAuth endpoint refused the request: {0}")]
    Permanent(String),
}

impl OAuth {
    /// Builds the client from `config`; fails on a malformed URL or an unusable TLS setup.
    pub fn new(config: &GoogleConfig) -> Result<OAuth, anyhow::Error> {
        let auth_url = AuthUrl::new(config.auth_url.clone())
            .map_err(|e| anyhow::anyhow!("Google auth URL {:?}: {e}", config.auth_url))?;
        let token_url = TokenUrl::new(config.token_url.clone())
            .map_err(|e| anyhow::anyhow!("Google token URL {:?}: {e}", config.token_url))?;
        let redirect_url = RedirectUrl::new(config.redirect_url.clone())
            .map_err(|e| anyhow::anyhow!("OAuth redirect URL {:?}: {e}", config.redirect_url))?;
        let revoke_url = reqwest::Url::parse(&config.revoke_url)
            .map_err(|e| anyhow::anyhow!("Google revoke URL {:?}: {e}", config.revoke_url))?;
        // The default (HTTP Basic) client authentication is what Google documents.
        let client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.expose().to_string()))
            .set_auth_uri(auth_url)
            .set_token_uri(token_url)
            .set_redirect_uri(redirect_url);
        Ok(OAuth {
            client,
            http: http_client(config.timeout)?,
            revoke_url,
        })
    }

    /// Whether `state` could be one [`OAuth::new_request`] made (22 characters of base64url:
    /// oauth2's 16 random bytes), checked before any database work so junk callbacks cost
    /// nothing.
    pub fn plausible_state(state: &str) -> bool {
        state.len() == 22
            && state
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// A fresh random PKCE verifier and a fresh `state` of 128 random bits.
    pub fn new_request() -> PendingAuth {
        let (_challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        PendingAuth {
            state: CsrfToken::new_random().into_secret(),
            verifier: Secret::new(verifier.into_secret()),
        }
    }

    /// Google's consent URL for this `state` and verifier (challenge = S256(verifier)):
    /// scopes `calendar.events calendar.freebusy openid email`, offline access, the consent
    /// prompt (so a refresh token always comes back) and incremental grants. The same inputs
    /// give the same URL.
    pub fn authorize_url(&self, state: &str, verifier: &Secret) -> String {
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            verifier.expose().to_string(),
        ));
        let (url, _state) = self
            .client
            .authorize_url(|| CsrfToken::new(state.to_string()))
            .add_scope(Scope::new(SCOPE_EVENTS.to_string()))
            .add_scope(Scope::new(SCOPE_FREEBUSY.to_string()))
            .add_scope(Scope::new("openid".to_string()))
            .add_scope(Scope::new("email".to_string()))
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent")
            .add_extra_param("include_granted_scopes", "true")
            .set_pkce_challenge(challenge)
            .url();
        url.to_string()
    }

    /// Exchanges the callback's `code` (with the request's PKCE verifier) for tokens, the
    /// granted scopes and the account's email.
    pub async fn exchange_code(&self, code: &str, verifier: &Secret) -> Result<Grant, OAuthError> {
        let http = |request| send(self.http.clone(), request);
        let answer = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_string()))
            .request_async(&http)
            .await
            .map_err(classify)?;
        let scopes = answer
            .scopes()
            .map(|scopes| scopes.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        // No signature check: this id_token came straight from Google's token endpoint over
        // TLS in answer to our authenticated request, which OpenID Connect Core (3.1.3.7)
        // accepts in place of validating the signature. It is used only to show the email.
        let email = answer
            .extra_fields()
            .id_token
            .as_deref()
            .and_then(email_from_id_token);
        Ok(Grant {
            access: access_token(&answer),
            refresh_token: answer
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            scopes,
            email,
        })
    }

    /// A new access token from a refresh token.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<AccessToken, OAuthError> {
        let http = |request| send(self.http.clone(), request);
        let refresh_token = RefreshToken::new(refresh_token.expose().to_string());
        let answer = self
            .client
            .exchange_refresh_token(&refresh_token)
            .request_async(&http)
            .await
            .map_err(classify)?;
        Ok(access_token(&answer))
    }

    /// Revokes a token (access or refresh; revoking either ends the whole grant). A token
    /// Google no longer knows counts as revoked.
    ///
    /// A plain form POST: `oauth2`'s `revoke_token` refuses http URLs, which the fake Google
    /// in tests uses.
    pub async fn revoke(&self, token: &Secret) -> Result<(), OAuthError> {
        let response = self
            .http
            .post(self.revoke_url.clone())
            .form(&[("token", token.expose())])
            .send()
            .await
            .map_err(|e| OAuthError::Transient(crate::cause::chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // An unreadable body still classifies by status.
        let body = response.bytes().await.unwrap_or_default();
        let error = serde_json::from_slice::<RevokeError>(&body)
            .ok()
            .and_then(|e| e.error);
        match (status.as_u16(), error.as_deref()) {
            (400, Some("invalid_token")) => Ok(()),
            (429 | 500..=599, _) => Err(OAuthError::Transient(format!(
                "revoke answered HTTP {status}"
            ))),
            (_, error) => Err(OAuthError::Permanent(format!(
                "revoke answered HTTP {status} ({})",
                error
                    .map(|e| printable(e, 100))
                    .unwrap_or_else(|| "no error code".into())
            ))),
        }
    }
}

/// The `error` of an OAuth error answer, read leniently.
#[derive(Deserialize)]
struct RevokeError {
    error: Option<String>,
}

fn access_token(answer: &GoogleTokenResponse) -> AccessToken {
    AccessToken {
        token: Secret::new(answer.access_token().secret().clone()),
        expires_in: answer.expires_in().unwrap_or(DEFAULT_EXPIRES_IN),
    }
}

/// The `email` claim of a JWT's payload (its second, base64url-encoded part), if any.
fn email_from_id_token(jwt: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Claims {
        email: Option<String>,
    }
    let payload = jwt.split('.').nth(1)?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let json = engine.decode(payload).ok()?;
    serde_json::from_slice::<Claims>(&json).ok()?.email
}

/// Why the HTTP exchange under `oauth2` failed before its answer could be read.
#[derive(Debug, thiserror::Error)]
enum TokenHttpError {
    /// Timeouts and connection errors.
    #[error("{0}")]
    Transport(String),
    /// 429 or 5xx. Caught here because `oauth2` would fold the status into a parse error.
    #[error("token endpoint answered HTTP {0}")]
    Status(u16),
    /// A request that could not be built or an answer that could not be rebuilt.
    #[error("{0}")]
    Invalid(String),
}

/// The HTTP client `oauth2` calls: reqwest, with 429 and 5xx turned into errors that keep
/// their status (`oauth2` only tells "not 200"), so they can be retried.
///
/// The client is owned (a cheap handle clone): a future borrowing it would not be `Send` for
/// every lifetime, which callers spawned on tokio need.
async fn send(
    http: reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TokenHttpError> {
    let request = reqwest::Request::try_from(request)
        .map_err(|e| TokenHttpError::Invalid(crate::cause::chain(&e)))?;
    let response = http.execute(request).await.map_err(transport)?;
    let status = response.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(TokenHttpError::Status(status.as_u16()));
    }
    let mut builder = oauth2::http::Response::builder().status(status);
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await.map_err(transport)?;
    builder
        .body(body.to_vec())
        .map_err(|e| TokenHttpError::Invalid(e.to_string()))
}

fn transport(error: reqwest::Error) -> TokenHttpError {
    if error.is_builder() {
        TokenHttpError::Invalid(crate::cause::chain(&error))
    } else {
        TokenHttpError::Transport(crate::cause::chain(&error))
    }
}

/// Sorts `oauth2`'s errors into ours, keeping secrets out of the texts: a parse error's body
/// may be a 200 answer holding tokens, so only the JSON path is kept.
fn classify(error: RequestTokenError<TokenHttpError, BasicErrorResponse>) -> OAuthError {
    match error {
        RequestTokenError::ServerResponse(answer) => match answer.error() {
            BasicErrorResponseType::InvalidGrant => OAuthError::InvalidGrant,
            BasicErrorResponseType::InvalidClient => OAuthError::InvalidClient,
            _ => OAuthError::Permanent(printable(&answer.to_string(), 300)),
        },
        RequestTokenError::Request(TokenHttpError::Invalid(message)) => {
            OAuthError::Permanent(message)
        }
        RequestTokenError::Request(error) => OAuthError::Transient(error.to_string()),
        RequestTokenError::Parse(error, _body) => OAuthError::Permanent(format!(
            "unreadable answer (at `{}`: {:?} error)",
            error.path(),
            error.inner().classify()
        )),
        // Statuses that matter were sorted in `send`; what is left is a wrong content type
        // or an empty body.
        RequestTokenError::Other(message) => OAuthError::Permanent(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_new_state_is_plausible_and_junk_is_not() {
        for _ in 0..100 {
            assert!(OAuth::plausible_state(&OAuth::new_request().state));
        }
        for junk in [
            "",
            "abc",
            &"a".repeat(23),
            "aaaaaaaaaaaaaaaaaaaa%0",
            "aaaaaaaaaaaaaaaaaaaa'\"",
        ] {
            assert!(!OAuth::plausible_state(junk), "{junk:?}");
        }
    }

    use std::net::SocketAddr;

    use axum::Router;
    use axum::extract::Form;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::post;

    fn config(base: &str) -> GoogleConfig {
        GoogleConfig {
            client_id: "client-123.apps.googleusercontent.com".into(),
            client_secret: Secret::new("GOCSPX-secret"),
            auth_url: crate::gcal::DEFAULT_AUTH_URL.into(),
            token_url: format!("{base}/token"),
            revoke_url: format!("{base}/revoke"),
            calendar_base: format!("{base}/calendar/v3"),
            redirect_url: "https://bot.example/oauth/google/callback".into(),
            timeout: Duration::from_secs(5),
        }
    }

    fn jwt(payload: &str) -> String {
        let part = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.{}",
            part(r#"{"alg":"RS256"}"#),
            part(payload),
            "c2lnbmF0dXJl"
        )
    }

    fn query(url: &str) -> Vec<(String, String)> {
        reqwest::Url::parse(url)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn the_consent_url_asks_for_calendar_access_offline_with_pkce() {
        let oauth = OAuth::new(&config("http://127.0.0.1:1")).unwrap();
        let pending = OAuth::new_request();
        let url = oauth.authorize_url(&pending.state, &pending.verifier);
        assert!(url.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"));
        assert_eq!(url, oauth.authorize_url(&pending.state, &pending.verifier));
        let pairs = query(&url);
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("no {name} in {url}"))
        };
        assert_eq!(get("response_type"), "code");
        assert_eq!(get("client_id"), "client-123.apps.googleusercontent.com");
        assert_eq!(
            get("redirect_uri"),
            "https://bot.example/oauth/google/callback"
        );
        assert_eq!(get("state"), pending.state);
        assert_eq!(
            get("scope"),
            format!("{SCOPE_EVENTS} {SCOPE_FREEBUSY} openid email")
        );
        assert_eq!(get("access_type"), "offline");
        assert_eq!(get("prompt"), "consent");
        assert_eq!(get("include_granted_scopes"), "true");
        assert_eq!(get("code_challenge_method"), "S256");
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pending.verifier.expose().to_string(),
        ));
        assert_eq!(get("code_challenge"), expected.as_str());
        assert!(!url.contains(pending.verifier.expose()));
        assert!(!url.contains("GOCSPX"));
    }

    #[test]
    fn each_request_gets_a_fresh_state_and_verifier() {
        let a = OAuth::new_request();
        let b = OAuth::new_request();
        assert_ne!(a.state, b.state);
        assert_ne!(a.verifier, b.verifier);
        // 16 random bytes in unpadded base64url.
        assert!(a.state.len() >= 22, "{}", a.state);
        assert!((43..=128).contains(&a.verifier.expose().len()));
        assert!(!format!("{a:?}").contains(a.verifier.expose()));
    }

    #[test]
    fn malformed_urls_are_refused_at_start() {
        let mut bad = config("http://127.0.0.1:1");
        bad.token_url = "not a url".into();
        assert!(OAuth::new(&bad).is_err());
        let mut bad = config("http://127.0.0.1:1");
        bad.revoke_url = "://".into();
        assert!(OAuth::new(&bad).is_err());
    }

    #[test]
    fn the_email_comes_from_the_id_tokens_payload() {
        let token = jwt(r#"{"iss":"https://accounts.google.com","email":"ada@example.com"}"#);
        assert_eq!(
            email_from_id_token(&token).as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(email_from_id_token(&jwt(r#"{"sub":"1"}"#)), None);
        assert_eq!(email_from_id_token("not-a-jwt"), None);
        assert_eq!(email_from_id_token("a.!!!.c"), None);
        // Padded payloads, which some encoders produce, read too.
        let padded = format!(
            "x.{}.y",
            base64::engine::general_purpose::URL_SAFE.encode(r#"{"email":"b@c.de"}"#)
        );
        assert_eq!(email_from_id_token(&padded).as_deref(), Some("b@c.de"));
    }

    #[tokio::test]
    async fn token_calls_can_run_on_spawned_tasks() {
        let oauth = std::sync::Arc::new(OAuth::new(&config("http://127.0.0.1:1")).unwrap());
        let secret = Secret::new("x");
        // Compiles only if the futures are `Send` for every lifetime, as tokio::spawn needs.
        let task = tokio::spawn(async move {
            let _ = oauth.exchange_code("c", &secret).await;
            let _ = oauth.refresh(&secret).await;
            oauth.revoke(&secret).await
        });
        assert!(matches!(task.await.unwrap(), Err(OAuthError::Transient(_))));
    }

    #[test]
    fn grants_know_their_scopes() {
        let grant = Grant {
            access: AccessToken {
                token: Secret::new("a"),
                expires_in: DEFAULT_EXPIRES_IN,
            },
            refresh_token: None,
            scopes: vec![SCOPE_EVENTS.into(), "openid".into()],
            email: None,
        };
        assert!(grant.has_scope(SCOPE_EVENTS));
        assert!(!grant.has_scope(SCOPE_FREEBUSY));
    }

    /// A token endpoint that answers by the code or refresh token it is sent.
    async fn token(
        headers: HeaderMap,
        Form(form): Form<Vec<(String, String)>>,
    ) -> impl IntoResponse {
        let get = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let json = |status: StatusCode, body: String| {
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        };
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !basic.starts_with("Basic ") {
            return json(
                StatusCode::UNAUTHORIZED,
                r#"{"error":"invalid_client"}"#.into(),
            );
        }
        let secret = get("code").to_string() + &get("refresh_token");
        match secret.as_str() {
            "good-code" => {
                assert_eq!(get("grant_type"), "authorization_code");
                assert_eq!(get("code_verifier"), "v".repeat(43));
                assert_eq!(
                    get("redirect_uri"),
                    "https://bot.example/oauth/google/callback"
                );
                let id_token = jwt(r#"{"email":"ada@example.com"}"#);
                json(
                    StatusCode::OK,
                    format!(
                        r#"{{"access_token":"ya29.access","expires_in":3599,"refresh_token":"1//refresh","scope":"{SCOPE_EVENTS} openid https://www.googleapis.com/auth/userinfo.email","token_type":"Bearer","id_token":"{id_token}"}}"#
                    ),
                )
            }
            "good-refresh" => json(
                StatusCode::OK,
                r#"{"access_token":"ya29.fresh","scope":"x","token_type":"Bearer"}"#.into(),
            ),
            "used-code" | "revoked-refresh" => json(
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_grant","error_description":"Bad Request"}"#.into(),
            ),
            "busy-code" => (StatusCode::SERVICE_UNAVAILABLE, "<html>busy</html>").into_response(),
            "slow-code" => json(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"error":"rate_limit_exceeded"}"#.into(),
            ),
            "odd-code" => json(
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_request","error_description":"Missing code verifier."}"#
                    .into(),
            ),
            "broken-code" => json(
                StatusCode::OK,
                r#"{"access_token":"ya29.leaked","token_type":"Bearer","expires_in":"soon"}"#
                    .into(),
            ),
            _ => json(StatusCode::BAD_REQUEST, r#"{"error":"unknown"}"#.into()),
        }
    }

    async fn revoke(Form(form): Form<Vec<(String, String)>>) -> impl IntoResponse {
        match form.first().map(|(k, v)| (k.as_str(), v.as_str())) {
            Some(("token", "live")) => (StatusCode::OK, "").into_response(),
            Some(("token", "gone")) => (
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_token","error_description":"Token expired or revoked"}"#,
            )
                .into_response(),
            Some(("token", "busy")) => (StatusCode::BAD_GATEWAY, "oops").into_response(),
            _ => (StatusCode::BAD_REQUEST, r#"{"error":"invalid_request"}"#).into_response(),
        }
    }

    async fn fake_google() -> String {
        let app = Router::new()
            .route("/token", post(token))
            .route("/revoke", post(revoke));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn token_requests_read_grants_and_sort_failures() {
        let oauth = OAuth::new(&config(&fake_google().await)).unwrap();
        let verifier = Secret::new("v".repeat(43));

        let grant = oauth.exchange_code("good-code", &verifier).await.unwrap();
        assert_eq!(grant.access.token.expose(), "ya29.access");
        assert_eq!(grant.access.expires_in, Duration::from_secs(3599));
        assert_eq!(grant.refresh_token.unwrap().expose(), "1//refresh");
        assert_eq!(grant.email.as_deref(), Some("ada@example.com"));
        assert!(grant.scopes.iter().any(|s| s == SCOPE_EVENTS));
        assert_eq!(grant.scopes.len(), 3);

        let access = oauth.refresh(&Secret::new("good-refresh")).await.unwrap();
        assert_eq!(access.token.expose(), "ya29.fresh");
        assert_eq!(access.expires_in, DEFAULT_EXPIRES_IN);

        let exchange = |code: &'static str| oauth.exchange_code(code, &verifier);
        assert_eq!(
            exchange("used-code").await.unwrap_err(),
            OAuthError::InvalidGrant
        );
        let refreshed = oauth.refresh(&Secret::new("revoked-refresh")).await;
        assert_eq!(refreshed.unwrap_err(), OAuthError::InvalidGrant);
        assert!(
            matches!(exchange("busy-code").await, Err(OAuthError::Transient(m)) if m.contains("503"))
        );
        assert!(
            matches!(exchange("slow-code").await, Err(OAuthError::Transient(m)) if m.contains("429"))
        );
        let odd = exchange("odd-code").await.unwrap_err();
        assert!(
            matches!(&odd, OAuthError::Permanent(m) if m.contains("invalid_request")),
            "{odd}"
        );
        let broken = exchange("broken-code").await.unwrap_err();
        assert!(matches!(&broken, OAuthError::Permanent(_)), "{broken}");
        assert!(!broken.to_string().contains("ya29") && !broken.to_string().contains("soon"));

        let mut closed = config("http://127.0.0.1:1");
        closed.timeout = Duration::from_secs(2);
        let unreachable = OAuth::new(&closed).unwrap();
        let error = unreachable
            .exchange_code("good-code", &verifier)
            .await
            .unwrap_err();
        assert!(matches!(&error, OAuthError::Transient(_)), "{error}");
        assert!(!error.to_string().contains("good-code"));
    }

    #[tokio::test]
    async fn revoking_a_live_or_gone_token_succeeds_and_failures_are_sorted() {
        let oauth = OAuth::new(&config(&fake_google().await)).unwrap();
        assert_eq!(oauth.revoke(&Secret::new("live")).await, Ok(()));
        assert_eq!(oauth.revoke(&Secret::new("gone")).await, Ok(()));
        let busy = oauth.revoke(&Secret::new("busy")).await.unwrap_err();
        assert!(matches!(&busy, OAuthError::Transient(_)), "{busy}");
        let other = oauth.revoke(&Secret::new("tok-other")).await.unwrap_err();
        assert!(
            matches!(&other, OAuthError::Permanent(m) if m.contains("invalid_request")),
            "{other}"
        );
        assert!(!other.to_string().contains("tok-other"));
    }
}
