//! Double booking under concurrency: many tasks on a pool of connections, and two separate
//! OS processes, racing for identical and partially overlapping times. Afterwards a
//! self-join straight on the database must find no two overlapping active bookings that
//! share a person, and every loser must have been told with a typed conflict — never a
//! SQLITE_BUSY or "database is locked".

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::{request, utc};
use mentorbot::domain::{BookingId, UserId};
use mentorbot::scheduling::booking::Rejection;
use mentorbot::scheduling::interval::Interval;
use mentorbot::service::{Service, ServiceError, SettingsPatch};
use mentorbot::store::{NewBooking, Store, StoreError, StoreOptions};
use sqlx::Connection;

/// Monday 2026-11-23 00:00 UTC; the racing slots are on Tuesday 09:00-13:00 UTC.
const NOW: &str = "2026-11-23T00:00:00Z";
/// Mentor with 30-minute sessions from 09:00.
const M: UserId = UserId(900_000_000_000_000_001);
/// Mentor with 45-minute sessions from 09:15, whose slots cut across M's.
const N: UserId = UserId(900_000_000_000_000_002);

/// Active bookings that share a person and overlap in time, counted by a self-join.
async fn overlapping_pairs(path: &Path) -> i64 {
    let url = format!("sqlite://{}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_scalar(
        "SELECT count(*) FROM bookings a JOIN bookings b ON a.id < b.id
         WHERE a.status = 'active' AND b.status = 'active'
           AND a.start_at < b.end_at AND b.start_at < a.end_at
           AND (a.mentor_id IN (b.mentor_id, b.mentee_id) OR a.mentee_id IN (b.mentor_id, b.mentee_id))",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

async fn active_bookings(path: &Path) -> i64 {
    let url = format!("sqlite://{}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_scalar("SELECT count(*) FROM bookings WHERE status = 'active'")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

async fn two_mentors(service: &Service) {
    let now = utc(NOW);
    service
        .set_availability(M, "everyday", "09:00-13:00", Some("UTC"), now)
        .await
        .unwrap();
    service
        .set_availability(N, "everyday", "09:15-13:00", Some("UTC"), now)
        .await
        .unwrap();
    let patch = SettingsPatch {
        session_minutes: Some(45),
        ..SettingsPatch::default()
    };
    service.update_settings(N, patch, now).await.unwrap();
}

#[derive(Debug, Default)]
struct Tally {
    booked: Vec<BookingId>,
    conflicts: usize,
    other: Vec<String>,
}

/// One racer: `attempts` bookings, each either a mentee booking M at one of M's slots
/// (identical intervals across racers) or M booking N at one of N's slots (cutting across
/// M's bookings as mentor). All on Tuesday 2026-11-24.
async fn race(service: &Service, mentee: UserId, seed: u64, attempts: usize) -> Tally {
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut tally = Tally::default();
    for _ in 0..attempts {
        let req = if rng.next(3) == 0 {
            let minutes = 9 * 60 + 15 + 45 * rng.next(5) as i64;
            let start = format!("2026-11-24T{:02}:{:02}:00Z", minutes / 60, minutes % 60);
            request(N, M, &start)
        } else {
            let minutes = 9 * 60 + 30 * rng.next(8) as i64;
            let start = format!("2026-11-24T{:02}:{:02}:00Z", minutes / 60, minutes % 60);
            request(M, mentee, &start)
        };
        match service.book(&req, utc(NOW)).await {
            Ok(b) => tally.booked.push(b.id),
            Err(ServiceError::Rejected(Rejection::SlotTaken | Rejection::MenteeBusy)) => {
                tally.conflicts += 1
            }
            Err(e) => tally.other.push(format!("{e:?}")),
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_racers_on_eight_connections_never_double_book_and_losers_get_a_typed_conflict() {
    let (service, dir) = common::service_with(|o| StoreOptions {
        read_connections: 8,
        write_connections: 8,
        ..o
    })
    .await;
    two_mentors(&service).await;
    let start = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for t in 0..50u64 {
        let service = service.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            race(&service, UserId(800_000_000_000_000_000 + t), t + 1, 20).await
        }));
    }
    let mut booked = Vec::new();
    let mut conflicts = 0;
    let mut other = Vec::new();
    for task in tasks {
        let tally = task.await.unwrap();
        booked.extend(tally.booked);
        conflicts += tally.conflicts;
        other.extend(tally.other);
    }
    let path = dir.path().join("mentorbot.db");
    assert!(other.is_empty(), "untyped failures: {other:?}");
    assert_eq!(booked.len() + conflicts, 1000);
    assert_eq!(overlapping_pairs(&path).await, 0);
    assert_eq!(active_bookings(&path).await, booked.len() as i64);
    // M's four hours hold at most eight sessions in either role; the race filled them.
    assert!((5..=8).contains(&booked.len()), "{} bookings", booked.len());
    for id in &booked {
        assert!(service.store().booking(id).await.unwrap().is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn raw_inserts_that_skip_every_check_are_still_stopped_by_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.db");
    let store = Store::open(&StoreOptions {
        write_connections: 8,
        ..StoreOptions::new(&path)
    })
    .await
    .unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for t in 0..50u64 {
        let store = store.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = XorShift((t + 1) * 7919);
            let mut results = Vec::new();
            start.wait().await;
            for i in 0..20u64 {
                // Any 5-minute start in 09:00-13:00, 15-90 minutes long: identical and
                // partially overlapping intervals, all for mentor 1.
                let from = utc("2026-11-24T09:00:00Z")
                    + chrono::Duration::minutes(5 * rng.next(48) as i64);
                let length = chrono::Duration::minutes(15 * (1 + rng.next(6) as i64));
                let booking = NewBooking {
                    id: BookingId::from_random(((t * 20 + i) as u32) << 4),
                    mentor: UserId(1),
                    mentee: UserId(1000 + t * 20 + i),
                    mentor_name: "m".into(),
                    mentee_name: "e".into(),
                    interval: Interval::starting_at(from, length).unwrap(),
                    calendar_status: mentorbot::domain::CalendarStatus::NotConnected,
                    now: utc(NOW),
                    guild: None,
                };
                let mut tx = store.write().await.unwrap();
                let result = tx.insert_booking(&booking).await;
                if result.is_ok() {
                    tx.commit().await.unwrap();
                }
                results.push(result);
            }
            results
        }));
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for task in tasks {
        for result in task.await.unwrap() {
            let kind = match result {
                Ok(()) => "ok",
                Err(StoreError::Overlap) => "overlap",
                Err(e) => panic!("untyped failure: {e:?}"),
            };
            *counts.entry(kind).or_default() += 1;
        }
    }
    assert_eq!(counts.values().sum::<usize>(), 1000);
    assert!(counts["overlap"] > 900, "{counts:?}");
    assert_eq!(overlapping_pairs(&path).await, 0);
    assert_eq!(active_bookings(&path).await, counts["ok"] as i64);
}

const CHILD_DB: &str = "MENTORBOT_TEST_CHILD_DB";
const CHILD_SEED: &str = "MENTORBOT_TEST_CHILD_SEED";

/// Run only as a child of the two-process test (it sets the variables); a no-op otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "started by two_os_processes_writing_one_file_never_double_book"]
async fn child_process_racer() {
    let (Ok(path), Ok(seed)) = (std::env::var(CHILD_DB), std::env::var(CHILD_SEED)) else {
        return;
    };
    let seed: u64 = seed.parse().unwrap();
    let store = Store::open(&StoreOptions::new(path)).await.unwrap();
    let service = Service::new(store);
    let mut tasks = Vec::new();
    for t in 0..10u64 {
        let service = service.clone();
        tasks.push(tokio::spawn(async move {
            race(
                &service,
                UserId(700_000_000_000_000_000 + seed * 100 + t),
                seed * 100 + t,
                20,
            )
            .await
        }));
    }
    let (mut booked, mut conflicts, mut other) = (0, 0, 0);
    for task in tasks {
        let tally = task.await.unwrap();
        booked += tally.booked.len();
        conflicts += tally.conflicts;
        other += tally.other.len();
        for e in tally.other {
            eprintln!("untyped failure: {e}");
        }
    }
    println!("RACER booked={booked} conflicts={conflicts} other={other}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_os_processes_writing_one_file_never_double_book() {
    let (service, dir) = common::service().await;
    two_mentors(&service).await;
    service.store().close().await;
    let path = dir.path().join("mentorbot.db");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (1..=2u64)
        .map(|seed| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "child_process_racer",
                    "--ignored",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env(CHILD_DB, &path)
                .env(CHILD_SEED, seed.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let (mut booked, mut attempts) = (0, 0);
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // libtest may print the test's name on the same line.
        let line = stdout
            .lines()
            .find_map(|l| l.find("RACER ").map(|at| &l[at..]))
            .expect("child reported");
        let field = |name: &str| -> usize {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .unwrap()
                .parse()
                .unwrap()
        };
        assert_eq!(
            field("other"),
            0,
            "a child saw an untyped failure: {stdout}"
        );
        booked += field("booked");
        attempts += field("booked") + field("conflicts");
    }
    assert_eq!(attempts, 400);
    assert_eq!(overlapping_pairs(&path).await, 0);
    assert_eq!(active_bookings(&path).await, booked as i64);
    assert!(booked >= 5, "{booked} bookings");
}
