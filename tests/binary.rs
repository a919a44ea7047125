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
fn a_good_configuration_creates_and_migrates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = mentorbot(dir.path())
        .env("DISCORD_TOKEN", TOKEN)
        .env("DATABASE_URL", "sqlite://data.db")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(dir.path().join("data.db").exists());
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
}
