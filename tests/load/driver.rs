//! The load driver shared by `tests/load.rs` and `examples/load.rs`: the fake Discord and the
//! fake Google run in this process on 127.0.0.1, the bot runs as a separate OS process (so
//! its memory can be read from `/proc` and it can be SIGKILLed), M mentors publish hours and
//! connect Google through the bot's own OAuth pages, and N mentees book, cancel, reschedule
//! and list concurrently for a while. Afterwards the job worker is given time to drain, the
//! bot is stopped, and invariants are checked straight from the SQLite file and the fakes.
//!
//! Modes: plain load; crash (`kills`: SIGKILL the bot at random moments and restart it on the
//! same database); fault mix (`faults`: the fake Google fails or slows a share of requests,
//! the fake Discord rate-limits DMs, some users have their DMs closed).

#![allow(dead_code)] // The test and the example each use a part.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use testkit::{
    Consent, FakeDiscord, FakeGoogle, FakeUser, Fault, Message, Opt, Pending, Place, Route,
};
use tokio::sync::watch;

/// A bot token of the right shape (the fake accepts any).
pub const TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123";
/// The token key the bot is configured with (32 bytes of base64).
pub const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Discord's limit for an initial response.
pub const DISCORD_LIMIT: Duration = Duration::from_secs(3);
/// How long a (re)started bot may take to connect and register its commands.
const START_WAIT: Duration = Duration::from_secs(60);
/// The reason given with every cancellation.
const REASON: &str = "load test: plans changed";

/// How to start the bot process: a program and its arguments. It gets only the variables
/// the driver sets (a clean environment) and runs in the work directory.
#[derive(Clone, Debug)]
pub struct BotCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl BotCommand {
    /// `program` without arguments (the `mentorbot` binary).
    pub fn new(program: impl Into<PathBuf>) -> BotCommand {
        BotCommand {
            program: program.into(),
            args: Vec::new(),
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Concurrent mentees.
    pub mentees: usize,
    /// Mentors (each connects Google).
    pub mentors: usize,
    /// How long mentees keep acting.
    pub duration: Duration,
    /// Mean pause between one mentee's clicks (each pause is 0.5–1.5 × this).
    pub think: Duration,
    /// Share of booking attempts aimed at the first free slots of the first two mentors.
    pub contested: f64,
    /// SIGKILLs (and restarts) of the bot during the load.
    pub kills: usize,
    /// Google fails ~20% of requests (5xx/429) and slows ~5% by 2 s; Discord rate-limits
    /// ~15% of DMs; one user in ten (and the second mentor) has closed DMs. With kills,
    /// Google also answers some requests 300 ms after acting (so kills land in between).
    pub faults: bool,
    /// Seeds every random choice (the driver's and the fakes' faults).
    pub seed: u64,
    /// How long to wait for queued jobs after the load.
    pub drain_timeout: Duration,
    /// How to start the bot.
    pub bot: BotCommand,
    /// Work directory: the database, the bot's logs.
    pub dir: PathBuf,
    /// Extra environment variables for the bot process (e.g. allocator settings).
    pub bot_env: Vec<(String, String)>,
}

impl Config {
    /// Defaults: 20 mentees, 3 mentors, 20 s, 1 s think time, 20% contested, no kills, no
    /// faults, 120 s drain.
    pub fn new(bot: BotCommand, dir: impl Into<PathBuf>) -> Config {
        Config {
            mentees: 20,
            mentors: 3,
            duration: Duration::from_secs(20),
            think: Duration::from_secs(1),
            contested: 0.2,
            kills: 0,
            faults: false,
            seed: 1,
            drain_timeout: Duration::from_secs(120),
            bot,
            dir: dir.into(),
            bot_env: Vec::new(),
        }
    }

    fn mode(&self) -> String {
        let mut parts = vec!["load".to_owned()];
        if self.kills > 0 {
            parts.push(format!("crash ({} kills)", self.kills));
        }
        if self.faults {
            parts.push("fault mix".to_owned());
        }
        parts.join(" + ")
    }
}

// ----- randomness -----

/// xorshift64*: small, seeded, reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value; splitmix64 spreads it).
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// `d` scaled by a factor uniform in `[0.5, 1.5)`.
    pub fn jitter(&mut self, d: Duration) -> Duration {
        d.mul_f64(0.5 + self.unit())
    }
}

// ----- the report -----

/// Latency of one kind of interaction: INTERACTION_CREATE to the response carrying the result.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Interactions with a result.
    pub n: usize,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
}

impl Latency {
    fn of(mut times: Vec<Duration>) -> Latency {
        times.sort();
        let at = |p: f64| -> f64 {
            if times.is_empty() {
                return 0.0;
            }
            let i = ((times.len() as f64 - 1.0) * p).round() as usize;
            ms(times[i])
        };
        Latency {
            n: times.len(),
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: times.last().copied().map(ms).unwrap_or(0.0),
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

/// The bot process's memory, from `/proc/<pid>/status`, in KiB.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Memory {
    /// VmRSS after start-up (connected, commands registered), before any user acted.
    pub idle_kib: u64,
    /// VmRSS after the mentors' set-up, before the load.
    pub after_setup_kib: u64,
    /// The highest VmHWM (peak RSS) of every bot process of the run, and of VmRSS sampled
    /// every 200 ms.
    pub peak_kib: u64,
    /// VmRSS after the load and the drain.
    pub end_kib: u64,
    /// VmHWM of each bot process of the run, in start order (read just before it was killed
    /// or stopped).
    pub process_peaks_kib: Vec<u64>,
}

/// What the crash controller did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Crashes {
    /// SIGKILLs sent.
    pub kills: usize,
    /// From each SIGKILL until the restarted bot had registered its commands, ms.
    pub restart_ms: Vec<f64>,
    /// Interactions sent less than 3 s before a kill or before the restart completed that got
    /// no (timely) answer: lost to the outage, not counted as errors.
    pub interactions_lost_to_outages: usize,
    /// Actions whose outcome the driver could not learn (the bot died before answering):
    /// their bookings are checked for existence only.
    pub uncertain_actions: usize,
}

/// The job worker's catching up after the load.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Drain {
    /// From the end of the load until no job was queued, s.
    pub seconds: f64,
    /// Jobs still queued when the driver stopped waiting.
    pub queued_left: i64,
    /// The most jobs queued at once during the load (sampled every second).
    pub peak_queued: i64,
    /// Jobs by `kind/state`.
    pub jobs: BTreeMap<String, i64>,
    /// Failed jobs by `kind: last error`.
    pub failed: BTreeMap<String, i64>,
    /// From queued to done, per job kind (the store keeps whole seconds).
    pub lag: BTreeMap<String, Lag>,
}

/// How long side effects took: from the change that queued a job to its completion.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Lag {
    /// Jobs done.
    pub n: usize,
    /// Median, s.
    pub p50_s: i64,
    /// 95th percentile, s.
    pub p95_s: i64,
    /// 99th percentile, s.
    pub p99_s: i64,
    /// Longest, s.
    pub max_s: i64,
}

