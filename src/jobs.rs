//! The job worker: runs the side effects that use cases queue in the jobs table, in the
//! same transaction as the change that causes them (product.md, "Side effects: never lost,
//! never blocking").
//!
//! One pass ([`Worker::run_due`]) claims the jobs due at `now` with an expiring lease, runs
//! them (a few at once) and records each outcome; [`Worker::run`] does the same as a
//! pipeline until shutdown (a slot that frees takes the next job, so a slow job delays only
//! its own). A job held by a process that died is due again once its lease expires, so
//! delivery is at least once: handlers re-read the booking and are idempotent where they can
//! be, and a DM can be sent twice only when a process dies (or a delivery times out) between
//! Discord accepting it and the job being marked done.
//!
//! The worker is front-end agnostic: DMs go through the [`Messenger`] trait, which the
//! Discord layer implements. No store transaction is held while a messenger call runs.
//!
//! Outcomes of `dm` jobs ([`Notice`] payloads):
//! - delivered: done;
//! - the session has started: failed ("session started") without sending, because the DM
//!   is worthless by then. Exception: a cancellation made *during* the session (allowed
//!   until its end) is still sent until the session ends;
//! - `Booked`/`Confirmed`/`Rescheduled` about a booking cancelled since: done without
//!   sending (the cancellation DM says it all);
//! - unreadable payload or missing booking: failed;
//! - [`DeliveryError::Closed`] (Discord 50007): failed with `50007` in the error, the actor
//!   is told through [`Messenger::undeliverable`], never retried;
//! - [`DeliveryError::RetryAfter`] (429): released until then, whatever the attempt count (a rate
//!   limit is not the job's fault; the session start still bounds it);
//! - [`DeliveryError::Transient`] or a delivery timeout: retried with backoff
//!   ([`WorkerConfig::backoff`]) until `max_attempts`, then failed;
//! - [`DeliveryError::Permanent`] (other refusals): failed.
//!
//! `dm_account` jobs ([`AccountNotice`]: calendar connected, Google revoked the grant) are
//! delivered like DMs, without a session to give up at.
//!
//! `calendar_sync` jobs (one queued per booking, re-armed by each change) run
//! [`crate::gcal::sync::run`], which records the booking's new calendar state together with
//! the job's outcome. Transient Google failures are retried with backoff (at least Google's
//! `Retry-After`) without an attempt limit: the sync gives up only when the session has ended.
//! Without Google configured they wait like jobs of an unknown kind.
//!
//! Jobs of kinds this worker has no handler for (those of a later release) are put off by
//! [`NO_HANDLER_DELAY`] with last error "no handler …": neither lost nor spinning.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::domain::{AccountNotice, Booking, Notice};
use crate::gcal::google::Google;
use crate::gcal::sync::{self, SyncOutcome};
use crate::scheduling::booking::{BookingId, BookingStatus};
use crate::store::{CALENDAR_SYNC, Job, Store, StoreError};

/// How long a job of a kind without a handler here is put off before it is offered again.
pub const NO_HANDLER_DELAY: Duration = Duration::hours(1);

/// Delivers DMs; implemented by the Discord front end (and by test doubles).
///
/// Implementations may be written as `async fn` in the `impl` block, as long as their
/// futures are `Send`.
pub trait Messenger: Send + Sync + 'static {
    /// Sends `notice` to its recipient; `booking` is the booking as it is now (render the
    /// current time, status, reason and Meet link from it, not from the notice).
    fn deliver(
        &self,
        notice: &Notice,
        booking: &Booking,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;

    /// The recipient cannot receive DMs (Discord 50007): tell the actor if still possible.
    /// Called at most once per job, after the failure is recorded.
    fn undeliverable(&self, notice: &Notice, booking: &Booking) -> impl Future<Output = ()> + Send;

    /// Sends a notice about the recipient's Google account.
    fn deliver_account(
        &self,
        notice: &AccountNotice,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

/// Why a DM could not be delivered; decides what happens to its job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Discord 50007: the recipient's DMs are closed or they share no server with the bot.
    /// Recorded and never retried.
    #[error("50007: the recipient does not accept direct messages from the bot")]
    Closed,
    /// Discord 429: try again after this long.
    #[error("rate limited (retry after {0:?})")]
    RetryAfter(StdDuration),
    /// 5xx, timeouts, connection errors: retried with backoff.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// Any other refusal (other 4xx): failed at once.
    #[error("delivery refused: {0}")]
    Permanent(String),
}

/// How the worker claims, runs and retries jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// How long a claim holds a job. A delivery must finish within nine tenths of it (it is
    /// timed out otherwise), so no other worker can run the job meanwhile.
    pub lease: Duration,
    /// Most jobs claimed at once (a pass of `run_due`, or one claim of `run`).
    pub batch: u32,
    /// Most jobs run at once.
    pub concurrency: usize,
    /// Backoff before the first retry.
    pub base_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Claims after which a transient failure fails the job. Every claim counts, rate
    /// limited ones included, but a rate limit itself never fails a job.
    pub max_attempts: u32,
    /// Wait between passes when nothing wakes the worker.
    pub idle_poll: StdDuration,
    /// Claim only jobs of these kinds (`None`: every kind). Separate workers for fast DMs
    /// and slow calendar calls keep a slow Google from holding DMs back.
    pub kinds: Option<Vec<String>>,
}

impl Default for WorkerConfig {
    /// 60 s lease, batches of 20, 8 at once, backoff 2 s doubling up to 5 min, 10 attempts,
    /// a pass every second.
    fn default() -> Self {
        WorkerConfig {
            lease: Duration::seconds(60),
            batch: 20,
            concurrency: 8,
            base_backoff: Duration::seconds(2),
            max_backoff: Duration::minutes(5),
            max_attempts: 10,
            idle_poll: StdDuration::from_secs(1),
            kinds: None,
        }
    }
}

impl WorkerConfig {
    /// The delay before running a job again after its `attempt`-th claim failed:
    /// `base_backoff · 2^(attempt−1)`, capped at `max_backoff`, with *equal jitter*: half of
    /// that step is kept and the other half drawn uniformly at random, so retries of jobs
    /// that failed together spread out, yet never come back sooner than half the step.
    /// Rounded up to whole seconds, the store's resolution.
    pub fn backoff(&self, attempt: u32) -> Duration {
        // Without randomness (never seen in practice) the full step is still a valid delay.
        let random = getrandom::u64().unwrap_or(u64::MAX);
        self.backoff_with(attempt, random)
    }

