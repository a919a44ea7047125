//! Members a mentor has blocked.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::{Store, StoreResult, WriteTx, to_secs, user_from, user_param};
use crate::domain::UserId;

async fn is_blocked(
    conn: &mut SqliteConnection,
    mentor: UserId,
    member: UserId,
) -> StoreResult<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM blocks WHERE mentor_id = ? AND member_id = ?")
            .bind(user_param(mentor))
            .bind(user_param(member))
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

impl Store {
    /// Whether `mentor` has blocked `member`.
    pub async fn is_blocked(&self, mentor: UserId, member: UserId) -> StoreResult<bool> {
        is_blocked(&mut *self.read.acquire().await?, mentor, member).await
    }

    /// The mentors who have blocked `member`.
    pub async fn blocked_by(&self, member: UserId) -> StoreResult<Vec<UserId>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT mentor_id FROM blocks WHERE member_id = ?")
            .bind(user_param(member))
            .fetch_all(&mut *self.read.acquire().await?)
            .await?;
        Ok(ids.into_iter().map(user_from).collect())
    }

    /// How many members `mentor` has blocked.
    pub async fn blocked_count(&self, mentor: UserId) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM blocks WHERE mentor_id = ?")
            .bind(user_param(mentor))
            .fetch_one(&mut *self.read.acquire().await?)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl WriteTx {
    /// Whether `mentor` has blocked `member`, read in this transaction.
    pub async fn is_blocked(&mut self, mentor: UserId, member: UserId) -> StoreResult<bool> {
        is_blocked(self.conn().await?, mentor, member).await
    }

    /// Blocks `member` for `mentor`; false when already blocked.
    pub async fn block(
        &mut self,
        mentor: UserId,
        member: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO blocks (mentor_id, member_id, created_at) VALUES (?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(user_param(mentor))
        .bind(user_param(member))
        .bind(to_secs(now))
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Unblocks `member` for `mentor`; false when they weren't blocked.
    pub async fn unblock(&mut self, mentor: UserId, member: UserId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM blocks WHERE mentor_id = ? AND member_id = ?")
            .bind(user_param(mentor))
            .bind(user_param(member))
            .execute(self.conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
