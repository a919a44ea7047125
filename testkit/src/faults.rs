//! Discord misbehaving on demand: closed DMs, injected and seeded random 429s, and the fake's
//! clock moved forward past expiry windows.

use std::time::Duration;

use crate::fake::FakeDiscord;
use crate::state::{RandomRateRule, RateRule};

impl FakeDiscord {
    /// Closes (or reopens) `user_id`'s DMs: the bot's messages to them get
    /// `403 {"code": 50007, "message": "Cannot send messages to this user"}`. (So do DMs to
    /// someone who shares no server with the bot, as on Discord.)
    pub fn set_dms_closed(&self, user_id: u64, closed: bool) {
        self.inner.update(|s| {
            if closed {
                s.dms_closed.insert(user_id);
            } else {
                s.dms_closed.remove(&user_id);
            }
        });
    }

    /// Whether refusals with 50007 (closed DMs, see [`set_dms_closed`]) are printed to stderr
    /// like every other refusal (the default) or only recorded in [`rejections`]: a load run
    /// with many closed DMs expects thousands of them.
    ///
    /// [`set_dms_closed`]: FakeDiscord::set_dms_closed
    /// [`rejections`]: FakeDiscord::rejections
    pub fn set_print_dm_refusals(&self, print: bool) {
        self.inner.update(|s| s.quiet_dm_refusals = !print);
    }

    /// The next `count` requests matching `route` answer 429 with
    /// `{"message", "retry_after", "global": false}` and a `Retry-After` header. `route` is a
    /// path below `/api/v10`, optionally after a method, with `*` for one segment; it matches
    /// as a prefix: `"POST /channels/*/messages"`, `"/webhooks"`.
    pub fn rate_limit_next(&self, route: &str, count: usize, retry_after_secs: f64) {
        let mut rule = rate_rule(route);
        rule.remaining = count;
        rule.retry_after = retry_after_secs;
        self.inner.update(|s| s.rate_rules.push(rule));
    }

    /// From now on, each request matching `route` (as in [`rate_limit_next`]) answers 429
    /// with `retry_after_secs` with probability `rate`, drawn from a small generator seeded
    /// with `seed` (the same seed and the same order of requests give the same 429s). Queued
    /// [`rate_limit_next`] limits come first. Calling it again for the same route replaces
    /// that route's setting; `rate` 0 removes it.
    ///
    /// ```no_run
    /// # async fn example(fake: testkit::FakeDiscord) {
    /// // One DM in ten is rate limited for half a second.
    /// fake.set_random_rate_limit("POST /channels/*/messages", 0.1, 0.5, 42);
    /// # }
    /// ```
    ///
    /// [`rate_limit_next`]: FakeDiscord::rate_limit_next
    pub fn set_random_rate_limit(&self, route: &str, rate: f64, retry_after_secs: f64, seed: u64) {
        let rule = rate_rule(route);
        self.inner.update(|s| {
            s.random_rate_rules
                .retain(|r| r.rule.method != rule.method || r.rule.pattern != rule.pattern);
            if rate > 0.0 {
                s.random_rate_rules
                    .push(RandomRateRule::new(rule, rate, retry_after_secs, seed));
            }
        });
    }

    /// How many requests [`set_random_rate_limit`](FakeDiscord::set_random_rate_limit) rules
    /// answered 429 so far (rules still in place).
    pub fn random_rate_limited(&self) -> usize {
        self.inner
            .lock()
            .random_rate_rules
            .iter()
            .map(|r| r.hits)
            .sum()
    }

