//! [`WriteTx`]: one write transaction and every write the service may make in it. Each
//! method sends what the running write unit owes (its savepoint, see `writer`) and then
//! calls the SQLite statement in the room that owns its table.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::{Sqlite, SqliteConnection, Transaction};

use super::{
    BookingQuery, GoogleAccount, NewBooking, NewJob, PairBusy, StoreResult, SyncRecord, SyncTarget,
    bookings, calendar, jobs, mentors,
};
use crate::domain::{Booking, BookingId, GuildId, Mentor, RoleId, UserId};
use crate::scheduling::interval::Interval;

/// A write transaction (`BEGIN IMMEDIATE`). Dropped without [`WriteTx::commit`], it rolls
/// back.
#[derive(Debug)]
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    /// Savepoint statements the running write unit owes before its first statement (see
    /// `writer`), each ending in `"; "`.
    owed: Option<&'static str>,
}

impl WriteTx {
    pub(super) fn new(tx: Transaction<'static, Sqlite>) -> WriteTx {
        WriteTx { tx, owed: None }
    }

    /// Commits every change.
    pub async fn commit(self) -> StoreResult<()> {
        Ok(self.tx.commit().await?)
    }

    /// The unit about to run owes `sql` before its first statement.
    pub(super) fn owe(&mut self, sql: &'static str) {
        self.owed = Some(sql);
    }

    /// Whether the running unit has sent what it owed (it has run a statement).
    pub(super) fn paid(&self) -> bool {
        self.owed.is_none()
    }

    /// The connection, once what the unit owes is sent (in a round trip of its own).
    pub(super) async fn conn(&mut self) -> StoreResult<&mut SqliteConnection> {
        if let Some(sql) = self.owed.take() {
            sqlx::raw_sql(sql).execute(&mut *self.tx).await?;
        }
        Ok(&mut self.tx)
    }

    /// What the unit owes (or `""`), for the caller to send ahead of its statement in the
    /// same round trip, and the connection to send both on. Taking it counts as sending it,
    /// so the caller must send it at once, with a statement whose arguments cannot fail to
    /// encode (integers and text): were it taken and not sent, the writer would later roll
    /// back to the previous unit's savepoint. Not for a statement whose row count is read:
    /// sqlx adds up the counts of a round trip's statements, and a savepoint statement
    /// reports the count of the last change before it.
    pub(super) fn lead(&mut self) -> (&'static str, &mut SqliteConnection) {
        (self.owed.take().unwrap_or_default(), &mut self.tx)
    }

    /// A user's own timezone, if set.
    pub async fn user_timezone(&mut self, user: UserId) -> StoreResult<Option<Tz>> {
        mentors::user_timezone(self.conn().await?, user).await
    }

    /// Sets a user's own timezone.
    pub async fn set_user_timezone(&mut self, user: UserId, tz: Tz) -> StoreResult<()> {
        mentors::set_user_timezone(self.conn().await?, user, tz).await
    }

    /// A mentor with their schedule (overrides from `since` on) and settings.
    pub async fn mentor(&mut self, user: UserId, since: NaiveDate) -> StoreResult<Option<Mentor>> {
        let (lead, conn) = self.lead();
        mentors::mentor(conn, lead, user, since).await
    }

    /// Makes `mentor` a mentor, or replaces their zone, weekly ranges and settings; the
    /// overrides are left alone.
    pub async fn save_mentor(&mut self, mentor: &Mentor, now: DateTime<Utc>) -> StoreResult<()> {
        mentors::save_mentor(self.conn().await?, mentor, now).await
    }

    /// Remembers `user`'s display name (shown on bookings made later from a picker).
    pub async fn remember_name(&mut self, user: UserId, name: &str) -> StoreResult<()> {
        let (lead, conn) = self.lead();
        mentors::remember_name(conn, lead, user, name).await
    }

