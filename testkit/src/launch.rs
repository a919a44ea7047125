//! What the suites need to start the bot under test against the fakes.

/// A bot token of the right shape. The fake accepts any token, but mentorbot's configuration
/// refuses one that does not look like a token ([`FakeDiscord::TOKEN`] is too short).
///
/// [`FakeDiscord::TOKEN`]: crate::FakeDiscord::TOKEN
pub const BOT_TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";

/// A `TOKEN_ENCRYPTION_KEY` for the bot under test: 32 bytes (0, 1, … 31), base64.
pub const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A free port on loopback, bound and released at once: the bot binds it right after.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}
