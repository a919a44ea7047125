//! The `mentorbot` binary as an operator meets it: bad configuration is one clear line and
//! exit status 2; good configuration creates and migrates the database.

use std::process::Command;

use testkit::BOT_TOKEN;

fn mentorbot(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mentorbot"));
    // A clean environment and a directory without .env: nothing of the developer's leaks in.
    cmd.env_clear().current_dir(dir);
    cmd
}

#[test]
fn a_missing_token_is_one_line_naming_it_and_exit_status_two() {
    let dir = tempfile::tempdir().unwrap();
    let out = mentorbot(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DISCORD_TOKEN"), "{stderr}");
    assert!(
        !dir.path().join("mentorbot.db").exists(),
        "nothing is created"
    );
}

#[test]
fn a_malformed_setting_in_dot_env_is_named_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("DISCORD_TOKEN={BOT_TOKEN}\nDISCORD_GUILD_ID=my-server\n"),
    )
    .unwrap();
    let out = mentorbot(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DISCORD_GUILD_ID"), "{stderr}");
    assert!(
        !stderr.contains(BOT_TOKEN),
        "the token never reaches the output"
    );
}

#[test]
fn an_unreadable_dot_env_line_is_named_by_number_and_variable_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("LOG=info\nDISCORD_TOKEN=\"{BOT_TOKEN}\\q\n"),
    )
    .unwrap();
    let out = mentorbot(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".env: line 2 (DISCORD_TOKEN) can't be read"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(BOT_TOKEN),
        "the token never reaches the output"
    );
}

#[test]
fn the_database_is_migrated_before_connecting_and_a_refused_connection_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 on loopback refuses connections: no request leaves the machine.
    let out = mentorbot(dir.path())
        .env("DISCORD_TOKEN", BOT_TOKEN)
        .env("DATABASE_URL", "sqlite://data.db")
        .env("DISCORD_API_BASE", "http://127.0.0.1:9")
        .env("HTTP_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(dir.path().join("data.db").exists());
    assert!(!stdout.contains("panicked") && !stderr.contains("panicked"));
    assert!(!stdout.contains(BOT_TOKEN) && !stderr.contains(BOT_TOKEN));
}

#[test]
fn a_second_bot_on_the_same_database_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let lock = std::fs::File::create(dir.path().join("data.db.lock")).unwrap();
    lock.try_lock().unwrap();
    let out = mentorbot(dir.path())
        .env("DISCORD_TOKEN", BOT_TOKEN)
        .env("DATABASE_URL", "sqlite://data.db")
        .env("DISCORD_API_BASE", "http://127.0.0.1:9")
        .env("HTTP_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
}

/// The real binary, talking to the fake Discord, at the chattiest log level: neither the bot
/// token nor an interaction token may reach its output, and SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_the_bot_token_or_interaction_tokens_and_sigterm_stops_the_bot() {
    use testkit::{FakeDiscord, Opt, Place};
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let child = mentorbot(dir.path())
        .env("DISCORD_TOKEN", BOT_TOKEN)
        .env("DATABASE_URL", "sqlite://bot.db")
        .env("DISCORD_API_BASE", fake.api_base())
        .env("HTTP_BIND", "127.0.0.1:0")
        .env("DISCORD_GUILD_ID", fake.guild_id().to_string())
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    fake.wait_ready(std::time::Duration::from_secs(15))
        .await
        .unwrap();
    fake.wait_commands(std::time::Duration::from_secs(15))
        .await
        .unwrap();
    let mentor = fake.user("mentor");
    let mut tokens = Vec::new();
    for (path, options) in [
        ("timezone set", vec![Opt::str("zone", "Mars/Olympus")]),
        (
            "availability set",
            vec![
                Opt::str("days", "everyday"),
                Opt::str("hours", "00:00-24:00"),
                Opt::str("timezone", "UTC"),
            ],
        ),
        ("bookings", vec![]),
    ] {
        let pending = fake.slash(&mentor, Place::Guild, path, options).await;
        pending.settled().await.unwrap();
        tokens.push(pending.token());
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "SIGTERM is a clean stop: {:?}",
        out.status
    );
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        logs.contains("commands registered"),
        "the bot logged at all: {logs}"
    );
    assert!(!logs.contains(BOT_TOKEN), "bot token in the logs");
    for token in tokens {
        assert!(!token.is_empty());
        assert!(!logs.contains(&token), "interaction token in the logs");
    }
}

/// The real binary with Google Calendar on, at the chattiest log level, through a whole
/// connect and a booking synced to the fake Google: no Google secret reaches its output —
/// not the client secret, the token key, the OAuth code, the connect cookie, or any access or
/// refresh token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_google_secrets_through_a_connect_and_a_synced_booking() {
    use testkit::{FakeDiscord, FakeGoogle, Opt, Place};
    let fake = FakeDiscord::start().await;
    let google = FakeGoogle::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let key = testkit::TOKEN_KEY;
    let child = mentorbot(dir.path())
        .envs(testkit::bot_env(
            &fake,
            Some(&google),
            &dir.path().join("bot.db"),
            port,
        ))
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let wait = std::time::Duration::from_secs(15);
    fake.wait_ready(wait).await.unwrap();
    fake.wait_commands(wait).await.unwrap();
    let mentor = fake.user("mentor");
    let mentee = fake.user("mentee");
    let slash = |who, path, options| {
        let fake = fake.clone();
        async move {
            fake.slash(who, Place::Guild, path, options)
                .await
                .settled()
                .await
                .unwrap()
        }
    };
    slash(
        &mentor,
        "availability set",
        vec![
            Opt::str("days", "everyday"),
            Opt::str("hours", "00:00-24:00"),
            Opt::str("timezone", "UTC"),
        ],
    )
    .await;
    let link = slash(&mentor, "calendar connect", vec![])
        .await
        .button_id("Connect")
        .unwrap();
    let browser = testkit::browser::Browser::new();
    let (_, next) = browser.open_and_continue(&link).await.unwrap();
    assert_eq!(next.status, 303, "{}", next.body);
    let cookie = browser.cookie(&link, "mentorbot_connect").unwrap();
    let callback = browser
        .get(&next.location.unwrap())
        .await
        .unwrap()
        .location
        .unwrap();
    let code = callback
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    assert!(!code.is_empty());
    let page = browser.get(&callback).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    testkit::browser::confirm_in_dm(&fake, &mentor, wait)
        .await
        .unwrap();
    let picker = slash(&mentee, "book", vec![Opt::user("mentor", &mentor)]).await;
    let select = picker.selects()[0].clone();
    let value = picker.select_options(&select)[0].1.clone();
    let chosen = fake
        .select(&mentee, &picker, &select, &[&value])
        .await
        .settled()
        .await
        .unwrap();
    let confirm = chosen.button_id("Confirm").unwrap();
    fake.click(&mentee, &chosen, &confirm)
        .await
        .settled()
        .await
        .unwrap();
    assert!(
        google
            .wait_until(wait, |g| g
                .live_events(FakeGoogle::DEFAULT_EMAIL)
                .iter()
                .any(|e| e.meet_link.is_some()))
            .await
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(logs.contains("Google Calendar connected"), "{logs}");
    let mut secrets = vec![
        FakeGoogle::CLIENT_SECRET.to_owned(),
        key.to_owned(),
        code,
        cookie,
        BOT_TOKEN.to_owned(),
    ];
    secrets.extend(google.refresh_tokens());
    secrets.extend(google.access_tokens());
    for secret in secrets {
        assert!(!logs.contains(&secret), "a secret in the logs");
    }
}