    fn backoff_with(&self, attempt: u32, random: u64) -> Duration {
        let base = self.base_backoff.num_milliseconds().max(0);
        let max = self.max_backoff.num_milliseconds().max(0);
        // 2^40 times any sane base is already past every sane cap; stop before overflow.
        let factor = 1_i64 << attempt.saturating_sub(1).min(40);
        let step = base.saturating_mul(factor).min(max);
        let half = step / 2;
        let spread = u64::try_from(step - half).unwrap_or(0).saturating_add(1);
        // Scales `random` onto 0..spread: uniform, and monotonic (handy for tests).
        let jitter = (u128::from(random) * u128::from(spread)) >> 64;
        let jitter = i64::try_from(jitter).unwrap_or(0);
        let millis = half + jitter;
        Duration::seconds((millis + 999) / 1000)
    }
}

/// What one pass did, by outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Jobs run to completion (DMs delivered).
    pub done: usize,
    /// Jobs released to run again later (transient failure, rate limit).
    pub retried: usize,
    /// Jobs failed for good.
    pub failed: usize,
    /// Jobs finished or put off without running their side effect: DMs made moot by a
    /// cancellation (done without sending), kinds without a handler here (put off by
    /// [`NO_HANDLER_DELAY`]), and jobs the pass had no lease time left for (released at once).
    pub skipped: usize,
}

/// The jobs a worker is running, each its own task.
#[derive(Default)]
struct Running {
    tasks: JoinSet<Recorded>,
    /// Which job each task runs, to name it if the task panics.
    jobs: HashMap<tokio::task::Id, i64>,
}

impl Running {
    fn len(&self) -> usize {
        self.tasks.len()
    }

    fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Starts `job` (claimed at `now`), to be delivered by `deliver_by`.
    fn start<M: Messenger>(
        &mut self,
        inner: &Arc<Inner<M>>,
        job: Job,
        now: DateTime<Utc>,
        deliver_by: Instant,
    ) {
        let span = tracing::info_span!(
            "job",
            id = job.id,
            kind = %job.kind,
            booking = job.booking.as_ref().map_or("-", BookingId::as_str),
            attempt = job.attempts,
        );
        let id = job.id;
        let inner = Arc::clone(inner);
        let task = self
            .tasks
            .spawn(async move { inner.run_job(&job, now, deliver_by).await }.instrument(span));
        self.jobs.insert(task.id(), id);
    }

    /// The next job to end, as recorded; `None` when none runs. A panicking handler counts
    /// as nothing recorded: its job stays leased and runs again afterwards.
    async fn join_next(&mut self) -> Option<Recorded> {
        let joined = self.tasks.join_next_with_id().await?;
        Some(match joined {
            Ok((task, recorded)) => {
                self.jobs.remove(&task);
                recorded
            }
            Err(error) => {
                let job = self.jobs.remove(&error.id());
                tracing::error!(job, error = %error, "job task failed; the job runs again after its lease");
                Ok(None)
            }
        })
    }
}

/// Runs queued jobs. Cheap to clone: clones share one worker (and its [`Worker::wake`]).
pub struct Worker<M: Messenger> {
    inner: Arc<Inner<M>>,
}

