//! Hostile and malformed input against the real bot on the fake Discord: every command and
//! component id gets overlong (up to Discord's limits), SQL-flavoured, unicode-laden,
//! out-of-range and forged values. Each must get an ephemeral reply that names the problem,
//! never a Rust error or an internal-error reference, and must leave every row of every
//! table exactly as it was.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use testkit::{FakeDiscord, FakeUser, Message, Opt, Place};

mod support;
use support::{Bot, Expected, booking_id, dump};

/// Texts a user must never see: Rust, SQL and internal-error leakage.
const LEAKS: [&str; 9] = [
    "Error",
    "error:",
    "panicked",
    "sqlx",
    "SQLITE",
    "unwrap",
    "Something went wrong",
    "reference `",
    "called `",
];

/// Who acts in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// A mentor free round the clock in UTC, with one active and one cancelled booking.
    Mentor,
    /// Their mentee (the person who booked both).
    Mentee,
    /// Someone with no schedule and no bookings.
    Stranger,
}

/// What a case does.
enum Act {
    /// A slash command in the server.
    Slash(&'static str, Vec<Opt>),
    /// The **Book a session** user menu on someone.
    Menu(FakeUser),
    /// A button click with this `custom_id`, sent from the actor's own picker as a modified
    /// client could.
    Forge(String),
}

struct Case {
    name: String,
    who: Who,
    act: Act,
    /// A part of the reply that shows the bot understood what was wrong.
    expect: String,
}

fn case(name: impl Into<String>, who: Who, act: Act, expect: impl Into<String>) -> Case {
    Case {
        name: name.into(),
        who,
        act,
        expect: expect.into(),
    }
}

struct World {
    fake: FakeDiscord,
    dir: tempfile::TempDir,
    mentor: FakeUser,
    mentee: FakeUser,
    stranger: FakeUser,
    /// The mentee's active booking with the mentor.
    active: String,
    /// Its start.
    active_start: i64,
    /// The mentee's cancelled booking with the mentor.
    cancelled: String,
    /// Each actor's own picker message (its id), to send forged clicks from.
    pickers: Vec<(Who, u64)>,
}

impl World {
    fn db(&self) -> PathBuf {
        self.dir.path().join("bot.db")
    }

    fn user(&self, who: Who) -> &FakeUser {
        match who {
            Who::Mentor => &self.mentor,
            Who::Mentee => &self.mentee,
            Who::Stranger => &self.stranger,
        }
    }

    /// The current version of `who`'s picker.
    fn picker(&self, who: Who) -> Message {
        let id = self
            .pickers
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, id)| *id)
            .expect("a picker for every actor");
        self.fake.message(id).expect("the picker still exists")
    }

    async fn run(&self, who: &FakeUser, path: &str, options: Vec<Opt>) -> Message {
        support::run(&self.fake, who, path, options).await
    }

    /// Does `act` as `who` and returns what they end up seeing.
    async fn act(&self, who: Who, act: &Act) -> Result<Message, String> {
        let user = self.user(who);
        let pending = match act {
            Act::Slash(path, options) => {
                self.fake
                    .slash(user, Place::Guild, path, options.clone())
                    .await
            }
            Act::Menu(target) => {
                self.fake
                    .user_menu(user, Place::Guild, "Book a session", target)
                    .await
            }
            Act::Forge(custom_id) => {
                self.fake
                    .click_forged(user, &self.picker(who), custom_id)
                    .await
            }
        };
        pending.settled().await
    }

    /// Waits until the job worker has nothing queued, so the database holds still.
    async fn quiet(&self) {
        support::wait_jobs_drained(&self.db()).await;
    }

    /// A mentor open round the clock in UTC; the mentee holds one active and one cancelled
    /// booking with them; each of the three has a picker open to forge clicks from.
    async fn new() -> (World, Bot) {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mentor = fake.user("mentor");
        let mentee = fake.user("mentee");
        let stranger = fake.user("stranger");
        let bot = Bot::start(&fake, &dir.path().join("bot.db"), None).await;
        let mut world = World {
            fake,
            dir,
            mentor,
            mentee,
            stranger,
            active: String::new(),
            active_start: 0,
            cancelled: String::new(),
            pickers: Vec::new(),
        };
        support::open_mentor(&world.fake, &world.mentor).await;
        let w = &world;
        let book = |index: usize| async move {
            let picker = w
                .run(&w.mentee, "book", vec![Opt::user("mentor", &w.mentor)])
                .await;
            let (chosen, value) = support::choose(&w.fake, &w.mentee, &picker, index).await;
            let done = support::confirm(&w.fake, &w.mentee, &chosen).await;
            assert!(done.text().contains("Booked"), "{}", done.text());
            (booking_id(&done.text()), value.parse::<i64>().unwrap())
        };
        let (active, active_start) = book(0).await;
        let (cancelled, _) = book(1).await;
        let gone = w
            .run(&w.mentee, "cancel", vec![Opt::str("booking", &cancelled)])
            .await;
        assert!(gone.text().contains("Cancelled"), "{}", gone.text());
        let mut pickers = Vec::new();
        for who in [Who::Mentee, Who::Stranger] {
            let picker = w
                .run(w.user(who), "book", vec![Opt::user("mentor", &w.mentor)])
                .await;
            assert!(picker.button_id("Next day").is_some(), "{}", picker.text());
            pickers.push((who, picker.id));
        }
        // The mentor cannot book themselves; their picker is the one that moves a booking.
        let moving = w
            .run(&w.mentor, "reschedule", vec![Opt::str("booking", &active)])
            .await;
        assert!(moving.button_id("Next day").is_some(), "{}", moving.text());
        pickers.push((Who::Mentor, moving.id));
        support::wait_names_stored(&world.db(), &[&world.mentee, &world.stranger]).await;
        world.quiet().await;
        world.active = active;
        world.active_start = active_start;
        world.cancelled = cancelled;
        world.pickers = pickers;
        (world, bot)
    }

    async fn finish(&self, bot: Bot) {
        self.finish_expecting(bot, Expected::default()).await;
    }

    /// [`support::finish`] letting through the refusals this test provokes on purpose.
    async fn finish_expecting(&self, bot: Bot, expected: Expected) {
        support::finish(&self.fake, None, bot, &expected).await;
    }

    /// Runs every case, checking the reply and that the database did not change.
    async fn check(&self, cases: Vec<Case>) {
        let before = dump(&self.db()).await;
        for c in cases {
            let reply = self
                .act(c.who, &c.act)
                .await
                .unwrap_or_else(|e| panic!("{}: no reply: {e}", c.name));
            let text = reply.text();
            assert!(reply.ephemeral, "{}: not ephemeral: {text}", c.name);
            assert!(
                text.contains(&c.expect),
                "{}: expected {:?} in {text:?}",
                c.name,
                c.expect
            );
            for leak in LEAKS {
                assert!(!text.contains(leak), "{}: {leak:?} in {text:?}", c.name);
            }
            assert!(
                !renders_link_or_ping(&text),
                "{}: the reply would show a link or ping: {text:?}",
                c.name
            );
            let after = dump(&self.db()).await;
            if let Some(line) = first_difference(&before, &after) {
                panic!("{}: the database changed: {line}", c.name);
            }
        }
    }
}

