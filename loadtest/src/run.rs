//! The run, step by step: the fakes and the first bot, the users and the faults, the load (with
//! the crash controller and the samplers), the drain, the stop, then what the users saw, the
//! invariants and the bot's logs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::{FakeDiscord, FakeGoogle};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bot::{self, BotProcess, Launcher, wait_started};
use crate::config::Config;
use crate::crash::{Controller, Crashed, Outages};
use crate::db::{sample_queue, wait_for_drain};
use crate::dms::dm_figures;
use crate::invariants::check_invariants;
use crate::measure::{PeakRss, judge_interactions, memory_of};
use crate::report::Report;
use crate::rng::Rng;
use crate::setup::{Users, inject_faults};
use crate::workload::spawn_users;
use crate::world::{Ledger, World};

/// Runs the load described by `config` and checks the invariants afterwards.
pub async fn run(config: Config) -> Report {
    let (mut run, first) = Run::start(config).await;
    let users = run.set_up(&first).await;
    let load = run.load(first, &users).await;
    run.drain().await;
    run.stop_bot(&load.bot, &load.rss, load.sampler).await;
    let ledger = run.what_users_saw(
        &load.world,
        &load.outages,
        load.elapsed,
        load.first_interaction,
    );
    run.count_google_requests(load.google_before);
    run.check_invariants(&ledger, &users).await;
    run.read_bot_logs();
    run.report
}

/// What every step works with.
struct Run {
    config: Config,
    db: PathBuf,
    fake: FakeDiscord,
    google: FakeGoogle,
    launcher: Launcher,
    report: Report,
}

/// What the load leaves for the steps after it.
struct Load {
    world: Arc<World>,
    outages: Outages,
    /// The bot process running now (restarted by the crash controller).
    bot: Arc<tokio::sync::Mutex<BotProcess>>,
    rss: Arc<PeakRss>,
    sampler: JoinHandle<()>,
    /// Until the last user stopped.
    elapsed: Duration,
    /// Where the load begins in the fake Discord's interaction log.
    first_interaction: usize,
    /// Where the load begins in the fake Google's request log.
    google_before: usize,
}

