//! Crash mode: the controller that SIGKILLs the bot at random moments and restarts it on the
//! same database, and the outages it causes, within which a missing answer is not an error.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::FakeDiscord;
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
    pub(crate) outages: Outages,
    pub(crate) rss: Arc<PeakRss>,
    /// False from a kill until the restarted bot is ready: the users wait meanwhile.
    pub(crate) up: watch::Sender<bool>,
}

impl Controller {
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
            let mut peaks = Vec::new();
            for k in 0..kills {
                let segment = duration / kills as u32;
                let at = started + segment * k as u32 + segment.mul_f64(0.2 + 0.5 * rng.unit());
                tokio::time::sleep_until(at.into()).await;
                let mut bot = self.bot.lock().await;
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
