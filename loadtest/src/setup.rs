//! Before the load: the users, the mentors' hours and Google connection (through the bot's own
//! OAuth pages), and the faults the fakes inject.

use std::time::Duration;

use testkit::{Consent, FakeDiscord, FakeGoogle, FakeUser, Fault, Opt, Place, Route};

use crate::config::Config;
use crate::rng::Rng;

/// The simulated users.
pub(crate) struct Users {
    pub(crate) mentors: Vec<FakeUser>,
    pub(crate) mentees: Vec<FakeUser>,
}

impl Users {
    /// Mentors (at least one) who publish hours and connect Google, and mentees.
    pub(crate) async fn set_up(config: &Config, fake: &FakeDiscord, google: &FakeGoogle) -> Users {
        let mentors: Vec<FakeUser> = (0..config.mentors.max(1))
            .map(|i| fake.user(&format!("mentor{i}")))
            .collect();
        for (i, m) in mentors.iter().enumerate() {
            set_up_mentor(fake, google, m, i).await;
        }
        let mentees: Vec<FakeUser> = (0..config.mentees)
            .map(|i| fake.user(&format!("mentee{i}")))
            .collect();
        Users { mentors, mentees }
    }

    /// Every user, mentors first.
    pub(crate) fn all(&self) -> Vec<&FakeUser> {
        self.mentors.iter().chain(self.mentees.iter()).collect()
    }
}

/// The faults of the mode: with `faults`, Google fails or slows a share of requests, Discord
/// rate-limits DMs and some users (always the second mentor) have their DMs closed; with
/// kills, Google also answers some requests late.
pub(crate) fn inject_faults(
    config: &Config,
    fake: &FakeDiscord,
    google: &FakeGoogle,
    users: &Users,
) {
    let mut rng = Rng::new(config.seed);
    let mut faults = Vec::new();
    if config.faults {
        // 5% each: 500, 503, 429 with Retry-After, 429 without, 2 s late.
        faults = vec![
            Fault::Status(500),
            Fault::Status(503),
            Fault::RateLimited {
                retry_after_secs: 1,
            },
            Fault::Status(429),
            Fault::Delay(Duration::from_secs(2)),
        ];
    }
    if config.kills > 0 {
        // Google acts at once but answers 300 ms late, so that kills also land between
        // Google's change and the bot's record of it.
        faults.push(Fault::DelayAfter(Duration::from_millis(300)));
    }
    if !faults.is_empty() {
        let rate = 0.05 * faults.len() as f64;
        let rate = if config.faults { rate } else { 0.2 };
        google.set_random_faults(Route::Any, rate, faults, config.seed);
    }
    if config.faults {
        let (mentors, mentees) = (&users.mentors, &users.mentees);
        fake.set_random_rate_limit("POST /channels/*/messages", 0.15, 0.5, config.seed);
        for user in mentees.iter().chain(mentors.iter().skip(1).take(1)) {
            if rng.chance(0.1) || mentors.get(1).is_some_and(|m| m.id == user.id) {
                fake.set_dms_closed(user.id, true);
                fake.set_print_dm_refusals(false);
            }
        }
    }
}

/// Mentor `i`'s Google account.
pub(crate) fn email(i: usize) -> String {
    format!("mentor{i}@example.com")
}

/// `/calendar connect`, then the browser: the bot's start page, Continue, Google's consent,
/// the bot's callback; then Confirm in the bot's DM.
async fn connect_google(fake: &FakeDiscord, google: &FakeGoogle, mentor: &FakeUser, i: usize) {
    google.set_consent(Consent::grant(&email(i)));
    let reply = fake
        .slash(mentor, Place::Guild, "calendar connect", vec![])
        .await
        .settled()
        .await
        .expect("/calendar connect answered");
    let link = reply
        .button_id("Connect Google Calendar")
        .unwrap_or_else(|| panic!("a link button in {}", reply.text()));
    let browser = testkit::browser::Browser::new();
    let (_, page) = browser
        .connect(&link)
        .await
        .unwrap_or_else(|e| panic!("connecting mentor {i}: {e}"));
    assert!(
        page.status == 200 && page.body.contains("Confirm in Discord"),
        "connecting mentor {i}: {} {}",
        page.status,
        page.body
    );
    let answered = testkit::browser::confirm_in_dm(fake, mentor, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("confirming mentor {i}'s Google account: {e}"));
    assert!(
        answered.text().contains("Google Calendar connected"),
        "confirming mentor {i}: {}",
        answered.text()
    );
}

async fn set_up_mentor(fake: &FakeDiscord, google: &FakeGoogle, mentor: &FakeUser, i: usize) {
    let reply = fake
        .slash(
            mentor,
            Place::Guild,
            "availability set",
            vec![
                Opt::str("days", "everyday"),
                Opt::str("hours", "08:00-20:00"),
                Opt::str("timezone", "UTC"),
            ],
        )
        .await
        .settled()
        .await
        .expect("/availability set answered");
    assert!(
        reply.text().contains("08:00"),
        "mentor {i}: {}",
        reply.text()
    );
    connect_google(fake, google, mentor, i).await;
}