impl Run {
    /// The work directory, the fakes and the first bot, connected and with its commands
    /// registered; then its idle memory.
    async fn start(config: Config) -> (Run, BotProcess) {
        std::fs::create_dir_all(&config.dir).expect("create the work directory");
        let db = config.dir.join("bot.db");
        let fake = FakeDiscord::start().await;
        let google = FakeGoogle::start().await;
        let launcher = Launcher::new(&config, &db, &fake, &google);
        let mut run = Run {
            report: Report::planned(&config),
            config,
            db,
            fake,
            google,
            launcher,
        };
        let mut first = run.launcher.spawn(0);
        wait_started(&run.fake, &mut first, 0, 0, &run.launcher.log(0)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        run.report.memory.idle_kib = memory_of(first.pid).map_or(0, |m| m.0);
        (run, first)
    }

    /// Mentors publish hours and connect Google; mentees exist; the memory after that; the
    /// faults of the mode.
    async fn set_up(&mut self, bot: &BotProcess) -> Users {
        let users = Users::set_up(&self.config, &self.fake, &self.google).await;
        self.report.memory.after_setup_kib = memory_of(bot.pid).map_or(0, |m| m.0);
        inject_faults(&self.config, &self.fake, &self.google, &users);
        users
    }

    /// Every user acting until the deadline, with the crash controller, the RSS sampler and
    /// the job-queue sampler alongside.
    async fn load(&mut self, first: BotProcess, users: &Users) -> Load {
        let config = &self.config;
        let first_interaction = self.fake.interaction_log().len();
        let google_before = self.google.requests().len();
        let (up_tx, up_rx) = watch::channel(true);
        let outages: Outages = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let deadline = started + config.duration;
        let world = Arc::new(World {
            fake: self.fake.clone(),
            mentors: users.mentors.clone(),
            up: up_rx,
            deadline,
            think: config.think,
            contested: config.contested,
            ledger: Mutex::new(Ledger::default()),
            outages: outages.clone(),
        });
        let (rss, sampler) = PeakRss::start(first.pid);
        let queue_sampler = sample_queue(self.db.clone(), deadline);
        let actors = spawn_users(&world, users, config.seed);
        let bot = Arc::new(tokio::sync::Mutex::new(first));
        let controller = Controller {
            bot: bot.clone(),
            launcher: self.launcher.clone(),
            fake: self.fake.clone(),
            google: self.google.clone(),
            outages: outages.clone(),
            rss: rss.clone(),
            up: up_tx,
        }
        .spawn(
            config.kills,
            started,
            config.duration,
            Rng::new(config.seed ^ 0xC0FF_EE00),
        );

        for actor in actors {
            actor.await.expect("an actor panicked");
        }
        let elapsed = started.elapsed();
        let Crashed {
            crashes,
            exits,
            peaks,
        } = controller.await.expect("the crash controller panicked");
        let report = &mut self.report;
        report.memory.process_peaks_kib = peaks;
        report.crashes = crashes;
        report.bot_exits = exits;
        report.load_s = (elapsed.as_secs_f64() * 10.0).round() / 10.0;
        report.drain.peak_queued = queue_sampler.await.unwrap_or(-1);
        Load {
            world,
            outages,
            bot,
            rss,
            sampler,
            elapsed,
            first_interaction,
            google_before,
        }
    }

    /// Google recovers; the worker catches up.
    async fn drain(&mut self) {
        self.report.google_faults = self.google.random_faults_injected();
        self.google.clear_random_faults();
        wait_for_drain(&self.db, self.config.drain_timeout, &mut self.report.drain).await;
        // Late DMs (a retry after a 429) settle in the fake before it is read.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Stops the bot (SIGTERM), with its final memory.
    async fn stop_bot(
        &mut self,
        bot: &tokio::sync::Mutex<BotProcess>,
        rss: &PeakRss,
        sampler: JoinHandle<()>,
    ) {
        let mut bot = bot.lock().await;
        if let Some((now, hwm)) = memory_of(bot.pid) {
            self.report.memory.end_kib = now;
            self.report.memory.process_peaks_kib.push(hwm);
            rss.raise(now.max(hwm));
        }
        rss.stop(sampler).await;
        self.report
            .bot_exits
            .push(bot.terminate(Duration::from_secs(20)).await);
        self.report.memory.peak_kib = rss.peak();
    }

    /// The figures of what the users saw: latency, errors, outcomes, bookings. Returns their
    /// ledger, for the invariant checks.
    fn what_users_saw(
        &mut self,
        world: &World,
        outages: &Outages,
        elapsed: Duration,
        first_interaction: usize,
    ) -> Ledger {
        let ledger = std::mem::take(&mut *world.ledger());
        let log: Vec<_> = self
            .fake
            .interaction_log()
            .into_iter()
            .skip(first_interaction)
            .collect();
        let report = &mut self.report;
        report.errors = ledger.errors.clone();
        report.error_samples = ledger.samples.clone();
        judge_interactions(&log, &outages.lock().unwrap(), report);
        report.outcomes = ledger.outcomes.clone();
        report.bookings = ledger.outcomes.get("booked").copied().unwrap_or(0);
        report.bookings_per_s = if elapsed.as_secs_f64() > 0.0 {
            (report.bookings as f64 / elapsed.as_secs_f64() * 10.0).round() / 10.0
        } else {
            0.0
        };
        report.crashes.uncertain_actions = ledger.uncertain;
        ledger
    }

    /// Google requests during the load and the drain, by route and status.
    fn count_google_requests(&mut self, google_before: usize) {
        let requests = self.google.requests();
        self.report.google_requests = requests.len() - google_before;
        for r in requests.iter().skip(google_before) {
            *self
                .report
                .google_by_route
                .entry(format!("{:?} {}", r.route, r.status))
                .or_default() += 1;
        }
    }

    /// The invariants against the database and the fakes, and the DMs against the DM jobs.
    async fn check_invariants(&mut self, ledger: &Ledger, users: &Users) {
        let config = &self.config;
        let checked = check_invariants(&self.db, ledger, &self.google, config.mentors.max(1)).await;
        let report = &mut self.report;
        report.invariants = checked.invariants;
        report.drain.jobs = checked.jobs;
        report.drain.failed = checked.failed;
        report.drain.lag = checked.lag;
        report.dms = dm_figures(
            &self.fake,
            &users.all(),
            &checked.dm_jobs_done,
            &checked.cancelled,
        );
        if report.dms.undelivered > 0 {
            report.invariants.violations.push(format!(
                "{} done DM jobs without their DM, e.g. {:?}",
                report.dms.undelivered, report.dms.undelivered_samples
            ));
        }
        // A job fails for good only for a reason the run injected: closed DMs (fault mix),
        // of a booking's notices or of an account notice to a mentor.
        for (what, n) in &report.drain.failed {
            let closed_dms = what.starts_with("dm: 50007") || what.starts_with("dm_account: 50007");
            if !(config.faults && closed_dms) {
                report.invariants.violations.push(format!(
                    "{n} failed job(s) nothing injected explains: {what}"
                ));
            }
        }
        if config.kills == 0 && report.dms.repeated > 0 {
            report.invariants.violations.push(format!(
                "{} DMs delivered twice without any crash",
                report.dms.repeated
            ));
        }
    }

    /// The bot's own view: every process's log, the restarted ones included.
    fn read_bot_logs(&mut self) {
        let logs = (0..=self.report.crashes.kills).map(|n| self.launcher.log(n));
        bot::read_logs(logs, &mut self.report);
    }
}
