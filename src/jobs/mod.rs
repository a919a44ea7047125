//! The job worker: runs the side effects that use cases queue in the jobs table, in the
//! same transaction as the change that causes them, so that a side effect is never lost and
//! never blocks the change (README, "How it keeps its promises").
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
//! - [`DeliveryError::RetryAfter`] (429): released until Discord's `retry_after`, or with
//!   growing backoff when it is unknown, whatever the attempt count (a rate limit is not the
//!   job's fault; the session start still bounds it);
//! - [`DeliveryError::Transient`] or a delivery timeout: retried with backoff
//!   ([`WorkerConfig::backoff`]) until `max_attempts`, then failed;
//! - [`DeliveryError::Permanent`] (other refusals): failed.
//!
//! `dm_account` jobs ([`AccountNotice`]: calendar connected, Google revoked the grant) are
//! delivered like DMs, without a session to give up at.
//!
//! `calendar_sync` jobs (one queued per booking, re-armed by each change) run the sync in
//! `calendar`, which records the booking's new calendar state together with the job's
//! outcome. Transient Google failures are retried with backoff (at least Google's
//! `Retry-After`) without an attempt limit, and so are time-outs and store errors: the sync
//! gives up only when the session has ended, and then records why on the booking in the same
//! transaction. Without Google configured they are put off by [`NO_HANDLER_DELAY`].
//!
//! Every job: one whose lease ran out before it started (slow jobs ahead of it) is handed
//! back untouched (lease dropped, claim uncounted). A row that can't be read, or of a kind
//! this release doesn't know, is failed with the reason; the lane goes on.
//!
//! Files:
//! - `worker`: the engine (claims, leases, concurrency, dispatch by kind, recording).
//! - `messenger`: the [`Messenger`] trait the Discord front end implements.
//! - `dm`: both DM kinds: one decision, one deliver-and-record path.
//! - `calendar`: the calendar sync use case (Google event follows its booking).
//! - `backoff`: retry delays.
//!
//! This room may touch the store and, through the [`Google`](crate::service::Google)
//! access, Google; Discord only through [`Messenger`].

mod backoff;
mod calendar;
mod dm;
mod messenger;
#[cfg(test)]
mod testing;
mod worker;

pub use messenger::{DeliveryError, Messenger};
pub use worker::{NO_HANDLER_DELAY, PassReport, Worker, WorkerConfig};