impl<M: Messenger> Clone for Worker<M> {
    fn clone(&self) -> Self {
        Worker {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<M> {
    store: Store,
    messenger: M,
    google: Option<Arc<Google>>,
    owner: String,
    config: WorkerConfig,
    wake: Notify,
}

/// How an outcome is counted in the [`PassReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tally {
    Done,
    Retried,
    Failed,
    Skipped,
}

/// A job's outcome once recorded: `None` when the lease was lost before it could be.
type Recorded = Result<Option<Tally>, StoreError>;

impl PassReport {
    fn count(&mut self, tally: Tally) {
        match tally {
            Tally::Done => self.done += 1,
            Tally::Retried => self.retried += 1,
            Tally::Failed => self.failed += 1,
            Tally::Skipped => self.skipped += 1,
        }
    }
}

impl<M: Messenger> Worker<M> {
    /// A worker claiming jobs as `owner` (unique per process: leases are held in its name).
    pub fn new(store: Store, messenger: M, owner: impl Into<String>, config: WorkerConfig) -> Self {
        Worker::with_google(store, messenger, owner, config, None)
    }

    /// A worker that also runs calendar sync jobs through `google` (without it, they wait
    /// like jobs of an unknown kind).
    pub fn with_google(
        store: Store,
        messenger: M,
        owner: impl Into<String>,
        config: WorkerConfig,
        google: Option<Arc<Google>>,
    ) -> Self {
        Worker {
            inner: Arc::new(Inner {
                store,
                messenger,
                google,
                owner: owner.into(),
                config,
                wake: Notify::new(),
            }),
        }
    }

    /// One pass: claim the jobs due at `now` and run them (up to `concurrency` at once),
    /// recording each outcome. Tests call this with a fixed `now`.
    ///
    /// Fails when claiming fails, or with the first error met while recording an outcome
    /// (after every claimed job has been handled); such a job runs again after its lease.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<PassReport, StoreError> {
        self.pass(now).await.map(|(report, _)| report)
    }

    /// Runs jobs until `shutdown` resolves, as a pipeline rather than in passes: whenever a
    /// slot of `concurrency` frees and no claimed job waits, it claims up to `batch` more, so
    /// one slow job (a struggling Google) holds up only its own slot. With nothing to do it
    /// waits `idle_poll`, or until [`Worker::wake`] is called. On shutdown it claims nothing
    /// more and finishes what it holds (bounded by the lease), since stopping mid-delivery
    /// could send a DM twice.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let config = &self.inner.config;
        let slots = config.concurrency.max(1);
        let lease = config.lease.to_std().unwrap_or_default();
        let mut waiting: VecDeque<(Job, DateTime<Utc>, Instant)> = VecDeque::new();
        let mut running = Running::default();
        // Whether a claim may find something: at the start, after a wake or the idle poll
        // (`look`), and while claims come back full (`more`, so a slot that frees is filled).
        let mut look = true;
        let mut more = false;
        let mut stopping = false;
        tracing::info!(owner = %self.inner.owner, "job worker started");
        loop {
            while running.len() < slots {
                let Some((job, now, deliver_by)) = waiting.pop_front() else {
                    break;
                };
                running.start(&self.inner, job, now, deliver_by);
            }
            if !stopping && (look || more) && waiting.is_empty() && running.len() < slots {
                look = false;
                let now = Utc::now();
                match self.claim(now).await {
                    Ok(jobs) => {
                        more = jobs.len() >= usize::try_from(config.batch.max(1)).unwrap_or(0);
                        // Leave a tenth of the lease as margin for recording the outcome.
                        let deliver_by = Instant::now() + (lease - lease / 10);
                        waiting.extend(jobs.into_iter().map(|job| (job, now, deliver_by)));
                        if !waiting.is_empty() {
                            continue;
                        }
                    }
                    Err(error) => {
                        more = false;
                        tracing::error!(error = %cause_chain(&error), "claiming jobs failed");
                    }
                }
            }
            if stopping && running.is_empty() && waiting.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                () = &mut shutdown, if !stopping => stopping = true,
                Some(recorded) = running.join_next(), if !running.is_empty() => {
                    if let Err(error) = recorded {
                        tracing::error!(error = %cause_chain(&error), "could not record a job's outcome; it runs again after its lease");
                    }
                }
                () = self.inner.wake.notified(), if !stopping => look = true,
                () = tokio::time::sleep(config.idle_poll), if !stopping => look = true,
            }
        }
        tracing::info!(owner = %self.inner.owner, "job worker stopped");
    }

    /// Wakes the loop at once (the front end calls it after a change that queued jobs). A
    /// wake during a pass is kept, so the next wait ends at once.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// A pass, also saying how many jobs it claimed.
    /// Claims up to a batch of this worker's due jobs at `now`, leased for `config.lease`.
    async fn claim(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError> {
        let config = &self.inner.config;
        self.inner
            .store
            .claim_jobs_of(
                &self.inner.owner,
                now,
                now + config.lease,
                config.batch.max(1),
                config.kinds.as_deref(),
            )
            .await
    }

    async fn pass(&self, now: DateTime<Utc>) -> Result<(PassReport, usize), StoreError> {
        let started = Instant::now();
        let config = &self.inner.config;
        let jobs = self.claim(now).await?;
        let claimed = jobs.len();
        let mut report = PassReport::default();
        if claimed == 0 {
            return Ok((report, 0));
        }
        // Leave a tenth of the lease as margin for recording the outcome.
        let lease = config.lease.to_std().unwrap_or_default();
        let deliver_by = started + (lease - lease / 10);

        let mut first_error = None;
        let mut running = Running::default();
        let mut queue = jobs.into_iter();
        loop {
            while running.len() < config.concurrency.max(1) {
                let Some(job) = queue.next() else { break };
                running.start(&self.inner, job, now, deliver_by);
            }
            let Some(recorded) = running.join_next().await else {
                break;
            };
            match recorded {
                Ok(Some(tally)) => report.count(tally),
                Ok(None) => {}
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        if report != PassReport::default() {
            tracing::debug!(?report, claimed, "job pass finished");
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok((report, claimed)),
        }
    }
}

impl<M: Messenger> Inner<M> {
    /// Runs one claimed job and records its outcome.
    async fn run_job(&self, job: &Job, now: DateTime<Utc>, deliver_by: Instant) -> Recorded {
        let result = if job.kind == Notice::JOB_KIND {
            self.run_dm(job, now, deliver_by).await
        } else if job.kind == AccountNotice::JOB_KIND {
            self.run_account_dm(job, now, deliver_by).await
        } else if let (CALENDAR_SYNC, Some(google)) = (job.kind.as_str(), &self.google) {
            self.run_calendar(google, job, now, deliver_by).await
        } else {
            let error = format!("no handler for job kind `{}`", job.kind);
            self.retry(job, now + NO_HANDLER_DELAY, &error, Tally::Skipped)
                .await
        };
        if let Err(error) = &result {
            tracing::error!(error = %cause_chain(error), "could not record the job's outcome; it runs again after its lease");
        }
        result
    }

    async fn run_dm(&self, job: &Job, now: DateTime<Utc>, deliver_by: Instant) -> Recorded {
        if Instant::now() >= deliver_by {
            // Slow deliveries ahead of it used up the lease: hand it back untouched.
            let error = job
                .last_error
                .as_deref()
                .unwrap_or("not started within its lease");
            return self.retry(job, now, error, Tally::Skipped).await;
        }
        let notice: Notice = match serde_json::from_value(job.payload.clone()) {
            Ok(notice) => notice,
            Err(error) => {
                return self
                    .fail(job, now, &format!("unreadable payload: {error}"))
                    .await;
            }
        };
        let Some(id) = BookingId::parse(notice.booking()) else {
            return self
                .fail(job, now, "unreadable booking id in payload")
                .await;
        };
        let booking = match self.store.booking(&id).await {
            Ok(Some(booking)) => booking,
            Ok(None) => {
                return self
                    .fail(job, now, &format!("booking {id} not found"))
                    .await;
            }
            // A failed read says nothing about the job: try again like a transient failure.
            Err(error) => {
                let error = format!("loading the booking: {}", cause_chain(&error));
                return self.retry_or_fail(job, now, &error).await;
            }
        };
        let notice_kind = notice_kind(&notice);

        let (give_up_at, reason) = give_up_at(&notice, &booking);
        if now >= give_up_at {
            tracing::info!(notice = notice_kind, "DM not sent: {reason}");
            return self.fail(job, now, reason).await;
        }
        if booking.status == BookingStatus::Cancelled && !matches!(notice, Notice::Cancelled { .. })
        {
            tracing::info!(
                notice = notice_kind,
                "DM not sent: the booking was cancelled since"
            );
            return self.complete(job, now, Tally::Skipped).await;
        }

        let time_left = deliver_by.saturating_duration_since(Instant::now());
        let delivered = match tokio::time::timeout(
            time_left,
            self.messenger.deliver(&notice, &booking),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(DeliveryError::Transient(format!(
                "delivery timed out after {time_left:?}"
            ))),
        };
        match delivered {
            Ok(()) => {
                tracing::debug!(notice = notice_kind, "DM delivered");
                self.complete(job, now, Tally::Done).await
            }
            Err(error @ DeliveryError::Closed) => {
                let recorded = self.fail(job, now, &error.to_string()).await?;
                // Only the lease holder tells the actor, so they hear it once.
                if recorded.is_some() {
                    let time_left = deliver_by.saturating_duration_since(Instant::now());
                    let told = tokio::time::timeout(
                        time_left,
                        self.messenger.undeliverable(&notice, &booking),
                    )
                    .await;
                    if told.is_err() {
                        tracing::warn!(
                            notice = notice_kind,
                            "telling the actor about the undeliverable DM timed out"
                        );
                    }
                }
                Ok(recorded)
            }
            Err(error @ DeliveryError::RetryAfter(wait)) => {
                self.retry_after(job, now, Some(wait), &error.to_string())
                    .await
            }
            Err(error @ DeliveryError::Transient(_)) => {
                self.retry_or_fail(job, now, &error.to_string()).await
            }
            Err(error @ DeliveryError::Permanent(_)) => {
                self.fail(job, now, &error.to_string()).await
            }
        }
    }

    async fn run_calendar(
        &self,
        google: &Google,
        job: &Job,
        now: DateTime<Utc>,
        deliver_by: Instant,
    ) -> Recorded {
        let time_left = deliver_by.saturating_duration_since(Instant::now());
        let outcome = tokio::time::timeout(
            time_left,
            sync::run(google, &self.store, job, &self.owner, now),
        )
        .await;
        match outcome {
            Ok(Ok(SyncOutcome::Recorded { done, failed, held })) => {
                let tally = match (done, failed) {
                    (true, false) => Tally::Done,
                    (true, true) => Tally::Failed,
                    (false, _) => Tally::Retried,
                };
                Ok(self.held(held, tally))
            }
            Ok(Ok(SyncOutcome::Retry { after, error })) => {
                // No attempt limit: a calendar sync keeps trying (backoff capped) until the
                // session ends, so events converge however long Google was away.
                let backoff = self.config.backoff(job.attempts);
                let wait = after
                    .and_then(|a| Duration::from_std(a).ok())
                    .map_or(backoff, |a| a.max(backoff));
                let at = now
                    .checked_add_signed(wait)
                    .unwrap_or(now + self.config.max_backoff);
                self.retry(job, at, &error, Tally::Retried).await
            }
            Ok(Err(error)) => {
                let error = format!("calendar sync: {}", cause_chain(&error));
                self.retry_or_fail(job, now, &error).await
            }
            Err(_) => {
                let error = format!("calendar sync timed out after {time_left:?}");
                self.retry_or_fail(job, now, &error).await
            }
        }
    }

    async fn run_account_dm(&self, job: &Job, now: DateTime<Utc>, deliver_by: Instant) -> Recorded {
        let notice: AccountNotice = match serde_json::from_value(job.payload.clone()) {
            Ok(notice) => notice,
            Err(error) => {
                return self
                    .fail(job, now, &format!("unreadable payload: {error}"))
                    .await;
            }
        };
        let time_left = deliver_by.saturating_duration_since(Instant::now());
        let delivered =
            match tokio::time::timeout(time_left, self.messenger.deliver_account(&notice)).await {
                Ok(result) => result,
                Err(_) => Err(DeliveryError::Transient(format!(
                    "delivery timed out after {time_left:?}"
                ))),
            };
        match delivered {
            Ok(()) => self.complete(job, now, Tally::Done).await,
            Err(error @ (DeliveryError::Closed | DeliveryError::Permanent(_))) => {
                self.fail(job, now, &error.to_string()).await
            }
            Err(error @ DeliveryError::RetryAfter(wait)) => {
                self.retry_after(job, now, Some(wait), &error.to_string())
                    .await
            }
            Err(error @ DeliveryError::Transient(_)) => {
                self.retry_or_fail(job, now, &error.to_string()).await
            }
        }
    }

    /// Retries after `wait` when the other side said how long (rate limits never fail a
    /// job), else with backoff.
    async fn retry_after(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        wait: Option<StdDuration>,
        error: &str,
    ) -> Recorded {
        let Some(wait) = wait else {
            return self.retry_or_fail(job, now, error).await;
        };
        // Whole seconds, rounded up (the store keeps seconds), at least one.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let wait = Duration::seconds(i64::try_from(secs.max(1)).unwrap_or(i64::MAX));
        let at = now
            .checked_add_signed(wait)
            .unwrap_or(now + self.config.max_backoff);
        self.retry(job, at, error, Tally::Retried).await
    }

    /// Retries with backoff, or fails once the job has had `max_attempts` claims.
    async fn retry_or_fail(&self, job: &Job, now: DateTime<Utc>, error: &str) -> Recorded {
        if job.attempts >= self.config.max_attempts {
            let error = format!("{error} (gave up after {} attempts)", job.attempts);
            return self.fail(job, now, &error).await;
        }
        let at = now + self.config.backoff(job.attempts);
        self.retry(job, at, error, Tally::Retried).await
    }

    async fn complete(&self, job: &Job, now: DateTime<Utc>, tally: Tally) -> Recorded {
        let held = self.store.complete_job(job.id, &self.owner, now).await?;
        Ok(self.held(held, tally))
    }

    async fn fail(&self, job: &Job, now: DateTime<Utc>, error: &str) -> Recorded {
        tracing::warn!(error, "job failed");
        let held = self.store.fail_job(job.id, &self.owner, now, error).await?;
        Ok(self.held(held, Tally::Failed))
    }

    async fn retry(&self, job: &Job, at: DateTime<Utc>, error: &str, tally: Tally) -> Recorded {
        tracing::info!(error, run_after = %at, "job put off");
        let held = self.store.retry_job(job.id, &self.owner, at, error).await?;
        Ok(self.held(held, tally))
    }

    fn held(&self, held: bool, tally: Tally) -> Option<Tally> {
        if !held {
            tracing::warn!("the job's lease was lost before its outcome was recorded");
        }
        held.then_some(tally)
    }
}

/// When a DM stops being worth sending, and the reason recorded then: the session's start,
/// except for a cancellation made during the session, which is still worth sending until
/// the session's end.
fn give_up_at(notice: &Notice, booking: &Booking) -> (DateTime<Utc>, &'static str) {
    let start = booking.interval.start();
    match (notice, &booking.cancellation) {
        (Notice::Cancelled { .. }, Some(cancellation)) if cancellation.at >= start => {
            (booking.interval.end(), "session ended")
        }
        _ => (start, "session started"),
    }
}

/// The notice's name for logs (never its contents).
fn notice_kind(notice: &Notice) -> &'static str {
    match notice {
        Notice::Booked { .. } => "booked",
        Notice::Confirmed { .. } => "confirmed",
        Notice::Cancelled { .. } => "cancelled",
        Notice::Rescheduled { .. } => "rescheduled",
        Notice::MeetLink { .. } => "meet_link",
    }
}

/// An error with its causes, for the log.
fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use tempfile::TempDir;

    use super::*;
    use crate::scheduling::booking::UserId;
    use crate::service::{BookRequest, Service};
    use crate::store::{NewJob, StoreOptions};

    const NOW: &str = "2026-11-23T08:00:00Z"; // a Monday
    const START: &str = "2026-11-24T09:00:00Z";
    const MENTOR: UserId = UserId(100_000_000_000_000_001);
    const MENTEE: UserId = UserId(100_000_000_000_000_002);

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        utc(NOW)
    }

    /// One call the worker made.
    #[derive(Debug, Clone, PartialEq)]
    enum Call {
        Deliver(Notice, Box<Booking>),
        Undeliverable(Notice),
    }

    #[derive(Default)]
    struct Script {
        calls: Vec<Call>,
        /// Answers per recipient, in order; `Ok` once used up.
        answers: HashMap<u64, VecDeque<Result<(), DeliveryError>>>,
        in_flight: usize,
        most_in_flight: usize,
    }

    /// Records every call and answers from a script.
    #[derive(Clone, Default)]
    struct Recorder {
        script: Arc<Mutex<Script>>,
        /// How long each delivery takes.
        delay: StdDuration,
        /// A recipient whose deliveries take this long instead.
        slow: Option<(u64, StdDuration)>,
    }

    impl Recorder {
        fn answer(&self, recipient: UserId, answers: Vec<Result<(), DeliveryError>>) {
            self.script
                .lock()
                .unwrap()
                .answers
                .entry(recipient.0)
                .or_default()
                .extend(answers);
        }

        fn calls(&self) -> Vec<Call> {
            self.script.lock().unwrap().calls.clone()
        }

        fn deliveries(&self) -> Vec<(Notice, Booking)> {
            self.calls()
                .into_iter()
                .filter_map(|c| match c {
                    Call::Deliver(n, b) => Some((n, *b)),
                    Call::Undeliverable(_) => None,
                })
                .collect()
        }

        fn most_in_flight(&self) -> usize {
            self.script.lock().unwrap().most_in_flight
        }
    }

    fn recipient(notice: &Notice) -> u64 {
        match notice {
            Notice::Booked { recipient, .. }
            | Notice::Confirmed { recipient, .. }
            | Notice::Cancelled { recipient, .. }
            | Notice::MeetLink { recipient, .. }
            | Notice::Rescheduled { recipient, .. } => *recipient,
        }
    }

    impl Messenger for Recorder {
        async fn deliver_account(&self, _notice: &AccountNotice) -> Result<(), DeliveryError> {
            Ok(())
        }

        async fn deliver(&self, notice: &Notice, booking: &Booking) -> Result<(), DeliveryError> {
            let answer = {
                let mut script = self.script.lock().unwrap();
                script
                    .calls
                    .push(Call::Deliver(notice.clone(), Box::new(booking.clone())));
                script.in_flight += 1;
                script.most_in_flight = script.most_in_flight.max(script.in_flight);
                script
                    .answers
                    .get_mut(&recipient(notice))
                    .and_then(VecDeque::pop_front)
                    .unwrap_or(Ok(()))
            };
            let delay = match self.slow {
                Some((slow, delay)) if slow == recipient(notice) => delay,
                _ => self.delay,
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.script.lock().unwrap().in_flight -= 1;
            answer
        }

        async fn undeliverable(&self, notice: &Notice, _booking: &Booking) {
            let mut script = self.script.lock().unwrap();
            script.calls.push(Call::Undeliverable(notice.clone()));
        }
    }

    /// A fresh database with a mentor free 09:00-12:00 UTC on weekdays.
    struct Fixture {
        service: Service,
        store: Store,
        messenger: Recorder,
        _dir: TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreOptions::new(dir.path().join("jobs.db")))
            .await
            .unwrap();
        let service = Service::new(store.clone());
        service
            .set_availability(MENTOR, "mon-fri", "09:00-12:00", Some("UTC"), now())
            .await
            .unwrap();
        Fixture {
            service,
            store,
            messenger: Recorder::default(),
            _dir: dir,
        }
    }

    impl Fixture {
        fn worker(&self, config: WorkerConfig) -> Worker<Recorder> {
            Worker::new(
                self.store.clone(),
                self.messenger.clone(),
                "test-worker",
                config,
            )
        }

        async fn book(&self, start: &str) -> Booking {
            self.book_at(utc(start), now()).await
        }

        async fn book_at(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Booking {
            let request = BookRequest {
                mentor: MENTOR,
                mentee: MENTEE,
                mentor_name: "mentor".into(),
                mentee_name: "mentee".into(),
                start,
            };
            self.service.book(&request, now).await.unwrap()
        }

        /// Makes the mentor bookable around the clock, for tests on the real clock (the
        /// running loop claims at `Utc::now()`): returns now and a slot start on the
        /// half-hour grid three hours ahead (past the 2 h notice).
        async fn open_around_the_clock(&self) -> (DateTime<Utc>, DateTime<Utc>) {
            let real_now = Utc::now();
            self.service
                .set_availability(MENTOR, "everyday", "00:00-24:00", None, real_now)
                .await
                .unwrap();
            let ahead = (real_now + Duration::hours(3)).timestamp();
            let start = DateTime::from_timestamp(ahead - ahead % 1800, 0).unwrap();
            (real_now, start)
        }

        /// The booking's job for the notice named `notice` (`booked`, `confirmed`, ...).
        async fn job(&self, booking: &Booking, notice: &str) -> Job {
            let jobs = self.store.jobs_for_booking(&booking.id).await.unwrap();
            let mut matching = jobs
                .into_iter()
                .filter(|j| j.payload["notice"] == notice)
                .collect::<Vec<_>>();
            assert_eq!(matching.len(), 1, "one {notice} job");
            matching.remove(0)
        }
    }

    /// Runs `worker`'s loop in a task until the returned sender fires.
    fn run_in_background(
        worker: Worker<Recorder>,
    ) -> (
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(async move {
            worker
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        (stop, running)
    }

    fn report(done: usize, retried: usize, failed: usize, skipped: usize) -> PassReport {
        PassReport {
            done,
            retried,
            failed,
            skipped,
        }
    }

    #[tokio::test]
    async fn a_booking_delivers_both_dms_once_and_marks_their_jobs_done() {
        let f = fixture().await;
        let booking = f.book(START).await;
        let worker = f.worker(WorkerConfig::default());

        assert_eq!(worker.run_due(now()).await.unwrap(), report(2, 0, 0, 0));

        let mut sent = f
            .messenger
            .deliveries()
            .into_iter()
            .map(|(n, b)| (n, b.id))
            .collect::<Vec<_>>();
        sent.sort_by_key(|(n, _)| recipient(n));
        let id = booking.id.to_string();
        assert_eq!(
            sent,
            [
                (
                    Notice::Booked {
                        booking: id.clone(),
                        recipient: MENTOR.0
                    },
                    booking.id.clone()
                ),
                (
                    Notice::Confirmed {
                        booking: id,
                        recipient: MENTEE.0
                    },
                    booking.id.clone()
                ),
            ]
        );
        for job in f.store.jobs_for_booking(&booking.id).await.unwrap() {
            assert_eq!((job.state.as_str(), job.attempts), ("done", 1));
        }
        // Done jobs are not run again.
        let later = now() + Duration::hours(1);
        assert_eq!(worker.run_due(later).await.unwrap(), PassReport::default());
        assert_eq!(f.messenger.calls().len(), 2);
    }

    #[tokio::test]
    async fn a_cancellation_dm_goes_to_the_other_person_with_the_cancelled_booking() {
        let f = fixture().await;
        let booking = f.book(START).await;
        let worker = f.worker(WorkerConfig::default());
        worker.run_due(now()).await.unwrap();

        let later = now() + Duration::minutes(10);
        f.service
            .cancel(MENTEE, booking.id.as_str(), Some("sick"), later)
            .await
            .unwrap();
        assert_eq!(worker.run_due(later).await.unwrap(), report(1, 0, 0, 0));

        let deliveries = f.messenger.deliveries();
        let (notice, seen) = deliveries.last().unwrap();
        assert_eq!(
            *notice,
            Notice::Cancelled {
                booking: booking.id.to_string(),
                recipient: MENTOR.0,
                actor: MENTEE.0,
            }
        );
        assert_eq!(seen.status, BookingStatus::Cancelled);
        let cancellation = seen.cancellation.as_ref().unwrap();
        assert_eq!(cancellation.reason.as_deref(), Some("sick"));
        assert_eq!(f.job(&booking, "cancelled").await.state, "done");
    }

    #[tokio::test]
    async fn closed_dms_fail_the_job_with_50007_tell_the_actor_once_and_are_never_retried() {
        let f = fixture().await;
        f.messenger.answer(MENTOR, vec![Err(DeliveryError::Closed)]);
        let booking = f.book(START).await;
        let worker = f.worker(WorkerConfig::default());

        assert_eq!(worker.run_due(now()).await.unwrap(), report(1, 0, 1, 0));

        let job = f.job(&booking, "booked").await;
        assert_eq!(job.state, "failed");
        assert!(job.last_error.unwrap().contains("50007"));
        let told = f
            .messenger
            .calls()
            .into_iter()
            .filter(|c| matches!(c, Call::Undeliverable(_)))
            .collect::<Vec<_>>();
        assert_eq!(
            told,
            [Call::Undeliverable(Notice::Booked {
                booking: booking.id.to_string(),
                recipient: MENTOR.0
            })]
        );
        // Well past every backoff: nothing is tried again.
        let calls = f.messenger.calls().len();
        let later = now() + Duration::hours(2);
        assert_eq!(worker.run_due(later).await.unwrap(), PassReport::default());
        assert_eq!(f.messenger.calls().len(), calls);
    }

    #[tokio::test]
    async fn transient_errors_are_retried_with_growing_capped_jittered_delays_then_failed() {
        let f = fixture().await;
        let config = WorkerConfig {
            base_backoff: Duration::seconds(2),
            max_backoff: Duration::seconds(10),
            max_attempts: 6,
            ..WorkerConfig::default()
        };
        f.messenger.answer(
            MENTEE,
            (0..10)
                .map(|i| Err(DeliveryError::Transient(format!("503 #{i}"))))
                .collect(),
        );
        let booking = f.book(START).await;
        let worker = f.worker(config);

        let mut at = now();
        // Steps 2, 4, 8, then capped at 10; equal jitter keeps at least half of each.
        for (attempt, step) in [(1_u32, 2_i64), (2, 4), (3, 8), (4, 10), (5, 10)] {
            let pass = worker.run_due(at).await.unwrap();
            assert_eq!(pass.retried, 1, "attempt {attempt}");
            let job = f.job(&booking, "confirmed").await;
            assert_eq!((job.state.as_str(), job.attempts), ("queued", attempt));
            let delay = (job.run_after - at).num_seconds();
            assert!(
                (step / 2..=step).contains(&delay),
                "attempt {attempt}: {delay} s not in [{}, {step}]",
                step / 2
            );
            assert_eq!(
                job.last_error.as_deref(),
                Some(&*format!(
                    "transient delivery failure: 503 #{}",
                    attempt - 1
                ))
            );
            // Not due before its time.
            let early = job.run_after - Duration::seconds(1);
            assert_eq!(worker.run_due(early).await.unwrap(), PassReport::default());
            at = job.run_after;
        }
        assert_eq!(worker.run_due(at).await.unwrap(), report(0, 0, 1, 0));
        let job = f.job(&booking, "confirmed").await;
        assert_eq!((job.state.as_str(), job.attempts), ("failed", 6));
        let error = job.last_error.unwrap();
        assert!(
            error.contains("503 #5") && error.contains("gave up after 6 attempts"),
            "{error}"
        );
        assert_eq!(
            worker.run_due(at + Duration::hours(1)).await.unwrap(),
            PassReport::default()
        );
    }

    #[test]
    fn backoff_doubles_from_the_base_is_capped_and_keeps_half_of_each_step() {
        let config = WorkerConfig::default();
        let lowest = |attempt| config.backoff_with(attempt, 0).num_seconds();
        let highest = |attempt| config.backoff_with(attempt, u64::MAX).num_seconds();
        assert_eq!(
            (1..=10).map(highest).collect::<Vec<_>>(),
            [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
        );
        assert_eq!(
            (1..=10).map(lowest).collect::<Vec<_>>(),
            [1, 2, 4, 8, 16, 32, 64, 128, 150, 150]
        );
        assert_eq!(highest(u32::MAX), 300, "no overflow on huge attempt counts");
    }

    #[test]
    fn backoff_jitter_spreads_retries_within_the_bounds() {
        let config = WorkerConfig::default();
        let delays = (0..200)
            .map(|_| config.backoff(10).num_seconds())
            .collect::<Vec<_>>();
        assert!(delays.iter().all(|d| (150..=300).contains(d)), "{delays:?}");
        let distinct = delays
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert!(distinct > 20, "only {distinct} distinct delays");
    }

    #[tokio::test]
    async fn a_rate_limit_is_honoured_and_does_not_count_as_a_failure() {
        let f = fixture().await;
        f.messenger.answer(
            MENTOR,
            vec![Err(DeliveryError::RetryAfter(StdDuration::from_millis(
                89_500,
            )))],
        );
        let booking = f.book(START).await;
        // One attempt allowed: a transient error would fail at once, a rate limit does not.
        let worker = f.worker(WorkerConfig {
            max_attempts: 1,
            ..WorkerConfig::default()
        });

        assert_eq!(worker.run_due(now()).await.unwrap(), report(1, 1, 0, 0));
        let job = f.job(&booking, "booked").await;
        assert_eq!(job.state, "queued");
        assert_eq!(job.run_after, now() + Duration::seconds(90), "rounded up");

        let early = now() + Duration::seconds(89);
        assert_eq!(worker.run_due(early).await.unwrap(), PassReport::default());
        let due = now() + Duration::seconds(90);
        assert_eq!(worker.run_due(due).await.unwrap(), report(1, 0, 0, 0));
        assert_eq!(f.job(&booking, "booked").await.state, "done");
    }

    #[tokio::test]
    async fn other_refusals_fail_the_job_at_once() {
        let f = fixture().await;
        f.messenger.answer(
            MENTOR,
            vec![Err(DeliveryError::Permanent("403 Missing Access".into()))],
        );
        let booking = f.book(START).await;
        let worker = f.worker(WorkerConfig::default());

        assert_eq!(worker.run_due(now()).await.unwrap(), report(1, 0, 1, 0));
        let job = f.job(&booking, "booked").await;
        assert_eq!(job.state, "failed");
        assert!(job.last_error.unwrap().contains("403 Missing Access"));
        assert!(
            !f.messenger
                .calls()
                .iter()
                .any(|c| matches!(c, Call::Undeliverable(_)))
        );
    }

    #[tokio::test]
    async fn a_job_held_by_a_worker_that_died_runs_again_after_its_lease() {
        let f = fixture().await;
        let booking = f.book(START).await;
        let lease = Duration::seconds(60);
        let held = f
            .store
            .claim_jobs("dead-worker", now(), now() + lease, 10)
            .await
            .unwrap();
        assert_eq!(held.len(), 2);
        let worker = f.worker(WorkerConfig {
            lease,
            ..WorkerConfig::default()
        });

        let during = now() + Duration::seconds(59);
        assert_eq!(worker.run_due(during).await.unwrap(), PassReport::default());
        assert!(f.messenger.calls().is_empty());

        let after = now() + lease;
        assert_eq!(worker.run_due(after).await.unwrap(), report(2, 0, 0, 0));
        assert_eq!(f.messenger.deliveries().len(), 2);
        for job in f.store.jobs_for_booking(&booking.id).await.unwrap() {
            assert_eq!((job.state.as_str(), job.attempts), ("done", 2));
        }
    }

    #[tokio::test]
    async fn dms_give_up_without_sending_once_the_session_has_started() {
        let f = fixture().await;
        let booking = f.book(START).await;
        let worker = f.worker(WorkerConfig::default());

        assert_eq!(
            worker.run_due(utc(START)).await.unwrap(),
            report(0, 0, 2, 0)
        );
        assert!(f.messenger.calls().is_empty());
        for job in f.store.jobs_for_booking(&booking.id).await.unwrap() {
            assert_eq!(job.state, "failed");
            assert_eq!(job.last_error.as_deref(), Some("session started"));
        }
    }

    #[tokio::test]
    async fn a_cancellation_during_the_session_is_still_sent_until_it_ends() {
        let f = fixture().await;
        let booking = f.book(START).await;
        let worker = f.worker(WorkerConfig::default());
        worker.run_due(now()).await.unwrap();

        let during = utc(START) + Duration::minutes(5);
        f.service
            .cancel(MENTOR, booking.id.as_str(), None, during)
            .await
            .unwrap();
        assert_eq!(worker.run_due(during).await.unwrap(), report(1, 0, 0, 0));
        let deliveries = f.messenger.deliveries();
        assert_eq!(recipient(&deliveries.last().unwrap().0), MENTEE.0);
    }

    #[tokio::test]
    async fn booked_and_confirmed_dms_of_a_booking_cancelled_since_are_skipped() {
        let f = fixture().await;
        let booking = f.book(START).await;
        f.service
            .cancel(MENTOR, booking.id.as_str(), Some("conflict"), now())
            .await
            .unwrap();
        let worker = f.worker(WorkerConfig::default());

        assert_eq!(worker.run_due(now()).await.unwrap(), report(1, 0, 0, 2));
        let deliveries = f.messenger.deliveries();
        assert_eq!(deliveries.len(), 1);
        assert!(matches!(
            deliveries[0].0,
            Notice::Cancelled { recipient, .. } if recipient == MENTEE.0
        ));
        for notice in ["booked", "confirmed", "cancelled"] {
            assert_eq!(f.job(&booking, notice).await.state, "done", "{notice}");
        }
    }

    #[tokio::test]
    async fn a_rescheduled_dm_goes_to_the_other_person() {
        let f = fixture().await;
        let booking = f.book(START).await;
        let worker = f.worker(WorkerConfig::default());
        worker.run_due(now()).await.unwrap();

        let to = utc("2026-11-24T10:00:00Z");
        f.service
            .reschedule(MENTOR, booking.id.as_str(), to, now())
            .await
            .unwrap();
        assert_eq!(worker.run_due(now()).await.unwrap(), report(1, 0, 0, 0));
        let deliveries = f.messenger.deliveries();
        let (notice, seen) = deliveries.last().unwrap();
        assert!(matches!(notice, Notice::Rescheduled { recipient, .. } if *recipient == MENTEE.0));
        assert_eq!(seen.interval.start(), to, "the booking as it is now");
    }

    #[tokio::test]
    async fn unreadable_payloads_and_missing_bookings_fail_the_job() {
        let f = fixture().await;
        let booking = f.book(START).await;
        let garbage = NewJob {
            kind: Notice::JOB_KIND.into(),
            booking: Some(booking.id.clone()),
            payload: serde_json::json!({ "notice": "telegram" }),
            run_after: now(),
            now: now(),
        };
        let orphan = NewJob {
            booking: None,
            payload: serde_json::to_value(Notice::Booked {
                booking: "ZZZZZZ".into(),
                recipient: MENTOR.0,
            })
            .unwrap(),
            ..garbage.clone()
        };
        let mut tx = f.store.write().await.unwrap();
        tx.enqueue(&[garbage, orphan]).await.unwrap();
        tx.commit().await.unwrap();
        let worker = f.worker(WorkerConfig::default());

        assert_eq!(worker.run_due(now()).await.unwrap(), report(2, 0, 2, 0));
        let job = f.job(&booking, "telegram").await;
        assert_eq!(job.state, "failed");
        assert!(job.last_error.unwrap().contains("unreadable payload"));
        assert_eq!(f.messenger.deliveries().len(), 2, "only the real DMs");
        let later = now() + Duration::hours(2);
        assert_eq!(worker.run_due(later).await.unwrap(), PassReport::default());
    }

    #[tokio::test]
    async fn jobs_without_a_handler_are_put_off_an_hour_not_lost() {
        let f = fixture().await;
        let booking = f.book(START).await;
        let mut tx = f.store.write().await.unwrap();
        tx.enqueue(&[NewJob {
            kind: "calendar_sync".into(),
            booking: Some(booking.id.clone()),
            payload: serde_json::json!({ "booking": booking.id.as_str() }),
            run_after: now(),
            now: now(),
        }])
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let worker = f.worker(WorkerConfig::default());

        assert_eq!(worker.run_due(now()).await.unwrap(), report(2, 0, 0, 1));
        let jobs = f.store.jobs_for_booking(&booking.id).await.unwrap();
        let sync = jobs.iter().find(|j| j.kind == "calendar_sync").unwrap();
        assert_eq!(sync.state, "queued");
        assert_eq!(sync.run_after, now() + NO_HANDLER_DELAY);
        assert!(sync.last_error.as_deref().unwrap().contains("no handler"));
        let soon = now() + Duration::minutes(59);
        assert_eq!(worker.run_due(soon).await.unwrap(), PassReport::default());
    }

    #[tokio::test]
    async fn a_pass_with_nothing_due_does_nothing() {
        let f = fixture().await;
        let worker = f.worker(WorkerConfig::default());
        assert_eq!(worker.run_due(now()).await.unwrap(), PassReport::default());
        assert!(f.messenger.calls().is_empty());
    }

    #[tokio::test]
    async fn no_more_than_concurrency_deliveries_run_at_once() {
        let mut f = fixture().await;
        f.messenger.delay = StdDuration::from_millis(30);
        for start in ["09:00", "09:30", "10:00"] {
            f.book(&format!("2026-11-24T{start}:00Z")).await;
        }
        let worker = f.worker(WorkerConfig {
            concurrency: 2,
            ..WorkerConfig::default()
        });
        assert_eq!(worker.run_due(now()).await.unwrap(), report(6, 0, 0, 0));
        assert_eq!(f.messenger.most_in_flight(), 2);
    }

    #[tokio::test]
    async fn a_delivery_slower_than_the_lease_is_timed_out_and_later_jobs_are_handed_back() {
        let mut f = fixture().await;
        f.messenger.delay = StdDuration::from_millis(600);
        let booking = f.book(START).await;
        // Deliveries must end within nine tenths of the lease: 270 ms here.
        let worker = f.worker(WorkerConfig {
            lease: Duration::milliseconds(300),
            concurrency: 1,
            ..WorkerConfig::default()
        });

        assert_eq!(worker.run_due(now()).await.unwrap(), report(0, 1, 0, 1));
        let jobs = f.store.jobs_for_booking(&booking.id).await.unwrap();
        let (timed_out, handed_back) = (&jobs[0], &jobs[1]);
        assert_eq!(timed_out.state, "queued");
        assert!(timed_out.run_after > now());
        assert!(
            timed_out
                .last_error
                .as_deref()
                .unwrap()
                .contains("timed out")
        );
        assert_eq!(handed_back.state, "queued");
        assert_eq!(handed_back.run_after, now(), "due again at once");
        assert_eq!(f.messenger.calls().len(), 1, "the second was never started");
    }

    #[tokio::test]
    async fn run_stops_when_shutdown_resolves() {
        let f = fixture().await;
        let worker = f.worker(WorkerConfig {
            idle_poll: StdDuration::from_millis(20),
            ..WorkerConfig::default()
        });
        let (stop, running) = run_in_background(worker);
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        assert!(!running.is_finished());
        stop.send(()).unwrap();
        tokio::time::timeout(StdDuration::from_millis(500), running)
            .await
            .expect("run returns promptly after shutdown")
            .unwrap();
    }

    #[tokio::test]
    async fn a_slow_delivery_holds_up_only_its_own_slot_in_the_running_loop() {
        let mut f = fixture().await;
        f.messenger.slow = Some((MENTEE.0, StdDuration::from_secs(3)));
        let (real_now, start) = f.open_around_the_clock().await;
        // Two bookings: each DMs the mentor (fast) and the mentee (slow).
        let mut bookings = Vec::new();
        for hour in 0..2 {
            bookings.push(f.book_at(start + Duration::hours(hour), real_now).await);
        }
        // Two slots, two jobs per claim: in passes, the second claim would wait for the
        // first slow DM (3 s); as a pipeline the fast slot keeps claiming.
        let worker = f.worker(WorkerConfig {
            batch: 2,
            concurrency: 2,
            idle_poll: StdDuration::from_secs(60),
            ..WorkerConfig::default()
        });
        let (stop, running) = run_in_background(worker);
        let mentors_told = tokio::time::timeout(StdDuration::from_millis(1500), async {
            loop {
                let to_mentor = f
                    .messenger
                    .deliveries()
                    .iter()
                    .filter(|(notice, _)| recipient(notice) == MENTOR.0)
                    .count();
                if to_mentor == 2 {
                    break;
                }
                tokio::time::sleep(StdDuration::from_millis(10)).await;
            }
        })
        .await;
        assert!(
            mentors_told.is_ok(),
            "both mentor DMs went out while the first mentee DM was still under way: {:?}",
            f.messenger.calls().len()
        );
        stop.send(()).unwrap();
        tokio::time::timeout(StdDuration::from_secs(10), running)
            .await
            .expect("run finishes what it holds, then returns")
            .unwrap();
        // Every job ended done: the slow ones under way at shutdown were finished first.
        for booking in &bookings {
            for job in f.store.jobs_for_booking(&booking.id).await.unwrap() {
                assert_eq!(job.state, "done", "{job:?}");
            }
        }
    }

    #[tokio::test]
    async fn wake_makes_the_loop_run_at_once() {
        let f = fixture().await;
        let (real_now, start) = f.open_around_the_clock().await;
        // Far longer than the test waits: only a wake can make it run the jobs.
        let worker = f.worker(WorkerConfig {
            idle_poll: StdDuration::from_secs(60),
            ..WorkerConfig::default()
        });
        let (stop, running) = run_in_background(worker.clone());
        // Let the first pass find nothing, so the loop is waiting.
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        f.book_at(start, real_now).await;
        worker.wake();

        let delivered = tokio::time::timeout(StdDuration::from_millis(900), async {
            while f.messenger.deliveries().len() < 2 {
                tokio::time::sleep(StdDuration::from_millis(10)).await;
            }
        })
        .await;
        assert!(delivered.is_ok(), "the woken loop delivered both DMs");
        stop.send(()).unwrap();
        tokio::time::timeout(StdDuration::from_millis(500), running)
            .await
            .unwrap()
            .unwrap();
    }
}
