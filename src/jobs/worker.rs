//! The engine: claims due jobs with an expiring lease, runs them a few at once (each in its
//! own task, bounded by the lease), dispatches each to its handler by kind and records the
//! outcome. Handlers live next door (`dm`, `calendar`); this file knows no job's contents.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use super::Messenger;
use crate::domain::{AccountNotice, BookingId, Notice};
use crate::service::Google;
use crate::store::{CALENDAR_SYNC, Job, Store, StoreError};

/// How long a job of a kind without a handler here is put off before it is offered again.
pub const NO_HANDLER_DELAY: Duration = Duration::hours(1);

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

/// How an outcome is counted in the [`PassReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tally {
    Done,
    Retried,
    Failed,
    Skipped,
}

/// A job's outcome once recorded: `None` when the lease was lost before it could be.
pub(super) type Recorded = Result<Option<Tally>, StoreError>;

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

pub(super) struct Inner<M> {
    pub(super) store: Store,
    pub(super) messenger: M,
    pub(super) google: Option<Arc<Google>>,
    pub(super) owner: String,
    pub(super) config: WorkerConfig,
    pub(super) wake: Notify,
    /// Claims made so far.
    pub(super) claims: AtomicU64,
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
                claims: AtomicU64::new(0),
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
                        tracing::error!(error = %crate::cause::chain(&error), "claiming jobs failed");
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
                        tracing::error!(error = %crate::cause::chain(&error), "could not record a job's outcome; it runs again after its lease");
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
    /// How many claims this worker has made (each pass, or each look of the running loop,
    /// makes one), so a caller can tell it has looked at the queue.
    pub fn claims_made(&self) -> u64 {
        self.inner.claims.load(Ordering::Relaxed)
    }

