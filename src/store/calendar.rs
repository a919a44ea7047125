//! Google Calendar state: per-install values, connected accounts (refresh tokens arrive
//! sealed: the store never sees them in plain text), and the one queued sync job per
//! booking. Connect requests and unconfirmed grants are in `connect.rs`.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::{StoreError, StoreResult, from_secs, to_secs, user_from, user_param};
use crate::domain::{BookingId, CalendarStatus, UserId};
use crate::scheduling::booking::BookingStatus;
use crate::scheduling::interval::Interval;

/// The job kind of calendar syncs.
pub const CALENDAR_SYNC: &str = "calendar_sync";

/// A mentor's Google account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleAccount {
    /// Whose.
    pub user: UserId,
    /// The account's email, when Google told it.
    pub email: Option<String>,
    /// The sealed refresh token; `None` once Google revoked the grant.
    pub sealed_refresh_token: Option<Vec<u8>>,
    /// The scopes granted, space separated.
    pub scopes: String,
    /// When it was connected.
    pub connected_at: DateTime<Utc>,
    /// The last calendar problem, if any, and when.
    pub last_error: Option<(String, DateTime<Utc>)>,
    /// Why the grant can't be used until the mentor reconnects (or the operator fixes the
    /// configuration); `None` when it can.
    pub reconnect: Option<String>,
}

impl GoogleAccount {
    /// True while the grant is usable.
    pub fn connected(&self) -> bool {
        self.sealed_refresh_token.is_some()
    }
}

/// What a sync job found the booking to be when it started; its result is recorded only if
/// the booking still is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncTarget {
    /// Active or cancelled.
    pub status: BookingStatus,
    /// Its time.
    pub interval: Interval,
}

/// A sync's result for the booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    /// The new calendar status.
    pub status: CalendarStatus,
    /// The event id, when one exists.
    pub event_id: Option<String>,
    /// The Meet link, when known.
    pub meet_link: Option<String>,
    /// Why it failed, for `failed`.
    pub error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    user_id: i64,
    email: Option<String>,
    refresh_token: Option<Vec<u8>>,
    scopes: String,
    connected_at: i64,
    last_error: Option<String>,
    last_error_at: Option<i64>,
    reconnect_reason: Option<String>,
}

impl AccountRow {
    fn into_account(self) -> StoreResult<GoogleAccount> {
        Ok(GoogleAccount {
            user: user_from(self.user_id),
            email: self.email,
            sealed_refresh_token: self.refresh_token,
            scopes: self.scopes,
            connected_at: from_secs(self.connected_at)?,
            last_error: match (self.last_error, self.last_error_at) {
                (Some(error), Some(at)) => Some((error, from_secs(at)?)),
                _ => None,
            },
            reconnect: self.reconnect_reason,
        })
    }
}

pub(super) async fn install_value(
    conn: &mut SqliteConnection,
    key: &str,
) -> StoreResult<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM install WHERE key = ?")
            .bind(key)
            .fetch_optional(conn)
            .await?,
    )
}

pub(super) async fn init_install_value(
    conn: &mut SqliteConnection,
    key: &str,
    value: &[u8],
) -> StoreResult<Vec<u8>> {
    sqlx::query("INSERT OR IGNORE INTO install (key, value) VALUES (?, ?)")
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    install_value(conn, key)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("install value {key} vanished")))
}

pub(super) async fn account(
    conn: &mut SqliteConnection,
    user: UserId,
) -> StoreResult<Option<GoogleAccount>> {
    let row: Option<AccountRow> = sqlx::query_as(
        "SELECT user_id, email, refresh_token, scopes, connected_at, last_error, last_error_at,
                reconnect_reason
         FROM google_accounts WHERE user_id = ?",
    )
    .bind(user_param(user))
    .fetch_optional(conn)
    .await?;
    row.map(AccountRow::into_account).transpose()
}

