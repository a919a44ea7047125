//! The report: every figure of a run, its text form (what the example prints and RELIABILITY.md
//! quotes) and what makes the run a failure.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::config::Config;
use crate::measure::{Lag, Latency, Memory, ms};

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
    /// At each SIGKILL: (interactions without their answer, Google requests not yet
    /// answered), so a run shows its kills landed mid-work.
    pub in_flight_at_kill: Vec<(usize, usize)>,
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
    /// `done` DM jobs whose DM the fake never received (not skipped on purpose): must be 0.
    pub undelivered: usize,
    /// The first of them.
    pub undelivered_samples: Vec<String>,
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
    /// What `config` asks for, before any figure.
    pub(crate) fn planned(config: &Config) -> Report {
        Report {
            mode: config.mode(),
            mentees: config.mentees,
            mentors: config.mentors,
            duration_s: config.duration.as_secs_f64(),
            think_ms: ms(config.think),
            contested: config.contested,
            seed: config.seed,
            ..Report::default()
        }
    }

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
        writeln!(f, "  outcomes: {}", pairs(&self.outcomes, " "))?;
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
                "  crashes: {} SIGKILLs, restarts took [{}] ms; {} interactions lost to outages, {} actions with unknown outcome; in flight at each kill (interactions, Google requests): {:?}",
                self.crashes.kills,
                restarts.join(", "),
                self.crashes.interactions_lost_to_outages,
                self.crashes.uncertain_actions,
                self.crashes.in_flight_at_kill
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
        writeln!(
            f,
            "  jobs: at most {} queued during the load; drained {:.1} s after it ({} left queued): {}",
            self.drain.peak_queued,
            self.drain.seconds,
            self.drain.queued_left,
            pairs(&self.drain.jobs, " ")
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
        writeln!(
            f,
            "  Google: {} requests, {} random faults injected; {}",
            self.google_requests,
            self.google_faults,
            pairs(&self.google_by_route, ": ")
        )?;
        writeln!(
            f,
            "  bookings in the database: {}",
            pairs(&self.invariants.bookings, " ")
        )?;
        writeln!(
            f,
            "  invariants checked: {}",
            pairs(&self.invariants.checked, " ")
        )?;
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

/// `key{between}value, …`, in key order.
fn pairs<V: fmt::Display>(map: &BTreeMap<String, V>, between: &str) -> String {
    let pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}{between}{v}"))
        .collect();
    pairs.join(", ")
}

pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat = text.replace('\n', " ⏎ ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}
