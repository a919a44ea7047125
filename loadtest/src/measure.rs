//! Measurements: latency per kind of interaction from the fake's log, the bot's memory from
//! `/proc`, and how long jobs took.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use testkit::AnsweredInteraction;
use tokio::task::JoinHandle;

use crate::crash::lost_to_outage;
use crate::report::Report;

/// Discord's limit for an initial response.
pub(crate) const DISCORD_LIMIT: Duration = Duration::from_secs(3);

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

pub(crate) fn ms(d: Duration) -> f64 {
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
    pub(crate) fn of(mut secs: Vec<i64>) -> Lag {
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

/// `VmRSS` and `VmHWM` of `pid`, KiB.
pub(crate) fn memory_of(pid: u32) -> Option<(u64, u64)> {
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

/// The bot's peak RSS over the run: VmRSS of the current bot process sampled every 200 ms,
/// raised by the readings taken before each kill and at the end.
pub(crate) struct PeakRss {
    pid: AtomicU32,
    peak: AtomicU64,
    sampling: AtomicBool,
}

impl PeakRss {
    /// Starts sampling `pid`; [`PeakRss::stop`] ends it with the task returned.
    pub(crate) fn start(pid: u32) -> (Arc<PeakRss>, JoinHandle<()>) {
        let rss = Arc::new(PeakRss {
            pid: AtomicU32::new(pid),
            peak: AtomicU64::new(0),
            sampling: AtomicBool::new(true),
        });
        let sampler = {
            let rss = rss.clone();
            tokio::spawn(async move {
                while rss.sampling.load(Ordering::Relaxed) {
                    if let Some((now, _)) = memory_of(rss.pid.load(Ordering::Relaxed)) {
                        rss.raise(now);
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        };
        (rss, sampler)
    }

    /// Samples `pid` from now on (a restarted bot).
    pub(crate) fn follow(&self, pid: u32) {
        self.pid.store(pid, Ordering::Relaxed);
    }

    /// Counts a reading taken elsewhere.
    pub(crate) fn raise(&self, kib: u64) {
        self.peak.fetch_max(kib, Ordering::Relaxed);
    }

    /// Stops sampling and waits for `sampler` to finish.
    pub(crate) async fn stop(&self, sampler: JoinHandle<()>) {
        self.sampling.store(false, Ordering::Relaxed);
        let _ = sampler.await;
    }

    /// The highest reading, KiB.
    pub(crate) fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

/// Judges the load's interactions from the fake's `log`: latency per kind; unanswered, late
/// or never-completed ones are errors unless they fall within one of the crash `outages`.
pub(crate) fn judge_interactions(
    log: &[AnsweredInteraction],
    outages: &[(Instant, Option<Instant>)],
    report: &mut Report,
) {
    report.interactions = log.len();
    let mut by_kind: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    for entry in log {
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
            if lost_to_outage(outages, entry.sent_at) {
                report.crashes.interactions_lost_to_outages += 1;
            } else {
                let key = format!("{problem} ({kind})");
                *report.errors.entry(key.clone()).or_default() += 1;
                report.error_samples.entry(key).or_insert_with(|| {
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
