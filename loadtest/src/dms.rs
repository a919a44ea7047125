//! DMs as the fake Discord received them, held against the `done` DM jobs: a DM beyond one per
//! job about the same thing is a repeated delivery (at-least-once after a crash).

use std::collections::{HashMap, HashSet};

use testkit::{FakeDiscord, FakeUser};

use crate::report::{Dms, one_line};

/// What a DM is about: who got it, which booking, which notice (and for a reschedule, the
/// old start). One `done` DM job should give exactly one DM with its key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct DmKey {
    pub(crate) recipient: u64,
    pub(crate) booking: String,
    pub(crate) notice: String,
    pub(crate) from: i64,
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

/// DMs the fake received: delivered; repeated (more DMs about one thing than `done` DM jobs
/// about it: a delivery repeated because its result was not recorded); refused.
///
/// And the lower bound: every `done` DM job's DM was delivered, except a booking's own
/// notices (booked, confirmed, moved, Meet link) once it is cancelled, which the worker skips
/// on purpose; a missing one is `undelivered`.
pub(crate) fn dm_figures(
    fake: &FakeDiscord,
    users: &[&FakeUser],
    jobs: &HashMap<DmKey, usize>,
    cancelled: &HashSet<String>,
) -> Dms {
    let mut dms = Dms::default();
    let mut received: HashSet<DmKey> = HashSet::new();
    for user in users {
        let mut seen: HashMap<DmKey, (usize, String)> = HashMap::new();
        for m in fake.dms(user.id) {
            dms.delivered += 1;
            let text = m.text();
            if let Some(key) = DmKey::of(user.id, &text) {
                received.insert(key.clone());
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
    for key in jobs.keys() {
        let skipped = key.notice != "cancelled" && cancelled.contains(&key.booking);
        if !received.contains(key) && !skipped {
            dms.undelivered += 1;
            if dms.undelivered_samples.len() < 5 {
                dms.undelivered_samples.push(format!("{key:?}"));
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