pub(super) async fn save_account(
    conn: &mut SqliteConnection,
    user: UserId,
    email: Option<&str>,
    sealed_refresh_token: &[u8],
    scopes: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO google_accounts (user_id, email, refresh_token, scopes, status, connected_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'connected', ?5, ?5)
         ON CONFLICT (user_id) DO UPDATE SET email = excluded.email,
             refresh_token = excluded.refresh_token, scopes = excluded.scopes,
             status = 'connected', connected_at = excluded.connected_at,
             updated_at = excluded.updated_at, last_error = NULL, last_error_at = NULL,
             reconnect_reason = NULL",
    )
    .bind(user_param(user))
    .bind(email)
    .bind(sealed_refresh_token)
    .bind(scopes)
    .bind(to_secs(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn revoke_account(
    conn: &mut SqliteConnection,
    user: UserId,
    error: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE google_accounts SET status = 'revoked', refresh_token = NULL, updated_at = ?1,
             last_error = ?2, last_error_at = ?1
         WHERE user_id = ?3 AND status = 'connected'",
    )
    .bind(to_secs(now))
    .bind(error)
    .bind(user_param(user))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn delete_account(conn: &mut SqliteConnection, user: UserId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM google_accounts WHERE user_id = ?")
        .bind(user_param(user))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One connected account, any (for the start-up check that the key opens stored tokens).
pub(super) async fn any_connected(
    conn: &mut SqliteConnection,
) -> StoreResult<Option<GoogleAccount>> {
    let row: Option<AccountRow> = sqlx::query_as(
        "SELECT user_id, email, refresh_token, scopes, connected_at, last_error, last_error_at,
                reconnect_reason
         FROM google_accounts WHERE status = 'connected' LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map(AccountRow::into_account).transpose()
}

/// Sets (or clears, with `None`) why a connected account needs reconnecting; true when that
/// changed it.
pub(super) async fn set_reconnect(
    conn: &mut SqliteConnection,
    user: UserId,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE google_accounts SET reconnect_reason = ?1, updated_at = ?2
         WHERE user_id = ?3 AND status = 'connected' AND reconnect_reason IS NOT ?1",
    )
    .bind(reason)
    .bind(to_secs(now))
    .bind(user_param(user))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the sealed refresh token `old` by `new` (the same token sealed with the current
/// key); false when the account holds another token by now.
pub(super) async fn reseal(
    conn: &mut SqliteConnection,
    user: UserId,
    old: &[u8],
    new: &[u8],
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE google_accounts SET refresh_token = ?1 WHERE user_id = ?2 AND refresh_token = ?3",
    )
    .bind(new)
    .bind(user_param(user))
    .bind(old)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn forget_events(conn: &mut SqliteConnection, mentor: UserId) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE bookings SET calendar_event_id = NULL
         WHERE mentor_id = ? AND calendar_event_id IS NOT NULL",
    )
    .bind(user_param(mentor))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn note_account_error(
    conn: &mut SqliteConnection,
    user: UserId,
    error: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE google_accounts SET last_error = ?1, last_error_at = ?2 WHERE user_id = ?3",
    )
    .bind(error)
    .bind(to_secs(now))
    .bind(user_param(user))
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues (or re-arms) the booking's sync job and marks the booking `pending`.
pub(super) async fn queue_sync(
    conn: &mut SqliteConnection,
    booking: &BookingId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // A job already queued (maybe running right now) is made due at once with fresh
    // attempts; the running one sees that the booking changed and runs again.
    sqlx::query(
        "INSERT INTO jobs (kind, booking_id, payload, run_after, created_at)
         VALUES (?1, ?2, '{}', ?3, ?3)
         ON CONFLICT (booking_id) WHERE kind = 'calendar_sync' AND state = 'queued'
         DO UPDATE SET run_after = min(run_after, excluded.run_after), attempts = 0",
    )
    .bind(CALENDAR_SYNC)
    .bind(booking.as_str())
    .bind(to_secs(now))
    .execute(&mut *conn)
    .await?;
    set_status(conn, booking, CalendarStatus::Pending, None).await
}

pub(super) async fn set_status(
    conn: &mut SqliteConnection,
    booking: &BookingId,
    status: CalendarStatus,
    error: Option<&str>,
) -> StoreResult<()> {
    sqlx::query("UPDATE bookings SET calendar_status = ?, calendar_error = ? WHERE id = ?")
        .bind(status.as_str())
        .bind(error)
        .bind(booking.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues a sync of every booking of `mentor` (as mentor) that has not ended; returns how
/// many.
pub(super) async fn queue_upcoming(
    conn: &mut SqliteConnection,
    mentor: UserId,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM bookings WHERE mentor_id = ? AND status = 'active' AND end_at > ?
         ORDER BY start_at",
    )
    .bind(user_param(mentor))
    .bind(to_secs(now))
    .fetch_all(&mut *conn)
    .await?;
    for id in &ids {
        let id =
            BookingId::parse(id).ok_or_else(|| StoreError::Corrupt(format!("booking id {id}")))?;
        queue_sync(conn, &id, now).await?;
    }
    Ok(ids.len())
}

/// Records a sync's result if the booking is still what the sync worked towards; false
/// (nothing written) when it changed meanwhile.
pub(super) async fn record_sync(
    conn: &mut SqliteConnection,
    booking: &BookingId,
    target: SyncTarget,
    record: &SyncRecord,
) -> StoreResult<bool> {
    let status = match target.status {
        BookingStatus::Active => "active",
        BookingStatus::Cancelled => "cancelled",
    };
    let done = sqlx::query(
        "UPDATE bookings SET calendar_status = ?, calendar_event_id = coalesce(?, calendar_event_id),
             meet_link = coalesce(?, meet_link), calendar_error = ?
         WHERE id = ? AND status = ? AND start_at = ? AND end_at = ?",
    )
    .bind(record.status.as_str())
    .bind(record.event_id.as_deref())
    .bind(record.meet_link.as_deref())
    .bind(record.error.as_deref())
    .bind(booking.as_str())
    .bind(status)
    .bind(to_secs(target.interval.start()))
    .bind(to_secs(target.interval.end()))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Keeps an event id that is known to exist, whatever the booking became.
pub(super) async fn keep_event_id(
    conn: &mut SqliteConnection,
    booking: &BookingId,
    event_id: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE bookings SET calendar_event_id = ? WHERE id = ?")
        .bind(event_id)
        .bind(booking.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The intervals of `mentor`'s bookings that may have an event in their calendar overlapping
/// `span`: active bookings, and cancelled or moved ones whose sync is still pending (their
/// old event may not be gone yet).
pub(super) async fn own_event_times(
    conn: &mut SqliteConnection,
    mentor: UserId,
    span: Interval,
) -> StoreResult<Vec<Interval>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT start_at, end_at FROM bookings
         WHERE mentor_id = ?1 AND start_at < ?3 AND end_at > ?2
           AND (status = 'active' OR calendar_status = 'pending')
         UNION ALL
         SELECT h.start_at, h.end_at FROM booking_history AS h JOIN bookings AS b ON b.id = h.booking_id
         WHERE b.mentor_id = ?1 AND b.calendar_status = 'pending' AND h.start_at < ?3 AND h.end_at > ?2",
    )
    .bind(user_param(mentor))
    .bind(to_secs(span.start()))
    .bind(to_secs(span.end()))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(start, end)| {
            Interval::new(from_secs(start)?, from_secs(end)?)
                .ok_or_else(|| StoreError::Corrupt(format!("interval {start}..{end}")))
        })
        .collect()
}
