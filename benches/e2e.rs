//! `e2e`: the whole bot through the fake Discord on 127.0.0.1. 50 mentees at once open a
//! picker for one mentor, pick a slot (two mentees aim at each slot, so half the confirms
//! race), and confirm; a loser picks again from the refreshed picker. Reports the time from
//! INTERACTION_CREATE to the response carrying the result (p50/p99 per kind), bookings per
//! second, and checks for double bookings straight in the database.
//!
//! `cargo bench --bench e2e` (ROUNDS=n rounds of MENTEES=n mentees, default 6 × 50; THINK_MS=n
//! to pause n ms between a mentee's clicks, as people do; default 0: every mentee clicks
//! again the moment it sees an answer, the harshest load). BOT_BIN=path runs another build
//! of the bot (A/B comparisons); BOT_LOG=filter sets its RUST_LOG.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::Connection;
use testkit::{BOT_TOKEN, FakeDiscord, FakeUser, Message, Opt, Place};

/// This process is Discord and its users, not the product: it gets the cheaper allocator
/// too, so that the harness takes less of the two cores the bot runs on.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// CPU time a process has used so far (user + system), from `/proc/<pid>/stat` (Linux).
fn cpu_of(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(after_name) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime, in clock ticks of 10 ms on Linux.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

async fn settle(p: testkit::Pending) -> Message {
    p.settled().await.expect("answered")
}

/// One mentee: picker, select the `aim`-th slot, confirm; on "just taken", pick another
/// slot of the refreshed picker, up to 5 times.
async fn mentee(
    fake: FakeDiscord,
    who: FakeUser,
    mentor: FakeUser,
    aim: usize,
    think: Duration,
) -> bool {
    let mut picker = settle(
        fake.slash(
            &who,
            Place::Guild,
            "book",
            vec![Opt::user("mentor", &mentor)],
        )
        .await,
    )
    .await;
    let mut index = aim;
    for _ in 0..5 {
        let Some(select) = picker.selects().first().cloned() else {
            return false;
        };
        let options = picker.select_options(&select);
        let Some((_, value)) = options
            .get(index.min(options.len().saturating_sub(1)))
            .cloned()
        else {
            return false;
        };
        tokio::time::sleep(think).await;
        let chosen = settle(fake.select(&who, &picker, &select, &[&value]).await).await;
        let Some(confirm) = chosen.button_id("Confirm") else {
            return false;
        };
        tokio::time::sleep(think).await;
        let done = settle(fake.click(&who, &chosen, &confirm).await).await;
        if done.text().contains("Booked") {
            return true;
        }
        picker = done;
        index = (index + 7) % 25;
    }
    false
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(6);
    let mentees: usize = std::env::var("MENTEES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(50);
    let think = Duration::from_millis(
        std::env::var("THINK_MS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
    );
    // The bot runs in its own process, as in production (its own heap and runtime, the
    // binary `src/main.rs` builds); this process is Discord and the users.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Discord's servers and its users are different parties: the fake's REST and gateway
    // servers get their own runtime, so a request from the bot never waits in a queue behind
    // simulated users' work (which would count against the bot's latency).
    let discord_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = discord_rt.block_on(FakeDiscord::start());
    rt.block_on(async move {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-bench");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("bot.db");
        let vars: Vec<(&str, String)> = vec![
            ("DISCORD_TOKEN", BOT_TOKEN.to_owned()),
            ("DATABASE_URL", format!("sqlite://{}", db.display())),
            ("DISCORD_API_BASE", fake.api_base()),
            ("HTTP_BIND", "127.0.0.1:0".to_owned()),
            ("DISCORD_GUILD_ID", fake.guild_id().to_string()),
        ];
        // The shipped binary, as users run it: default log level (info), its log in a file
        // (its `.env` lookup finds none in `dir`).
        let log = std::fs::File::create(dir.join("bot.log")).unwrap();
        let bot = std::env::var_os("BOT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_mentorbot").into());
        let mut child = std::process::Command::new(bot)
            .current_dir(&dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(vars)
            .envs(std::env::var("BOT_LOG").ok().map(|filter| ("RUST_LOG", filter)))
            .spawn()
            .expect("start the bot");
        let bot_pid = child.id().to_string();
        fake.wait_ready(Duration::from_secs(10)).await.unwrap();
        fake.wait_commands(Duration::from_secs(10)).await.unwrap();

        let mentor = fake.user("mentor");
        for (path, options) in [
            ("availability set", vec![Opt::str("days", "everyday"), Opt::str("hours", "00:00-24:00"), Opt::str("timezone", "UTC")]),
            ("availability settings", vec![Opt::int("session_minutes", 15), Opt::int("horizon_days", 365)]),
        ] {
            settle(fake.slash(&mentor, Place::Guild, path, options).await).await;
        }
        let setup_interactions = fake.interaction_log().len();

        let cpu_before = [cpu_of(&bot_pid), cpu_of("self")];
        let started = Instant::now();
        let mut booked = 0;
        for round in 0..rounds {
            let mut tasks = Vec::new();
            for m in 0..mentees {
                let who = fake.user(&format!("mentee-{round}-{m}"));
                tasks.push(tokio::spawn(mentee(fake.clone(), who, mentor.clone(), m / 2, think)));
            }
            for task in tasks {
                booked += usize::from(task.await.unwrap());
            }
        }
        let elapsed = started.elapsed();
        // The bookings' DMs are part of their cost: wait for the last of them (delivered by
        // the bot's job worker after the answers) before reading CPU time.
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        let dm_deadline = Instant::now() + Duration::from_secs(30);
        let dms_after = loop {
            // Reminders wait for their session: everything else counts (retries in backoff too).
            let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'queued' AND NOT (kind = 'dm' AND json_extract(payload, '$.notice') = 'reminder')")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            if queued == 0 {
                break started.elapsed() - elapsed;
            }
            assert!(Instant::now() < dm_deadline, "{queued} DMs still queued after 30 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let cpu_after = [cpu_of(&bot_pid), cpu_of("self")];

        let log: Vec<_> = fake.interaction_log().into_iter().skip(setup_interactions).collect();
        let unanswered = log.iter().filter(|i| !i.answered).count();
        let mut by_kind: HashMap<String, Vec<Duration>> = HashMap::new();
        let mut all = Vec::new();
        for entry in &log {
            let Some(result) = entry.result else { continue };
            let kind = if entry.name.starts_with("pk:s") {
                "select slot"
            } else if entry.name.starts_with("pk:c") {
                "confirm"
            } else {
                "/book (picker)"
            };
            by_kind.entry(kind.to_owned()).or_default().push(result);
            all.push(result);
        }
        all.sort();

        let doubles: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.id < b.id
             WHERE a.status = 'active' AND b.status = 'active' AND a.start_at < b.end_at AND b.start_at < a.end_at
               AND (a.mentor_id IN (b.mentor_id, b.mentee_id) OR a.mentee_id IN (b.mentor_id, b.mentee_id))",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE status = 'active'")
            .fetch_one(&mut conn)
            .await
            .unwrap();

        println!(
            "e2e: {rounds} rounds × {mentees} concurrent mentees booking one mentor through the fake Discord, think time {think:?}"
        );
        println!("  interactions: {} ({unanswered} unanswered)", log.len());
        let mut kinds: Vec<_> = by_kind.into_iter().collect();
        kinds.sort_by(|a, b| a.0.cmp(&b.0));
        for (kind, mut times) in kinds {
            times.sort();
            println!(
                "  {kind:<16} n={:<5} p50 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}",
                times.len(),
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                times.last().copied().unwrap_or_default()
            );
        }
        println!(
            "  all interactions   p50 {:.2?}  p99 {:.2?}  (INTERACTION_CREATE -> response carrying the result)",
            percentile(&all, 0.5),
            percentile(&all, 0.99)
        );
        println!(
            "  bookings: {booked} in {elapsed:.2?} = {:.0} bookings/s (stored: {stored}); double bookings: {doubles}",
            booked as f64 / elapsed.as_secs_f64()
        );
        let per = |side: usize| {
            Duration::from_secs_f64(
                (cpu_after[side] - cpu_before[side]).as_secs_f64() / log.len().max(1) as f64,
            )
        };
        println!(
            "  CPU per interaction, the bookings' DMs included (the last sent {dms_after:.2?} after the last answer): bot {:.2?} (its own process), fake Discord and users {:.2?}",
            per(0),
            per(1)
        );
        assert_eq!(doubles, 0, "double booking");
        assert_eq!(stored as usize, booked, "every acknowledged booking is stored");
        assert_eq!(unanswered, 0, "every interaction answered");
        // SIGTERM: the bot shuts down gracefully.
        let _ = std::process::Command::new("kill").arg(&bot_pid).status();
        let status = child.wait().unwrap();
        assert!(status.success(), "the bot exited with {status}");
    });
}
