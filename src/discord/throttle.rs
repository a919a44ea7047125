//! A per-user limit on changes (`WRITES_PER_MINUTE`, default 20): a burst of that many, then
//! one more each 60/N seconds, kept by `governor`'s keyed GCRA limiter in memory. Every
//! command that writes and every Confirm asks it first; a user over the limit gets an
//! ephemeral "try again <t:…:R>" and nothing changes. Reads (pickers, lists) are not limited.

use std::num::NonZeroU32;

use chrono::Utc;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use super::BotError;

/// [`WriteLimit::new`]'s default.
pub const DEFAULT_WRITES_PER_MINUTE: u32 = 20;

/// Users tracked before idle ones are forgotten.
const TRACKED: usize = 10_000;

type Limiter = RateLimiter<u64, HashMapStateStore<u64>, DefaultClock>;

/// A change refused for being over the limit: when to try again (seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowDown {
    /// From then on the change would pass.
    pub retry_at: i64,
}

impl From<SlowDown> for BotError {
    fn from(slow: SlowDown) -> BotError {
        BotError::User(format!(
            "You're making changes faster than this server allows. Try again <t:{}:R>; nothing was changed.",
            slow.retry_at
        ))
    }
}

/// The limit, or none.
pub struct WriteLimit {
    limiter: Option<(Limiter, DefaultClock)>,
}

impl std::fmt::Debug for WriteLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteLimit")
    }
}

impl WriteLimit {
    /// `per_minute` changes a minute per user; 0 for no limit.
    pub fn new(per_minute: u32) -> WriteLimit {
        WriteLimit {
            limiter: NonZeroU32::new(per_minute).map(|n| {
                let clock = DefaultClock::default();
                (
                    RateLimiter::hashmap_with_clock(Quota::per_minute(n), clock.clone()),
                    clock,
                )
            }),
        }
    }

    /// Counts a change by `user`; refused with when to try again if they are over the limit.
    pub fn check(&self, user: u64) -> Result<(), SlowDown> {
        let Some((limiter, clock)) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > TRACKED {
            // Users whose allowance is full again carry no state worth keeping.
            limiter.retain_recent();
        }
        limiter.check_key(&user).map_err(|not_until| {
            let wait = not_until.wait_time_from(clock.now());
            // Rounded up to the next whole second.
            let wait = i64::try_from(wait.as_secs()).unwrap_or(60) + 1;
            SlowDown {
                retry_at: Utc::now().timestamp() + wait,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_up_to_the_limit_passes_and_the_next_change_is_refused_for_that_user_only() {
        let limit = WriteLimit::new(3);
        for _ in 0..3 {
            assert!(limit.check(1).is_ok());
        }
        let Err(slow) = limit.check(1) else {
            panic!("the fourth change passed");
        };
        let now = Utc::now().timestamp();
        assert!((now + 1..=now + 21).contains(&slow.retry_at), "{slow:?}");
        let BotError::User(text) = BotError::from(slow) else {
            panic!("not a user error");
        };
        assert!(text.starts_with("You're making changes faster"), "{text}");
        assert!(text.contains(":R>"), "{text}");
        assert!(
            limit.check(2).is_ok(),
            "another user has their own allowance"
        );
    }

    #[test]
    fn no_limit_when_off() {
        let limit = WriteLimit::new(0);
        for _ in 0..1000 {
            assert!(limit.check(1).is_ok());
        }
    }
}
