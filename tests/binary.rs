//! The `mentorbot` binary as an operator meets it: bad configuration is one clear line and
//! exit status 2; good configuration creates and migrates the database.

use std::process::Command;

fn mentorbot(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mentorbot"));
    // A clean environment and a directory without .env: nothing of the developer's leaks in.
    cmd.env_clear().current_dir(dir);
    cmd
}

const TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";

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
        format!("DISCORD_TOKEN={TOKEN}\nDISCORD_GUILD_ID=my-server\n"),
    )
    .unwrap();
    let out = mentorbot(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DISCORD_GUILD_ID"), "{stderr}");
    assert!(
        !stderr.contains(TOKEN),
        "the token never reaches the output"
    );
}

#[test]
fn the_database_is_migrated_before_connecting_and_a_refused_connection_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 on loopback refuses connections: no request leaves the machine.
    let out = mentorbot(dir.path())
        .env("DISCORD_TOKEN", TOKEN)
        .env("DATABASE_URL", "sqlite://data.db")
        .env("DISCORD_API_BASE", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(dir.path().join("data.db").exists());
    assert!(!stdout.contains("panicked") && !stderr.contains("panicked"));
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
}

#[test]
fn a_second_bot_on_the_same_database_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let lock = std::fs::File::create(dir.path().join("data.db.lock")).unwrap();
    lock.try_lock().unwrap();
    let out = mentorbot(dir.path())
        .env("DISCORD_TOKEN", TOKEN)
        .env("DATABASE_URL", "sqlite://data.db")
        .env("DISCORD_API_BASE", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already running"), "{stderr}");
}
