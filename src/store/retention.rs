//! Keeping tables bounded: finished jobs, expired connect requests and idle listings are
//! deleted in small batches, each its own short write, so Confirm clicks waiting on the
//! writer never wait long behind housekeeping.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::{StoreResult, WriteTx, to_secs};

/// Deletes up to `batch` jobs that finished (done or failed) before `before`; how many.
pub(super) async fn finished_jobs(
    conn: &mut SqliteConnection,
    before: DateTime<Utc>,
    batch: u32,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "DELETE FROM jobs WHERE id IN (
             SELECT id FROM jobs WHERE state <> 'queued' AND finished_at < ? LIMIT ?)",
    )
    .bind(to_secs(before))
    .bind(i64::from(batch))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes connect requests that expired by `now`.
pub(super) async fn expired_states(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM oauth_states WHERE expires_at <= ?")
        .bind(to_secs(now))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Unlists mentors from servers where they last used a mentor command before `before`, if
/// they have no upcoming session (as mentor) at `now`.
pub(super) async fn idle_listings(
    conn: &mut SqliteConnection,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "DELETE FROM mentor_guilds WHERE listed_at < ?1 AND NOT EXISTS (
             SELECT 1 FROM bookings b WHERE b.mentor_id = mentor_guilds.mentor_id
               AND b.status = 'active' AND b.end_at > ?2)",
    )
    .bind(to_secs(before))
    .bind(to_secs(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

impl WriteTx {
    /// See [`finished_jobs`].
    pub async fn prune_finished_jobs(
        &mut self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> StoreResult<u64> {
        finished_jobs(self.conn().await?, before, batch).await
    }

    /// See [`expired_states`].
    pub async fn prune_expired_states(&mut self, now: DateTime<Utc>) -> StoreResult<u64> {
        expired_states(self.conn().await?, now).await
    }

    /// See [`idle_listings`].
    pub async fn unlist_idle_mentors(
        &mut self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        idle_listings(self.conn().await?, before, now).await
    }
}