impl Lag {
    fn of(mut secs: Vec<i64>) -> Lag {
        secs.sort_unstable();
        let at = |p: f64| -> i64 {
            if secs.is_empty() {
                return 0;
            }
            secs[((secs.len() as f64 - 1.0) * p).round() as usize]
        };
        Lag {
            n: secs.len(),
            p50_s: at(0.5),
            p95_s: at(0.95),
            p99_s: at(0.99),
            max_s: secs.last().copied().unwrap_or(0),
        }
    }
}

/// What the invariant check looked at and what it found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Invariants {
    /// Bookings in the database by `status/calendar_status`.
    pub bookings: BTreeMap<String, i64>,
    /// How many things each check looked at.
    pub checked: BTreeMap<String, usize>,
    /// Overlapping active bookings of one person (mentor or mentee role).
    pub double_bookings: usize,
    /// Every violation, one line each.
    pub violations: Vec<String>,
}

/// DMs as the fake Discord received them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Dms {
    /// DMs delivered (stored by the fake).
    pub delivered: usize,
    /// DMs beyond one per `done` DM job about the same thing (recipient, booking, notice):
    /// at-least-once retries after a crash; must be 0 without kills.
    pub repeated: usize,
    /// DM requests the fake answered 429 (fault mix).
    pub rate_limited: usize,
    /// DM requests refused with 50007 (closed DMs).
    pub closed: usize,
    /// The first repeated DMs, as `user: text`.
    pub repeated_samples: Vec<String>,
}

/// The whole outcome of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// `load`, `load + crash (K kills)`, `load + fault mix`.
    pub mode: String,
    /// Concurrent mentees.
    pub mentees: usize,
    /// Mentors.
    pub mentors: usize,
    /// Planned load time, s.
    pub duration_s: f64,
    /// Actual load time (until the last mentee stopped), s.
    pub load_s: f64,
    /// Mean think time, ms.
    pub think_ms: f64,
    /// Contested share of booking attempts.
    pub contested: f64,
    /// The seed.
    pub seed: u64,
    /// Interactions sent during the load.
    pub interactions: usize,
    /// Latency per kind of interaction, and `all`.
    pub latency: BTreeMap<String, Latency>,
    /// Outcomes users saw: `booked`, `moved`, `cancelled`, `listed`, `slot taken` (expected
    /// under contention), `own overlap` (the mentee already had a session then), `no free slot`,
    /// `notice passed` (the slot came within the minimum notice between picker and Confirm).
    pub outcomes: BTreeMap<String, usize>,
    /// Bookings acknowledged ("Booked ✅").
    pub bookings: usize,
    /// Acknowledged bookings per second of load.
    pub bookings_per_s: f64,
    /// Errors by kind: internal errors (reference code), unanswered interactions, answers
    /// after 3 s, unexpected replies. Must be empty.
    pub errors: BTreeMap<String, usize>,
    /// One example per error kind.
    pub error_samples: BTreeMap<String, String>,
    /// The crash controller's figures.
    pub crashes: Crashes,
    /// The bot's memory.
    pub memory: Memory,
    /// The job worker's catching up.
    pub drain: Drain,
    /// The invariants.
    pub invariants: Invariants,
    /// DMs.
    pub dms: Dms,
    /// Requests the fake Google received, and faults it injected at random.
    pub google_requests: usize,
    /// Faults the fake Google injected at random.
    pub google_faults: usize,
    /// Requests the fake Google received during the load and the drain, by route and status.
    pub google_by_route: BTreeMap<String, usize>,
    /// Lines the bot logged at ERROR and WARN level (RUST_LOG=warn), and a few ERROR lines.
    pub bot_log_errors: usize,
    /// WARN lines.
    pub bot_log_warnings: usize,
    /// The first ERROR lines.
    pub bot_log_samples: Vec<String>,
    /// How each bot process ended (`killed`, `exit status 0`, …).
    pub bot_exits: Vec<String>,
}

impl Report {
    /// Everything that makes the run a failure: errors, invariant violations, jobs left.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (kind, n) in &self.errors {
            problems.push(format!("{n} × {kind}"));
        }
        problems.extend(self.invariants.violations.iter().cloned());
        if self.drain.queued_left != 0 {
            problems.push(format!(
                "{} jobs still queued after the drain (-1: the database could not be read)",
                self.drain.queued_left
            ));
        }
        problems
    }

    /// JSON, for tools.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "mentorbot {}: {} mentees, {} mentors, {:.0} s planned ({:.1} s run), think {:.0} ms, {:.0}% contested, seed {}",
            self.mode,
            self.mentees,
            self.mentors,
            self.duration_s,
            self.load_s,
            self.think_ms,
            self.contested * 100.0,
            self.seed
        )?;
        writeln!(
            f,
            "  interactions: {} — latency INTERACTION_CREATE → response carrying the result:",
            self.interactions
        )?;
        for (kind, l) in &self.latency {
            writeln!(
                f,
                "    {kind:<18} n={:<6} p50 {:>8.1} ms  p95 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
                l.n, l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
            )?;
        }
        writeln!(
            f,
            "  bookings: {} acknowledged = {:.1} bookings/s",
            self.bookings, self.bookings_per_s
        )?;
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(f, "  outcomes: {}", outcomes.join(", "))?;
        if self.errors.is_empty() {
            writeln!(f, "  errors: none")?;
        } else {
            writeln!(f, "  errors:")?;
            for (kind, n) in &self.errors {
                writeln!(f, "    {n} × {kind}")?;
                if let Some(sample) = self.error_samples.get(kind) {
                    writeln!(f, "      e.g. {}", one_line(sample, 300))?;
                }
            }
        }
        if self.crashes.kills > 0 {
            let restarts: Vec<String> = self
                .crashes
                .restart_ms
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect();
            writeln!(
                f,
                "  crashes: {} SIGKILLs, restarts took [{}] ms; {} interactions lost to outages, {} actions with unknown outcome",
                self.crashes.kills,
                restarts.join(", "),
                self.crashes.interactions_lost_to_outages,
                self.crashes.uncertain_actions
            )?;
        }
        writeln!(
            f,
            "  bot RSS: idle {:.1} MiB, after set-up {:.1} MiB, peak {:.1} MiB, at the end {:.1} MiB",
            self.memory.idle_kib as f64 / 1024.0,
            self.memory.after_setup_kib as f64 / 1024.0,
            self.memory.peak_kib as f64 / 1024.0,
            self.memory.end_kib as f64 / 1024.0
        )?;
        if self.memory.process_peaks_kib.len() > 1 {
            let peaks: Vec<String> = self
                .memory
                .process_peaks_kib
                .iter()
                .map(|k| format!("{:.1}", *k as f64 / 1024.0))
                .collect();
            writeln!(
                f,
                "    peak of each bot process: [{}] MiB",
                peaks.join(", ")
            )?;
        }
        let jobs: Vec<String> = self
            .drain
            .jobs
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(
            f,
            "  jobs: at most {} queued during the load; drained {:.1} s after it ({} left queued): {}",
            self.drain.peak_queued,
            self.drain.seconds,
            self.drain.queued_left,
            jobs.join(", ")
        )?;
        for (kind, l) in &self.drain.lag {
            writeln!(
                f,
                "    {kind:<14} queued → done: n={:<6} p50 {} s  p95 {} s  p99 {} s  max {} s",
                l.n, l.p50_s, l.p95_s, l.p99_s, l.max_s
            )?;
        }
        for (what, n) in &self.drain.failed {
            writeln!(f, "    failed: {n} × {}", one_line(what, 200))?;
        }
        writeln!(
            f,
            "  DMs: {} delivered, {} repeated, {} answered 429, {} refused 50007 (closed)",
            self.dms.delivered, self.dms.repeated, self.dms.rate_limited, self.dms.closed
        )?;
        for sample in &self.dms.repeated_samples {
            writeln!(f, "    repeated: {sample}")?;
        }
        let routes: Vec<String> = self
            .google_by_route
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        writeln!(
            f,
            "  Google: {} requests, {} random faults injected; {}",
            self.google_requests,
            self.google_faults,
            routes.join(", ")
        )?;
        let bookings: Vec<String> = self
            .invariants
            .bookings
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(f, "  bookings in the database: {}", bookings.join(", "))?;
        let checked: Vec<String> = self
            .invariants
            .checked
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(f, "  invariants checked: {}", checked.join(", "))?;
        writeln!(
            f,
            "  double bookings: {}; invariant violations: {}",
            self.invariants.double_bookings,
            self.invariants.violations.len()
        )?;
        for v in self.invariants.violations.iter().take(20) {
            writeln!(f, "    {v}")?;
        }
        if self.invariants.violations.len() > 20 {
            writeln!(
                f,
                "    … and {} more",
                self.invariants.violations.len() - 20
            )?;
        }
        writeln!(
            f,
            "  bot log: {} ERROR, {} WARN lines; exits: {}",
            self.bot_log_errors,
            self.bot_log_warnings,
            self.bot_exits.join(", ")
        )?;
        for line in &self.bot_log_samples {
            writeln!(f, "    {}", one_line(line, 300))?;
        }
        Ok(())
    }
}

