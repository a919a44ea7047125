//! A user's right to their data: what is stored about them, and erasing it. Erasing keeps
//! the other people's history of past sessions (their times) under a random pseudonym that
//! no Discord id can be (negative in SQLite), with the name "deleted user".

use sqlx::SqliteConnection;

use super::{Store, StoreResult, WriteTx, from_secs, user_param};
use crate::domain::{GuildId, UserId};

/// The name erased users get in other people's bookings.
pub const DELETED_USER: &str = "deleted user";

/// What erasing removed, for the reply.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    /// Bookings (past or cancelled) kept for the other person under the pseudonym.
    pub bookings: u64,
    /// Jobs deleted (finished ones about the user, and queued DMs to them).
    pub jobs: u64,
}

impl Store {
    /// The servers where `user` is listed as a mentor, with when they were last seen there.
    pub async fn listings_of(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<(GuildId, chrono::DateTime<chrono::Utc>)>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT guild_id, listed_at FROM mentor_guilds WHERE mentor_id = ?")
                .bind(user_param(user))
                .fetch_all(&mut *self.read.acquire().await?)
                .await?;
        rows.into_iter()
            .map(|(guild, at)| Ok((GuildId(guild as u64), from_secs(at)?)))
            .collect()
    }
}

impl WriteTx {
    /// Erases `user`: their own rows go (profile, schedule, overrides, listings, blocks,
    /// Google account, connect requests); in bookings their id becomes `pseudonym`, their
    /// name "deleted user" and the reasons they wrote are removed; finished jobs about them
    /// and DMs queued to them are deleted, and queued DMs they caused name the pseudonym.
    /// Active upcoming bookings must have been cancelled first.
    pub async fn erase_user(&mut self, user: UserId, pseudonym: UserId) -> StoreResult<Erased> {
        erase(self.conn().await?, user_param(user), user_param(pseudonym)).await
    }
}

async fn erase(conn: &mut SqliteConnection, user: i64, pseudonym: i64) -> StoreResult<Erased> {
    let mut erased = Erased::default();
    for (sql, counts) in [
        (
            "UPDATE bookings SET mentor_name = ?3 WHERE mentor_id = ?1",
            true,
        ),
        (
            "UPDATE bookings SET mentee_name = ?3 WHERE mentee_id = ?1",
            true,
        ),
        (
            "UPDATE bookings SET cancel_reason = NULL, cancelled_by = ?2 WHERE cancelled_by = ?1",
            false,
        ),
        (
            "UPDATE bookings SET mentor_id = ?2 WHERE mentor_id = ?1",
            false,
        ),
        (
            "UPDATE bookings SET mentee_id = ?2 WHERE mentee_id = ?1",
            false,
        ),
        (
            "UPDATE booking_history SET moved_by = ?2 WHERE moved_by = ?1",
            false,
        ),
    ] {
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .bind(pseudonym)
            .bind(DELETED_USER)
            .execute(&mut *conn)
            .await?;
        if counts {
            erased.bookings += done.rows_affected();
        }
    }
    let jobs = sqlx::query(
        "DELETE FROM jobs WHERE json_extract(payload, '$.recipient') = ?1
            OR (state <> 'queued' AND json_extract(payload, '$.actor') = ?1)",
    )
    .bind(user)
    .execute(&mut *conn)
    .await?;
    erased.jobs = jobs.rows_affected();
    sqlx::query(
        "UPDATE jobs SET payload = json_set(payload, '$.actor', ?2)
         WHERE json_extract(payload, '$.actor') = ?1",
    )
    .bind(user)
    .bind(pseudonym)
    .execute(&mut *conn)
    .await?;
    for sql in [
        // Cascades to weekly ranges, overrides and listings.
        "DELETE FROM mentors WHERE user_id = ?1",
        "DELETE FROM users WHERE user_id = ?1",
        "DELETE FROM blocks WHERE mentor_id = ?1 OR member_id = ?1",
        "DELETE FROM google_accounts WHERE user_id = ?1",
        "DELETE FROM oauth_states WHERE user_id = ?1",
        "DELETE FROM pending_grants WHERE user_id = ?1",
        "DELETE FROM reminder_settings WHERE user_id = ?1",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .execute(&mut *conn)
            .await?;
    }
    Ok(erased)
}
