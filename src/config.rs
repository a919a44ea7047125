//! Settings: read from a list of variables (the process environment plus `.env`, merged by
//! `main`), validated all at once, with one clear message naming the variable at fault.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::gcal::crypto::{Keyring, TokenKey};
use crate::gcal::{
    DEFAULT_AUTH_URL, DEFAULT_CALENDAR_BASE, DEFAULT_REVOKE_URL, DEFAULT_TOKEN_URL, GoogleConfig,
};
use crate::secret::Secret;
use crate::store::StoreOptions;

/// Everything the application needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DISCORD_TOKEN`: the bot token.
    pub discord_token: Secret,
    /// `DATABASE_URL`: the SQLite file.
    pub database: StoreOptions,
    /// `DISCORD_GUILD_ID`: register commands in this guild only.
    pub guild_id: Option<u64>,
    /// `DISCORD_API_BASE`: send Discord REST here instead of discord.com.
    pub discord_api_base: Option<String>,
    /// `RUST_LOG`: the tracing filter.
    pub log_filter: String,
    /// `HTTP_BIND`: where the embedded HTTP server listens.
    pub http_bind: SocketAddr,
    /// `PUBLIC_BASE_URL`: how browsers reach that server (no trailing slash).
    pub public_base_url: String,
    /// Google Calendar, when `GOOGLE_CLIENT_ID` is set.
    pub google: Option<GoogleSettings>,
    /// `MAX_UPCOMING_PER_MENTEE`: most upcoming sessions one member may hold as mentee, with
    /// all mentors together (`None`: no cap, from `0`).
    pub max_upcoming_per_mentee: Option<u32>,
    /// `WRITES_PER_MINUTE`: changes one user may make a minute (a burst of that many); 0 for
    /// no limit.
    pub writes_per_minute: u32,
}

/// Google Calendar's settings: the OAuth client, its endpoints and the token key.
#[derive(Debug, Clone)]
pub struct GoogleSettings {
    /// Client, endpoints, redirect URI.
    pub config: GoogleConfig,
    /// `TOKEN_ENCRYPTION_KEY` seals refresh tokens at rest; `TOKEN_ENCRYPTION_KEY_PREVIOUS`
    /// (optional) still opens those sealed before a rotation.
    pub key: Keyring,
}

/// A setting that is missing or malformed; its `Display` is the one line shown at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The variable at fault.
    pub variable: &'static str,
    /// What is wrong and how to fix it.
    pub problem: String,
}

