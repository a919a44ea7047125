//! How long a job waits before it runs again after a failure: exponential, capped, with
//! equal jitter.

use chrono::Duration;

use super::WorkerConfig;

impl WorkerConfig {
    /// The delay before running a job again after its `attempt`-th claim failed:
    /// `base_backoff · 2^(attempt−1)`, capped at `max_backoff`, with *equal jitter*: half of
    /// that step is kept and the other half drawn uniformly at random, so retries of jobs
    /// that failed together spread out, yet never come back sooner than half the step.
    /// Rounded up to whole seconds, the store's resolution.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.backoff_with(attempt, crate::random::u64())
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
