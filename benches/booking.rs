//! `booking`: what one write costs on a real on-disk WAL file with `synchronous=FULL`.
//!
//! - `fsync_4k`: raw `write` + `fsync` of 4 KiB on the same disk (the floor under any commit);
//! - `raw_insert_commit`: single-row `BEGIN IMMEDIATE; INSERT; COMMIT` on one connection with
//!   the store's settings — the most commits per second the file can take;
//! - `service_book_50_concurrent`: `Service::book` (every rule re-checked, booking + two DM
//!   jobs written) by 50 concurrent bookers; criterion's time per element is the amortised
//!   cost of one booking, and its throughput is bookings per second.
//!
//! After the runs the bench prints the per-booking latency percentiles (as the bookers saw
//! them, queueing included) and the service/raw throughput ratio.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group};
use mentorbot::domain::UserId;
use mentorbot::service::{BookRequest, Service, SettingsPatch};
use mentorbot::store::{Store, StoreOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use tokio::runtime::Runtime;

const BOOKERS: u64 = 50;

fn bench_dir() -> PathBuf {
    // On the target directory's disk, never tmpfs: the point is the real fsync.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("booking-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[derive(Default)]
struct Figures {
    raw_per_commit: Option<Duration>,
    service_per_booking: Option<Duration>,
    latencies: Vec<Duration>,
}

fn fsync(c: &mut Criterion, dir: &Path) {
    let path = dir.join("fsync.bin");
    let block = [0x5au8; 4096];
    c.bench_function("booking/fsync_4k", |b| {
        b.iter_custom(|iters| {
            let mut file = std::fs::File::create(&path).unwrap();
            let started = Instant::now();
            for _ in 0..iters {
                file.write_all(&block).unwrap();
                file.sync_data().unwrap();
            }
            started.elapsed()
        })
    });
}

fn raw(c: &mut Criterion, rt: &Runtime, dir: &Path, figures: &Mutex<Figures>) {
    let options = SqliteConnectOptions::new()
        .filename(dir.join("raw.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true);
    let mut conn = rt.block_on(async {
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    });
    let mut group = c.benchmark_group("booking");
    group.throughput(Throughput::Elements(1));
    let mut total = (Duration::ZERO, 0u64);
    group.bench_function("raw_insert_commit", |b| {
        b.iter_custom(|iters| {
            let elapsed = rt.block_on(async {
                let started = Instant::now();
                for i in 0..iters {
                    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.unwrap();
                    sqlx::query("INSERT INTO t (a, b) VALUES (?, 'booking')")
                        .bind(i as i64)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
                started.elapsed()
            });
            total = (total.0 + elapsed, total.1 + iters);
            elapsed
        })
    });
    group.finish();
    figures.lock().unwrap().raw_per_commit = Some(total.0 / total.1.max(1) as u32);
}

/// Fresh mentors (so every round has free slots): available round the clock, 15-minute
/// sessions, no notice, a year ahead.
async fn mentors(service: &Service, round: u64) -> Vec<UserId> {
    let mut ids = Vec::new();
    for b in 0..BOOKERS {
        let mentor = UserId(1_000_000 + round * 1000 + b);
        service
            .set_availability(mentor, "everyday", "00:00-24:00", Some("UTC"), now())
            .await
            .unwrap();
        let patch = SettingsPatch {
            session_minutes: Some(15),
            min_notice_hours: Some(0),
            horizon_days: Some(365),
            ..SettingsPatch::default()
        };
        service.update_settings(mentor, patch, now()).await.unwrap();
        ids.push(mentor);
    }
    ids
}

fn service(c: &mut Criterion, rt: &Runtime, dir: &Path, figures: &Mutex<Figures>) {
    let service = rt.block_on(async {
        let store = Store::open(&StoreOptions::new(dir.join("service.db")))
            .await
            .unwrap();
        Service::new(store)
    });
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut round = 0u64;
    let mut total = (Duration::ZERO, 0u64);
    let mut group = c.benchmark_group("booking");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("service_book_50_concurrent", |b| {
        b.iter_custom(|iters| {
            round += 1;
            let elapsed = rt.block_on(async {
                let mentors = mentors(&service, round).await;
                let per_booker = iters.div_ceil(BOOKERS);
                let started = Instant::now();
                let mut tasks = Vec::new();
                for (b, mentor) in mentors.into_iter().enumerate() {
                    let service = service.clone();
                    let latencies = latencies.clone();
                    tasks.push(tokio::spawn(async move {
                        let mut mine = Vec::new();
                        for k in 0..per_booker {
                            let request = BookRequest {
                                mentor,
                                mentee: UserId(9_000_000 + round * 1000 + b as u64),
                                mentor_name: "mentor".into(),
                                mentee_name: "mentee".into(),
                                start: now() + chrono::Duration::minutes(60 + 15 * k as i64),
                                guild: None,
                            };
                            let t = Instant::now();
                            service.book(&request, now()).await.unwrap();
                            mine.push(t.elapsed());
                        }
                        latencies.lock().unwrap().extend(mine);
                    }));
                }
                for task in tasks {
                    task.await.unwrap();
                }
                // Amortised per requested element (the last round may book a few extra).
                started.elapsed() * iters as u32 / (per_booker * BOOKERS) as u32
            });
            total = (total.0 + elapsed, total.1 + iters);
            elapsed
        })
    });
    group.finish();
    let mut f = figures.lock().unwrap();
    f.service_per_booking = Some(total.0 / total.1.max(1) as u32);
    f.latencies = std::mem::take(&mut *latencies.lock().unwrap());
}

fn booking(c: &mut Criterion) {
    let dir = bench_dir();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let figures = Mutex::new(Figures::default());
    fsync(c, &dir);
    raw(c, &rt, &dir, &figures);
    service(c, &rt, &dir, &figures);

    let f = figures.lock().unwrap();
    let mut lat = f.latencies.clone();
    lat.sort();
    if let (Some(raw), Some(svc), false) = (f.raw_per_commit, f.service_per_booking, lat.is_empty())
    {
        let raw_rate = 1.0 / raw.as_secs_f64();
        let svc_rate = 1.0 / svc.as_secs_f64();
        println!(
            "\nbooking summary ({} bookings by {BOOKERS} concurrent bookers):",
            lat.len()
        );
        println!("  raw BEGIN IMMEDIATE/INSERT/COMMIT: {raw_rate:.0} commits/s ({raw:?} each)");
        println!(
            "  service book:                      {svc_rate:.0} bookings/s ({svc:?} each, amortised)"
        );
        println!(
            "  ratio service/raw:                 {:.2}",
            svc_rate / raw_rate
        );
        println!(
            "  booking latency: p50 {:?}  p95 {:?}  p99 {:?}  max {:?}",
            percentile(&lat, 0.50),
            percentile(&lat, 0.95),
            percentile(&lat, 0.99),
            lat[lat.len() - 1]
        );
    }
}

criterion_group!(benches, booking);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