    async fn claim(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError> {
        let config = &self.inner.config;
        let claimed = self
            .inner
            .store
            .claim_jobs_of(
                &self.inner.owner,
                now,
                now + config.lease,
                config.batch.max(1),
                config.kinds.as_deref(),
            )
            .await;
        self.inner.claims.fetch_add(1, Ordering::Relaxed);
        claimed
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
        let dm = job.kind == Notice::JOB_KIND || job.kind == AccountNotice::JOB_KIND;
        let result = if Instant::now() >= deliver_by {
            // Slow jobs ahead of it used up the lease: hand it back untouched.
            self.store
                .hand_back_job(job.id, &self.owner)
                .await
                .map(|held| self.held(held, Tally::Skipped))
        } else if dm {
            self.run_dm(job, now, deliver_by).await
        } else if let (CALENDAR_SYNC, Some(google)) = (job.kind.as_str(), &self.google) {
            self.run_calendar(google, job, now, deliver_by).await
        } else if job.kind == CALENDAR_SYNC {
            // Google is not configured in this process (yet): keep the job for when it is.
            let error = "Google Calendar is not configured";
            self.retry(job, now + NO_HANDLER_DELAY, error, Tally::Skipped)
                .await
        } else {
            let error = format!("unknown job kind `{}`", job.kind);
            self.fail(job, now, &error).await
        };
        if let Err(error) = &result {
            tracing::error!(error = %crate::cause::chain(error), "could not record the job's outcome; it runs again after its lease");
        }
        result
    }

    /// Retries after `wait` when the other side said how long, else with growing backoff:
    /// either way a rate limit never fails a job.
    pub(super) async fn retry_after(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        wait: Option<StdDuration>,
        error: &str,
    ) -> Recorded {
        let Some(wait) = wait else {
            return self.retry_with_backoff(job, now, error).await;
        };
        // Whole seconds, rounded up (the store keeps seconds), at least one.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let wait = Duration::seconds(i64::try_from(secs.max(1)).unwrap_or(i64::MAX));
        let at = now
            .checked_add_signed(wait)
            .unwrap_or(now + self.config.max_backoff);
        self.retry(job, at, error, Tally::Retried).await
    }

    /// Retries with backoff however often it failed (calendar syncs: they stop only when the
    /// session has ended).
    pub(super) async fn retry_with_backoff(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        error: &str,
    ) -> Recorded {
        let at = now + self.config.backoff(job.attempts);
        self.retry(job, at, error, Tally::Retried).await
    }

    /// Retries with backoff, or fails once the job has had `max_attempts` claims.
    pub(super) async fn retry_or_fail(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        error: &str,
    ) -> Recorded {
        if job.attempts >= self.config.max_attempts {
            let error = format!("{error} (gave up after {} attempts)", job.attempts);
            return self.fail(job, now, &error).await;
        }
        let at = now + self.config.backoff(job.attempts);
        self.retry(job, at, error, Tally::Retried).await
    }

    pub(super) async fn complete(&self, job: &Job, now: DateTime<Utc>, tally: Tally) -> Recorded {
        let held = self.store.complete_job(job.id, &self.owner, now).await?;
        Ok(self.held(held, tally))
    }

    pub(super) async fn fail(&self, job: &Job, now: DateTime<Utc>, error: &str) -> Recorded {
        tracing::warn!(error, "job failed");
        let held = self.store.fail_job(job.id, &self.owner, now, error).await?;
        Ok(self.held(held, Tally::Failed))
    }

    pub(super) async fn retry(
        &self,
        job: &Job,
        at: DateTime<Utc>,
        error: &str,
        tally: Tally,
    ) -> Recorded {
        tracing::info!(error, run_after = %at, "job put off");
        let held = self.store.retry_job(job.id, &self.owner, at, error).await?;
        Ok(self.held(held, tally))
    }

    pub(super) fn held(&self, held: bool, tally: Tally) -> Option<Tally> {
        if !held {
            tracing::warn!("the job's lease was lost before its outcome was recorded");
        }
        held.then_some(tally)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::jobs::testing::*;
    use crate::store::NewJob;

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
    async fn calendar_jobs_without_google_configured_are_put_off_an_hour_not_lost() {
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
        assert_eq!(
            sync.last_error.as_deref(),
            Some("Google Calendar is not configured")
        );
        let soon = now() + Duration::minutes(59);
        assert_eq!(worker.run_due(soon).await.unwrap(), PassReport::default());
    }

    #[tokio::test]
    async fn unreadable_rows_and_unknown_kinds_fail_with_the_reason_and_the_lane_goes_on() {
        use sqlx::Connection;
        let f = fixture().await;
        let url = format!("sqlite://{}", f._dir.path().join("jobs.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for (kind, attempts, payload) in
            [("dm", 0, "[1, 2]"), ("dm", -5, "{}"), ("teleport", 0, "{}")]
        {
            sqlx::query(
                "INSERT INTO jobs (kind, attempts, payload, run_after, created_at)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(kind)
            .bind(attempts)
            .bind(payload)
            .bind(now().timestamp() - 60)
            .bind(now().timestamp() - 60)
            .execute(&mut conn)
            .await
            .unwrap();
        }
        let booking = f.book(START).await;
        let worker = f.worker(WorkerConfig::default());

        // The booking's two DMs are delivered; the payload that is no notice and the unknown
        // kind fail when run; the row whose booking id can't be read fails in the claim.
        assert_eq!(worker.run_due(now()).await.unwrap(), report(2, 0, 2, 0));
        assert_eq!(f.messenger.deliveries().len(), 2);
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT kind, state, last_error FROM jobs WHERE booking_id IS NOT ? ORDER BY id",
        )
        .bind(booking.id.as_str())
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let states: Vec<&str> = rows.iter().map(|(_, s, _)| s.as_str()).collect();
        assert_eq!(states, ["failed"; 3]);
        let errors: Vec<&str> = rows.iter().map(|(_, _, e)| e.as_deref().unwrap()).collect();
        assert!(errors[0].starts_with("unreadable payload: "), "{errors:?}");
        assert!(
            errors[1].starts_with("unreadable: ") && errors[1].ends_with(": attempts"),
            "{errors:?}"
        );
        assert_eq!(errors[2], "unknown job kind `teleport`");
        assert_eq!(worker.run_due(now()).await.unwrap(), PassReport::default());
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
        assert_eq!(handed_back.attempts, 0, "its claim uncounted");
        assert_eq!(f.messenger.calls().len(), 1, "the second was never started");
    }

    #[tokio::test]
    async fn run_stops_when_shutdown_resolves() {
        let f = fixture().await;
        let worker = f.worker(WorkerConfig {
            idle_poll: StdDuration::from_secs(60),
            ..WorkerConfig::default()
        });
        let (stop, running) = run_in_background(worker.clone());
        // The loop has looked at the queue and is waiting (on a 60 s idle poll).
        wait_until(|| worker.claims_made() >= 1).await;
        assert!(!running.is_finished());
        stop.send(()).unwrap();
        // Far sooner than the idle poll: shutdown interrupts the wait. (A hang guard, not a
        // speed check.)
        tokio::time::timeout(StdDuration::from_secs(30), running)
            .await
            .expect("run returns after shutdown without waiting out its idle poll")
            .unwrap();
    }

    #[tokio::test]
    async fn a_slow_delivery_holds_up_only_its_own_slot_in_the_running_loop() {
        let mut f = fixture().await;
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        f.messenger.held = Some((MENTEE.0, gate.clone()));
        let (real_now, start) = f.open_around_the_clock().await;
        // Two bookings: each DMs the mentor (fast) and the mentee (slow).
        let mut bookings = Vec::new();
        for hour in 0..2 {
            bookings.push(f.book_at(start + Duration::hours(hour), real_now).await);
        }
        // Two slots, two jobs per claim: in passes, the second claim would wait for the
        // first mentee DM (held until released); as a pipeline the free slot keeps claiming.
        let worker = f.worker(WorkerConfig {
            batch: 2,
            concurrency: 2,
            idle_poll: StdDuration::from_secs(60),
            ..WorkerConfig::default()
        });
        let (stop, running) = run_in_background(worker);
        // Both mentor DMs go out while the mentee DMs are still held.
        wait_until(|| {
            f.messenger
                .deliveries()
                .iter()
                .filter(|(notice, _)| notice.recipient() == MENTOR.0)
                .count()
                == 2
        })
        .await;
        assert_eq!(gate.available_permits(), 0, "no mentee DM was let through");
        gate.add_permits(2);
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
        // The first look found nothing, so the loop is waiting on its 60 s poll.
        wait_until(|| worker.claims_made() >= 1).await;
        f.book_at(start, real_now).await;
        worker.wake();
        // Well within the idle poll: only the wake can explain it.
        wait_until(|| f.messenger.deliveries().len() == 2).await;
        assert_eq!(worker.claims_made(), 2, "one look after the wake");
        stop.send(()).unwrap();
        tokio::time::timeout(StdDuration::from_secs(30), running)
            .await
            .unwrap()
            .unwrap();
    }
}
