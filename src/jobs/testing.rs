//! Test doubles and fixtures shared by the worker's tests: a [`Recorder`] messenger that
//! answers from a script, and a database with a mentor to book.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tempfile::TempDir;

use super::{DeliveryError, Messenger, PassReport, Worker, WorkerConfig};
use crate::domain::{AccountNotice, Booking, Notice, UserId};
pub(super) use crate::scheduling::test_support::utc;
use crate::service::{BookRequest, Service};
use crate::store::{Job, Store, StoreOptions};

pub(super) const NOW: &str = "2026-11-23T08:00:00Z"; // a Monday
pub(super) const START: &str = "2026-11-24T09:00:00Z";
pub(super) const MENTOR: UserId = UserId(100_000_000_000_000_001);
pub(super) const MENTEE: UserId = UserId(100_000_000_000_000_002);

pub(super) fn now() -> DateTime<Utc> {
    utc(NOW)
}

/// One call the worker made.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Call {
    Deliver(Notice, Box<Booking>),
    Undeliverable(Notice),
}

#[derive(Default)]
pub(super) struct Script {
    pub(super) calls: Vec<Call>,
    /// Answers per recipient, in order; `Ok` once used up.
    pub(super) answers: HashMap<u64, VecDeque<Result<(), DeliveryError>>>,
    pub(super) in_flight: usize,
    pub(super) most_in_flight: usize,
}

/// Records every call and answers from a script.
#[derive(Clone, Default)]
pub(super) struct Recorder {
    pub(super) script: Arc<Mutex<Script>>,
    /// How long each delivery takes.
    pub(super) delay: StdDuration,
    /// A recipient whose deliveries take this long instead.
    /// Deliveries to this recipient wait for a permit of the semaphore.
    pub(super) held: Option<(u64, Arc<tokio::sync::Semaphore>)>,
}

impl Recorder {
    pub(super) fn answer(&self, recipient: UserId, answers: Vec<Result<(), DeliveryError>>) {
        self.script
            .lock()
            .unwrap()
            .answers
            .entry(recipient.0)
            .or_default()
            .extend(answers);
    }

    pub(super) fn calls(&self) -> Vec<Call> {
        self.script.lock().unwrap().calls.clone()
    }

    pub(super) fn deliveries(&self) -> Vec<(Notice, Booking)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Deliver(n, b) => Some((n, *b)),
                Call::Undeliverable(_) => None,
            })
            .collect()
    }

    pub(super) fn most_in_flight(&self) -> usize {
        self.script.lock().unwrap().most_in_flight
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
                .get_mut(&notice.recipient())
                .and_then(VecDeque::pop_front)
                .unwrap_or(Ok(()))
        };
        if let Some((held, gate)) = &self.held
            && *held == notice.recipient()
        {
            gate.acquire().await.expect("the gate stays open").forget();
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
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
pub(super) struct Fixture {
    pub(super) service: Service,
    pub(super) store: Store,
    pub(super) messenger: Recorder,
    pub(super) _dir: TempDir,
}

impl Fixture {
    pub(super) fn worker(&self, config: WorkerConfig) -> Worker<Recorder> {
        Worker::new(
            self.store.clone(),
            self.messenger.clone(),
            "test-worker",
            config,
        )
    }

    pub(super) async fn book(&self, start: &str) -> Booking {
        self.book_at(utc(start), now()).await
    }

    pub(super) async fn book_at(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Booking {
        let request = BookRequest {
            mentor: MENTOR,
            mentee: MENTEE,
            mentor_name: "mentor".into(),
            mentee_name: "mentee".into(),
            start,
            guild: None,
        };
        self.service.book(&request, now).await.unwrap()
    }

    /// Makes the mentor bookable around the clock, for tests on the real clock (the
    /// running loop claims at `Utc::now()`): returns now and a slot start on the
    /// half-hour grid three hours ahead (past the 2 h notice).
    pub(super) async fn open_around_the_clock(&self) -> (DateTime<Utc>, DateTime<Utc>) {
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
    pub(super) async fn job(&self, booking: &Booking, notice: &str) -> Job {
        let jobs = self.store.jobs_for_booking(&booking.id).await.unwrap();
        let mut matching = jobs
            .into_iter()
            .filter(|j| j.payload["notice"] == notice)
            .collect::<Vec<_>>();
        assert_eq!(matching.len(), 1, "one {notice} job");
        matching.remove(0)
    }
}

pub(super) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreOptions::new(dir.path().join("jobs.db")))
        .await
        .unwrap();
    let service = Service::new(store.clone());
    service
        .set_availability(MENTOR, "mon-fri", "09:00-12:00", Some("UTC"), now())
        .await
        .unwrap();
    // These tests are about the booking's own DMs; reminders have tests of their own.
    for user in [MENTOR, MENTEE] {
        service.set_reminders(user, "off", now()).await.unwrap();
    }
    Fixture {
        service,
        store,
        messenger: Recorder::default(),
        _dir: dir,
    }
}

/// Runs `worker`'s loop in a task until the returned sender fires.
/// Waits until `done` holds, polling; a hang guard of 30 s, not a speed check.
pub(super) async fn wait_until(done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(30);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still waiting after 30 s"
        );
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
}

pub(super) fn run_in_background(
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

pub(super) fn report(done: usize, retried: usize, failed: usize, skipped: usize) -> PassReport {
    PassReport {
        done,
        retried,
        failed,
        skipped,
    }
}