fn one_line(text: &str, max: usize) -> String {
    let flat = text.replace('\n', " ⏎ ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

// ----- the bot process -----

struct BotProcess {
    child: Child,
    pid: u32,
}

impl BotProcess {
    fn spawn(command: &BotCommand, env: &[(String, String)], dir: &Path, n: usize) -> BotProcess {
        let log = File::create(dir.join(format!("bot-{n}.log"))).expect("create the bot's log");
        let child = Command::new(&command.program)
            .args(&command.args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the bot's log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", command.program.display()));
        let pid = child.id();
        BotProcess { child, pid }
    }

    /// SIGKILL, and reap it.
    fn kill(&mut self) -> String {
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => describe_exit(status),
            Err(e) => format!("wait failed: {e}"),
        }
    }

    /// SIGTERM, then SIGKILL if it has not stopped within `grace`.
    async fn terminate(&mut self, grace: Duration) -> String {
        if let Ok(Some(status)) = self.child.try_wait() {
            return format!("had already stopped: {}", describe_exit(status));
        }
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if sent {
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = self.child.try_wait() {
                    return describe_exit(status);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        format!(
            "did not stop on SIGTERM{}; {}",
            if sent { "" } else { " (kill(1) unavailable)" },
            self.kill()
        )
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(9)) => "killed (SIGKILL)".to_owned(),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "unknown".to_owned(),
    }
}

/// `VmRSS` and `VmHWM` of `pid`, KiB.
fn memory_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

/// Waits until the bot that was just (re)started is connected and has registered its
/// commands; panics with its log if it exits or takes too long.
async fn wait_started(
    fake: &FakeDiscord,
    bot: &mut BotProcess,
    ready_before: usize,
    registrations_before: usize,
    log: &Path,
) {
    let deadline = Instant::now() + START_WAIT;
    loop {
        if fake.ready_count() > ready_before
            && fake.bot_connected()
            && fake.registration_count() > registrations_before
        {
            return;
        }
        if let Some(status) = bot.exited() {
            panic!(
                "the bot exited during start-up ({}); its log:\n{}",
                describe_exit(status),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            panic!(
                "the bot did not connect and register its commands within {START_WAIT:?}; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ----- what the mentees learned -----

/// A booking a user was told about.
#[derive(Clone, Debug)]
struct Acked {
    mentor: u64,
    mentee: u64,
    /// Start as last acknowledged (Unix seconds).
    start: i64,
    /// The driver was told it is cancelled.
    cancelled: bool,
    /// A cancel or move was sent but its answer was lost (crash): status and time unknown.
    uncertain: bool,
}

#[derive(Default)]
struct Ledger {
    bookings: HashMap<String, Acked>,
    outcomes: BTreeMap<String, usize>,
    errors: BTreeMap<String, usize>,
    samples: BTreeMap<String, String>,
    uncertain: usize,
}

impl Ledger {
    fn outcome(&mut self, what: &str) {
        *self.outcomes.entry(what.to_owned()).or_default() += 1;
    }

    fn error(&mut self, kind: &str, sample: impl Into<String>) {
        *self.errors.entry(kind.to_owned()).or_default() += 1;
        self.samples
            .entry(kind.to_owned())
            .or_insert_with(|| sample.into());
    }
}

/// Outages: (SIGKILL sent, restarted bot ready).
type Outages = Arc<Mutex<Vec<(Instant, Option<Instant>)>>>;

/// Whether an interaction sent at `sent` may have been lost to an outage: its 3 s window
/// overlaps the time from a kill until the restarted bot was ready.
fn lost_to_outage(outages: &[(Instant, Option<Instant>)], sent: Instant) -> bool {
    outages.iter().any(|(down, up)| {
        sent + DISCORD_LIMIT + Duration::from_millis(500) > *down && up.is_none_or(|up| sent < up)
    })
}

struct World {
    fake: FakeDiscord,
    mentors: Vec<FakeUser>,
    /// True while the bot is up: actors wait for it before each interaction.
    up: watch::Receiver<bool>,
    deadline: Instant,
    think: Duration,
    contested: f64,
    ledger: Mutex<Ledger>,
    outages: Outages,
}

/// What one interaction came to.
enum Answer {
    /// The message the user ends up seeing.
    Shown(Message),
    /// No usable answer: recorded as an error or as lost to an outage.
    Lost,
}

impl World {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits while the bot is down.
    async fn bot_up(&self) {
        let mut up = self.up.clone();
        let _ = up.wait_for(|up| *up).await;
    }

    /// Settles `pending` (sent at `sent`): internal errors and missing answers are recorded.
    async fn settle(&self, what: &str, sent: Instant, pending: Pending) -> Answer {
        match pending.settled().await {
            Ok(message) => {
                let text = message.text();
                if text.contains("Something went wrong on my side") {
                    self.ledger()
                        .error("internal error (reference code)", format!("{what}: {text}"));
                    return Answer::Lost;
                }
                Answer::Shown(message)
            }
            Err(e) => {
                // A sent interaction's fate is judged from the fake's log afterwards (one
                // count per interaction); here only what could not even be sent.
                if pending.id() == 0 && !lost_to_outage(&self.outages.lock().unwrap(), sent) {
                    self.ledger()
                        .error(&format!("could not send {what}"), format!("{what}: {e}"));
                }
                Answer::Lost
            }
        }
    }

    async fn slash(&self, who: &FakeUser, path: &str, options: Vec<Opt>) -> Answer {
        self.bot_up().await;
        let sent = Instant::now();
        let pending = self.fake.slash(who, Place::Guild, path, options).await;
        self.settle(&format!("/{path}"), sent, pending).await
    }

    async fn select(&self, who: &FakeUser, on: &Message, select: &str, value: &str) -> Answer {
        self.bot_up().await;
        let sent = Instant::now();
        let pending = self.fake.select(who, on, select, &[value]).await;
        self.settle("select", sent, pending).await
    }

    async fn click(&self, who: &FakeUser, on: &Message, button: &str) -> Answer {
        self.bot_up().await;
        let sent = Instant::now();
        let pending = self.fake.click(who, on, button).await;
        self.settle("Confirm", sent, pending).await
    }

    fn unexpected(&self, what: &str, text: &str) {
        self.ledger()
            .error(&format!("unexpected reply to {what}"), text.to_owned());
    }
}

/// The first booking id (six characters in backticks) in `text`.
fn booking_id(text: &str) -> Option<String> {
    let start = text.find('`')? + 1;
    text.get(start..start + 6).map(str::to_owned)
}

/// Slot starts (select values, Unix seconds) of a picker that are not within a session of
/// one of `mine` (a mentee's own bookings, 30-minute sessions), except `keep`.
fn free_options(
    picker: &Message,
    select: &str,
    mine: &[(String, i64)],
    keep: Option<&str>,
) -> Vec<(String, i64)> {
    picker
        .select_options(select)
        .into_iter()
        .filter_map(|(_, value)| {
            let start: i64 = value.parse().ok()?;
            let clash = mine
                .iter()
                .any(|(id, s)| Some(id.as_str()) != keep && (start - s).abs() < 30 * 60);
            (!clash).then_some((value, start))
        })
        .collect()
}

/// One mentee: book (half the time, always when holding nothing), list, cancel or
/// reschedule, with a think time between clicks, until the deadline.
async fn mentee(world: Arc<World>, me: FakeUser, mut rng: Rng) {
    let mut mine: Vec<(String, i64)> = Vec::new();
    tokio::time::sleep(rng.jitter(world.think)).await;
    while Instant::now() < world.deadline {
        let roll = rng.unit();
        if mine.is_empty() || roll < 0.5 {
            book(&world, &me, &mut rng, &mut mine).await;
        } else if roll < 0.7 {
            list(&world, &me).await;
        } else if roll < 0.85 {
            cancel(&world, &me, &mut rng, &mut mine).await;
        } else {
            reschedule(&world, &me, &mut rng, &mut mine).await;
        }
        tokio::time::sleep(rng.jitter(world.think)).await;
    }
}

/// One mentor: looks at their bookings now and then.
async fn mentor(world: Arc<World>, me: FakeUser, mut rng: Rng) {
    tokio::time::sleep(rng.jitter(world.think * 3)).await;
    while Instant::now() < world.deadline {
        list(&world, &me).await;
        tokio::time::sleep(rng.jitter(world.think * 5)).await;
    }
}

async fn list(world: &World, me: &FakeUser) {
    if let Answer::Shown(reply) = world.slash(me, "bookings", vec![]).await {
        let text = reply.text();
        if text.contains("Your upcoming sessions") {
            world.ledger().outcome("listed");
        } else {
            world.unexpected("/bookings", &text);
        }
    }
}

async fn book(world: &World, me: &FakeUser, rng: &mut Rng, mine: &mut Vec<(String, i64)>) {
    let contested = rng.chance(world.contested);
    let mentor = if contested {
        &world.mentors[rng.below(world.mentors.len().min(2))]
    } else {
        &world.mentors[rng.below(world.mentors.len())]
    };
    let mut options = vec![Opt::user("mentor", mentor)];
    if !contested {
        // Any of the next four weeks (the mentors take bookings 30 days ahead).
        let day = chrono::Utc::now().date_naive() + chrono::Days::new(1 + rng.below(27) as u64);
        options.push(Opt::str("date", &day.format("%Y-%m-%d").to_string()));
    }
    let Answer::Shown(mut picker) = world.slash(me, "book", options).await else {
        return;
    };
    for _ in 0..3 {
        let Some(select) = picker.selects().first().cloned() else {
            if picker.text().contains("No free slots") {
                world.ledger().outcome("no free slot");
            } else {
                world.unexpected("/book", &picker.text());
            }
            return;
        };
        let free = free_options(&picker, &select, mine, None);
        if free.is_empty() {
            world.ledger().outcome("no free slot");
            return;
        }
        let (value, start) = if contested {
            free[rng.below(free.len().min(2))].clone()
        } else {
            free[rng.below(free.len())].clone()
        };
        tokio::time::sleep(rng.jitter(world.think)).await;
        let Answer::Shown(chosen) = world.select(me, &picker, &select, &value).await else {
            return;
        };
        let Some(confirm) = chosen.button_id("Confirm") else {
            world.unexpected("select", &chosen.text());
            return;
        };
        tokio::time::sleep(rng.jitter(world.think)).await;
        let Answer::Shown(done) = world.click(me, &chosen, &confirm).await else {
            // The booking may or may not exist: the mentee doesn't know its id, so nothing
            // can be claimed about it; the database checks still cover it.
            world.ledger().uncertain += 1;
            return;
        };
        let text = done.text();
        if text.contains("Booked ✅") {
            let Some(id) = booking_id(&text) else {
                world.unexpected("Confirm", &text);
                return;
            };
            let mut ledger = world.ledger();
            ledger.outcome("booked");
            ledger.bookings.insert(
                id.clone(),
                Acked {
                    mentor: mentor.id,
                    mentee: me.id,
                    start,
                    cancelled: false,
                    uncertain: false,
                },
            );
            mine.push((id, start));
            return;
        }
        if text.contains("just taken") {
            world.ledger().outcome("slot taken");
            picker = done;
            continue;
        }
        if text.contains("already have a session") {
            world.ledger().outcome("own overlap");
            return;
        }
        if text.contains("too soon") && notice_passed(start) {
            world.ledger().outcome("notice passed");
            return;
        }
        world.unexpected("Confirm", &text);
        return;
    }
}

/// Whether a slot starting at `start` (Unix seconds) is now within the minimum notice: a
/// picker shown just before a half-hour boundary offers a slot that Confirm, a moment later,
/// must refuse as too soon. Checked after the refusal, on the same clock, so it is exact.
fn notice_passed(start: i64) -> bool {
    // The driver's mentors keep the default notice.
    let notice = i64::from(mentorbot::domain::MentorSettings::default().min_notice_hours) * 3600;
    start < chrono::Utc::now().timestamp() + notice
}

async fn cancel(world: &World, me: &FakeUser, rng: &mut Rng, mine: &mut Vec<(String, i64)>) {
    let (id, _) = mine.remove(rng.below(mine.len()));
    let options = vec![Opt::str("booking", &id), Opt::str("reason", REASON)];
    match world.slash(me, "cancel", options).await {
        Answer::Shown(reply) => {
            let text = reply.text();
            if text.contains(&format!("Cancelled `{id}`")) {
                let mut ledger = world.ledger();
                ledger.outcome("cancelled");
                if let Some(b) = ledger.bookings.get_mut(&id) {
                    b.cancelled = true;
                }
            } else {
                world.unexpected("/cancel", &text);
                mark_uncertain(world, &id);
            }
        }
        Answer::Lost => mark_uncertain(world, &id),
    }
}

fn mark_uncertain(world: &World, id: &str) {
    let mut ledger = world.ledger();
    ledger.uncertain += 1;
    if let Some(b) = ledger.bookings.get_mut(id) {
        b.uncertain = true;
    }
}

async fn reschedule(world: &World, me: &FakeUser, rng: &mut Rng, mine: &mut Vec<(String, i64)>) {
    let index = rng.below(mine.len());
    let id = mine[index].0.clone();
    let Answer::Shown(picker) = world
        .slash(me, "reschedule", vec![Opt::str("booking", &id)])
        .await
    else {
        return;
    };
    let Some(select) = picker.selects().first().cloned() else {
        if picker.text().contains("No free slots") {
            world.ledger().outcome("no free slot");
        } else {
            world.unexpected("/reschedule", &picker.text());
        }
        return;
    };
    // Any other time (moving a booking to the time it already has is no move).
    let current = mine[index].1;
    let free: Vec<_> = free_options(&picker, &select, mine, Some(&id))
        .into_iter()
        .filter(|(_, start)| *start != current)
        .collect();
    if free.is_empty() {
        world.ledger().outcome("no free slot");
        return;
    }
    let (value, start) = free[rng.below(free.len())].clone();
    tokio::time::sleep(rng.jitter(world.think)).await;
    let Answer::Shown(chosen) = world.select(me, &picker, &select, &value).await else {
        return;
    };
    let Some(confirm) = chosen.button_id("Confirm") else {
        world.unexpected("select (move)", &chosen.text());
        return;
    };
    tokio::time::sleep(rng.jitter(world.think)).await;
    let Answer::Shown(done) = world.click(me, &chosen, &confirm).await else {
        mark_uncertain(world, &id);
        mine.remove(index);
        return;
    };
    let text = done.text();
    if text.contains("Moved ✅") {
        let mut ledger = world.ledger();
        ledger.outcome("moved");
        if let Some(b) = ledger.bookings.get_mut(&id) {
            b.start = start;
        }
        mine[index].1 = start;
    } else if text.contains("just taken") {
        world.ledger().outcome("slot taken");
    } else if text.contains("already have a session") {
        world.ledger().outcome("own overlap");
    } else if text.contains("too soon") && notice_passed(start) {
        world.ledger().outcome("notice passed");
    } else {
        world.unexpected("Confirm (move)", &text);
    }
}

// ----- set-up -----

fn email(i: usize) -> String {
    format!("mentor{i}@example.com")
}

/// `/calendar connect`, then the browser: the bot's start page, Google's consent, the bot's
/// callback.
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
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let mut url = link;
    for _ in 0..2 {
        let response = browser.get(&url).send().await.expect("the OAuth pages");
        assert_eq!(response.status().as_u16(), 302, "a redirect from {url}");
        url = response.headers()["location"]
            .to_str()
            .expect("a Location")
            .to_owned();
    }
    let page = browser.get(&url).send().await.expect("the callback");
    let status = page.status().as_u16();
    let body = page.text().await.unwrap_or_default();
    assert!(
        status == 200 && body.contains("connected"),
        "connecting mentor {i}: {status} {body}"
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

// ----- the run -----

/// Runs the load described by `config` and checks the invariants afterwards.
pub async fn run(config: Config) -> Report {
    std::fs::create_dir_all(&config.dir).expect("create the work directory");
    let db = config.dir.join("bot.db");
    let fake = FakeDiscord::start().await;
    let google = FakeGoogle::start().await;
    let port = free_port();
    let http_base = format!("http://127.0.0.1:{port}");
    let env: Vec<(String, String)> = [
        ("DISCORD_TOKEN", TOKEN.to_owned()),
        ("DATABASE_URL", format!("sqlite://{}", db.display())),
        ("DISCORD_API_BASE", fake.api_base()),
        ("DISCORD_GUILD_ID", fake.guild_id().to_string()),
        ("HTTP_BIND", format!("127.0.0.1:{port}")),
        ("PUBLIC_BASE_URL", http_base),
        ("GOOGLE_CLIENT_ID", FakeGoogle::CLIENT_ID.to_owned()),
        ("GOOGLE_CLIENT_SECRET", FakeGoogle::CLIENT_SECRET.to_owned()),
        ("TOKEN_ENCRYPTION_KEY", TOKEN_KEY.to_owned()),
        ("GOOGLE_AUTH_URL", google.auth_url()),
        ("GOOGLE_TOKEN_URL", google.token_url()),
        ("GOOGLE_REVOKE_URL", google.revoke_url()),
        ("GOOGLE_CALENDAR_API_BASE", google.calendar_base()),
        ("RUST_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(config.bot_env.iter().cloned())
    .collect();

    let mut report = Report {
        mode: config.mode(),
        mentees: config.mentees,
        mentors: config.mentors,
        duration_s: config.duration.as_secs_f64(),
        think_ms: ms(config.think),
        contested: config.contested,
        seed: config.seed,
        ..Report::default()
    };
    let mut exits = Vec::new();
    let mut logs = vec![config.dir.join("bot-0.log")];

    // Start-up, then the idle memory.
    let mut first = BotProcess::spawn(&config.bot, &env, &config.dir, 0);
    wait_started(&fake, &mut first, 0, 0, &logs[0]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    report.memory.idle_kib = memory_of(first.pid).map_or(0, |m| m.0);

    // Mentors publish hours and connect Google; mentees exist.
    let mentors: Vec<FakeUser> = (0..config.mentors.max(1))
        .map(|i| fake.user(&format!("mentor{i}")))
        .collect();
    for (i, m) in mentors.iter().enumerate() {
        set_up_mentor(&fake, &google, m, i).await;
    }
    let mentees: Vec<FakeUser> = (0..config.mentees)
        .map(|i| fake.user(&format!("mentee{i}")))
        .collect();
    report.memory.after_setup_kib = memory_of(first.pid).map_or(0, |m| m.0);

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
        fake.set_random_rate_limit("POST /channels/*/messages", 0.15, 0.5, config.seed);
        for user in mentees.iter().chain(mentors.iter().skip(1).take(1)) {
            if rng.chance(0.1) || mentors.get(1).is_some_and(|m| m.id == user.id) {
                fake.set_dms_closed(user.id, true);
                fake.set_print_dm_refusals(false);
            }
        }
    }

    // The load.
    let first_interaction = fake.interaction_log().len();
    let google_before = google.requests().len();
    let (up_tx, up_rx) = watch::channel(true);
    let outages: Outages = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let world = Arc::new(World {
        fake: fake.clone(),
        mentors: mentors.clone(),
        up: up_rx,
        deadline: started + config.duration,
        think: config.think,
        contested: config.contested,
        ledger: Mutex::new(Ledger::default()),
        outages: outages.clone(),
    });

    let pid = Arc::new(AtomicU32::new(first.pid));
    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (pid, peak, sampling) = (pid.clone(), peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some((rss, _)) = memory_of(pid.load(Ordering::Relaxed)) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let deadline = started + config.duration;
    let queue_sampler = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                peak = peak.max(queued_jobs(&db).await);
            }
            peak
        })
    };

    let mut actors = Vec::new();
    for (i, m) in mentees.iter().enumerate() {
        let rng = Rng::new(config.seed ^ (0x1000 + i as u64).wrapping_mul(0x9E37_79B9));
        actors.push(tokio::spawn(mentee(world.clone(), m.clone(), rng)));
    }
    for (i, m) in mentors.iter().enumerate() {
        let rng = Rng::new(config.seed ^ (0x10_0000 + i as u64).wrapping_mul(0x9E37_79B9));
        actors.push(tokio::spawn(mentor(world.clone(), m.clone(), rng)));
    }

    // The crash controller: K SIGKILLs at random moments, each followed by a restart on the
    // same database.
    let bot = Arc::new(tokio::sync::Mutex::new(first));
    let controller = {
        let (bot, fake, outages, pid, peak) = (
            bot.clone(),
            fake.clone(),
            outages.clone(),
            pid.clone(),
            peak.clone(),
        );
        let (kills, duration, command, env, dir) = (
            config.kills,
            config.duration,
            config.bot.clone(),
            env.clone(),
            config.dir.clone(),
        );
        let mut rng = Rng::new(config.seed ^ 0xC0FF_EE00);
        tokio::spawn(async move {
            let mut crashes = Crashes::default();
            let mut exits = Vec::new();
            let mut logs = Vec::new();
            let mut peaks = Vec::new();
            for k in 0..kills {
                let segment = duration / kills as u32;
                let at = started + segment * k as u32 + segment.mul_f64(0.2 + 0.5 * rng.unit());
                tokio::time::sleep_until(at.into()).await;
                let mut bot = bot.lock().await;
                let _ = up_tx.send(false);
                let down = Instant::now();
                outages.lock().unwrap().push((down, None));
                if let Some((rss, hwm)) = memory_of(bot.pid) {
                    peak.fetch_max(rss.max(hwm), Ordering::Relaxed);
                    peaks.push(hwm);
                }
                let (ready, registrations) = (fake.ready_count(), fake.registration_count());
                exits.push(bot.kill());
                crashes.kills += 1;
                let log = dir.join(format!("bot-{}.log", k + 1));
                *bot = BotProcess::spawn(&command, &env, &dir, k + 1);
                pid.store(bot.pid, Ordering::Relaxed);
                wait_started(&fake, &mut bot, ready, registrations, &log).await;
                logs.push(log);
                let up = Instant::now();
                if let Some(last) = outages.lock().unwrap().last_mut() {
                    last.1 = Some(up);
                }
                crashes.restart_ms.push(ms(up - down));
                let _ = up_tx.send(true);
            }
            (crashes, exits, logs, peaks)
        })
    };

    for actor in actors {
        actor.await.expect("an actor panicked");
    }
    let load = started.elapsed();
    let (crashes, kill_exits, kill_logs, peaks) =
        controller.await.expect("the crash controller panicked");
    report.memory.process_peaks_kib = peaks;
    report.crashes = crashes;
    exits.extend(kill_exits);
    logs.extend(kill_logs);
    report.load_s = (load.as_secs_f64() * 10.0).round() / 10.0;
    report.drain.peak_queued = queue_sampler.await.unwrap_or(-1);

    // Google recovers; the worker catches up.
    report.google_faults = google.random_faults_injected();
    google.clear_random_faults();
    let drain_started = Instant::now();
    let mut queued = queued_jobs(&db).await;
    while queued > 0 && drain_started.elapsed() < config.drain_timeout {
        tokio::time::sleep(Duration::from_millis(250)).await;
        queued = queued_jobs(&db).await;
    }
    report.drain.seconds = (drain_started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    report.drain.queued_left = queued;
    // Late DMs (a retry after a 429) settle in the fake before it is read.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Stop the bot (SIGTERM), with its final memory.
    {
        let mut bot = bot.lock().await;
        if let Some((rss, hwm)) = memory_of(bot.pid) {
            report.memory.end_kib = rss;
            report.memory.process_peaks_kib.push(hwm);
            peak.fetch_max(rss.max(hwm), Ordering::Relaxed);
        }
        sampling.store(false, Ordering::Relaxed);
        let _ = sampler.await;
        exits.push(bot.terminate(Duration::from_secs(20)).await);
    }
    report.memory.peak_kib = peak.load(Ordering::Relaxed);
    report.bot_exits = exits;

    // What the users saw.
    let ledger = std::mem::take(&mut *world.ledger());
    let log: Vec<_> = fake
        .interaction_log()
        .into_iter()
        .skip(first_interaction)
        .collect();
    report.interactions = log.len();
    let outages_seen = outages.lock().unwrap().clone();
    let mut by_kind: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let mut errors = ledger.errors.clone();
    let mut samples = ledger.samples.clone();
    for entry in &log {
        let kind = interaction_kind(&entry.name);
        if let Some(result) = entry.result {
            by_kind.entry(kind.to_owned()).or_default().push(result);
            by_kind.entry("all".to_owned()).or_default().push(result);
        }
        let problem = match (entry.first_response, entry.result) {
            (None, _) => Some("unanswered interaction"),
            (Some(first), _) if first > DISCORD_LIMIT => Some("initial response after 3 s"),
            (Some(_), None) if entry.callback_type == Some(5) => {
                Some("deferred, result never sent")
            }
            (Some(_), Some(result)) if result > DISCORD_LIMIT => Some("result after 3 s"),
            _ => None,
        };
        if let Some(problem) = problem {
            if lost_to_outage(&outages_seen, entry.sent_at) {
                report.crashes.interactions_lost_to_outages += 1;
            } else {
                let key = format!("{problem} ({kind})");
                *errors.entry(key.clone()).or_default() += 1;
                samples.entry(key).or_insert_with(|| {
                    format!(
                        "{} {:?}: first response {:?}, result {:?}, refusals {:?}",
                        kind, entry.name, entry.first_response, entry.result, entry.refusals
                    )
                });
            }
        }
    }
    report.latency = by_kind
        .into_iter()
        .map(|(k, v)| (k, Latency::of(v)))
        .collect();
    report.outcomes = ledger.outcomes.clone();
    report.bookings = ledger.outcomes.get("booked").copied().unwrap_or(0);
    report.bookings_per_s = if load.as_secs_f64() > 0.0 {
        (report.bookings as f64 / load.as_secs_f64() * 10.0).round() / 10.0
    } else {
        0.0
    };
    report.errors = errors;
    report.error_samples = samples;
    report.crashes.uncertain_actions = ledger.uncertain;
    let requests = google.requests();
    report.google_requests = requests.len() - google_before;
    for r in requests.iter().skip(google_before) {
        *report
            .google_by_route
            .entry(format!("{:?} {}", r.route, r.status))
            .or_default() += 1;
    }

    // The invariants.
    let users: Vec<&FakeUser> = mentors.iter().chain(mentees.iter()).collect();
    let checked = check_invariants(&db, &ledger, &google, config.mentors.max(1)).await;
    report.invariants = checked.invariants;
    report.drain.jobs = checked.jobs;
    report.drain.failed = checked.failed;
    report.drain.lag = checked.lag;
    report.dms = dm_figures(&fake, &users, &checked.dm_jobs_done);
    if config.kills == 0 && report.dms.repeated > 0 {
        report.invariants.violations.push(format!(
            "{} DMs delivered twice without any crash",
            report.dms.repeated
        ));
    }

    // The bot's own view.
    for path in &logs {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for line in text.lines() {
            if line.contains(" ERROR ") {
                report.bot_log_errors += 1;
                if report.bot_log_samples.len() < 5 {
                    report.bot_log_samples.push(strip_ansi(line));
                }
            } else if line.contains(" WARN ") {
                report.bot_log_warnings += 1;
            }
        }
    }
    report
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The kind of an interaction, from its command path or custom id.
fn interaction_kind(name: &str) -> &'static str {
    let parts: Vec<&str> = name.split(':').collect();
    match parts.as_slice() {
        ["pk", "s", _, _, mode, ..] if mode.starts_with('m') => "select (move)",
        ["pk", "s", ..] => "select",
        ["pk", "c", _, _, mode] if mode.starts_with('m') => "confirm (move)",
        ["pk", "c", ..] => "confirm (book)",
        ["pk", ..] => "picker navigation",
        ["bk", ..] => "bookings page",
        _ => match name {
            "book" => "/book",
            "bookings" => "/bookings",
            "cancel" => "/cancel",
            "reschedule" => "/reschedule",
            _ => "other",
        },
    }
}

async fn open_db(db: &Path) -> Option<sqlx::SqliteConnection> {
    use sqlx::Connection;
    sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .ok()
}

/// Jobs still queued (-1 if the database cannot be read just now).
async fn queued_jobs(db: &Path) -> i64 {
    let Some(mut conn) = open_db(db).await else {
        return -1;
    };
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'queued'")
        .fetch_one(&mut conn)
        .await
        .unwrap_or(-1)
}

struct Row {
    id: String,
    mentor: i64,
    mentee: i64,
    start: i64,
    end: i64,
    status: String,
    calendar: String,
}

/// What a DM is about: who got it, which booking, which notice (and for a reschedule, the
/// old start). One `done` DM job should give exactly one DM with its key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct DmKey {
    recipient: u64,
    booking: String,
    notice: String,
    from: i64,
}

impl DmKey {
    /// The key of a DM as the fake received it (`None` for account notices).
    fn of(recipient: u64, text: &str) -> Option<DmKey> {
        let notice = if text.starts_with("🔁") {
            "rescheduled"
        } else if text.starts_with("❌") {
            "cancelled"
        } else if text.starts_with("✅") {
            "confirmed"
        } else if text.starts_with("🎥") || text.starts_with("📅 Your session with") {
            "meet_link"
        } else if text.starts_with("📅") && text.contains("booked a session with you") {
            "booked"
        } else {
            return None;
        };
        let at = text.find("booking `")? + "booking `".len();
        let booking = text.get(at..at + 6)?.to_owned();
        let from = if notice == "rescheduled" {
            let at = text.find("from <t:")? + "from <t:".len();
            text[at..].split(':').next()?.parse().ok()?
        } else {
            0
        };
        Some(DmKey {
            recipient,
            booking,
            notice: notice.to_owned(),
            from,
        })
    }
}

/// What [`check_invariants`] found.
struct Checked {
    invariants: Invariants,
    /// Jobs by `kind/state`.
    jobs: BTreeMap<String, i64>,
    /// Failed jobs by `kind: last error`.
    failed: BTreeMap<String, i64>,
    /// `done` DM jobs by what they are about.
    dm_jobs_done: HashMap<DmKey, usize>,
    /// Queued-to-done seconds of `done` jobs, by kind.
    lag: BTreeMap<String, Lag>,
}

/// Checks every invariant from the database file and the fakes.
async fn check_invariants(
    db: &Path,
    ledger: &Ledger,
    google: &FakeGoogle,
    mentors: usize,
) -> Checked {
    use sqlx::Row as _;
    let mut inv = Invariants::default();
    let Some(mut conn) = open_db(db).await else {
        inv.violations.push(format!("cannot open {}", db.display()));
        return Checked {
            invariants: inv,
            jobs: BTreeMap::new(),
            failed: BTreeMap::new(),
            dm_jobs_done: HashMap::new(),
            lag: BTreeMap::new(),
        };
    };
    let rows: Vec<Row> = sqlx::query(
        "SELECT id, mentor_id, mentee_id, start_at, end_at, status, calendar_status FROM bookings",
    )
    .fetch_all(&mut conn)
    .await
    .expect("read bookings")
    .into_iter()
    .map(|r| Row {
        id: r.get("id"),
        mentor: r.get("mentor_id"),
        mentee: r.get("mentee_id"),
        start: r.get("start_at"),
        end: r.get("end_at"),
        status: r.get("status"),
        calendar: r.get("calendar_status"),
    })
    .collect();
    for r in &rows {
        *inv.bookings
            .entry(format!("{}/{}", r.status, r.calendar))
            .or_default() += 1;
    }
    let by_id: HashMap<&str, &Row> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut check = |what: &str, n: usize| {
        *inv.checked.entry(what.to_owned()).or_default() += n;
    };

    // 1. No two overlapping active bookings of one person, in either role.
    let mut busy: HashMap<i64, Vec<(i64, i64, &str)>> = HashMap::new();
    for r in rows.iter().filter(|r| r.status == "active") {
        busy.entry(r.mentor)
            .or_default()
            .push((r.start, r.end, &r.id));
        busy.entry(r.mentee)
            .or_default()
            .push((r.start, r.end, &r.id));
    }
    check("people's schedules", busy.len());
    let mut overlaps = Vec::new();
    for (person, mut list) in busy {
        list.sort();
        let mut latest: Option<(i64, &str)> = None;
        for (start, end, id) in list {
            if let Some((until, other)) = latest
                && start < until
            {
                overlaps.push(format!(
                    "double booking: person {person} has {other} and {id} overlapping"
                ));
            }
            if latest.is_none_or(|(until, _)| end > until) {
                latest = Some((end, id));
            }
        }
    }
    inv.double_bookings = overlaps.len();
    inv.violations.extend(overlaps);

    // 2. Every booking a user was told about exists, as they were told.
    check("acknowledged bookings", ledger.bookings.len());
    for (id, acked) in &ledger.bookings {
        let Some(row) = by_id.get(id.as_str()) else {
            inv.violations
                .push(format!("acknowledged booking {id} is missing"));
            continue;
        };
        if row.mentor as u64 != acked.mentor || row.mentee as u64 != acked.mentee {
            inv.violations
                .push(format!("booking {id} has other people than acknowledged"));
        }
        if acked.uncertain {
            continue;
        }
        if acked.cancelled && row.status != "cancelled" {
            inv.violations.push(format!(
                "booking {id} was acknowledged as cancelled but is {}",
                row.status
            ));
        }
        if !acked.cancelled && row.status != "active" {
            inv.violations.push(format!(
                "booking {id} was never cancelled by its users but is {}",
                row.status
            ));
        }
        if !acked.cancelled && row.start != acked.start {
            inv.violations.push(format!(
                "booking {id} starts at {} but its users were told {}",
                row.start, acked.start
            ));
        }
    }

    // 3. Calendar: one live event per synced active booking, at its time; none for cancelled
    //    ones; never two; no event without a booking.
    let mut live: HashMap<String, Vec<testkit::FakeEvent>> = HashMap::new();
    let mut events = 0;
    for i in 0..mentors {
        for event in google.live_events(&email(i)) {
            events += 1;
            let tag = event.booking_tag.clone().unwrap_or_default();
            live.entry(tag).or_default().push(event);
        }
    }
    check("live Google events", events);
    check("bookings against Google", rows.len());
    for (tag, list) in &live {
        if !by_id.contains_key(tag.as_str()) {
            inv.violations.push(format!(
                "{} live event(s) tagged {tag:?}, which is no booking",
                list.len()
            ));
        }
    }
    for r in &rows {
        let mine = live.get(&r.id).map_or(&[][..], Vec::as_slice);
        if mine.len() > 1 {
            inv.violations
                .push(format!("booking {} has {} live events", r.id, mine.len()));
        }
        match (r.status.as_str(), r.calendar.as_str()) {
            ("active", "synced") => match mine {
                [event] => {
                    let at = event.start_utc().map(|t| t.timestamp());
                    let until = event.end_utc().map(|t| t.timestamp());
                    if at != Some(r.start) || until != Some(r.end) {
                        inv.violations.push(format!(
                            "booking {} is synced but its event is at {:?}–{:?}, not {}–{}",
                            r.id, at, until, r.start, r.end
                        ));
                    }
                }
                [] => inv
                    .violations
                    .push(format!("booking {} is synced but has no live event", r.id)),
                _ => {}
            },
            ("active", other) => inv.violations.push(format!(
                "active booking {} is `{other}`, not synced, after the drain (its mentor is connected)",
                r.id
            )),
            ("cancelled", _) if !mine.is_empty() => inv.violations.push(format!(
                "cancelled booking {} still has a live event",
                r.id
            )),
            _ => {}
        }
    }

    // 4. Jobs: one `cancelled` DM job per cancellation, one `booked` and one `confirmed` per
    //    booking.
    let jobs = sqlx::query(
        "SELECT kind, booking_id, json_extract(payload, '$.notice') AS notice, state, last_error,
                json_extract(payload, '$.recipient') AS recipient,
                json_extract(payload, '$.from_start') AS from_start,
                finished_at - created_at AS lag
         FROM jobs",
    )
    .fetch_all(&mut conn)
    .await
    .expect("read jobs");
    let mut by_state: BTreeMap<String, i64> = BTreeMap::new();
    let mut failed: BTreeMap<String, i64> = BTreeMap::new();
    let mut notices: HashMap<(String, String), usize> = HashMap::new();
    let mut sent: HashMap<DmKey, usize> = HashMap::new();
    let mut lags: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for j in &jobs {
        let kind: String = j.get("kind");
        let state: String = j.get("state");
        if state == "done" {
            let lag: Option<i64> = j.get("lag");
            lags.entry(kind.clone())
                .or_default()
                .push(lag.unwrap_or_default());
        }
        let booking: Option<String> = j.get("booking_id");
        let notice: Option<String> = j.get("notice");
        if kind == "dm" && state == "done" {
            let recipient: Option<i64> = j.get("recipient");
            let from: Option<i64> = j.get("from_start");
            let key = DmKey {
                recipient: recipient.unwrap_or_default() as u64,
                booking: booking.clone().unwrap_or_default(),
                notice: notice.clone().unwrap_or_default(),
                from: from.unwrap_or_default(),
            };
            *sent.entry(key).or_default() += 1;
        }
        *by_state.entry(format!("{kind}/{state}")).or_default() += 1;
        if state == "failed" {
            let error: Option<String> = j.get("last_error");
            *failed
                .entry(format!("{kind}: {}", error.unwrap_or_default()))
                .or_default() += 1;
        }
        if kind == "dm"
            && let (Some(b), Some(n)) = (booking, notice)
        {
            *notices.entry((b, n)).or_default() += 1;
        }
    }
    check("DM jobs", notices.values().sum());
    for r in &rows {
        let count = |n: &str| {
            notices
                .get(&(r.id.clone(), n.to_owned()))
                .copied()
                .unwrap_or(0)
        };
        if r.status == "cancelled" && count("cancelled") != 1 {
            inv.violations.push(format!(
                "cancelled booking {} has {} `cancelled` DM jobs, not 1",
                r.id,
                count("cancelled")
            ));
        }
        for n in ["booked", "confirmed"] {
            if count(n) != 1 {
                inv.violations.push(format!(
                    "booking {} has {} `{n}` DM jobs, not 1",
                    r.id,
                    count(n)
                ));
            }
        }
    }
    Checked {
        invariants: inv,
        jobs: by_state,
        failed,
        dm_jobs_done: sent,
        lag: lags.into_iter().map(|(k, v)| (k, Lag::of(v))).collect(),
    }
}

/// DMs the fake received: delivered; repeated (more DMs about one thing than `done` DM jobs
/// about it: a delivery repeated because its result was not recorded); refused.
fn dm_figures(fake: &FakeDiscord, users: &[&FakeUser], jobs: &HashMap<DmKey, usize>) -> Dms {
    let mut dms = Dms::default();
    for user in users {
        let mut seen: HashMap<DmKey, (usize, String)> = HashMap::new();
        for m in fake.dms(user.id) {
            dms.delivered += 1;
            let text = m.text();
            if let Some(key) = DmKey::of(user.id, &text) {
                seen.entry(key).or_insert((0, text)).0 += 1;
            }
        }
        for (key, (n, text)) in seen {
            let expected = jobs.get(&key).copied().unwrap_or(0);
            if n > expected {
                dms.repeated += n - expected;
                if dms.repeated_samples.len() < 5 {
                    dms.repeated_samples.push(format!(
                        "{n} DMs for {expected} job(s), to {}: {}",
                        user.name,
                        one_line(&text, 300)
                    ));
                }
            }
        }
    }
    for r in fake.rejections() {
        if r.path.starts_with("/channels/") && r.method == "POST" {
            match r.status {
                429 => dms.rate_limited += 1,
                403 if r.body["code"] == 50007 => dms.closed += 1,
                _ => {}
            }
        }
    }
    dms
}
