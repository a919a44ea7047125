//! DM jobs: `dm` (a [`Notice`] about a booking) and `dm_account` (an [`AccountNotice`]
//! about the recipient's Google account). A booking DM first gets one pure decision (send,
//! skip or give up); then both kinds share one path that delivers within the lease and
//! records the outcome.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::worker::{Inner, Recorded, Tally};
use super::{DeliveryError, Messenger};
use crate::domain::{AccountNotice, Booking, BookingId, Notice};
use crate::scheduling::booking::BookingStatus;
use crate::store::Job;

/// What becomes of a booking DM, decided before any delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// Deliver it.
    Send,
    /// Done without sending: the booking was cancelled since, and the cancellation DM says
    /// it all.
    Skip,
    /// Failed without sending: too late to be worth anything (the reason is recorded).
    GiveUp(&'static str),
}

/// The decision for `notice` about `booking` as it is at `now`.
fn decide(notice: &Notice, booking: &Booking, now: DateTime<Utc>) -> Decision {
    // A reminder is only worth anything before the session: after its start (the bot was
    // down, say) it is done without sending, not a failure.
    if matches!(notice, Notice::Reminder { .. })
        && (now >= booking.interval.start() || booking.status == BookingStatus::Cancelled)
    {
        return Decision::Skip;
    }
    let (give_up_at, reason) = give_up_at(notice, booking);
    if now >= give_up_at {
        Decision::GiveUp(reason)
    } else if booking.status == BookingStatus::Cancelled
        && !matches!(notice, Notice::Cancelled { .. })
    {
        Decision::Skip
    } else {
        Decision::Send
    }
}

/// A DM job's payload.
enum Payload {
    Session(Notice),
    Account(AccountNotice),
}

/// A DM ready to deliver.
#[derive(Clone, Copy)]
enum Dm<'a> {
    /// About a booking, with the booking as it is now.
    Session(&'a Notice, &'a Booking),
    /// About the recipient's Google account.
    Account(&'a AccountNotice),
}

impl Dm<'_> {
    async fn deliver<M: Messenger>(self, messenger: &M) -> Result<(), DeliveryError> {
        match self {
            Dm::Session(notice, booking) => messenger.deliver(notice, booking).await,
            Dm::Account(notice) => messenger.deliver_account(notice).await,
        }
    }

    /// The notice's name for logs (never its contents).
    fn kind(self) -> &'static str {
        match self {
            Dm::Session(notice, _) => notice_kind(notice),
            Dm::Account(_) => "account",
        }
    }
}

impl<M: Messenger> Inner<M> {
    /// Runs a `dm` or `dm_account` job: failed if its payload is unreadable.
    pub(super) async fn run_dm(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        deliver_by: Instant,
    ) -> Recorded {
        let read = if job.kind == AccountNotice::JOB_KIND {
            serde_json::from_value(job.payload.clone()).map(Payload::Account)
        } else {
            serde_json::from_value(job.payload.clone()).map(Payload::Session)
        };
        match read {
            Ok(Payload::Session(notice)) => self.session_dm(job, now, deliver_by, &notice).await,
            Ok(Payload::Account(notice)) => {
                self.deliver_and_record(job, now, deliver_by, Dm::Account(&notice))
                    .await
            }
            Err(error) => {
                self.fail(job, now, &format!("unreadable payload: {error}"))
                    .await
            }
        }
    }

