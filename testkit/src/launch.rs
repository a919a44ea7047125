//! What the suites need to start the bot under test against the fakes.

use std::path::Path;

use crate::{FakeDiscord, FakeGoogle};

/// A bot token of the right shape. The fake accepts any token, but mentorbot's configuration
/// refuses one that does not look like a token ([`FakeDiscord::TOKEN`] is too short).
///
/// [`FakeDiscord::TOKEN`]: crate::FakeDiscord::TOKEN
pub const BOT_TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";

/// A `TOKEN_ENCRYPTION_KEY` for the bot under test: 32 bytes (0, 1, … 31), base64.
pub const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A free port on loopback for the bot to bind right after. Taken from below the kernel's
/// ephemeral range (32768 and up on Linux), which the kernel never hands out on its own, and
/// never twice in one process: so no other socket of the test run can take it in between
/// (a port 0 bind released at once could be reused by any outgoing connection).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    // Each process starts at its own place, in case two test processes run at once.
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 60) as u16 * 200;
    for _ in 0..12_000 {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % 12_000;
        let port = 20_000 + (base - 20_000 + offset) % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on loopback between 20000 and 31999")
}

/// The bot's settings (environment variables) for a run against these fakes: Discord at
/// `fake`, the database at `db`, its HTTP server on `port` of loopback, and Google Calendar
/// at `google` when given (off without it; the bot's OAuth redirect URI is registered with
/// it, as an operator registers it in Google's console).
pub fn bot_env(
    fake: &FakeDiscord,
    google: Option<&FakeGoogle>,
    db: &Path,
    port: u16,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("DISCORD_TOKEN", BOT_TOKEN.to_owned()),
        ("DATABASE_URL", format!("sqlite://{}", db.display())),
        ("DISCORD_API_BASE", fake.api_base()),
        ("DISCORD_GUILD_ID", fake.guild_id().to_string()),
        ("HTTP_BIND", format!("127.0.0.1:{port}")),
        ("PUBLIC_BASE_URL", format!("http://127.0.0.1:{port}")),
        // Tests and load runs act faster than people; tests of the limit set their own.
        ("WRITES_PER_MINUTE", "10000".to_owned()),
    ];
    if let Some(google) = google {
        google.register_redirect_uri(&format!("http://127.0.0.1:{port}/oauth/google/callback"));
        env.extend([
            ("GOOGLE_CLIENT_ID", FakeGoogle::CLIENT_ID.to_owned()),
            ("GOOGLE_CLIENT_SECRET", FakeGoogle::CLIENT_SECRET.to_owned()),
            ("TOKEN_ENCRYPTION_KEY", TOKEN_KEY.to_owned()),
            ("GOOGLE_AUTH_URL", google.auth_url()),
            ("GOOGLE_TOKEN_URL", google.token_url()),
            ("GOOGLE_REVOKE_URL", google.revoke_url()),
            ("GOOGLE_CALENDAR_API_BASE", google.calendar_base()),
        ]);
    }
    env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