fn error(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl Settings {
    /// Reads settings from `vars` (name -> value). Empty values count as unset.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Settings, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let token = get("DISCORD_TOKEN").ok_or_else(|| {
            error(
                "DISCORD_TOKEN",
                "not set. Create a bot at https://discord.com/developers/applications (Bot -> Reset Token) and put `DISCORD_TOKEN=...` in .env",
            )
        })?;
        if token.chars().any(char::is_whitespace) || token.len() < 20 {
            return Err(error(
                "DISCORD_TOKEN",
                "does not look like a bot token (copy it again from the Bot page of your application)",
            ));
        }

        let url = get("DATABASE_URL").unwrap_or("sqlite://mentorbot.db");
        let database = StoreOptions::from_url(url).map_err(|p| error("DATABASE_URL", p))?;

        let guild_id = get("DISCORD_GUILD_ID")
            .map(|v| {
                v.parse::<u64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                    error(
                        "DISCORD_GUILD_ID",
                        format!("`{v}` is not a server id (a number; right-click the server with Developer Mode on -> Copy Server ID)"),
                    )
                })
            })
            .transpose()?;

        let discord_api_base = get("DISCORD_API_BASE")
            .map(|v| {
                let base = v.trim_end_matches('/');
                if base.starts_with("http://") || base.starts_with("https://") {
                    Ok(base.to_owned())
                } else {
                    Err(error(
                        "DISCORD_API_BASE",
                        format!("`{v}` is not an http(s) URL, e.g. `http://127.0.0.1:9000`"),
                    ))
                }
            })
            .transpose()?;

        let log_filter = get("RUST_LOG").unwrap_or("info").to_owned();
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(error(
                "RUST_LOG",
                format!(
                    "`{log_filter}` is not a log filter, e.g. `info` or `mentorbot=debug,info`"
                ),
            ));
        }

        let http_bind = get("HTTP_BIND").unwrap_or("127.0.0.1:8080");
        let http_bind = http_bind.parse::<SocketAddr>().map_err(|_| {
            error(
                "HTTP_BIND",
                format!("`{http_bind}` is not an address and port, e.g. `127.0.0.1:8080` or `0.0.0.0:8080`"),
            )
        })?;
        let public_base_url = http_url(
            "PUBLIC_BASE_URL",
            get("PUBLIC_BASE_URL").unwrap_or("http://localhost:8080"),
            "https://mentorbot.example.org",
        )?;

        let google = match get("GOOGLE_CLIENT_ID") {
            None => None,
            Some(client_id) => {
                let secret = get("GOOGLE_CLIENT_SECRET").ok_or_else(|| {
                    error(
                        "GOOGLE_CLIENT_SECRET",
                        "not set, but GOOGLE_CLIENT_ID is: copy the client secret of the same OAuth client (Google Cloud console -> APIs & Services -> Credentials)",
                    )
                })?;
                let key = get("TOKEN_ENCRYPTION_KEY").ok_or_else(|| {
                    error(
                        "TOKEN_ENCRYPTION_KEY",
                        "required with Google Calendar: 32 random bytes in base64, e.g. from `openssl rand -base64 32`",
                    )
                })?;
                let key = TokenKey::parse(key)
                    .map_err(|e| error("TOKEN_ENCRYPTION_KEY", e.to_string()))?;
                let previous = get("TOKEN_ENCRYPTION_KEY_PREVIOUS")
                    .map(|k| {
                        TokenKey::parse(k)
                            .map_err(|e| error("TOKEN_ENCRYPTION_KEY_PREVIOUS", e.to_string()))
                    })
                    .transpose()?;
                let key = Keyring::new(key, previous);
                let mut config = GoogleConfig::new(
                    client_id.to_owned(),
                    Secret::new(secret),
                    format!("{public_base_url}/oauth/google/callback"),
                );
                for (variable, field, example) in [
                    ("GOOGLE_AUTH_URL", &mut config.auth_url, DEFAULT_AUTH_URL),
                    ("GOOGLE_TOKEN_URL", &mut config.token_url, DEFAULT_TOKEN_URL),
                    (
                        "GOOGLE_REVOKE_URL",
                        &mut config.revoke_url,
                        DEFAULT_REVOKE_URL,
                    ),
                    (
                        "GOOGLE_CALENDAR_API_BASE",
                        &mut config.calendar_base,
                        DEFAULT_CALENDAR_BASE,
                    ),
                ] {
                    if let Some(value) = get(variable) {
                        *field = http_url(variable, value, example)?;
                    }
                }
                Some(GoogleSettings { config, key })
            }
        };

        let max_upcoming_per_mentee = match get("MAX_UPCOMING_PER_MENTEE") {
            None => Some(crate::service::DEFAULT_MAX_UPCOMING),
            Some(v) => match v.parse::<u32>() {
                Ok(0) => None,
                Ok(n) if n <= 1000 => Some(n),
                _ => {
                    return Err(error(
                        "MAX_UPCOMING_PER_MENTEE",
                        format!("`{v}` is not a number from 0 (no cap) to 1000"),
                    ));
                }
            },
        };

        let writes_per_minute = match get("WRITES_PER_MINUTE") {
            None => crate::discord::throttle::DEFAULT_WRITES_PER_MINUTE,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 10_000)
                .ok_or_else(|| {
                    error(
                        "WRITES_PER_MINUTE",
                        format!("`{v}` is not a number from 0 (no limit) to 10000"),
                    )
                })?,
        };

        Ok(Settings {
            discord_token: Secret::new(token),
            database,
            guild_id,
            discord_api_base,
            log_filter,
            http_bind,
            public_base_url,
            google,
            max_upcoming_per_mentee,
            writes_per_minute,
        })
    }
}