    /// A DM about a booking: read the booking as it is now, decide, deliver.
    async fn session_dm(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        deliver_by: Instant,
        notice: &Notice,
    ) -> Recorded {
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
                let error = format!("loading the booking: {}", crate::cause::chain(&error));
                return self.retry_or_fail(job, now, &error).await;
            }
        };
        let notice_kind = notice_kind(notice);
        match decide(notice, &booking, now) {
            Decision::GiveUp(reason) => {
                tracing::info!(notice = notice_kind, "DM not sent: {reason}");
                self.fail(job, now, reason).await
            }
            Decision::Skip => {
                tracing::info!(
                    notice = notice_kind,
                    "DM not sent: the booking was cancelled since"
                );
                self.complete(job, now, Tally::Skipped).await
            }
            Decision::Send => {
                self.deliver_and_record(job, now, deliver_by, Dm::Session(notice, &booking))
                    .await
            }
        }
    }

    /// Delivers `dm` by `deliver_by` and records what happened: done; failed for good
    /// (closed DMs, after which the actor of a booking change is told once, and other
    /// refusals); or put off (rate limits, transient failures and time-outs).
    async fn deliver_and_record(
        &self,
        job: &Job,
        now: DateTime<Utc>,
        deliver_by: Instant,
        dm: Dm<'_>,
    ) -> Recorded {
        let time_left = deliver_by.saturating_duration_since(Instant::now());
        let delivered = match tokio::time::timeout(time_left, dm.deliver(&self.messenger)).await {
            Ok(result) => result,
            Err(_) => Err(DeliveryError::Transient(format!(
                "delivery timed out after {time_left:?}"
            ))),
        };
        match delivered {
            Ok(()) => {
                tracing::debug!(notice = dm.kind(), "DM delivered");
                self.complete(job, now, Tally::Done).await
            }
            Err(error @ DeliveryError::Closed) => {
                let recorded = self.fail(job, now, &error.to_string()).await?;
                // Only the lease holder tells the actor, so they hear it once.
                if let (Some(_), Dm::Session(notice, booking)) = (recorded, dm) {
                    let time_left = deliver_by.saturating_duration_since(Instant::now());
                    let told = tokio::time::timeout(
                        time_left,
                        self.messenger.undeliverable(notice, booking),
                    )
                    .await;
                    if told.is_err() {
                        tracing::warn!(
                            notice = dm.kind(),
                            "telling the actor about the undeliverable DM timed out"
                        );
                    }
                }
                Ok(recorded)
            }
            Err(error @ DeliveryError::RetryAfter(wait)) => {
                self.retry_after(job, now, wait, &error.to_string()).await
            }
            Err(error @ DeliveryError::Transient(_)) => {
                self.retry_or_fail(job, now, &error.to_string()).await
            }
            Err(error @ DeliveryError::Permanent(_)) => {
                self.fail(job, now, &error.to_string()).await
            }
        }
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
        Notice::Reminder { .. } => "reminder",
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::jobs::testing::*;
    use crate::jobs::{PassReport, WorkerConfig};
    use std::time::Duration as StdDuration;

    use crate::store::NewJob;

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
        sent.sort_by_key(|(n, _)| n.recipient());
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

    #[tokio::test]
    async fn a_rate_limit_is_honoured_and_does_not_count_as_a_failure() {
        let f = fixture().await;
        f.messenger.answer(
            MENTOR,
            vec![Err(DeliveryError::RetryAfter(Some(
                StdDuration::from_millis(89_500),
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
    async fn a_rate_limit_without_a_delay_backs_off_more_each_time_and_never_fails_the_job() {
        let f = fixture().await;
        let limited = || Err(DeliveryError::RetryAfter(None));
        f.messenger
            .answer(MENTOR, vec![limited(), limited(), limited(), limited()]);
        let booking = f.book(START).await;
        let worker = f.worker(WorkerConfig {
            max_attempts: 1,
            ..WorkerConfig::default()
        });
        let mut at = now();
        let mut waits = Vec::new();
        for _ in 0..4 {
            worker.run_due(at).await.unwrap();
            let job = f.job(&booking, "booked").await;
            assert_eq!(job.state, "queued", "{:?}", job.last_error);
            waits.push((job.run_after - at).num_seconds());
            at = job.run_after;
        }
        // 2 s doubling, each wait between half its step and the step (whole seconds).
        for (wait, step) in waits.iter().zip([2, 4, 8, 16]) {
            assert!((step / 2..=step).contains(wait), "{waits:?}");
        }
        worker.run_due(at).await.unwrap();
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
        assert_eq!(deliveries.last().unwrap().0.recipient(), MENTEE.0);
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
}
