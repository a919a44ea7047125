//! The bot's database, opened read-only while the bot runs: the job queue's length, sampled
//! during the load and awaited after it. The invariant checks read it too.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::report::Drain;

pub(crate) async fn open_db(db: &Path) -> Option<sqlx::SqliteConnection> {
    use sqlx::Connection;
    sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .ok()
}

/// Jobs queued, reminders left out (-1 if the database cannot be read just now): they wait
/// for their session and are not a backlog.
async fn queued_jobs(db: &Path) -> i64 {
    let Some(mut conn) = open_db(db).await else {
        return -1;
    };
    sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE state = 'queued' AND NOT (kind = 'dm' AND json_extract(payload, '$.notice') = 'reminder')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap_or(-1)
}

/// The most jobs queued at once until `deadline`, sampled every second.
pub(crate) fn sample_queue(db: PathBuf, deadline: Instant) -> JoinHandle<i64> {
    tokio::spawn(async move {
        let mut peak = 0;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            peak = peak.max(queued_jobs(&db).await);
        }
        peak
    })
}

/// Waits up to `timeout` for the queue to empty, noting in `drain` how long it took and
/// what was left.
pub(crate) async fn wait_for_drain(db: &Path, timeout: Duration, drain: &mut Drain) {
    let drain_started = Instant::now();
    let mut queued = queued_jobs(db).await;
    while queued > 0 && drain_started.elapsed() < timeout {
        tokio::time::sleep(Duration::from_millis(250)).await;
        queued = queued_jobs(db).await;
    }
    drain.seconds = (drain_started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    drain.queued_left = queued;
}