    /// Lists an existing mentor in a server (no-op for non-mentors and repeats).
    pub async fn list_in_guild(
        &mut self,
        guild: GuildId,
        mentor: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        mentors::list_in_guild(self.conn().await?, guild, mentor, now).await
    }

    /// Sets or clears a server's mentor role.
    pub async fn set_mentor_role(
        &mut self,
        guild: GuildId,
        role: Option<RoleId>,
    ) -> StoreResult<()> {
        mentors::set_mentor_role(self.conn().await?, guild, role).await
    }

    /// Sets (or replaces) one date override.
    pub async fn put_override(
        &mut self,
        mentor: UserId,
        date: NaiveDate,
        ranges: &[crate::scheduling::hours::LocalRange],
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        mentors::put_override(self.conn().await?, mentor, date, ranges, note, now).await
    }

    /// Removes one date override; false when there was none.
    pub async fn delete_override(&mut self, mentor: UserId, date: NaiveDate) -> StoreResult<bool> {
        mentors::delete_override(self.conn().await?, mentor, date).await
    }

    /// One booking.
    pub async fn booking(&mut self, id: &BookingId) -> StoreResult<Option<Booking>> {
        let (lead, conn) = self.lead();
        bookings::booking(conn, lead, id).await
    }

    /// A user's bookings, filtered.
    pub async fn bookings(&mut self, query: &BookingQuery) -> StoreResult<Vec<Booking>> {
        bookings::list(self.conn().await?, query).await
    }

    /// What a booking check reads about its two people: each one's busy time overlapping
    /// `span`, the mentor's bookings starting within `day` (when given), and the mentee's
    /// upcoming bookings with the mentor at `now`, all leaving out `except` (a booking being
    /// moved).
    pub async fn pair_busy(
        &mut self,
        people: (UserId, UserId),
        span: Interval,
        day: Option<Interval>,
        now: DateTime<Utc>,
        except: Option<&BookingId>,
    ) -> StoreResult<PairBusy> {
        bookings::pair_busy(self.conn().await?, people, span, day, now, except).await
    }

    /// Inserts a booking. [`StoreError::Overlap`] when it would overlap an active booking of
    /// either person; [`StoreError::DuplicateId`] when the id is taken.
    pub async fn insert_booking(&mut self, booking: &NewBooking) -> StoreResult<()> {
        self.insert_booking_with(booking, &[]).await
    }

    /// Inserts a booking and queues `jobs` with it (its DMs), in one round trip; a refused
    /// booking queues nothing.
    pub async fn insert_booking_with(
        &mut self,
        booking: &NewBooking,
        jobs: &[NewJob],
    ) -> StoreResult<()> {
        bookings::insert(self.conn().await?, booking, jobs).await
    }

    /// Cancels an active booking.
    pub async fn cancel_booking(
        &mut self,
        id: &BookingId,
        by: UserId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        bookings::cancel(self.conn().await?, id, by, reason, now).await
    }

    /// Moves an active booking to `to`, recording its old time in the history.
    pub async fn move_booking(
        &mut self,
        id: &BookingId,
        to: Interval,
        by: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        bookings::move_to(self.conn().await?, id, to, by, now).await
    }

    /// Queues jobs, to run once this transaction commits.
    pub async fn enqueue(&mut self, jobs: &[NewJob]) -> StoreResult<()> {
        jobs::enqueue(self.conn().await?, jobs).await
    }

    /// Sets a per-install value unless one exists; returns the value in force.
    pub async fn init_install_value(&mut self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        calendar::init_install_value(self.conn().await?, key, value).await
    }

    /// `user`'s Google account.
    pub async fn google_account(&mut self, user: UserId) -> StoreResult<Option<GoogleAccount>> {
        calendar::account(self.conn().await?, user).await
    }

    /// Stores (or replaces) a connected account; clears its last error.
    pub async fn save_google_account(
        &mut self,
        user: UserId,
        email: Option<&str>,
        sealed_refresh_token: &[u8],
        scopes: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        calendar::save_account(
            self.conn().await?,
            user,
            email,
            sealed_refresh_token,
            scopes,
            now,
        )
        .await
    }

