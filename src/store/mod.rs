//! The SQLite store: the only module that names sqlx. Functions take and return domain
//! types, so another store (Postgres, for sharded deployments) could stand beside it.
//!
//! Durability and concurrency: WAL journal, `synchronous=FULL` (a committed booking survives
//! power loss), foreign keys on, and a busy timeout. Writes that read first run in
//! `BEGIN IMMEDIATE` transactions ([`Store::write`]) on a small writer pool, so a lost race
//! waits for the lock and then sees the winner's row; it never surfaces as SQLITE_BUSY.
//!
//! Files: this one holds [`Store`] (opening, reads on the read pool, job bookkeeping) and
//! `tx.rs` holds [`WriteTx`] (every write); both are thin doors to the statements, which live
//! with their tables in `mentors.rs`, `blocks.rs`, `bookings.rs`, `calendar.rs`, `connect.rs`,
//! `reminders.rs` and `jobs.rs`; `retention.rs` deletes what is no longer needed, and `privacy.rs` what a
//! user asks to erase. `writer.rs` is the group-commit writer that batches write units into
//! one transaction.

mod blocks;
mod bookings;
mod calendar;
mod connect;
mod jobs;
mod mentors;
mod privacy;
mod reminders;
mod retention;
mod tx;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration as StdDuration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::domain::{Booking, BookingId, GuildId, Mentor, PastTime, RoleId, UserId};
use crate::scheduling::interval::Interval;

pub use bookings::{BookingQuery, BusyTime, NewBooking, PairBusy};
pub use calendar::{CALENDAR_SYNC, GoogleAccount, SyncRecord, SyncTarget};
pub use connect::{OAuthState, PendingGrant};
pub use jobs::{Job, NewJob};
pub use privacy::{DELETED_USER, Erased};
pub use tx::WriteTx;
pub use writer::BoxFuture;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write would make two active bookings of one person overlap (database trigger).
    #[error("the booking overlaps an active booking of the mentor or the mentee")]
    Overlap,
    /// A booking id is already taken.
    #[error("the booking id is already taken")]
    DuplicateId,
    /// A stored value could not be read back.
    #[error("unreadable stored value: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The batch this write was part of could not commit (the cause, formatted).
    #[error("the write could not be committed: {0}")]
    Commit(String),
    /// The writer task is gone (the store was closed).
    #[error("the database writer has stopped")]
    WriterStopped,
    /// Migrations failed.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// How to open the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The database file (created if missing).
    pub path: PathBuf,
    /// Connections for reads.
    pub read_connections: u32,
    /// Connections for write transactions. One keeps writes queued in-process instead of
    /// spinning in SQLite's busy handler; more are safe (transactions serialise them).
    pub write_connections: u32,
    /// How long a connection waits for another process's write lock.
    pub busy_timeout: StdDuration,
    /// Most write units committed together by [`Store::transact`].
    pub max_batch: usize,
}

impl StoreOptions {
    /// Defaults for `path`: 4 readers, 1 writer, 10 s busy timeout.
    pub fn new(path: impl Into<PathBuf>) -> StoreOptions {
        StoreOptions {
            path: path.into(),
            read_connections: 4,
            write_connections: 1,
            busy_timeout: StdDuration::from_secs(10),
            max_batch: 64,
        }
    }

    /// Options from a `DATABASE_URL` such as `sqlite://mentorbot.db`, `sqlite:data/bot.db`
    /// or a plain path. In-memory databases are refused: the bot needs a file.
    pub fn from_url(url: &str) -> Result<StoreOptions, String> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" || path.contains("mode=memory") {
            return Err(format!(
                "`{url}` is not a database file; use a path such as `sqlite://mentorbot.db`"
            ));
        }
        Ok(StoreOptions::new(path))
    }
}

/// Durability settings of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// `wal` expected.
    pub journal_mode: String,
    /// 2 = FULL expected.
    pub synchronous: i64,
    /// Foreign keys enforced.
    pub foreign_keys: bool,
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
    writer: writer::Writer,
    path: PathBuf,
}

