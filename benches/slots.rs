//! Benchmarks of `free_slots` for a busy mentor.
//!
//! Europe/Berlin, three ranges every day (08:00-11:00, 13:00-16:30, 19:00-22:30), 20 date
//! overrides (off and special hours) spread over the horizon, 30-minute sessions with a
//! 10-minute buffer, at most 8 a day, 500 active bookings (450 on grid positions inside the
//! horizon, 50 outside it) and 200 external busy intervals. `now` is 2026-09-15T10:00Z and
//! the horizon 60 days, so it crosses the 2026-10-25 fall-back.
//!
//! - `slots/60_days_3_ranges_500_bookings_200_busy`: the whole horizon;
//! - `slots/one_day`: one local day (the fall-back day), as the booking picker asks.

use std::hint::black_box;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use criterion::{Criterion, criterion_group, criterion_main};
use mentorbot::scheduling::availability::Schedule;
use mentorbot::scheduling::hours::{Days, LocalRange};
use mentorbot::scheduling::interval::Interval;
use mentorbot::scheduling::slots::{SlotInputs, SlotPolicy, free_slots};

const TZ: Tz = chrono_tz::Europe::Berlin;

/// A small deterministic generator (xorshift64*), so every run measures the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn hm(h: u16, m: u16) -> u16 {
    h * 60 + m
}

fn range(from: (u16, u16), to: (u16, u16)) -> LocalRange {
    LocalRange::new(hm(from.0, from.1), hm(to.0, to.1)).expect("valid range")
}

/// Everything `free_slots` reads, owned.
struct Mentor {
    schedule: Schedule,
    policy: SlotPolicy,
    busy: Vec<Interval>,
    external: Vec<Interval>,
    booked: Vec<DateTime<Utc>>,
    now: DateTime<Utc>,
}

impl Mentor {
    fn inputs(&self) -> SlotInputs<'_> {
        SlotInputs {
            schedule: &self.schedule,
            policy: &self.policy,
            busy: &self.busy,
            external_busy: &self.external,
            booked_starts: &self.booked,
            now: self.now,
        }
    }

    fn horizon(&self) -> Interval {
        Interval::new(self.now, self.now + self.policy.horizon).expect("non-empty horizon")
    }
}

fn mentor() -> Mentor {
    let now = Utc.with_ymd_and_hms(2026, 9, 15, 10, 0, 0).unwrap();
    let policy = SlotPolicy {
        session: Duration::minutes(30),
        buffer: Duration::minutes(10),
        min_notice: Duration::hours(2),
        horizon: Duration::days(60),
        max_per_day: Some(8),
    };
    let mut schedule = Schedule::new(TZ);
    schedule.set_weekly(
        Days::EVERYDAY,
        &[
            range((8, 0), (11, 0)),
            range((13, 0), (16, 30)),
            range((19, 0), (22, 30)),
        ],
    );
    // 20 overrides, one every third day: off, or special hours of three kinds.
    let today = now.with_timezone(&TZ).date_naive();
    for i in 0..20u16 {
        let date: NaiveDate = today + Duration::days(2 + 3 * i64::from(i));
        let hours = match i % 4 {
            0 => vec![],
            1 => vec![range((9, 15), (12, 45))],
            2 => vec![range((7, 0), (10, 0)), range((14, 0), (18, 0))],
            _ => vec![range((10, 0), (14, 0)), range((20, 0), (24, 0))],
        };
        schedule.set_override(date, &hours);
    }

    let mut mentor = Mentor {
        schedule,
        policy,
        busy: Vec::new(),
        external: Vec::new(),
        booked: Vec::new(),
        now,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // 450 bookings on grid positions inside the horizon: a shuffled pick of the free grid.
    let mut grid = free_slots(&mentor.inputs(), mentor.horizon());
    for i in (1..grid.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        grid.swap(i, j);
    }
    let mut busy: Vec<Interval> = grid.into_iter().take(450).collect();
    // 50 outside it: 25 in the past month, 25 in the month after the horizon.
    for i in 0..50 {
        let days = if i % 2 == 0 {
            -1 - rng.below(30) as i64
        } else {
            61 + rng.below(30) as i64
        };
        let start = now + Duration::days(days) + Duration::minutes(10 * rng.below(60) as i64);
        busy.push(Interval::starting_at(start, policy.session).unwrap());
    }
    assert_eq!(busy.len(), 500, "the free grid has fewer than 450 slots");
    busy.sort();

    // 200 external busy intervals anywhere in the horizon, 15 to 120 minutes long.
    let minutes = policy.horizon.num_minutes() as u64;
    let external = (0..200)
        .map(|_| {
            let start = now + Duration::minutes(rng.below(minutes) as i64);
            let length = Duration::minutes(15 + rng.below(106) as i64);
            Interval::starting_at(start, length).unwrap()
        })
        .collect();

    mentor.booked = busy.iter().map(Interval::start).collect();
    mentor.busy = busy;
    mentor.external = external;
    mentor
}

fn bench_slots(c: &mut Criterion) {
    let mentor = mentor();
    let inputs = mentor.inputs();
    let horizon = mentor.horizon();
    // One local day, midnight to midnight: the first from the fall-back day (2026-10-25,
    // 25 hours long) on that still has free slots, as a mentee would open the picker.
    let local_day = |date: NaiveDate| {
        let midnight = |d: NaiveDate| {
            TZ.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                .earliest()
                .unwrap()
                .with_timezone(&Utc)
        };
        Interval::new(midnight(date), midnight(date.succ_opt().unwrap())).unwrap()
    };
    let day = (0..30)
        .map(|i| local_day(NaiveDate::from_ymd_opt(2026, 10, 25).unwrap() + Duration::days(i)))
        .find(|day| !free_slots(&inputs, *day).is_empty())
        .expect("a day with free slots");
    eprintln!(
        "{} free slots in the horizon; {} on the day from {}",
        free_slots(&inputs, horizon).len(),
        free_slots(&inputs, day).len(),
        day.start().with_timezone(&TZ),
    );

    let mut group = c.benchmark_group("slots");
    group.bench_function("60_days_3_ranges_500_bookings_200_busy", |b| {
        b.iter(|| free_slots(black_box(&inputs), black_box(horizon)))
    });
    group.bench_function("one_day", |b| {
        b.iter(|| free_slots(black_box(&inputs), black_box(day)))
    });
    group.finish();
}

criterion_group!(benches, bench_slots);
criterion_main!(benches);
