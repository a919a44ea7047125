//! Reminders: each user's leads, and the queued reminder DMs of a booking (ordinary `dm`
//! jobs whose notice is `reminder`).

use chrono::Duration;
use sqlx::SqliteConnection;

use super::{Store, StoreError, StoreResult, WriteTx, user_param};
use crate::domain::{BookingId, UserId};

async fn leads(conn: &mut SqliteConnection, user: UserId) -> StoreResult<Option<Vec<Duration>>> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT leads FROM reminder_settings WHERE user_id = ?")
            .bind(user_param(user))
            .fetch_optional(conn)
            .await?;
    stored
        .map(|text| {
            text.split(',')
                .filter(|m| !m.is_empty())
                .map(|m| {
                    m.parse::<i64>()
                        .map(Duration::minutes)
                        .map_err(|_| StoreError::Corrupt(format!("reminder leads {text:?}")))
                })
                .collect()
        })
        .transpose()
}

impl Store {
    /// `user`'s reminder leads; `None` when they never set any (the defaults apply).
    pub async fn reminder_leads(&self, user: UserId) -> StoreResult<Option<Vec<Duration>>> {
        leads(&mut *self.read.acquire().await?, user).await
    }
}

impl WriteTx {
    /// See [`Store::reminder_leads`].
    pub async fn reminder_leads(&mut self, user: UserId) -> StoreResult<Option<Vec<Duration>>> {
        leads(self.conn().await?, user).await
    }

    /// Sets `user`'s reminder leads (empty: off).
    pub async fn set_reminder_leads(
        &mut self,
        user: UserId,
        leads: &[Duration],
    ) -> StoreResult<()> {
        let text = leads
            .iter()
            .map(|l| l.num_minutes().to_string())
            .collect::<Vec<_>>()
            .join(",");
        sqlx::query(
            "INSERT INTO reminder_settings (user_id, leads) VALUES (?1, ?2)
             ON CONFLICT (user_id) DO UPDATE SET leads = excluded.leads",
        )
        .bind(user_param(user))
        .bind(text)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Deletes the queued reminders of `booking` (only `recipient`'s, when given).
    pub async fn drop_reminders(
        &mut self,
        booking: &BookingId,
        recipient: Option<UserId>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM jobs WHERE booking_id = ?1 AND kind = 'dm' AND state = 'queued'
               AND json_extract(payload, '$.notice') = 'reminder'
               AND (?2 IS NULL OR json_extract(payload, '$.recipient') = ?2)",
        )
        .bind(booking.as_str())
        .bind(recipient.map(user_param))
        .execute(self.conn().await?)
        .await?;
        Ok(done.rows_affected())
    }
}