    /// Moves the fake's clock forward for expiry checks (the 3 s initial-response window and
    /// the 15-minute token lifetime), e.g. to test a follow-up after the token expired.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.update(|s| s.clock_offset += by);
    }
}
/// A rate rule for `route` (`"POST /channels/*/messages"`, `"/webhooks"`), with nothing
/// remaining yet.
fn rate_rule(route: &str) -> RateRule {
    let route = route.trim();
    let (method, path) = match route.split_once(' ') {
        Some((m, p)) => (Some(m.to_ascii_uppercase()), p.trim()),
        None => (None, route),
    };
    let path = path.strip_prefix("/api/v10").unwrap_or(path);
    let pattern = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    RateRule {
        method,
        pattern,
        remaining: 0,
        retry_after: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The statuses of `n` DMs to one user through the REST API, as the bot sends them.
    /// A user these tests DM: a member of the fake's server, since Discord refuses a bot's
    /// DM to someone who shares no server with it.
    fn dm_user(fake: &FakeDiscord) -> u64 {
        let user = fake.user("dm-target");
        fake.add_member(&user, &[], crate::permissions::MEMBER);
        user.id
    }

    async fn dm_statuses(fake: &FakeDiscord, user: u64, n: usize) -> Vec<(u16, Value)> {
        let http = reqwest::Client::new();
        let auth = format!("Bot {}", FakeDiscord::TOKEN);
        let channel: Value = http
            .post(format!("{}/api/v10/users/@me/channels", fake.api_base()))
            .header("authorization", &auth)
            .json(&json!({"recipient_id": user.to_string()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let channel = channel["id"].as_str().unwrap().to_string();
        let mut out = Vec::new();
        for i in 0..n {
            let response = http
                .post(format!(
                    "{}/api/v10/channels/{channel}/messages",
                    fake.api_base()
                ))
                .header("authorization", &auth)
                .json(&json!({"content": format!("hello {i}")}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            out.push((status, response.json().await.unwrap_or(Value::Null)));
        }
        out
    }

    #[tokio::test]
    async fn random_rate_limits_hit_about_their_rate_and_the_same_seed_repeats_them() {
        let fake = FakeDiscord::start().await;
        fake.set_random_rate_limit("POST /channels/*/messages", 0.3, 0.25, 7);
        let user = dm_user(&fake);
        let first = dm_statuses(&fake, user, 200).await;
        let limited: Vec<&Value> = first
            .iter()
            .filter(|(s, _)| *s == 429)
            .map(|(_, b)| b)
            .collect();
        assert!(
            (30..=90).contains(&limited.len()),
            "{} of 200 limited at a rate of 0.3",
            limited.len()
        );
        assert!(limited.iter().all(|b| b["retry_after"] == 0.25));
        assert!(first.iter().all(|(s, _)| [200, 429].contains(s)));
        assert_eq!(fake.random_rate_limited(), limited.len());
        // Delivered messages are stored; limited ones are not.
        assert_eq!(fake.dms(user).len(), 200 - limited.len());

        let again = FakeDiscord::start().await;
        again.set_random_rate_limit("POST /channels/*/messages", 0.3, 0.25, 7);
        let pattern = |v: &[(u16, Value)]| v.iter().map(|(s, _)| *s).collect::<Vec<_>>();
        let again_user = dm_user(&again);
        assert_eq!(
            pattern(&dm_statuses(&again, again_user, 200).await),
            pattern(&first)
        );

        // Other routes are untouched; rate 0 removes the rule.
        fake.set_random_rate_limit("POST /channels/*/messages", 0.0, 0.25, 7);
        assert!(
            dm_statuses(&fake, user, 30)
                .await
                .iter()
                .all(|(s, _)| *s == 200)
        );
        assert_eq!(fake.random_rate_limited(), 0);
    }

    #[tokio::test]
    async fn closed_dms_are_refused_with_50007_and_recorded_also_when_not_printed() {
        let fake = FakeDiscord::start().await;
        let user = dm_user(&fake);
        fake.set_dms_closed(user, true);
        fake.set_print_dm_refusals(false);
        let statuses = dm_statuses(&fake, user, 3).await;
        assert!(
            statuses
                .iter()
                .all(|(s, b)| *s == 403 && b["code"] == 50007)
        );
        let refused = fake.rejections();
        assert_eq!(refused.len(), 3);
        assert!(refused.iter().all(|r| r.body["code"] == 50007));
    }

    #[tokio::test]
    async fn a_dm_to_someone_who_shares_no_server_with_the_bot_is_refused_with_50007() {
        let fake = FakeDiscord::start().await;
        let stranger = fake.user("stranger");
        let statuses = dm_statuses(&fake, stranger.id, 1).await;
        assert_eq!(statuses[0].0, 403);
        assert_eq!(statuses[0].1["code"], 50007);
        // Once they join the server, the same DM goes through.
        fake.add_member(&stranger, &[], crate::permissions::MEMBER);
        assert_eq!(dm_statuses(&fake, stranger.id, 1).await[0].0, 200);
    }

    #[test]
    fn rate_limit_routes_match_by_method_and_segment_prefix() {
        let rule = |route: &str| {
            let (method, path) = match route.split_once(' ') {
                Some((m, p)) => (Some(m.to_string()), p),
                None => (None, route),
            };
            RateRule {
                method,
                pattern: path
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect(),
                remaining: 1,
                retry_after: 1.0,
            }
        };
        assert!(rule("POST /channels/*/messages").matches("POST", "/channels/42/messages"));
        assert!(!rule("POST /channels/*/messages").matches("GET", "/channels/42/messages"));
        assert!(rule("/webhooks").matches("PATCH", "/webhooks/1/tok/messages/@original"));
        assert!(!rule("/channels/*/messages").matches("POST", "/channels/42"));
    }
}
