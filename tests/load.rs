//! Short versions of the load, crash and fault-mix runs (`examples/load.rs` runs the full
//! sizes): the real `mentorbot` binary as a separate process against the fake Discord and the
//! fake Google on 127.0.0.1, many users at once, and invariants checked straight from the
//! database afterwards. Nothing here asserts on speed except Discord's 3 s.
//!
//! The runs take turns (one at a time), so that none of them shares the two cores with
//! another.

use std::time::Duration;

use loadtest::{BotCommand, Config, Report};
use tokio::sync::Semaphore;

static ONE_AT_A_TIME: Semaphore = Semaphore::const_new(1);

fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::new(
        BotCommand::new(env!("CARGO_BIN_EXE_mentorbot")),
        dir.join("work"),
    );
    config.mentees = 20;
    config.mentors = 3;
    config.think = Duration::from_millis(300);
    config.drain_timeout = Duration::from_secs(60);
    config
}

/// Runs `config`, printing the report, and checks what every run must hold.
async fn run(config: Config) -> Report {
    let _turn = ONE_AT_A_TIME
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let report = loadtest::run(config).await;
    println!("{report}");
    assert!(
        report.problems().is_empty(),
        "problems: {:#?}\n{report}",
        report.problems()
    );
    assert_eq!(report.invariants.double_bookings, 0, "{report}");
    assert_eq!(
        report.bot_log_errors, 0,
        "the bot logged ERROR lines: {:#?}\n{report}",
        report.bot_log_samples
    );
    assert!(report.bookings > 0, "nothing was booked:\n{report}");
    assert_eq!(
        report.bot_exits.last().map(String::as_str),
        Some("exit status 0"),
        "the bot stops cleanly on SIGTERM after the load:\n{report}"
    );
    report
}

fn outcome(report: &Report, what: &str) -> usize {
    report.outcomes.get(what).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_mentees_booking_cancelling_and_rescheduling_for_twenty_seconds_leave_no_double_booking_and_lose_nothing()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.duration = Duration::from_secs(20);
    config.seed = 11;
    let report = run(config).await;
    for what in ["cancelled", "moved", "listed", "slot taken"] {
        assert!(outcome(&report, what) > 0, "no `{what}` at all:\n{report}");
    }
    assert_eq!(report.dms.repeated, 0, "{report}");
    assert!(report.memory.idle_kib > 0 && report.memory.peak_kib >= report.memory.idle_kib);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_killed_twice_under_load_restarts_and_keeps_every_acknowledged_booking_event_and_dm_job()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.duration = Duration::from_secs(30);
    config.kills = 2;
    config.seed = 22;
    let report = run(config).await;
    assert_eq!(report.crashes.kills, 2, "{report}");
    // Each kill landed mid-work: an interaction or a Google request was in flight.
    assert_eq!(report.crashes.in_flight_at_kill.len(), 2, "{report}");
    assert!(
        report
            .crashes
            .in_flight_at_kill
            .iter()
            .all(|(interactions, google)| interactions + google > 0),
        "a kill interrupted nothing:\n{report}"
    );
    assert_eq!(
        report
            .bot_exits
            .iter()
            .filter(|e| e.contains("SIGKILL"))
            .count(),
        2,
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_google_failing_a_fifth_of_requests_and_discord_limiting_dms_every_interaction_is_answered_within_three_seconds()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.duration = Duration::from_secs(20);
    config.faults = true;
    config.seed = 33;
    let report = run(config).await;
    assert!(
        report.google_faults > 0,
        "no Google fault injected:\n{report}"
    );
    assert!(report.dms.rate_limited > 0, "no DM rate limited:\n{report}");
    assert!(report.dms.closed > 0, "no DM refused with 50007:\n{report}");
    assert_eq!(report.dms.repeated, 0, "{report}");
}