    /// Marks a connected account revoked (its token dropped); false when it was not connected.
    pub async fn revoke_google_account(
        &mut self,
        user: UserId,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        calendar::revoke_account(self.conn().await?, user, error, now).await
    }

    /// See [`calendar::set_reconnect`].
    pub async fn set_reconnect_reason(
        &mut self,
        user: UserId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        calendar::set_reconnect(self.conn().await?, user, reason, now).await
    }

    /// See [`calendar::reseal`].
    pub async fn reseal_refresh_token(
        &mut self,
        user: UserId,
        old: &[u8],
        new: &[u8],
    ) -> StoreResult<bool> {
        calendar::reseal(self.conn().await?, user, old, new).await
    }

    /// See [`mentors::change_notice`].
    pub async fn change_notice(&mut self, mentor: UserId) -> StoreResult<chrono::Duration> {
        mentors::change_notice(self.conn().await?, mentor).await
    }

    /// Forgets the event ids of `mentor`'s bookings: they belong to the Google account that
    /// held them, and the next sync inserts into the current one (a Meet link is kept until
    /// that sync brings a new one: the old event's link still works).
    pub async fn forget_calendar_events(&mut self, mentor: UserId) -> StoreResult<u64> {
        calendar::forget_events(self.conn().await?, mentor).await
    }

    /// Deletes an account and its token; false when there was none.
    pub async fn delete_google_account(&mut self, user: UserId) -> StoreResult<bool> {
        calendar::delete_account(self.conn().await?, user).await
    }

    /// Keeps the last calendar problem on the account (for `/calendar status`).
    pub async fn note_calendar_error(
        &mut self,
        user: UserId,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        calendar::note_account_error(self.conn().await?, user, error, now).await
    }

    /// Queues (or re-arms) the booking's one calendar sync job and marks it `pending`.
    pub async fn queue_calendar_sync(
        &mut self,
        booking: &BookingId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        calendar::queue_sync(self.conn().await?, booking, now).await
    }

    /// Queues a sync of every not-yet-ended active booking of `mentor`; returns how many.
    pub async fn queue_upcoming_syncs(
        &mut self,
        mentor: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        calendar::queue_upcoming(self.conn().await?, mentor, now).await
    }

    /// Sets a booking's calendar status (and error).
    pub async fn set_calendar_status(
        &mut self,
        booking: &BookingId,
        status: crate::domain::CalendarStatus,
        error: Option<&str>,
    ) -> StoreResult<()> {
        calendar::set_status(self.conn().await?, booking, status, error).await
    }

    /// Records a sync's result if the booking still matches `target`; false when it changed.
    pub async fn record_calendar_sync(
        &mut self,
        booking: &BookingId,
        target: SyncTarget,
        record: &SyncRecord,
    ) -> StoreResult<bool> {
        calendar::record_sync(self.conn().await?, booking, target, record).await
    }

    /// Keeps an event id known to exist in the mentor's calendar.
    pub async fn keep_calendar_event_id(
        &mut self,
        booking: &BookingId,
        event_id: &str,
    ) -> StoreResult<()> {
        calendar::keep_event_id(self.conn().await?, booking, event_id).await
    }

    /// Marks a claimed job done (or failed, with `error`) inside this transaction; false
    /// when `owner` no longer holds its lease.
    pub async fn finish_job(
        &mut self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> StoreResult<bool> {
        let (lead, conn) = self.lead();
        jobs::finish(conn, lead, id, owner, now, error).await
    }

    /// Releases a claimed job to run again at `run_after` inside this transaction.
    pub async fn retry_job(
        &mut self,
        id: i64,
        owner: &str,
        run_after: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        jobs::retry(self.conn().await?, id, owner, run_after, error).await
    }
}
