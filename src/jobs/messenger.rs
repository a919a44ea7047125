//! The [`Messenger`] trait the worker delivers DMs through (owned here, implemented by the
//! Discord front end and by test doubles), and the [`DeliveryError`]s that decide what
//! happens to a DM's job.

use std::future::Future;
use std::time::Duration as StdDuration;

use crate::domain::{AccountNotice, Booking, Notice};

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
    /// Discord 429: try again after this long, or with growing backoff when Discord's
    /// `retry_after` is not known.
    #[error("rate limited (retry after {})", .0.map_or("unknown".to_owned(), |d| format!("{d:?}")))]
    RetryAfter(Option<StdDuration>),
    /// 5xx, timeouts, connection errors: retried with backoff.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// Any other refusal (other 4xx): failed at once.
    #[error("delivery refused: {0}")]
    Permanent(String),
}
