//! Crash mode: the controller that SIGKILLs the bot at random moments and restarts it on the
//! same database, and the outages it causes, within which a missing answer is not an error.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::{FakeDiscord, FakeGoogle};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bot::{BotProcess, Launcher, wait_started};
use crate::measure::{DISCORD_LIMIT, PeakRss, memory_of, ms};
use crate::report::Crashes;
use crate::rng::Rng;

/// Outages: (SIGKILL sent, restarted bot ready).
pub(crate) type Outages = Arc<Mutex<Vec<(Instant, Option<Instant>)>>>;

/// Whether an interaction sent at `sent` may have been lost to an outage: its 3 s window
/// overlaps the time from a kill until the restarted bot was ready.
pub(crate) fn lost_to_outage(outages: &[(Instant, Option<Instant>)], sent: Instant) -> bool {
    outages.iter().any(|(down, up)| {
        sent + DISCORD_LIMIT + Duration::from_millis(500) > *down && up.is_none_or(|up| sent < up)
    })
}

/// What the controller did, for the report.
pub(crate) struct Crashed {
    pub(crate) crashes: Crashes,
    /// How each killed process ended.
    pub(crate) exits: Vec<String>,
    /// VmHWM of each killed process, read just before the kill.
    pub(crate) peaks: Vec<u64>,
}

/// What the controller acts on: the current bot (which the run stops afterwards), how to
/// restart it, and whom to tell.
pub(crate) struct Controller {
    pub(crate) bot: Arc<tokio::sync::Mutex<BotProcess>>,
    pub(crate) launcher: Launcher,
    pub(crate) fake: FakeDiscord,
    pub(crate) google: FakeGoogle,
    pub(crate) outages: Outages,
    pub(crate) rss: Arc<PeakRss>,
    /// False from a kill until the restarted bot is ready: the users wait meanwhile.
    pub(crate) up: watch::Sender<bool>,
}

/// How long a kill waits for an interaction or a Google request to be in flight.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(3);

impl Controller {
    /// What the bot is in the middle of: interactions without their (final) answer, and
    /// Google requests Google has not answered yet.
    /// Only requests from index `since` on count: an earlier process's unanswered ones stay
    /// unanswered for good, as do interactions lost to an earlier outage (older than 3 s).
    fn in_flight(&self, since: usize) -> (usize, usize) {
        let interactions = self
            .fake
            .interaction_log()
            .iter()
            .filter(|i| i.sent_at.elapsed() < DISCORD_LIMIT)
            .filter(|i| !i.answered || (i.callback_type == Some(5) && i.result.is_none()))
            .count();
        let requests = self.google.requests();
        let google = requests
            .get(since..)
            .unwrap_or_default()
            .iter()
            .filter(|r| r.status == 0)
            .count();
        (interactions, google)
    }

    /// `kills` SIGKILLs, one at a random moment in each `kills`-th of the load that began at
    /// `started` and lasts `duration`, each followed by a restart on the same database.
    pub(crate) fn spawn(
        self,
        kills: usize,
        started: Instant,
        duration: Duration,
        mut rng: Rng,
    ) -> JoinHandle<Crashed> {
        tokio::spawn(async move {
            let mut crashes = Crashes::default();
            let mut exits = Vec::new();
            let mut google_since = 0;
            let mut peaks = Vec::new();
            for k in 0..kills {
                let segment = duration / kills as u32;
                let at = started + segment * k as u32 + segment.mul_f64(0.2 + 0.5 * rng.unit());
                tokio::time::sleep_until(at.into()).await;
                // A crash test must crash mid-work: wait (a little) for something in flight.
                let until = Instant::now() + IN_FLIGHT_WAIT;
                while self.in_flight(google_since) == (0, 0) && Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let mut bot = self.bot.lock().await;
                crashes.in_flight_at_kill.push(self.in_flight(google_since));
                let _ = self.up.send(false);
                let down = Instant::now();
                self.outages.lock().unwrap().push((down, None));
                if let Some((now, hwm)) = memory_of(bot.pid) {
                    self.rss.raise(now.max(hwm));
                    peaks.push(hwm);
                }
                let (ready, registrations) =
                    (self.fake.ready_count(), self.fake.registration_count());
                exits.push(bot.kill());
                google_since = self.google.requests().len();
                crashes.kills += 1;
                *bot = self.launcher.spawn(k + 1);
                self.rss.follow(bot.pid);
                wait_started(
                    &self.fake,
                    &mut bot,
                    ready,
                    registrations,
                    &self.launcher.log(k + 1),
                )
                .await;
                let up = Instant::now();
                if let Some(last) = self.outages.lock().unwrap().last_mut() {
                    last.1 = Some(up);
                }
                crashes.restart_ms.push(ms(up - down));
                let _ = self.up.send(true);
            }
            Crashed {
                crashes,
                exits,
                peaks,
            }
        })
    }
}