/// Whether Discord would render a masked link or a ping in `text`: outside code spans,
/// an unescaped `](http`, `@everyone`, `@here` or `<@`.
fn renders_link_or_ping(text: &str) -> bool {
    let outside_code: Vec<&str> = text.split('`').step_by(2).collect();
    let visible = outside_code
        .join(" ")
        .replace("\\[", "")
        .replace("\\]", "")
        .replace("\\(", "")
        .replace("\\@", "")
        .replace("\\<", "");
    ["](http", "@everyone", "@here", "<@"]
        .iter()
        .any(|active| visible.contains(active))
}

/// The first line that differs between two dumps.
fn first_difference(before: &str, after: &str) -> Option<String> {
    if before == after {
        return None;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    let at = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    Some(format!(
        "line {at}: {:?} became {:?}",
        a.get(at).unwrap_or(&"<none>"),
        b.get(at).unwrap_or(&"<none>")
    ))
}

/// `date` at `hh:mm` UTC, as Unix seconds.
fn at(date: NaiveDate, hh: u32, mm: u32) -> i64 {
    date.and_hms_opt(hh, mm, 0).unwrap().and_utc().timestamp()
}

fn ymd(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_options_and_forged_ids_get_a_clear_private_refusal_and_change_nothing() {
    use Act::{Forge, Menu, Slash};
    use Who::{Mentee, Mentor, Stranger};
    let (w, bot) = World::new().await;
    let (m, me) = (w.mentor.id, w.mentee.id);
    let ghost = FakeUser::new("ghost"); // never seen by the fake or the bot
    let the_bot = FakeUser::with_id(w.fake.bot_user_id(), "mentorbot");
    let today = Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let active = w.active.clone();
    let cancelled = w.cancelled.clone();
    // A start the mentor offers and nobody holds (the next slot after the active booking).
    let free = w.active_start + 2 * 1800;
    let drop_table = "'; DROP TABLE bookings;--";
    let or_true = "\" OR 1=1";
    let short_sql = "';DROP TABLE x;--"; // within the 20 characters of date and booking ids
    let rtl = "\u{202E}";
    let emoji_500: String = "🗓️".chars().cycle().take(500).collect();
    let rtl_500: String = format!("{rtl}{}", "x".repeat(499));
    let note_200: String = "👩‍👩‍👧".chars().cycle().take(200).collect();
    let days = |d: &str| {
        Slash(
            "availability set",
            vec![Opt::str("days", d), Opt::str("hours", "09:00-12:00")],
        )
    };
    let hours = |h: &str| {
        Slash(
            "availability set",
            vec![Opt::str("days", "mon"), Opt::str("hours", h)],
        )
    };
    let zone = |z: &str| Slash("timezone set", vec![Opt::str("zone", z)]);
    let override_on = |d: &str| Slash("override add", vec![Opt::str("date", d)]);
    let book_on = |d: &str| {
        Slash(
            "book",
            vec![Opt::user("mentor", &w.mentor), Opt::str("date", d)],
        )
    };
    let cancel = |id: &str| Slash("cancel", vec![Opt::str("booking", id)]);
    let cancel_why = |id: &str, why: &str| {
        Slash(
            "cancel",
            vec![Opt::str("booking", id), Opt::str("reason", why)],
        )
    };
    let reschedule = |id: &str| Slash("reschedule", vec![Opt::str("booking", id)]);
    let confirm =
        |mentor: u64, start: i64, mode: &str| Forge(format!("pk:c:{mentor}:{start}:{mode}"));
    let not_a_zone = "is not a timezone I know";
    let not_a_day = "is not a day";
    let not_a_time = "is not a time I can read";
    let not_a_date = "is not a date I can read";
    let not_an_id = "is not a booking id";
    let not_found = "No booking with that id among your sessions";
    let no_schedule = "hasn't set any availability";
    let not_mentor_yet = "You don't have any availability yet";
    let stale = "This button is no longer valid";

    let cases = vec![
        // /timezone set: at most 64 characters.
        case(
            "a path as a timezone",
            Mentee,
            zone("../etc/passwd"),
            not_a_zone,
        ),
        case(
            "an offset beyond any zone",
            Mentee,
            zone("Etc/GMT+99"),
            not_a_zone,
        ),
        case("a NUL after UTC", Mentee, zone("UTC\u{0}"), not_a_zone),
        case("SQL as a timezone", Mentee, zone(drop_table), not_a_zone),
        case("an OR 1=1 timezone", Mentee, zone(or_true), not_a_zone),
        case(
            "64 characters of timezone",
            Mentee,
            zone(&"A".repeat(64)),
            not_a_zone,
        ),
        case(
            "an RTL override in a zone",
            Mentee,
            zone(&format!("Europe/Berlin{rtl}")),
            not_a_zone,
        ),
        case("emoji as a zone", Mentee, zone("🕘/🌍"), not_a_zone),
        case(
            "only spaces as a zone",
            Mentee,
            zone("   "),
            "Please type the timezone",
        ),
        // /availability set days: at most 100 characters.
        case(
            "100 characters of days",
            Mentor,
            days(&"x".repeat(100)),
            not_a_day,
        ),
        case("SQL as days", Mentor, days(drop_table), not_a_day),
        case("an OR 1=1 as days", Mentor, days(or_true), not_a_day),
        case(
            "an RTL override after a day",
            Mentor,
            days(&format!("mon{rtl}")),
            not_a_day,
        ),
        case(
            "a zero-width joiner in a day",
            Mentor,
            days("mo\u{200D}n-fri"),
            not_a_day,
        ),
        case(
            "a combining mark on a day",
            Mentor,
            days("mon\u{0301}"),
            not_a_day,
        ),
        case("emoji as days", Mentor, days("😀-🎉"), not_a_day),
        case(
            "three dashes of days",
            Mentor,
            days("mon-wed-fri"),
            "more than one dash",
        ),
        // /availability set hours: at most 300 characters.
        case(
            "25:00 alone",
            Mentor,
            hours("25:00"),
            "hours run from 0 to 24",
        ),
        case(
            "a range ending at its start",
            Mentor,
            hours("9-9"),
            "ends when it starts",
        ),
        case(
            "negative hours",
            Mentor,
            hours("-5--3"),
            "more than one dash",
        ),
        case(
            "25 ranges in 300 characters",
            Mentor,
            hours(&"09:00-12:00,".repeat(25)),
            "at most 24",
        ),
        case(
            "300 digits of hours",
            Mentor,
            hours(&"9".repeat(300)),
            not_a_time,
        ),
        case("SQL as hours", Mentor, hours(drop_table), not_a_time),
        case("an OR 1=1 as hours", Mentor, hours(or_true), not_a_time),
        case(
            "fullwidth digits",
            Mentor,
            hours("０９:００-１２:００"),
            not_a_time,
        ),
        case(
            "a combining mark on an hour",
            Mentor,
            hours("9\u{0301}-12"),
            not_a_time,
        ),
        case(
            "a zero-width joiner in an hour",
            Mentor,
            hours("9\u{200D}-12"),
            not_a_time,
        ),
        case(
            "an RTL override before hours",
            Mentor,
            hours(&format!("{rtl}09:00-12:00")),
            not_a_time,
        ),
        case("emoji as hours", Mentor, hours("🕘-🕛"), not_a_time),
        case(
            "24:30",
            Mentor,
            hours("22:00-24:30"),
            "past the end of the day",
        ),
        case(
            "a path as the schedule's zone",
            Mentor,
            Slash(
                "availability set",
                vec![
                    Opt::str("days", "mon"),
                    Opt::str("hours", "09:00-12:00"),
                    Opt::str("timezone", "../etc/passwd"),
                ],
            ),
            not_a_zone,
        ),
        // /availability show, settings, clear.
        case(
            "the bot's own schedule",
            Mentee,
            Slash("availability show", vec![Opt::user("mentor", &the_bot)]),
            no_schedule,
        ),
        case(
            "an unknown user's schedule",
            Mentee,
            Slash("availability show", vec![Opt::user("mentor", &ghost)]),
            no_schedule,
        ),
        case(
            "a stranger's own schedule",
            Stranger,
            Slash("availability show", vec![]),
            not_mentor_yet,
        ),
        case(
            "every setting at its maximum from a non-mentor",
            Stranger,
            Slash(
                "availability settings",
                vec![
                    Opt::int("session_minutes", 240),
                    Opt::int("buffer_minutes", 120),
                    Opt::int("min_notice_hours", 168),
                    Opt::int("horizon_days", 365),
                    Opt::int("max_per_day", 50),
                    Opt::int("max_per_mentee", 20),
                ],
            ),
            not_mentor_yet,
        ),
        case(
            "every setting at its minimum from a non-mentor",
            Stranger,
            Slash(
                "availability settings",
                vec![
                    Opt::int("session_minutes", 15),
                    Opt::int("buffer_minutes", 0),
                    Opt::int("min_notice_hours", 0),
                    Opt::int("horizon_days", 1),
                    Opt::int("max_per_day", 0),
                    Opt::int("max_per_mentee", 0),
                ],
            ),
            not_mentor_yet,
        ),
        case(
            "clearing without a schedule",
            Stranger,
            Slash("availability clear", vec![]),
            not_mentor_yet,
        ),
        // /override: dates at most 20 characters, notes 200.
        case("year 9999", Mentor, override_on("9999-12-31"), "days ahead"),
        case(
            "0000-00-00",
            Mentor,
            override_on("0000-00-00"),
            "no month 0",
        ),
        case(
            "February 30th",
            Mentor,
            override_on("2026-02-30"),
            "does not exist",
        ),
        case("month 13", Mentor, override_on("2026-13-01"), "no month 13"),
        case("SQL as a date", Mentor, override_on(short_sql), not_a_date),
        case(
            "an OR 1=1 date",
            Mentor,
            override_on("\" OR 1=1--"),
            not_a_date,
        ),
        case(
            "an RTL override after a date",
            Mentor,
            override_on(&format!("2026-12-24{rtl}")),
            not_a_date,
        ),
        case(
            "Devanagari digits",
            Mentor,
            override_on("२०२६-१२-२४"),
            not_a_date,
        ),
        case(
            "20 characters of date",
            Mentor,
            override_on(&"9".repeat(20)),
            not_a_date,
        ),
        case(
            "a 200-emoji note on a date that does not exist",
            Mentor,
            Slash(
                "override add",
                vec![Opt::str("date", "2027-02-29"), Opt::str("note", &note_200)],
            ),
            "does not exist",
        ),
        case(
            "override hours with a combining mark",
            Mentor,
            Slash(
                "override add",
                vec![
                    Opt::str("date", &tomorrow.to_string()),
                    Opt::str("hours", "9-12\u{0301}"),
                ],
            ),
            not_a_time,
        ),
        case(
            "25 override ranges",
            Mentor,
            Slash(
                "override add",
                vec![
                    Opt::str("date", &tomorrow.to_string()),
                    Opt::str("hours", &"09:00-12:00;".repeat(25)),
                ],
            ),
            "at most 24",
        ),
        case(
            "an override from a non-mentor",
            Stranger,
            override_on(&tomorrow.to_string()),
            not_mentor_yet,
        ),
        case(
            "removing an override of year 9999",
            Mentor,
            Slash("override remove", vec![Opt::str("date", "9999-12-31")]),
            "no override",
        ),
        case(
            "removing an override by SQL",
            Mentor,
            Slash("override remove", vec![Opt::str("date", short_sql)]),
            not_a_date,
        ),
        case(
            "listing overrides without a schedule",
            Stranger,
            Slash("override list", vec![]),
            not_mentor_yet,
        ),
        // /book and the user menu.
        case(
            "booking yourself",
            Mentor,
            Slash("book", vec![Opt::user("mentor", &w.mentor)]),
            "yourself",
        ),
        case(
            "booking an unknown user",
            Mentee,
            Slash("book", vec![Opt::user("mentor", &ghost)]),
            no_schedule,
        ),
        case(
            "booking the bot",
            Mentee,
            Slash("book", vec![Opt::user("mentor", &the_bot)]),
            no_schedule,
        ),
        case(
            "booking a non-mentor",
            Mentee,
            Slash("book", vec![Opt::user("mentor", &w.stranger)]),
            no_schedule,
        ),
        case(
            "booking on February 30th",
            Mentee,
            book_on("2026-02-30"),
            "does not exist",
        ),
        case(
            "booking on 0000-00-00",
            Mentee,
            book_on("0000-00-00"),
            "no month 0",
        ),
        case(
            "booking on an SQL date",
            Mentee,
            book_on(short_sql),
            not_a_date,
        ),
        case(
            "booking in the past",
            Mentee,
            book_on("1970-01-01"),
            "in the past",
        ),
        case(
            "the menu on yourself",
            Mentor,
            Menu(w.mentor.clone()),
            "yourself",
        ),
        case(
            "the menu on an unknown user",
            Mentee,
            Menu(ghost.clone()),
            no_schedule,
        ),
        // /cancel: ids at most 20 characters, reasons 500.
        case("SQL as a booking id", Mentee, cancel(short_sql), not_an_id),
        case(
            "an OR 1=1 booking id",
            Mentee,
            cancel("\" OR 1=1 --"),
            not_an_id,
        ),
        case("a wildcard booking id", Mentee, cancel("%"), not_an_id),
        case(
            "a zero-width space in an id",
            Mentee,
            cancel(&format!("{active}\u{200B}")),
            not_an_id,
        ),
        case("a fullwidth id", Mentee, cancel("ＫＷ２ＭＤ７"), not_an_id),
        case(
            "20 characters of id",
            Mentee,
            cancel(&"Z".repeat(20)),
            not_an_id,
        ),
        case(
            "someone else's booking",
            Stranger,
            cancel(&active),
            not_found,
        ),
        case(
            "someone else's booking, respelled",
            Stranger,
            cancel(&format!(
                "#{}-{}",
                &active[..3].to_lowercase(),
                &active[3..]
            )),
            not_found,
        ),
        case(
            "someone else's booking with an SQL reason",
            Stranger,
            cancel_why(&active, drop_table),
            not_found,
        ),
        case(
            "someone else's cancelled booking",
            Stranger,
            cancel(&cancelled),
            not_found,
        ),
        case(
            "a cancelled booking",
            Mentee,
            cancel(&cancelled),
            "already cancelled",
        ),
        case(
            "a cancelled booking with 500 emoji",
            Mentee,
            cancel_why(&cancelled, &emoji_500),
            "already cancelled",
        ),
        case(
            "an unknown id with a 500-character RTL reason",
            Mentee,
            cancel_why("ZZZZZZ", &rtl_500),
            not_found,
        ),
        // /reschedule.
        case(
            "moving someone else's booking",
            Stranger,
            reschedule(&active),
            not_found,
        ),
        case(
            "moving a cancelled booking",
            Mentee,
            reschedule(&cancelled),
            "already cancelled",
        ),
        case(
            "the mentor moving a cancelled booking",
            Mentor,
            reschedule(&cancelled),
            "already cancelled",
        ),
        case("moving an SQL id", Mentee, reschedule(short_sql), not_an_id),
        // Forged picker Confirms.
        case(
            "confirming a move of someone else's booking",
            Stranger,
            confirm(m, free, &format!("m{active}")),
            not_found,
        ),
        case(
            "confirming a move of a cancelled booking",
            Mentee,
            confirm(m, free, &format!("m{cancelled}")),
            "already cancelled",
        ),
        case(
            "confirming a move of an unknown booking",
            Mentee,
            confirm(m, free, "mZZZZZZ"),
            not_found,
        ),
        case(
            "confirming a past slot",
            Mentee,
            confirm(m, at(today, 0, 0) - 86_400, "b"),
            "too soon",
        ),
        case(
            "confirming 1969",
            Mentee,
            confirm(m, -1800, "b"),
            "too soon",
        ),
        case(
            "confirming 09:07",
            Mentee,
            confirm(m, at(tomorrow, 9, 7), "b"),
            "not one of the mentor's slots",
        ),
        case(
            "confirming a slot 400 days ahead",
            Mentee,
            confirm(m, at(today, 9, 0) + 400 * 86_400, "b"),
            "too far ahead",
        ),
        case(
            "confirming with a non-mentor",
            Mentee,
            confirm(w.stranger.id, free, "b"),
            no_schedule,
        ),
        case(
            "confirming with an unknown mentor",
            Mentee,
            confirm(ghost.id, free, "b"),
            no_schedule,
        ),
        case(
            "confirming with mentor 0",
            Mentee,
            confirm(0, free, "b"),
            "no longer valid",
        ),
        case(
            "confirming with yourself",
            Mentee,
            confirm(me, free, "b"),
            "yourself",
        ),
        case(
            "the mentor confirming a booking with themselves",
            Mentor,
            confirm(m, free, "b"),
            "yourself",
        ),
        case(
            "confirming a taken slot",
            Stranger,
            confirm(m, w.active_start, "b"),
            "just taken",
        ),
        // Garbage, truncated and oversized component ids.
        case("a garbage start", Mentee, Forge("pk:c:1:x:b".into()), stale),
        case(
            "a truncated confirm",
            Mentee,
            Forge(format!("pk:c:{m}:")),
            stale,
        ),
        case("a bare prefix", Mentee, Forge("pk:".into()), stale),
        case("a stranger prefix", Mentee, Forge("zz:top".into()), stale),
        case(
            "100 characters of id",
            Mentee,
            Forge(format!("pk:d:{}", "9".repeat(95))),
            stale,
        ),
        case(
            "a trailing part",
            Mentee,
            Forge(format!("pk:c:{m}:{free}:b:extra")),
            stale,
        ),
        case(
            "February 30th in a day id",
            Mentee,
            Forge(format!("pk:d:{m}:20260230:b")),
            stale,
        ),
        case(
            "0000-00-00 in a day id",
            Mentee,
            Forge(format!("pk:d:{m}:00000000:b")),
            stale,
        ),
        case(
            "page 99",
            Mentee,
            Forge(format!("pk:p:{m}:{}:b:99", ymd(tomorrow))),
            stale,
        ),
        case(
            "a negative mentor",
            Mentee,
            Forge(format!("pk:d:-1:{}:b", ymd(tomorrow))),
            stale,
        ),
        case(
            "an unknown mode",
            Mentee,
            Forge(format!("pk:c:{m}:{free}:x")),
            stale,
        ),
        case(
            "a bad booking id in the mode",
            Mentee,
            Forge(format!("pk:c:{m}:{free}:mNOPE!!")),
            stale,
        ),
        case(
            "a start beyond chrono",
            Mentee,
            Forge(format!("pk:c:{m}:{}:b", i64::MAX)),
            stale,
        ),
        case(
            "unicode digits in a start",
            Mentee,
            Forge(format!("pk:c:{m}:١٧٠٠٠٠٠٠٠٠:b")),
            stale,
        ),
        case(
            "SQL in an id",
            Mentee,
            Forge(format!("pk:c:{m}:{free}:m{drop_table}")),
            stale,
        ),
        case(
            "a select id clicked as a button",
            Mentee,
            Forge(format!("pk:s:{m}:{}:b:0", ymd(tomorrow))),
            "Pick one of the times",
        ),
        case(
            "a bookings page past 99",
            Mentee,
            Forge("bk:b:0:100".into()),
            stale,
        ),
        case(
            "a bookings page of an unknown role",
            Mentee,
            Forge("bk:x:0:0".into()),
            stale,
        ),
        case(
            "a bookings page with past 2",
            Mentee,
            Forge("bk:b:2:0".into()),
            stale,
        ),
        case(
            "a day of a non-mentor",
            Mentee,
            Forge(format!("pk:d:{}:{}:b", w.stranger.id, ymd(tomorrow))),
            no_schedule,
        ),
        case(
            "a day of the largest user id",
            Mentee,
            Forge(format!("pk:d:{}:{}:b", u64::MAX, ymd(tomorrow))),
            no_schedule,
        ),
        // Server and calendar commands.
        case(
            "/admin without Manage Server",
            Stranger,
            Slash("admin mentor-role", vec![]),
            "Manage Server",
        ),
        case(
            "/calendar connect without Google",
            Mentor,
            Slash("calendar connect", vec![]),
            "isn't available",
        ),
        case(
            "/calendar status without Google",
            Mentor,
            Slash("calendar status", vec![]),
            "isn't available",
        ),
        case(
            "/calendar disconnect without Google",
            Mentor,
            Slash("calendar disconnect", vec![]),
            "isn't available",
        ),
        // Markdown that would turn a quoted input into the bot's own link or ping.
        case(
            "a zone that is a masked link with @everyone",
            Mentor,
            zone("[Europe/Berlin](https://evil.example) @everyone"),
            "timezone",
        ),
        case(
            "a date that breaks out of a code span",
            Mentor,
            override_on("`[x](https://e.x)`"),
            "date",
        ),
        case(
            "a booking date with a mention",
            Mentee,
            book_on("<@1> @here"),
            "date",
        ),
        case(
            "hours that are a masked link",
            Mentor,
            hours("[9-17](https://evil.example)"),
            "is not a time",
        ),
        case(
            "a booking id that pings everyone",
            Mentee,
            cancel("@everyone"),
            "booking id",
        ),
        // Blocks, calendar confirmations and data deletion.
        case(
            "a mentor blocking themselves",
            Mentor,
            Slash("availability block", vec![Opt::user("member", &w.mentor)]),
            "can't block yourself",
        ),
        case(
            "blocking without being a mentor",
            Stranger,
            Slash("availability block", vec![Opt::user("member", &w.mentee)]),
            "don't have any availability yet",
        ),
        case(
            "a forged calendar Confirm without Google",
            Mentor,
            Forge("gc:y:AAAAAAAAAAAAAAAAAAAAAA".into()),
            "isn't available",
        ),
        case(
            "a forged calendar Confirm with a malformed grant",
            Mentor,
            Forge("gc:y:x'; DROP TABLE blocks".into()),
            "no longer valid",
        ),
        case(
            "a forged data-delete button from 1970",
            Mentee,
            Forge("pv:d:0".into()),
            "nothing was deleted",
        ),
        case(
            "a forged data-delete button from the future",
            Mentee,
            Forge(format!("pv:d:{}", i64::from(i32::MAX) * 4)),
            "nothing was deleted",
        ),
        case(
            "a forged data-delete button with junk",
            Mentee,
            Forge("pv:d:soon".into()),
            "no longer valid",
        ),
    ];
    assert!(cases.len() >= 60, "{} cases", cases.len());
    // Even if a server shows /admin to everyone, the bot checks the permission itself.
    w.fake.ignore_default_member_permissions(true);
    w.check(cases).await;
    w.fake.ignore_default_member_permissions(false);

    // One past the limits the bot registers, Discord itself refuses: the bot never sees
    // these (so its own range checks are a second line only).
    let settings = |name: &str, value: i64| ("availability settings", vec![Opt::int(name, value)]);
    let beyond: Vec<(&str, Vec<Opt>)> = vec![
        settings("session_minutes", i64::MAX),
        settings("session_minutes", -1),
        settings("session_minutes", 14),
        settings("session_minutes", 241),
        settings("buffer_minutes", 121),
        settings("min_notice_hours", 169),
        settings("horizon_days", 0),
        settings("horizon_days", 366),
        settings("max_per_day", 51),
        settings("max_per_mentee", i64::MIN),
        (
            "availability set",
            vec![
                Opt::str("days", &"m".repeat(101)),
                Opt::str("hours", "9-12"),
            ],
        ),
        (
            "availability set",
            vec![Opt::str("days", "mon"), Opt::str("hours", &"9".repeat(301))],
        ),
        ("timezone set", vec![Opt::str("zone", &"A".repeat(65))]),
        ("override add", vec![Opt::str("date", &"9".repeat(21))]),
        (
            "override add",
            vec![
                Opt::str("date", "today"),
                Opt::str("note", &"n".repeat(201)),
            ],
        ),
        ("cancel", vec![Opt::str("booking", &"Z".repeat(21))]),
        (
            "cancel",
            vec![
                Opt::str("booking", &w.active),
                Opt::str("reason", &"r".repeat(501)),
            ],
        ),
    ];
    let before = dump(&w.db()).await;
    let sent = w.fake.interaction_log().len();
    for (path, options) in beyond {
        let refused = w
            .fake
            .slash(&w.mentor, Place::Guild, path, options)
            .await
            .settled()
            .await
            .expect_err(path);
        assert!(refused.contains("outside"), "/{path}: {refused}");
    }
    assert_eq!(w.fake.interaction_log().len(), sent, "none reached the bot");
    assert_eq!(first_difference(&before, &dump(&w.db()).await), None);
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_autocomplete_text_gets_at_most_25_short_choices_of_ones_own_and_changes_nothing() {
    let (w, bot) = World::new().await;
    let before = dump(&w.db()).await;
    let ghost = FakeUser::new("ghost");
    let long: String = "👩‍👩‍👧".chars().cycle().take(64).collect();
    let texts = [
        "",
        "'; DROP TABLE bookings;--",
        "\" OR 1=1",
        "%",
        "_",
        "../etc/passwd",
        "UTC\u{0}",
        "\u{202E}",
        "\u{200D}",
        "e\u{0301}",
        long.as_str(),
    ];
    let mut asked = 0;
    for text in texts {
        let asks: Vec<(&FakeUser, &str, Vec<Opt>, &str)> = vec![
            (
                &w.stranger,
                "timezone set",
                vec![Opt::str("zone", text)],
                "zone",
            ),
            (
                &w.mentor,
                "availability set",
                vec![
                    Opt::str("days", "mon"),
                    Opt::str("hours", "9-12"),
                    Opt::str("timezone", text),
                ],
                "timezone",
            ),
            (
                &w.stranger,
                "override add",
                vec![Opt::str("date", text)],
                "date",
            ),
            (
                &w.mentor,
                "override remove",
                vec![Opt::str("date", text)],
                "date",
            ),
            (
                &w.stranger,
                "book",
                vec![Opt::user("mentor", &w.mentor), Opt::str("date", text)],
                "date",
            ),
            (
                &w.stranger,
                "book",
                vec![Opt::user("mentor", &ghost), Opt::str("date", text)],
                "date",
            ),
            (
                &w.stranger,
                "cancel",
                vec![Opt::str("booking", text)],
                "booking",
            ),
            (
                &w.stranger,
                "reschedule",
                vec![Opt::str("booking", text)],
                "booking",
            ),
            (
                &w.mentee,
                "cancel",
                vec![Opt::str("booking", text)],
                "booking",
            ),
        ];
        for (who, path, options, focused) in asks {
            let choices = w
                .fake
                .autocomplete(who, Place::Guild, path, options, focused)
                .await
                .unwrap_or_else(|e| panic!("/{path} {focused}:{text:?}: {e}"));
            asked += 1;
            assert!(choices.len() <= 25, "/{path} {text:?}: {choices:?}");
            for (name, value) in &choices {
                assert!(name.chars().count() <= 100, "/{path} {text:?}: {name}");
                assert!(!name.is_empty(), "/{path} {text:?}: an empty name");
                let value = value.as_str().unwrap_or_default();
                assert!(
                    !value.is_empty() && value.chars().count() <= 100,
                    "/{path} {text:?}: value {value:?}"
                );
            }
            if *who == w.stranger && matches!(path, "cancel" | "reschedule") {
                assert!(choices.is_empty(), "/{path} {text:?}: {choices:?}");
            }
            if *who == w.mentee {
                assert!(
                    choices
                        .iter()
                        .all(|(_, v)| v.as_str() != Some(w.cancelled.as_str())),
                    "a cancelled booking is not cancellable: {choices:?}"
                );
            }
            if path == "override remove" {
                assert!(choices.is_empty(), "no overrides: {choices:?}");
            }
        }
    }
    assert!(asked >= 90);
    assert_eq!(first_difference(&before, &dump(&w.db()).await), None);
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_date_beyond_the_mentors_horizon_is_refused_not_shown_as_a_day_without_slots() {
    use Who::Mentee;
    let (w, bot) = World::new().await;
    let beyond = (Utc::now().date_naive() + chrono::Duration::days(45)).to_string();
    let book_on = |d: &str| {
        Act::Slash(
            "book",
            vec![Opt::user("mentor", &w.mentor), Opt::str("date", d)],
        )
    };
    w.check(vec![
        case(
            "booking in year 9999",
            Mentee,
            book_on("9999-12-31"),
            "ahead",
        ),
        case("booking 45 days ahead", Mentee, book_on(&beyond), "ahead"),
    ])
    .await;
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_confirm_at_the_ends_of_time_is_refused_not_a_crash() {
    use Who::Mentee;
    let (w, bot) = World::new().await;
    let m = w.mentor.id;
    let last = DateTime::<Utc>::MAX_UTC.timestamp();
    let first = DateTime::<Utc>::MIN_UTC.timestamp();
    w.check(vec![
        case(
            "booking the last second chrono knows",
            Mentee,
            Act::Forge(format!("pk:c:{m}:{last}:b")),
            "too far ahead",
        ),
        case(
            "booking the first second chrono knows",
            Mentee,
            Act::Forge(format!("pk:c:{m}:{first}:b")),
            "too soon",
        ),
        case(
            "moving a booking to the last second chrono knows",
            Mentee,
            Act::Forge(format!("pk:c:{m}:{last}:m{}", w.active)),
            "too far ahead",
        ),
    ])
    .await;
    w.finish(bot).await;
}

impl World {
    /// An admin makes "Mentors" the server's mentor role and gives it to the mentor; the
    /// mentee's picker still opens.
    async fn gate_with_a_mentor_role(&self) {
        let admin = self.fake.user("admin");
        self.fake
            .add_member(&admin, &[], testkit::permissions::MANAGE_GUILD);
        let role = self.fake.add_role("Mentors");
        self.fake
            .add_member(&self.mentor, &[role], testkit::permissions::MEMBER);
        let set = self
            .run(&admin, "admin mentor-role", vec![Opt::role("role", role)])
            .await;
        assert!(set.text().contains("Mentors"), "{}", set.text());
        let picker = self
            .run(
                &self.mentee,
                "book",
                vec![Opt::user("mentor", &self.mentor)],
            )
            .await;
        assert!(!picker.selects().is_empty(), "{}", picker.text());
        self.quiet().await;
    }
}

const NOT_HERE: &str = "isn't a mentor in this server";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_mentor_role_booking_a_member_without_it_is_refused_by_command_and_by_forged_confirm()
 {
    use Who::Mentee;
    let (w, bot) = World::new().await;
    w.gate_with_a_mentor_role().await;
    let free = w.active_start + 2 * 1800;
    w.check(vec![
        case(
            "/book of a member without the role",
            Mentee,
            Act::Slash("book", vec![Opt::user("mentor", &w.stranger)]),
            NOT_HERE,
        ),
        case(
            "the menu on a member without the role",
            Mentee,
            Act::Menu(w.stranger.clone()),
            NOT_HERE,
        ),
        case(
            "a forged confirm with a member without the role",
            Mentee,
            Act::Forge(format!("pk:c:{}:{free}:b", w.stranger.id)),
            NOT_HERE,
        ),
    ])
    .await;
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_mentor_role_a_confirm_for_someone_not_in_the_server_is_refused_not_an_internal_error()
 {
    use Who::Mentee;
    let (w, bot) = World::new().await;
    w.gate_with_a_mentor_role().await;
    let free = w.active_start + 2 * 1800;
    let ghost = FakeUser::new("ghost");
    w.check(vec![case(
        "someone who is in no server",
        Mentee,
        Act::Forge(format!("pk:c:{}:{free}:b", ghost.id)),
        NOT_HERE,
    )])
    .await;
    // A real mentor who left the server while a mentee's picker was open: no forging needed.
    w.fake.remove_member(w.fake.guild_id(), &w.mentor);
    w.check(vec![case(
        "a mentor who left the server",
        Mentee,
        Act::Forge(format!("pk:c:{}:{free}:b", w.mentor.id)),
        NOT_HERE,
    )])
    .await;
    w.finish_expecting(
        bot,
        Expected {
            // The member lookups of someone who is not in the server.
            discord_codes: vec![10007],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_mentor_role_a_confirm_for_mentor_zero_is_refused_not_left_unanswered() {
    use Who::Mentee;
    let (w, bot) = World::new().await;
    w.gate_with_a_mentor_role().await;
    let free = w.active_start + 2 * 1800;
    w.check(vec![case(
        "mentor 0",
        Mentee,
        Act::Forge(format!("pk:c:0:{free}:b")),
        // Discord ids are never 0: the id itself is refused.
        "no longer valid",
    )])
    .await;
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_changing_things_faster_than_the_limit_is_told_when_to_try_again_and_nothing_changes()
 {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = Bot::start_with_env(&fake, &db, |vars| {
        vars.insert("WRITES_PER_MINUTE".into(), "3".into());
    })
    .await;
    let mentor = fake.user("mentor");
    let mentee = fake.user("mentee");
    support::open_mentor(&fake, &mentor).await;
    for zone in ["UTC", "Europe/Paris"] {
        let set = support::run(&fake, &mentor, "timezone set", vec![Opt::str("zone", zone)]).await;
        assert!(set.text().contains(zone), "{}", set.text());
    }
    support::wait_jobs_drained(&db).await;
    let before = dump(&db).await;
    let refused = support::run(
        &fake,
        &mentor,
        "timezone set",
        vec![Opt::str("zone", "Asia/Tokyo")],
    )
    .await;
    assert!(refused.ephemeral);
    assert!(
        refused
            .text()
            .starts_with("You're making changes faster than this server allows. Try again <t:"),
        "{}",
        refused.text()
    );
    // Reads are not limited; the mentee has an allowance of their own.
    let shown = support::run(&fake, &mentor, "timezone show", vec![]).await;
    assert!(shown.text().contains("Europe/Paris"), "{}", shown.text());
    let picker = support::run(&fake, &mentee, "book", vec![Opt::user("mentor", &mentor)]).await;
    let (chosen, _) = support::choose(&fake, &mentee, &picker, 0).await;
    let booked = support::confirm(&fake, &mentee, &chosen).await;
    assert!(booked.text().contains("Booked"), "{}", booked.text());
    support::wait_jobs_drained(&db).await;
    let after = dump(&db).await;
    assert_ne!(before, after, "the mentee's booking was written");
    assert!(after.contains("Europe/Paris") && !after.contains("Asia/Tokyo"));
    support::finish(&fake, None, bot, &Expected::default()).await;
}
