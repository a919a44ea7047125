//! The jobs table: side effects queued in the same transaction as the change that causes
//! them, claimed by workers with expiring leases.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::{StoreError, StoreResult, from_secs, to_secs, to_secs_ceil};
use crate::domain::BookingId;

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What kind of work (the worker dispatches on it).
    pub kind: String,
    /// The booking it concerns, if any.
    pub booking: Option<BookingId>,
    /// The work's parameters.
    pub payload: serde_json::Value,
    /// Not before this instant.
    pub run_after: DateTime<Utc>,
    /// When it was queued.
    pub now: DateTime<Utc>,
}

/// A queued or finished job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// What kind of work.
    pub kind: String,
    /// The booking it concerns, if any.
    pub booking: Option<BookingId>,
    /// The work's parameters.
    pub payload: serde_json::Value,
    /// `queued`, `done` or `failed`.
    pub state: String,
    /// How often it was claimed.
    pub attempts: u32,
    /// Not before this instant.
    pub run_after: DateTime<Utc>,
    /// The last error, if any.
    pub last_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    booking_id: Option<String>,
    payload: String,
    state: String,
    attempts: i64,
    run_after: i64,
    last_error: Option<String>,
}

impl JobRow {
    fn into_job(self) -> StoreResult<Job> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("job {}: {what}", self.id));
        Ok(Job {
            id: self.id,
            booking: match &self.booking_id {
                Some(id) => Some(BookingId::parse(id).ok_or_else(|| corrupt("booking id"))?),
                None => None,
            },
            payload: serde_json::from_str(&self.payload).map_err(|_| corrupt("payload"))?,
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("attempts"))?,
            run_after: from_secs(self.run_after)?,
            kind: self.kind,
            state: self.state,
            last_error: self.last_error,
        })
    }
}

const COLUMNS: &str = "id, kind, booking_id, payload, state, attempts, run_after, last_error";

/// A query on SQLite, as `sqlx::query` builds it.
pub(super) type SqliteQuery<'q> =
    sqlx::query::Query<'q, sqlx::Sqlite, <sqlx::Sqlite as sqlx::Database>::Arguments>;

/// The statement inserting `n` jobs (one statement for all: a booking queues two DMs);
/// [`bind`] binds their values, in order, with anonymous parameters.
pub(super) fn insert_statement(n: usize) -> String {
    let values = vec!["(?, ?, ?, ?, ?)"; n].join(", ");
    format!("INSERT INTO jobs (kind, booking_id, payload, run_after, created_at) VALUES {values}")
}

/// Binds the values of [`insert_statement`] for `jobs`.
pub(super) fn bind<'q>(mut query: SqliteQuery<'q>, jobs: &[NewJob]) -> SqliteQuery<'q> {
    for job in jobs {
        query = query
            .bind(job.kind.clone())
            .bind(job.booking.as_ref().map(|b| b.as_str().to_owned()))
            .bind(job.payload.to_string())
            .bind(to_secs(job.run_after))
            .bind(to_secs(job.now));
    }
    query
}

pub(super) async fn enqueue(conn: &mut SqliteConnection, jobs: &[NewJob]) -> StoreResult<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let sql = insert_statement(jobs.len());
    bind(sqlx::query(sqlx::AssertSqlSafe(sql)), jobs)
        .execute(conn)
        .await?;
    Ok(())
}

/// `lead`: statements sent ahead in the same round trip (see `WriteTx::lead`), or `""`.
pub(super) async fn claim(
    conn: &mut SqliteConnection,
    lead: &str,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
    kinds: Option<&[String]>,
) -> StoreResult<Vec<Job>> {
    // Kinds are bound as parameters ?5, ?6, ...; only their count shapes the statement.
    let kind_filter = match kinds {
        Some(kinds) => {
            let params: Vec<String> = (0..kinds.len()).map(|i| format!("?{}", i + 5)).collect();
            format!("AND kind IN ({})", params.join(", "))
        }
        None => String::new(),
    };
    let sql = format!(
        "{lead}UPDATE jobs SET lease_owner = ?1, lease_until = ?2, attempts = attempts + 1
         WHERE id IN (SELECT id FROM jobs
                      WHERE state = 'queued' AND run_after <= ?3
                        AND (lease_until IS NULL OR lease_until <= ?3) {kind_filter}
                      ORDER BY run_after, id LIMIT ?4)
         RETURNING {COLUMNS}"
    );
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        // Rounded up: a lease stored in whole seconds must not end before the worker's
        // deadline for the job (nine tenths of the lease), or another claim could run it
        // at the same time.
        .bind(to_secs_ceil(lease_until))
        .bind(to_secs(now))
        .bind(i64::from(limit));
    for kind in kinds.unwrap_or_default() {
        query = query.bind(kind.as_str());
    }
    let rows: Vec<JobRow> = query.fetch_all(&mut *conn).await?;
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.id;
        match row.into_job() {
            Ok(job) => jobs.push(job),
            // One unreadable row must not stop the lane: it fails, with why, in this claim.
            Err(error) => {
                tracing::error!(job = id, error = %error, "unreadable job failed");
                fail_unread(conn, id, now, &error.to_string()).await?;
            }
        }
    }
    jobs.sort_by_key(|j| (j.run_after, j.id));
    Ok(jobs)
}

/// Fails a claimed row that can't be read as a job.
async fn fail_unread(
    conn: &mut SqliteConnection,
    id: i64,
    now: DateTime<Utc>,
    error: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'failed', finished_at = ?, last_error = ?,
                lease_owner = NULL, lease_until = NULL
         WHERE id = ?",
    )
    .bind(to_secs(now))
    .bind(format!("unreadable: {error}"))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Undoes a claim whose job never started: the lease is dropped and the claim uncounted, so
/// the job is due again at once, as it was.
pub(super) async fn hand_back(
    conn: &mut SqliteConnection,
    id: i64,
    owner: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET attempts = max(attempts - 1, 0), lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND state = 'queued'",
    )
    .bind(id)
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `lead`: statements sent ahead in the same round trip (see `WriteTx::lead`), or `""`.
pub(super) async fn finish(
    conn: &mut SqliteConnection,
    lead: &str,
    id: i64,
    owner: &str,
    now: DateTime<Utc>,
    error: Option<&str>,
) -> StoreResult<bool> {
    // RETURNING rather than the row count, which a lead would skew.
    let sql = format!(
        "{lead}UPDATE jobs SET state = ?, finished_at = ?, last_error = coalesce(?, last_error),
                lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND state = 'queued'
         RETURNING id"
    );
    let done: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(if error.is_some() { "failed" } else { "done" })
        .bind(to_secs(now))
        .bind(error)
        .bind(id)
        .bind(owner)
        .fetch_optional(conn)
        .await?;
    Ok(done.is_some())
}

pub(super) async fn retry(
    conn: &mut SqliteConnection,
    id: i64,
    owner: &str,
    run_after: DateTime<Utc>,
    error: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET run_after = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND state = 'queued'",
    )
    .bind(to_secs(run_after))
    .bind(error)
    .bind(id)
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn for_booking(
    conn: &mut SqliteConnection,
    booking: &BookingId,
) -> StoreResult<Vec<Job>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE booking_id = ? ORDER BY id");
    let rows: Vec<JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(booking.as_str())
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(JobRow::into_job).collect()
}

pub(super) async fn release_all(conn: &mut SqliteConnection) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL
         WHERE state = 'queued' AND lease_owner IS NOT NULL",
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