/// An http(s) URL without its trailing slash.
fn http_url(variable: &'static str, value: &str, example: &str) -> Result<String, ConfigError> {
    let url = value.trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.chars().any(char::is_whitespace) => {
            Ok(url.to_owned())
        }
        _ => Err(error(
            variable,
            format!("`{value}` is not an http(s) URL, e.g. `{example}`"),
        )),
    }
}

/// The variables of a `.env` file (none if there is no file). A line that can't be read is
/// named by its number and variable, never echoed: it may hold a secret.
pub fn dotenv_vars(path: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(e) if e.not_found() => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut vars = Vec::new();
    for item in iter {
        match item {
            Ok(pair) => vars.push(pair),
            Err(dotenvy::Error::LineParse(line, _)) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                return Err(unreadable_line(path, &text, &line));
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Ok(vars)
}

/// "`.env` line N (`NAME`) can't be read …" for the `line` dotenvy refused in `text`.
fn unreadable_line(path: &std::path::Path, text: &str, line: &str) -> String {
    let number = text
        .find(line)
        .map(|at| text[..at].matches('\n').count() + 1);
    let name = line
        .trim_start()
        .trim_start_matches("export ")
        .split('=')
        .next()
        .map(str::trim)
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        });
    let place = match (number, name) {
        (Some(n), Some(name)) => format!("line {n} ({name})"),
        (Some(n), None) => format!("line {n}"),
        (None, Some(name)) => format!("the line of {name}"),
        (None, None) => "a line".to_owned(),
    };
    format!(
        "{}: {place} can't be read; check its quotes and escapes (a value with spaces or `#` needs quotes)",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unreadable_env_line_is_named_by_number_and_variable_never_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# comment\nDISCORD_APPLICATION=1\nDISCORD_TOKEN=\"s3cret-token\\q\nLOG=info\n",
        )
        .unwrap();
        let error = super::dotenv_vars(&path).unwrap_err();
        assert!(
            error.contains("line 3 (DISCORD_TOKEN) can't be read"),
            "{error}"
        );
        assert!(!error.contains("s3cret"), "{error}");
    }

    #[test]
    fn a_missing_env_file_is_no_variables_and_a_good_one_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        assert_eq!(super::dotenv_vars(&path).unwrap(), vec![]);
        std::fs::write(&path, "A=1\nexport B=\"two words\"\n").unwrap();
        assert_eq!(
            super::dotenv_vars(&path).unwrap(),
            vec![("A".into(), "1".into()), ("B".into(), "two words".into())]
        );
    }

    use super::*;

    const TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_fill_everything_but_the_token() {
        let s = Settings::from_vars(&vars(&[("DISCORD_TOKEN", TOKEN)])).unwrap();
        assert_eq!(s.database.path.to_str(), Some("mentorbot.db"));
        assert_eq!(s.guild_id, None);
        assert_eq!(s.log_filter, "info");
        assert_eq!(s.discord_token.expose(), TOKEN);
    }

    #[test]
    fn a_missing_token_names_the_variable_and_how_to_get_one() {
        let e = Settings::from_vars(&vars(&[])).unwrap_err();
        assert_eq!(e.variable, "DISCORD_TOKEN");
        assert!(
            e.to_string()
                .contains("discord.com/developers/applications")
        );
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (name, value) in [
            ("DISCORD_GUILD_ID", "my-server"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("DISCORD_API_BASE", "127.0.0.1:9000"),
            ("RUST_LOG", "info,[[["),
        ] {
            let e =
                Settings::from_vars(&vars(&[("DISCORD_TOKEN", TOKEN), (name, value)])).unwrap_err();
            assert_eq!(e.variable, name, "{e}");
        }
        let e = Settings::from_vars(&vars(&[("DISCORD_TOKEN", "short")])).unwrap_err();
        assert_eq!(e.variable, "DISCORD_TOKEN");
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let s = Settings::from_vars(&vars(&[("DISCORD_TOKEN", TOKEN)])).unwrap();
        assert!(!format!("{s:?}").contains(TOKEN));
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn google_is_off_without_a_client_id_and_the_http_server_has_defaults() {
        let s = Settings::from_vars(&vars(&[("DISCORD_TOKEN", TOKEN)])).unwrap();
        assert!(s.google.is_none());
        assert_eq!(s.http_bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_base_url, "http://localhost:8080");
    }

    #[test]
    fn google_settings_derive_the_redirect_uri_from_the_public_base_url() {
        let s = Settings::from_vars(&vars(&[
            ("DISCORD_TOKEN", TOKEN),
            ("GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com"),
            ("GOOGLE_CLIENT_SECRET", "shh-secret"),
            ("TOKEN_ENCRYPTION_KEY", KEY),
            ("PUBLIC_BASE_URL", "https://bot.example.org/"),
            ("GOOGLE_TOKEN_URL", "http://127.0.0.1:9/token"),
        ]))
        .unwrap();
        let google = s.google.unwrap();
        assert_eq!(
            google.config.redirect_url,
            "https://bot.example.org/oauth/google/callback"
        );
        assert_eq!(google.config.token_url, "http://127.0.0.1:9/token");
        assert_eq!(
            google.config.auth_url,
            "https://accounts.google.com/o/oauth2/v2/auth"
        );
        assert!(!format!("{google:?}").contains("shh-secret"));
    }

    #[test]
    fn google_without_a_usable_token_key_stops_start_up_naming_the_key() {
        for key in [None, Some("not base64!"), Some("c2hvcnQ=")] {
            let mut pairs = vec![
                ("DISCORD_TOKEN", TOKEN),
                ("GOOGLE_CLIENT_ID", "id"),
                ("GOOGLE_CLIENT_SECRET", "secret"),
            ];
            if let Some(key) = key {
                pairs.push(("TOKEN_ENCRYPTION_KEY", key));
            }
            let e = Settings::from_vars(&vars(&pairs)).unwrap_err();
            assert_eq!(e.variable, "TOKEN_ENCRYPTION_KEY", "{e}");
        }
    }

    #[test]
    fn a_malformed_previous_token_key_stops_start_up_naming_it_without_echoing_it() {
        let e = Settings::from_vars(&vars(&[
            ("DISCORD_TOKEN", TOKEN),
            ("GOOGLE_CLIENT_ID", "id"),
            ("GOOGLE_CLIENT_SECRET", "secret"),
            ("TOKEN_ENCRYPTION_KEY", KEY),
            ("TOKEN_ENCRYPTION_KEY_PREVIOUS", "old key!"),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "TOKEN_ENCRYPTION_KEY_PREVIOUS", "{e}");
        assert!(!e.to_string().contains("old key!"), "{e}");
    }

    #[test]
    fn malformed_http_settings_name_their_variable() {
        for (name, value) in [
            ("HTTP_BIND", "localhost"),
            ("PUBLIC_BASE_URL", "bot.example.org"),
        ] {
            let e =
                Settings::from_vars(&vars(&[("DISCORD_TOKEN", TOKEN), (name, value)])).unwrap_err();
            assert_eq!(e.variable, name, "{e}");
        }
    }

    #[test]
    fn database_urls_accept_the_usual_spellings() {
        for (url, path) in [
            ("sqlite://data/bot.db", "data/bot.db"),
            ("sqlite:bot.db", "bot.db"),
            (
                "sqlite:///var/lib/mentorbot/bot.db?mode=rwc",
                "/var/lib/mentorbot/bot.db",
            ),
            ("bot.db", "bot.db"),
        ] {
            let s = Settings::from_vars(&vars(&[("DISCORD_TOKEN", TOKEN), ("DATABASE_URL", url)]))
                .unwrap();
            assert_eq!(s.database.path.to_str(), Some(path));
        }
    }
}