/// The embedded migrations.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(options: &StoreOptions) -> StoreResult<Store> {
        let connect = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&options.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        // No ping before handing out a connection (sqlx's default): an SQLite connection is
        // a file handle that cannot go stale, and the ping cost a round trip to the
        // connection's thread on every query.
        let write = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(options.write_connections.max(1))
            .acquire_timeout(StdDuration::from_secs(30))
            .connect_with(connect.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(options.read_connections.max(1))
            .connect_with(connect.read_only(true))
            .await?;
        Ok(Store {
            writer: writer::Writer::start(write.clone(), options.max_batch),
            read,
            write,
            path: options.path.clone(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// The durability settings in force on the writer connection (for health checks and
    /// tests): journal mode, `synchronous` level (2 = FULL) and foreign keys.
    pub async fn durability(&self) -> StoreResult<Durability> {
        let mut conn = self.write.acquire().await?;
        let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await?;
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await?;
        let foreign_keys: bool = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await?;
        Ok(Durability {
            journal_mode,
            synchronous,
            foreign_keys,
        })
    }

    /// True when the database answers a query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    /// Runs `unit` in a `BEGIN IMMEDIATE` transaction shared with other units waiting at the
    /// same moment (group commit), inside its own savepoint: its writes are kept when it
    /// returns `Ok` and rolled back alone when it returns `Err`. Returns once the outcome is
    /// durable. Write `unit` as `move |tx| Box::pin(async move { ... })`.
    pub async fn transact<T, E, F>(&self, unit: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut WriteTx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.writer.transact(unit, |_: &T| {}).await
    }

    /// Like [`Store::transact`], and once `unit`'s writes are durable, `on_commit` runs
    /// with its value before any requester of the batch hears back: a cache updated there
    /// is up to date for everyone who acts on that batch. `on_commit` must be quick and must
    /// not fail.
    pub async fn transact_then<T, E, F, H>(&self, unit: F, on_commit: H) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut WriteTx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
        H: FnOnce(&T) + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.writer.transact(unit, on_commit).await
    }

    /// Starts a write transaction with `BEGIN IMMEDIATE`: it holds the database's write lock
    /// from its first statement, so what it reads stays true until it commits.
    pub async fn write(&self) -> StoreResult<WriteTx> {
        Ok(WriteTx::new(
            self.write.begin_with("BEGIN IMMEDIATE").await?,
        ))
    }

    /// A user's own zone and last seen display name, in one read.
    pub async fn user_profile(&self, user: UserId) -> StoreResult<(Option<Tz>, Option<String>)> {
        mentors::user_profile(&mut *self.read.acquire().await?, user).await
    }

    /// A mentor with their schedule (overrides from `since` on) and settings.
    pub async fn mentor(&self, user: UserId, since: NaiveDate) -> StoreResult<Option<Mentor>> {
        mentors::mentor(&mut *self.read.acquire().await?, "", user, since).await
    }

    /// Override notes of a mentor from `since` on, by date.
    pub async fn override_notes(
        &self,
        user: UserId,
        since: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, String)>> {
        mentors::override_notes(&mut *self.read.acquire().await?, user, since).await
    }

    /// One booking.
    pub async fn booking(&self, id: &BookingId) -> StoreResult<Option<Booking>> {
        bookings::booking(&mut *self.read.acquire().await?, "", id).await
    }

    /// Mentors listed in a server, with their last seen names.
    pub async fn guild_mentors(
        &self,
        guild: GuildId,
    ) -> StoreResult<Vec<(UserId, Option<String>)>> {
        mentors::guild_mentors(&mut *self.read.acquire().await?, guild).await
    }

    /// The server's mentor role, if one is set.
    pub async fn mentor_role(&self, guild: GuildId) -> StoreResult<Option<RoleId>> {
        mentors::mentor_role(&mut *self.read.acquire().await?, guild).await
    }

    /// A user's bookings, filtered.
    pub async fn bookings(&self, query: &BookingQuery) -> StoreResult<Vec<Booking>> {
        bookings::list(&mut *self.read.acquire().await?, query).await
    }

    /// The earlier times of a rescheduled booking, oldest first.
    pub async fn booking_history(&self, id: &BookingId) -> StoreResult<Vec<PastTime>> {
        bookings::history(&mut *self.read.acquire().await?, id).await
    }

    /// A user's busy time overlapping `span`, leaving out `except` (a booking being moved).
    pub async fn busy_time(
        &self,
        user: UserId,
        span: Interval,
        except: Option<&BookingId>,
    ) -> StoreResult<BusyTime> {
        bookings::busy_time(&mut *self.read.acquire().await?, user, span, except).await
    }

    /// A per-install value, if set.
    pub async fn install_value(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        calendar::install_value(&mut *self.read.acquire().await?, key).await
    }

    /// A mentor's `change_notice_hours` as a duration (0 for non-mentors).
    pub async fn change_notice(&self, mentor: UserId) -> StoreResult<chrono::Duration> {
        mentors::change_notice(&mut *self.read.acquire().await?, mentor).await
    }

    /// Some connected Google account, if any.
    pub async fn any_connected_google_account(&self) -> StoreResult<Option<GoogleAccount>> {
        calendar::any_connected(&mut *self.read.acquire().await?).await
    }

    /// `user`'s Google account, connected or revoked.
    pub async fn google_account(&self, user: UserId) -> StoreResult<Option<GoogleAccount>> {
        calendar::account(&mut *self.read.acquire().await?, user).await
    }

    /// Times of `mentor`'s bookings whose calendar event may exist and overlap `span`
    /// (active ones, and cancelled or moved ones whose sync is pending).
    pub async fn own_event_times(
        &self,
        mentor: UserId,
        span: Interval,
    ) -> StoreResult<Vec<Interval>> {
        calendar::own_event_times(&mut *self.read.acquire().await?, mentor, span).await
    }

    /// Jobs, for inspection (tests, admin tools): every job about `booking`.
    pub async fn jobs_for_booking(&self, booking: &BookingId) -> StoreResult<Vec<Job>> {
        jobs::for_booking(&mut *self.read.acquire().await?, booking).await
    }

    /// Claims up to `limit` due jobs for `owner` until `lease_until`. A job whose lease
    /// expired (its worker died) is due again.
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        // Job bookkeeping goes through the group-commit writer too, so under load it shares
        // fsyncs with bookings instead of competing with them for the write lock.
        self.claim_jobs_of(owner, now, lease_until, limit, None)
            .await
    }

    /// Like [`Store::claim_jobs`], only jobs of the given kinds (all kinds for `None`).
    pub async fn claim_jobs_of(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        kinds: Option<&[String]>,
    ) -> StoreResult<Vec<Job>> {
        let owner = owner.to_owned();
        let kinds = kinds.map(<[String]>::to_vec);
        self.transact(move |tx| {
            Box::pin(async move {
                let (lead, conn) = tx.lead();
                jobs::claim(
                    conn,
                    lead,
                    &owner,
                    now,
                    lease_until,
                    limit,
                    kinds.as_deref(),
                )
                .await
            })
        })
        .await
    }

    /// Releases every job lease: called at start-up, when no other process can hold one
    /// (the database lock), so jobs of a process that died run again at once. Returns how
    /// many were held.
    pub async fn release_leases(&self) -> StoreResult<u64> {
        self.transact(move |tx| Box::pin(async move { jobs::release_all(tx.conn().await?).await }))
            .await
    }

    /// Marks a claimed job done; false when `owner` no longer holds its lease.
    pub async fn complete_job(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let owner = owner.to_owned();
        self.transact(move |tx| Box::pin(async move { tx.finish_job(id, &owner, now, None).await }))
            .await
    }

    /// Marks a claimed job failed for good, keeping `error`.
    pub async fn fail_job(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        let (owner, error) = (owner.to_owned(), error.to_owned());
        self.transact(move |tx| {
            Box::pin(async move { tx.finish_job(id, &owner, now, Some(&error)).await })
        })
        .await
    }

    /// Undoes the claim of a job that never started (no lease time was left for it).
    pub async fn hand_back_job(&self, id: i64, owner: &str) -> StoreResult<bool> {
        let owner = owner.to_owned();
        self.transact(move |tx| {
            Box::pin(async move { jobs::hand_back(tx.conn().await?, id, &owner).await })
        })
        .await
    }

    /// Releases a claimed job to run again at `run_after`, keeping `error`.
    pub async fn retry_job(
        &self,
        id: i64,
        owner: &str,
        run_after: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        let (owner, error) = (owner.to_owned(), error.to_owned());
        self.transact(move |tx| {
            Box::pin(async move { tx.retry_job(id, &owner, run_after, &error).await })
        })
        .await
    }
}

/// Seconds since the epoch, as stored.
fn to_secs(instant: DateTime<Utc>) -> i64 {
    instant.timestamp()
}

/// Seconds since the epoch, rounded up.
fn to_secs_ceil(instant: DateTime<Utc>) -> i64 {
    instant.timestamp() + i64::from(instant.timestamp_subsec_nanos() > 0)
}

/// Reads stored seconds back.
fn from_secs(secs: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| StoreError::Corrupt(format!("instant {secs}")))
}

/// User ids are Discord snowflakes, below 2^63: stored as INTEGER.
fn user_param(user: UserId) -> i64 {
    user.0 as i64
}

fn user_from(value: i64) -> UserId {
    UserId(value as u64)
}
