//! The invariants, checked straight from the database file and the fake Google after the
//! drain: no double booking, every acknowledged booking as its users were told, one live
//! calendar event per synced booking, one DM job per notice.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use sqlx::Row as _;
use testkit::FakeGoogle;

use crate::db::open_db;
use crate::dms::DmKey;
use crate::measure::Lag;
use crate::report::Invariants;
use crate::setup::email;
use crate::world::Ledger;

/// A row of `bookings`.
struct Row {
    id: String,
    mentor: i64,
    mentee: i64,
    start: i64,
    end: i64,
    status: String,
    calendar: String,
}

/// What [`check_invariants`] found.
#[derive(Default)]
pub(crate) struct Checked {
    pub(crate) invariants: Invariants,
    /// Jobs by `kind/state`.
    pub(crate) jobs: BTreeMap<String, i64>,
    /// Failed jobs by `kind: last error`.
    pub(crate) failed: BTreeMap<String, i64>,
    /// `done` DM jobs by what they are about.
    pub(crate) dm_jobs_done: HashMap<DmKey, usize>,
    /// Queued-to-done seconds of `done` jobs, by kind.
    pub(crate) lag: BTreeMap<String, Lag>,
    /// Ids of cancelled bookings.
    pub(crate) cancelled: HashSet<String>,
}

impl Invariants {
    /// Notes that a check looked at `n` more things of `what`.
    fn looked_at(&mut self, what: &str, n: usize) {
        *self.checked.entry(what.to_owned()).or_default() += n;
    }
}

/// Checks every invariant from the database file and the fakes.
pub(crate) async fn check_invariants(
    db: &Path,
    ledger: &Ledger,
    google: &FakeGoogle,
    mentors: usize,
) -> Checked {
    let mut inv = Invariants::default();
    let Some(mut conn) = open_db(db).await else {
        inv.violations.push(format!("cannot open {}", db.display()));
        return Checked {
            invariants: inv,
            ..Checked::default()
        };
    };
    let rows = read_bookings(&mut conn).await;
    for r in &rows {
        *inv.bookings
            .entry(format!("{}/{}", r.status, r.calendar))
            .or_default() += 1;
    }
    let by_id: HashMap<&str, &Row> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    no_double_booking(&rows, &mut inv);
    as_acknowledged(ledger, &by_id, &mut inv);
    in_google(&rows, &by_id, google, mentors, &mut inv);
    let jobs = read_jobs(&mut conn).await;
    one_dm_job_per_notice(&rows, &jobs, &mut inv);
    Checked {
        invariants: inv,
        jobs: jobs.by_state,
        failed: jobs.failed,
        dm_jobs_done: jobs.dm_done,
        cancelled: rows
            .iter()
            .filter(|r| r.status == "cancelled")
            .map(|r| r.id.clone())
            .collect(),
        lag: jobs
            .lags
            .into_iter()
            .map(|(k, v)| (k, Lag::of(v)))
            .collect(),
    }
}

async fn read_bookings(conn: &mut sqlx::SqliteConnection) -> Vec<Row> {
    sqlx::query(
        "SELECT id, mentor_id, mentee_id, start_at, end_at, status, calendar_status FROM bookings",
    )
    .fetch_all(conn)
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
    .collect()
}

/// 1. No two overlapping active bookings of one person, in either role.
fn no_double_booking(rows: &[Row], inv: &mut Invariants) {
    let mut busy: HashMap<i64, Vec<(i64, i64, &str)>> = HashMap::new();
    for r in rows.iter().filter(|r| r.status == "active") {
        busy.entry(r.mentor)
            .or_default()
            .push((r.start, r.end, &r.id));
        busy.entry(r.mentee)
            .or_default()
            .push((r.start, r.end, &r.id));
    }
    inv.looked_at("people's schedules", busy.len());
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
}

/// 2. Every booking a user was told about exists, as they were told.
fn as_acknowledged(ledger: &Ledger, by_id: &HashMap<&str, &Row>, inv: &mut Invariants) {
    inv.looked_at("acknowledged bookings", ledger.bookings.len());
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
}

/// 3. Calendar: one live event per synced active booking, at its time; none for cancelled
///    ones; never two; no event without a booking.
fn in_google(
    rows: &[Row],
    by_id: &HashMap<&str, &Row>,
    google: &FakeGoogle,
    mentors: usize,
    inv: &mut Invariants,
) {
    let mut live: HashMap<String, Vec<testkit::FakeEvent>> = HashMap::new();
    let mut events = 0;
    for i in 0..mentors {
        for event in google.live_events(&email(i)) {
            events += 1;
            let tag = event.booking_tag.clone().unwrap_or_default();
            live.entry(tag).or_default().push(event);
        }
    }
    inv.looked_at("live Google events", events);
    inv.looked_at("bookings against Google", rows.len());
    for (tag, list) in &live {
        if !by_id.contains_key(tag.as_str()) {
            inv.violations.push(format!(
                "{} live event(s) tagged {tag:?}, which is no booking",
                list.len()
            ));
        }
    }
    for r in rows {
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
}

/// The `jobs` table, summed up.
struct Jobs {
    by_state: BTreeMap<String, i64>,
    failed: BTreeMap<String, i64>,
    /// DM jobs in any state, by (booking, notice).
    notices: HashMap<(String, String), usize>,
    dm_done: HashMap<DmKey, usize>,
    lags: BTreeMap<String, Vec<i64>>,
}

async fn read_jobs(conn: &mut sqlx::SqliteConnection) -> Jobs {
    let rows = sqlx::query(
        "SELECT kind, booking_id, json_extract(payload, '$.notice') AS notice, state, last_error,
                json_extract(payload, '$.recipient') AS recipient,
                json_extract(payload, '$.from_start') AS from_start,
                finished_at - created_at AS lag
         FROM jobs",
    )
    .fetch_all(conn)
    .await
    .expect("read jobs");
    let mut by_state: BTreeMap<String, i64> = BTreeMap::new();
    let mut failed: BTreeMap<String, i64> = BTreeMap::new();
    let mut notices: HashMap<(String, String), usize> = HashMap::new();
    let mut dm_done: HashMap<DmKey, usize> = HashMap::new();
    let mut lags: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for j in &rows {
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
            *dm_done.entry(key).or_default() += 1;
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
    Jobs {
        by_state,
        failed,
        notices,
        dm_done,
        lags,
    }
}

/// 4. Jobs: one `cancelled` DM job per cancellation, one `booked` and one `confirmed` per
///    booking.
fn one_dm_job_per_notice(rows: &[Row], jobs: &Jobs, inv: &mut Invariants) {
    inv.looked_at("DM jobs", jobs.notices.values().sum());
    for r in rows {
        let count = |n: &str| {
            jobs.notices
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
}
