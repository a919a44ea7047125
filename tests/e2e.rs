//! The real bot (`app::run_until`, what `main` runs) against the fake Discord on 127.0.0.1,
//! driven as users would: slash commands, the picker, DMs, restarts, refusals.

use std::time::Duration;

use testkit::{FakeDiscord, FakeUser, Message, Opt, Place};

mod support;
use support::{Bot, BotProcess, Expected, WAIT, booking_id, dump, sqlx_connect};

struct World {
    fake: FakeDiscord,
    dir: tempfile::TempDir,
    mentor: FakeUser,
    mentee: FakeUser,
}

impl World {
    /// [`World::new`] with commands registered globally, as in production: guild commands
    /// don't exist in DMs.
    async fn new_global() -> (World, Bot) {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let w = World {
            mentor: fake.user("mentor"),
            mentee: fake.user("mentee"),
            fake,
            dir,
        };
        let bot = Bot::start_global(&w.fake, &w.db()).await;
        (w, bot)
    }

    async fn new() -> (World, Bot) {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mentor = fake.user("mentor");
        let mentee = fake.user("mentee");
        let bot = Bot::start(&fake, &dir.path().join("bot.db"), None).await;
        (
            World {
                fake,
                dir,
                mentor,
                mentee,
            },
            bot,
        )
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("bot.db")
    }

    /// Stops the bot after checking that every interaction of the test was answered within
    /// Discord's 3 s.
    async fn finish(&self, bot: Bot) {
        self.finish_expecting(bot, Expected::default()).await;
    }

    /// [`support::finish`] letting through the refusals this test provokes on purpose.
    async fn finish_expecting(&self, bot: Bot, expected: Expected) {
        support::finish(&self.fake, None, bot, &expected).await;
    }

    async fn run(&self, who: &FakeUser, path: &str, options: Vec<Opt>) -> Message {
        support::run(&self.fake, who, path, options).await
    }

    /// A mentor available round the clock in UTC, so slots exist whenever the test runs.
    async fn open_mentor(&self) {
        support::open_mentor(&self.fake, &self.mentor).await;
    }

    async fn picker(&self, who: &FakeUser) -> Message {
        let picker = self
            .run(who, "book", vec![Opt::user("mentor", &self.mentor)])
            .await;
        assert!(picker.ephemeral);
        picker
    }

    /// Picks the `index`-th slot of the picker's select and returns the message with Confirm.
    async fn choose(&self, who: &FakeUser, picker: &Message, index: usize) -> (Message, String) {
        support::choose(&self.fake, who, picker, index).await
    }

    async fn confirm(&self, who: &FakeUser, chosen: &Message) -> Message {
        support::confirm(&self.fake, who, chosen).await
    }

    async fn book_first_slot(&self, who: &FakeUser) -> Message {
        let picker = self.picker(who).await;
        let (chosen, _) = self.choose(who, &picker, 0).await;
        self.confirm(who, &chosen).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_sets_hours_and_overrides_and_sees_them() {
    let (w, bot) = World::new().await;
    let tz = w
        .run(
            &w.mentor,
            "timezone set",
            vec![Opt::str("zone", "europe/berlin")],
        )
        .await;
    assert!(tz.text().contains("Europe/Berlin"), "{}", tz.text());
    let set = w
        .run(
            &w.mentor,
            "availability set",
            vec![
                Opt::str("days", "mon-fri"),
                Opt::str("hours", "09:00-12:00"),
            ],
        )
        .await;
    assert!(set.text().contains("You're now a mentor"), "{}", set.text());
    assert!(set.text().contains("Europe/Berlin"));
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();
    let later = (chrono::Utc::now() + chrono::Duration::days(4))
        .date_naive()
        .to_string();
    let off = w
        .run(&w.mentor, "override add", vec![Opt::str("date", &tomorrow)])
        .await;
    let weekday = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .format("%A")
        .to_string();
    assert!(
        off.text().contains(&format!(
            "Override set for **{tomorrow}** ({weekday}): off."
        )),
        "{}",
        off.text()
    );
    let special = w
        .run(
            &w.mentor,
            "override add",
            vec![
                Opt::str("date", &later),
                Opt::str("hours", "13:00-15:00"),
                Opt::str("note", "conference"),
            ],
        )
        .await;
    assert!(special.text().contains("13:00-15:00"), "{}", special.text());
    let show = w.run(&w.mentor, "availability show", vec![]).await;
    let text = show.text();
    for part in [
        "Europe/Berlin",
        "09:00-12:00",
        &tomorrow,
        &later,
        "13:00-15:00",
        "conference",
        "sessions 30 min",
    ] {
        assert!(text.contains(part), "missing {part} in {text}");
    }
    // Someone else sees it too.
    let other = w
        .run(
            &w.mentee,
            "availability show",
            vec![Opt::user("mentor", &w.mentor)],
        )
        .await;
    assert!(other.text().contains("09:00-12:00"));
    w.fake
        .assert_all_answered_within(Duration::from_secs(3))
        .unwrap();
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentee_books_from_the_picker_and_both_see_it_and_the_mentor_gets_a_dm() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let picker = w.picker(&w.mentee).await;
    assert!(
        picker.text().contains("Book a session with mentor"),
        "{}",
        picker.text()
    );
    // Page through days and back.
    let next = picker.button_id("Next day").expect("next day");
    let tomorrow = w
        .fake
        .click(&w.mentee, &picker, &next)
        .await
        .settled()
        .await
        .unwrap();
    let prev = tomorrow.button_id("Previous day").expect("previous day");
    let today = w
        .fake
        .click(&w.mentee, &tomorrow, &prev)
        .await
        .settled()
        .await
        .unwrap();
    let (chosen, value) = w.choose(&w.mentee, &today, 1).await;
    assert!(chosen.text().contains("Selected"));
    let done = w.confirm(&w.mentee, &chosen).await;
    assert!(done.text().contains("Booked"), "{}", done.text());
    let id = booking_id(&done.text());
    for who in [&w.mentor, &w.mentee] {
        let list = w.run(who, "bookings", vec![]).await;
        assert!(list.text().contains(&id), "{}", list.text());
    }
    let dms = w.fake.wait_dms(w.mentor.id, 1, WAIT).await.unwrap();
    assert!(
        dms[0]
            .text()
            .contains("**mentee** booked a session with you: ")
            && dms[0].text().contains(&format!("booking `{id}`")),
        "{}",
        dms[0].text()
    );
    let mentee_dms = w.fake.wait_dms(w.mentee.id, 1, WAIT).await.unwrap();
    // DMs quote names people chose, replies quote what they typed: none may ping anyone.
    let listing = w.run(&w.mentor, "bookings", vec![]).await;
    for message in [&dms[0], &mentee_dms[0], &listing] {
        assert_eq!(
            w.fake.allowed_mentions(message.id),
            Some(serde_json::json!({"parse": [], "roles": [], "users": []})),
            "{}",
            message.text()
        );
    }
    // A fresh picker no longer offers the slot.
    let fresh = w.picker(&w.mentee).await;
    let select = fresh.selects()[0].clone();
    assert!(
        fresh
            .select_options(&select)
            .iter()
            .all(|(_, v)| *v != value)
    );
    w.fake
        .assert_all_answered_within(Duration::from_secs(3))
        .unwrap();
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mentees_confirming_the_same_slot_at_once_make_exactly_one_booking() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let other = w.fake.user("other-mentee");
    let (a, value_a) = w.choose(&w.mentee, &w.picker(&w.mentee).await, 0).await;
    let (b, value_b) = w.choose(&other, &w.picker(&other).await, 0).await;
    assert_eq!(value_a, value_b);
    let (ca, cb) = (
        a.button_id("Confirm").unwrap(),
        b.button_id("Confirm").unwrap(),
    );
    let (ra, rb) = tokio::join!(
        async {
            w.fake
                .click(&w.mentee, &a, &ca)
                .await
                .settled()
                .await
                .unwrap()
        },
        async { w.fake.click(&other, &b, &cb).await.settled().await.unwrap() }
    );
    let texts = [ra.text(), rb.text()];
    assert_eq!(
        texts.iter().filter(|t| t.contains("Booked")).count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts.iter().filter(|t| t.contains("just taken")).count(),
        1,
        "{texts:?}"
    );
    let loser = if texts[0].contains("just taken") {
        &ra
    } else {
        &rb
    };
    // The loser gets the day's picker again, without the taken slot (late in the UTC day the
    // day may have none left: then only its day buttons).
    let picker_ids: Vec<String> = loser
        .buttons()
        .into_iter()
        .map(|(_, id, _)| id)
        .chain(loser.selects())
        .collect();
    assert!(
        picker_ids
            .iter()
            .any(|id| id.starts_with("pk:d:") || id.starts_with("pk:s:")),
        "the loser gets a fresh picker: {picker_ids:?}"
    );
    for select in loser.selects() {
        assert!(
            loser
                .select_options(&select)
                .iter()
                .all(|(_, v)| *v != value_a),
            "the taken slot is offered again"
        );
    }
    let list = w.run(&w.mentor, "bookings", vec![]).await;
    assert_eq!(
        list.raw["embeds"][0]["fields"].as_array().map(Vec::len),
        Some(1)
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_booking_and_forged_slots_inside_the_notice_are_refused() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let own = w
        .run(&w.mentor, "book", vec![Opt::user("mentor", &w.mentor)])
        .await;
    assert!(
        own.text().contains("can't book a session with yourself"),
        "{}",
        own.text()
    );
    let picker = w.picker(&w.mentee).await;
    let select = picker.selects()[0].clone();
    let first: i64 = picker.select_options(&select)[0].1.parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        first >= now + 2 * 3600 - 60,
        "nothing inside the 2-hour notice is offered"
    );
    // A crafted Confirm for 30 minutes from now, and one off the grid.
    let soon = format!("pk:c:{}:{}:b", w.mentor.id, (now / 1800 + 1) * 1800);
    let refused = w
        .fake
        .click_forged(&w.mentee, &picker, &soon)
        .await
        .settled()
        .await
        .unwrap();
    assert!(refused.text().contains("too soon"), "{}", refused.text());
    let off_grid = format!("pk:c:{}:{}:b", w.mentor.id, first + 7 * 60);
    let refused = w
        .fake
        .click_forged(&w.mentee, &picker, &off_grid)
        .await
        .settled()
        .await
        .unwrap();
    assert!(
        refused.text().contains("not one of the mentor's slots"),
        "{}",
        refused.text()
    );
    let garbage = w
        .fake
        .click_forged(&w.mentee, &picker, "pk:c:1:x:b")
        .await
        .settled()
        .await
        .unwrap();
    assert!(
        garbage.text().contains("no longer valid"),
        "{}",
        garbage.text()
    );
    let list = w.run(&w.mentee, "bookings", vec![]).await;
    assert!(
        list.text().contains("No upcoming sessions"),
        "{}",
        list.text()
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_cancels_with_a_reason_the_mentee_is_told_and_the_slot_is_free_again() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let done = w.book_first_slot(&w.mentee).await;
    let id = booking_id(&done.text());
    w.fake.wait_dms(w.mentee.id, 1, WAIT).await.unwrap();
    let cancelled = w
        .run(
            &w.mentor,
            "cancel",
            vec![Opt::str("booking", &id), Opt::str("reason", "sick today")],
        )
        .await;
    assert!(
        cancelled.text().contains("Cancelled"),
        "{}",
        cancelled.text()
    );
    let dms = w.fake.wait_dms(w.mentee.id, 2, WAIT).await.unwrap();
    let last = dms.last().unwrap().text();
    assert!(
        last.contains("cancelled your session of ")
            && last.contains(&format!("(booking `{id}`)"))
            && last.contains("sick today"),
        "{last}"
    );
    let again = w.book_first_slot(&w.fake.user("someone")).await;
    assert!(again.text().contains("Booked"), "{}", again.text());
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescheduling_moves_the_booking_and_tells_the_other_person() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let done = w.book_first_slot(&w.mentee).await;
    let id = booking_id(&done.text());
    w.fake.wait_dms(w.mentor.id, 1, WAIT).await.unwrap();
    let start_of = |id: String| {
        let db = w.db();
        async move {
            let mut conn = sqlx_connect(&db).await;
            sqlx::query_scalar::<_, i64>("SELECT start_at FROM bookings WHERE id = ?")
                .bind(id)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    };
    let old = start_of(id.clone()).await;
    let picker = w
        .run(&w.mentee, "reschedule", vec![Opt::str("booking", &id)])
        .await;
    assert!(
        picker.text().contains(&format!("Move booking {id}")),
        "{}",
        picker.text()
    );
    let (chosen, _) = w.choose(&w.mentee, &picker, 3).await;
    let moved = w.confirm(&w.mentee, &chosen).await;
    assert!(
        moved.text().contains("Moved") && moved.text().contains(&id),
        "{}",
        moved.text()
    );
    let new = start_of(id.clone()).await;
    assert_ne!(old, new);
    let dms = w.fake.wait_dms(w.mentor.id, 2, WAIT).await.unwrap();
    // The DM names both times, the old one first.
    assert_eq!(
        dms.last().unwrap().text(),
        format!(
            "🔁 mentee moved your session (booking `{id}`) from <t:{old}:F> to <t:{new}:F> (<t:{new}:R>)."
        )
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picker_rendered_before_a_restart_still_books_after_it() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let (chosen, _) = w.choose(&w.mentee, &w.picker(&w.mentee).await, 0).await;
    bot.stop().await;
    let bot = Bot::start(&w.fake, &w.db(), None).await;
    let done = w.confirm(&w.mentee, &chosen).await;
    assert!(done.text().contains("Booked"), "{}", done.text());
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_do_not_stop_a_cancel_and_the_actor_hears_about_it_once() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let done = w.book_first_slot(&w.mentee).await;
    let id = booking_id(&done.text());
    w.fake.wait_dms(w.mentor.id, 1, WAIT).await.unwrap();
    w.fake.set_dms_closed(w.mentee.id, true);
    let cancel = w
        .fake
        .slash(
            &w.mentor,
            Place::Guild,
            "cancel",
            vec![Opt::str("booking", &id)],
        )
        .await;
    let reply = cancel.settled().await.unwrap();
    assert!(reply.text().contains("Cancelled"), "{}", reply.text());
    let followups = cancel.wait_followups(1, WAIT).await.unwrap();
    assert!(
        followups[0].text().contains("couldn't DM"),
        "{}",
        followups[0].text()
    );
    assert!(followups[0].ephemeral);
    // Once the job queue is empty nothing is left to retry: two DMs for the booking, one
    // refused attempt for the cancel (closed DMs are final, not retried), one follow-up.
    support::wait_jobs_drained(&w.db()).await;
    let dm_posts = w
        .fake
        .requests()
        .iter()
        .filter(|(method, path)| {
            method == "POST" && path.contains("/channels/") && path.ends_with("/messages")
        })
        .count();
    assert_eq!(dm_posts, 3, "no retry of a closed DM");
    assert_eq!(cancel.followups().len(), 1, "the actor hears about it once");
    w.finish_expecting(
        bot,
        Expected {
            // The mentee's closed DMs.
            discord_codes: vec![50007],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_ephemeral_message_naming_the_problem_and_changes_nothing() {
    let (w, bot) = World::new().await;
    w.run(
        &w.mentor,
        "availability set",
        vec![
            Opt::str("days", "mon-fri"),
            Opt::str("hours", "09:00-17:00"),
            Opt::str("timezone", "UTC"),
        ],
    )
    .await;
    let stranger = w.fake.user("stranger");
    let today = chrono::Utc::now().date_naive();
    let tomorrow = (today + chrono::Duration::days(1)).to_string();
    let far = (today + chrono::Duration::days(400)).to_string();
    let (mentor, mentee) = (&w.mentor, &w.mentee);
    let set = |days: &str, hours: &str| vec![Opt::str("days", days), Opt::str("hours", hours)];
    let cases: Vec<(&FakeUser, &str, Vec<Opt>, &str)> = vec![
        (
            mentee,
            "timezone set",
            vec![Opt::str("zone", "Mars/Olympus")],
            "Mars/Olympus",
        ),
        (
            mentee,
            "timezone set",
            vec![Opt::str("zone", "../etc/passwd")],
            "../etc/passwd",
        ),
        (
            mentee,
            "timezone set",
            vec![Opt::str("zone", "berlin")],
            "Europe/Berlin",
        ),
        (
            mentor,
            "availability set",
            set("mon-", "09:00-10:00"),
            "mon-",
        ),
        (
            mentor,
            "availability set",
            set("funday", "09:00-10:00"),
            "funday",
        ),
        (
            mentor,
            "availability set",
            set("mon wed", "09:00-10:00"),
            "mon",
        ),
        (
            mentor,
            "availability set",
            set("mon", "25:00-26:00"),
            "25:00",
        ),
        (
            mentor,
            "availability set",
            set("mon", "09:00-09:00"),
            "09:00-09:00",
        ),
        (mentor, "availability set", set("mon", "9:60-10:00"), "9:60"),
        (mentor, "availability set", set("mon", "13pm-2pm"), "13pm"),
        (mentor, "availability set", set("mon", "09:00"), "09:00"),
        (
            mentor,
            "availability set",
            set("mon", "off, 09:00-10:00"),
            "off",
        ),
        (
            mentor,
            "availability set",
            set("mon", "24:00-01:00"),
            "24:00",
        ),
        (mentor, "availability set", set("mon", "abc"), "abc"),
        (
            mentor,
            "availability set",
            set("mon", "09:00-09:15"),
            "shorter than one session",
        ),
        (
            mentor,
            "availability set",
            vec![
                Opt::str("days", "mon"),
                Opt::str("hours", "09:00-10:00"),
                Opt::str("timezone", "Nowhere/City"),
            ],
            "Nowhere/City",
        ),
        (
            mentee,
            "availability set",
            set("mon", "09:00-10:00"),
            "timezone",
        ),
        (
            mentor,
            "override add",
            vec![Opt::str("date", "2026-02-30")],
            "2026-02-30",
        ),
        (
            mentor,
            "override add",
            vec![Opt::str("date", "2020-01-01")],
            "in the past",
        ),
        (
            mentor,
            "override add",
            vec![Opt::str("date", &far)],
            "days ahead",
        ),
        (
            mentor,
            "override add",
            vec![Opt::str("date", "next week")],
            "next week",
        ),
        (
            mentor,
            "override add",
            vec![
                Opt::str("date", &tomorrow),
                Opt::str("hours", "22:00-01:00"),
            ],
            "24:00",
        ),
        (
            mentor,
            "override remove",
            vec![Opt::str("date", &tomorrow)],
            "no override",
        ),
        (
            mentee,
            "override add",
            vec![Opt::str("date", &tomorrow)],
            "don't have any availability",
        ),
        (
            mentee,
            "override list",
            vec![],
            "don't have any availability",
        ),
        (
            mentee,
            "availability clear",
            vec![],
            "don't have any availability",
        ),
        (
            mentee,
            "availability settings",
            vec![Opt::int("buffer_minutes", 10)],
            "don't have any availability",
        ),
        (
            mentee,
            "availability show",
            vec![Opt::user("mentor", &stranger)],
            "hasn't set any availability",
        ),
        (
            mentee,
            "cancel",
            vec![Opt::str("booking", "ZZZZZZ")],
            "No booking with that id",
        ),
        (
            mentee,
            "cancel",
            vec![Opt::str("booking", "nope!")],
            "nope!",
        ),
        (
            mentee,
            "reschedule",
            vec![Opt::str("booking", "K7Q2MD")],
            "No booking with that id",
        ),
        (
            mentee,
            "book",
            vec![Opt::user("mentor", &stranger)],
            "hasn't set any availability",
        ),
        (
            mentee,
            "book",
            vec![Opt::user("mentor", mentor), Opt::str("date", "2020-01-01")],
            "in the past",
        ),
        (
            mentee,
            "book",
            vec![Opt::user("mentor", mentor), Opt::str("date", "31/12/2026")],
            "31/12/2026",
        ),
        (
            mentor,
            "book",
            vec![Opt::user("mentor", mentor)],
            "yourself",
        ),
    ];
    assert!(cases.len() >= 25);
    let before = dump(&w.db()).await;
    for (who, path, options, expected) in cases {
        let reply = w.run(who, path, options).await;
        assert!(reply.ephemeral, "/{path}: not ephemeral");
        let text = reply.text();
        assert!(
            text.contains(expected),
            "/{path}: expected {expected:?} in {text:?}"
        );
        assert!(!text.contains("Something went wrong"), "/{path}: {text}");
        assert!(
            !text.contains("Error") && !text.contains("panicked"),
            "/{path}: {text}"
        );
    }
    assert_eq!(
        dump(&w.db()).await,
        before,
        "bad input changed the database"
    );
    w.fake
        .assert_all_answered_within(Duration::from_secs(3))
        .unwrap();
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_zones_the_users_bookings_and_days_with_slots() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let zones = w
        .fake
        .autocomplete(
            &w.mentee,
            Place::Guild,
            "timezone set",
            vec![Opt::str("zone", "berl")],
            "zone",
        )
        .await
        .unwrap();
    assert!(
        zones.iter().any(|(name, _)| name == "Europe/Berlin"),
        "{zones:?}"
    );
    assert!(zones.len() <= 25);
    let days = w
        .fake
        .autocomplete(
            &w.mentee,
            Place::Guild,
            "book",
            vec![Opt::user("mentor", &w.mentor), Opt::str("date", "")],
            "date",
        )
        .await
        .unwrap();
    assert!(!days.is_empty() && days.len() <= 25, "{days:?}");
    assert!(
        days.iter().all(|(label, _)| label.ends_with(" free")),
        "each day says how many slots are free: {days:?}"
    );
    let done = w.book_first_slot(&w.mentee).await;
    let id = booking_id(&done.text());
    let mine = w
        .fake
        .autocomplete(
            &w.mentee,
            Place::Guild,
            "cancel",
            vec![Opt::str("booking", "")],
            "booking",
        )
        .await
        .unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert!(
        mine[0].0.contains(&id) && mine[0].0.contains("with mentor"),
        "{mine:?}"
    );
    let theirs = w
        .fake
        .autocomplete(
            &w.fake.user("nosy"),
            Place::Guild,
            "cancel",
            vec![Opt::str("booking", "")],
            "booking",
        )
        .await
        .unwrap();
    assert!(
        theirs.is_empty(),
        "nobody else sees the booking: {theirs:?}"
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentors_are_listed_where_they_set_hours_and_a_mentor_role_gates_booking() {
    let (w, bot) = World::new().await;
    let empty = w.run(&w.mentee, "mentors", vec![]).await;
    assert!(
        empty.text().contains("No mentors are listed"),
        "{}",
        empty.text()
    );
    w.open_mentor().await;
    let listed = w.run(&w.mentee, "mentors", vec![]).await;
    assert!(
        listed.text().contains("• **mentor** — next free: "),
        "{}",
        listed.text()
    );

    let admin = w.fake.user("admin");
    w.fake.add_member(&admin, &[], 1 << 5); // MANAGE_GUILD
    let role = w.fake.add_role("Mentors");
    // Even if a server lets everyone see /admin, the bot checks Manage Server itself.
    w.fake.ignore_default_member_permissions(true);
    let refused = w
        .run(
            &w.mentee,
            "admin mentor-role",
            vec![Opt::role("role", role)],
        )
        .await;
    assert!(
        refused.text().contains("Manage Server"),
        "{}",
        refused.text()
    );
    w.fake.ignore_default_member_permissions(false);
    let set = w
        .run(&admin, "admin mentor-role", vec![Opt::role("role", role)])
        .await;
    assert!(set.text().contains("Mentors"), "{}", set.text());
    let gated = w
        .run(&w.mentee, "book", vec![Opt::user("mentor", &w.mentor)])
        .await;
    assert!(gated.text().contains("mentor role"), "{}", gated.text());
    // /mentors lists only those who hold the role.
    let none = w.run(&w.mentee, "mentors", vec![]).await;
    assert!(
        none.text()
            .starts_with("No mentors here yet: nobody listed holds this server's mentor role."),
        "{}",
        none.text()
    );
    w.fake.add_member(&w.mentor, &[role], 0);
    let listed = w.run(&w.mentee, "mentors", vec![]).await;
    assert!(
        listed.text().contains("• **mentor** — next free: "),
        "{}",
        listed.text()
    );
    let open = w.picker(&w.mentee).await;
    assert!(!open.selects().is_empty());
    // A mentor who loses the role can't be booked any more.
    w.fake.add_member(&w.mentor, &[], 0);
    let lost = w
        .run(&w.mentee, "book", vec![Opt::user("mentor", &w.mentor)])
        .await;
    assert!(
        lost.text()
            .contains("they don't have the server's mentor role"),
        "{}",
        lost.text()
    );
    // Without a role, anyone who sets hours can be booked again.
    let cleared = w.run(&admin, "admin mentor-role", vec![]).await;
    assert_eq!(
        cleared.text(),
        "Anyone who sets availability can be booked in this server now."
    );
    assert!(!w.picker(&w.mentee).await.selects().is_empty());
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_that_bounces_after_the_actors_token_expired_is_recorded_and_the_refused_follow_up_is_harmless()
 {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let done = w.book_first_slot(&w.mentee).await;
    let id = booking_id(&done.text());
    w.fake.wait_dms(w.mentee.id, 1, WAIT).await.unwrap();
    w.fake.set_dms_closed(w.mentee.id, true);
    // The cancel's DM is held back by a rate limit while, for Discord, 16 minutes pass: the
    // mentor's interaction token (15 minutes) has expired when the DM bounces.
    w.fake.rate_limit_next("POST /channels/*/messages", 1, 2.0);
    let cancel = w
        .fake
        .slash(
            &w.mentor,
            Place::Guild,
            "cancel",
            vec![Opt::str("booking", &id)],
        )
        .await;
    let reply = cancel.settled().await.unwrap();
    assert!(reply.text().contains("Cancelled"), "{}", reply.text());
    w.fake.advance_clock(Duration::from_secs(16 * 60));
    let refused_follow_up = |fake: &FakeDiscord| {
        fake.rejections()
            .iter()
            .any(|r| r.path.starts_with("/webhooks/") && r.body["code"] == 50027)
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while !refused_follow_up(&w.fake) {
        assert!(tokio::time::Instant::now() < deadline, "no follow-up tried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cancel.followups().is_empty());
    // The bounced DM is recorded with Discord's reason, and nothing is left to retry.
    support::wait_jobs_drained(&w.db()).await;
    let mut conn = sqlx_connect(&w.db()).await;
    let (state, error): (String, String) = sqlx::query_as(
        "SELECT state, last_error FROM jobs WHERE booking_id = ? ORDER BY id DESC LIMIT 1",
    )
    .bind(&id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(state, "failed");
    assert!(error.starts_with("50007: "), "{error}");
    w.finish_expecting(
        bot,
        Expected {
            discord_codes: vec![50007, 50027],
            discord_statuses: vec![429],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_bot_process_on_the_same_database_refuses_to_start_while_the_first_runs() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let first = BotProcess::start(&fake, &db, None).await;
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_mentorbot"))
        .env_clear()
        .envs(testkit::bot_env(&fake, None, &db, testkit::free_port()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    assert_eq!(fake.ready_count(), 1, "the second never connected");
    // The first is unharmed and still answers.
    let who = fake.user("someone");
    let reply = support::run(&fake, &who, "timezone show", vec![]).await;
    assert!(reply.ephemeral, "{}", reply.text());
    first.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timezone_set_by_an_old_alias_in_a_dm_is_shown_with_its_local_time_and_kept() {
    let (w, bot) = World::new_global().await;
    for (typed, zone) in [
        ("US/Eastern", "US/Eastern"),
        ("asia/calcutta", "Asia/Calcutta"),
    ] {
        let before = chrono::Utc::now();
        let reply = w
            .fake
            .slash(
                &w.mentee,
                Place::Dm,
                "timezone set",
                vec![Opt::str("zone", typed)],
            )
            .await
            .settled()
            .await
            .unwrap();
        let after = chrono::Utc::now();
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        // The local time there, as of when the command ran (the minute may turn meanwhile).
        let local = |at: chrono::DateTime<chrono::Utc>| {
            format!(
                "Your timezone is now **{zone}** (it's {} there).",
                at.with_timezone(&tz).format("%H:%M on %a %-d %b")
            )
        };
        assert!(
            reply.text().contains(&local(before)) || reply.text().contains(&local(after)),
            "{}",
            reply.text()
        );
        let shown = w
            .fake
            .slash(&w.mentee, Place::Dm, "timezone show", vec![])
            .await
            .settled()
            .await
            .unwrap();
        assert_eq!(shown.text(), format!("Your timezone is **{zone}**."));
    }
    // Kept in the database, in the server too.
    let shown = w.run(&w.mentee, "timezone show", vec![]).await;
    assert_eq!(shown.text(), "Your timezone is **Asia/Calcutta**.");
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_error_shows_only_a_reference_code_that_the_log_has_with_the_cause() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let who = fake.user("someone");
    let bot = Bot::start(&fake, &db, None).await;
    support::run(&fake, &who, "timezone set", vec![Opt::str("zone", "UTC")]).await;
    bot.stop().await;
    // A stored value the bot can't read back: an internal error, not the user's mistake.
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE users SET timezone = 'Not/AZone'")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let process = BotProcess::start(&fake, &db, None).await;
    let reply = support::run(&fake, &who, "timezone show", vec![]).await;
    assert!(reply.ephemeral);
    let text = reply.text();
    let code = text
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("a reference in backticks: {text}"));
    assert_eq!(code.len(), 8, "{text}");
    assert!(code.chars().all(|c| c.is_ascii_hexdigit()), "{text}");
    assert!(
        !text.contains("Not/AZone"),
        "the cause stays out of the reply: {text}"
    );
    let log = process.output();
    let line = log
        .lines()
        .find(|l| l.contains(code))
        .unwrap_or_else(|| panic!("reference {code} not in the log:\n{log}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains("Not/AZone"),
        "the log names the cause: {line}"
    );
    process.kill();
}

/// The booking ids of `booked` that `text` names, in the order it names them.
fn ids_in(text: &str, booked: &[String]) -> Vec<String> {
    let mut ids = Vec::new();
    for piece in text.split('`') {
        if booked.iter().any(|b| b == piece) && !ids.iter().any(|i| i == piece) {
            ids.push(piece.to_owned());
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_picker_pages_its_times_and_bookings_page_eight_at_a_time_both_ways() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    // Tomorrow has 48 half-hour slots round the clock: 25 per page.
    let picker = w.picker(&w.mentee).await;
    let next_day = picker.button_id("Next day").expect("next day");
    let tomorrow = w
        .fake
        .click(&w.mentee, &picker, &next_day)
        .await
        .settled()
        .await
        .unwrap();
    let first = tomorrow.select_options(&tomorrow.selects()[0]);
    assert_eq!(first.len(), 25);
    assert!(tomorrow.button_id("Earlier times").is_none());
    let later = tomorrow.button_id("Later times").expect("later times");
    let page2 = w
        .fake
        .click(&w.mentee, &tomorrow, &later)
        .await
        .settled()
        .await
        .unwrap();
    let second = page2.select_options(&page2.selects()[0]);
    assert_eq!(second.len(), 23, "the rest of the day's 48");
    let start = |v: &(String, String)| v.1.parse::<i64>().unwrap();
    assert!(start(&second[0]) > start(&first[24]));
    assert!(page2.button_id("Later times").is_none());
    let earlier = page2.button_id("Earlier times").expect("earlier times");
    let back = w
        .fake
        .click(&w.mentee, &page2, &earlier)
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(back.select_options(&back.selects()[0]), first);

    // Ten bookings, soonest first: eight on the first page, two on the next.
    let mut booked = Vec::new();
    for _ in 0..10 {
        booked.push(booking_id(&w.book_first_slot(&w.mentee).await.text()));
    }
    let list = w.run(&w.mentee, "bookings", vec![]).await;
    assert_eq!(ids_in(&list.text(), &booked), booked[..8]);
    assert!(list.button_id("Sooner").is_none());
    let later = list.button_id("Later ▶").expect("Later ▶");
    let rest = w
        .fake
        .click(&w.mentee, &list, &later)
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(ids_in(&rest.text(), &booked), booked[8..]);
    assert!(rest.button_id("Later ▶").is_none());
    let sooner = rest.button_id("◀ Sooner").expect("◀ Sooner");
    let again = w
        .fake
        .click(&w.mentee, &rest, &sooner)
        .await
        .settled()
        .await
        .unwrap();
    assert_eq!(ids_in(&again.text(), &booked), booked[..8]);

    // An eleventh, by someone else (ten is as many as one mentee may hold): clearing the
    // hours lists the first ten and counts the rest.
    let other = w.fake.user("other-mentee");
    booked.push(booking_id(&w.book_first_slot(&other).await.text()));
    let cleared = w.run(&w.mentor, "availability clear", vec![]).await;
    assert_eq!(ids_in(&cleared.text(), &booked), booked[..10]);
    assert!(
        cleared.text().ends_with("…and 1 more (`/bookings`).")
            || cleared.text().contains("…and 1 more (`/bookings`).\n"),
        "{}",
        cleared.text()
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoever_books_or_moves_hears_once_when_the_other_persons_dms_are_closed() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.fake.set_dms_closed(w.mentor.id, true);
    // Booking: the mentee clicks Confirm; the mentor's DM bounces.
    let picker = w.picker(&w.mentee).await;
    let (chosen, _) = w.choose(&w.mentee, &picker, 0).await;
    let confirm = chosen.button_id("Confirm").expect("a Confirm button");
    let click = w.fake.click(&w.mentee, &chosen, &confirm).await;
    let done = click.settled().await.unwrap();
    let id = booking_id(&done.text());
    let followups = click.wait_followups(1, WAIT).await.unwrap();
    assert!(followups[0].ephemeral);
    assert!(
        followups[0].text().starts_with(&format!(
            "Heads-up: I couldn't DM the mentor about booking `{id}` ("
        )),
        "{}",
        followups[0].text()
    );
    // Moving: the mentee's change bounces at the mentor again.
    let picker = w
        .run(&w.mentee, "reschedule", vec![Opt::str("booking", &id)])
        .await;
    let (chosen, _) = w.choose(&w.mentee, &picker, 2).await;
    let confirm = chosen.button_id("Confirm").expect("a Confirm button");
    let click = w.fake.click(&w.mentee, &chosen, &confirm).await;
    let moved = click.settled().await.unwrap();
    assert!(moved.text().contains("Moved"), "{}", moved.text());
    let followups = click.wait_followups(1, WAIT).await.unwrap();
    assert!(
        followups[0].text().starts_with(&format!(
            "Heads-up: I couldn't DM the other person about booking `{id}` ("
        )),
        "{}",
        followups[0].text()
    );
    // Once each: nothing left to retry, and no second follow-up.
    support::wait_jobs_drained(&w.db()).await;
    assert_eq!(click.followups().len(), 1);
    w.finish_expecting(
        bot,
        Expected {
            discord_codes: vec![50007],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentors_are_listed_only_in_the_servers_where_they_set_hours() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let w = World {
        mentor: fake.user("mentor"),
        mentee: fake.user("mentee"),
        fake,
        dir,
    };
    // Registered globally, as in production, so the commands exist in every server.
    let bot = Bot::start_global(&w.fake, &w.db()).await;
    w.open_mentor().await;
    let other = w.fake.add_guild("Elsewhere");
    w.fake
        .add_member_to(other, &w.mentee, &[], testkit::permissions::MEMBER);
    let elsewhere = w
        .fake
        .slash(&w.mentee, Place::InGuild(other), "mentors", vec![])
        .await
        .settled()
        .await
        .unwrap();
    assert!(
        elsewhere
            .text()
            .starts_with("No mentors are listed here yet."),
        "{}",
        elsewhere.text()
    );
    let here = w.run(&w.mentee, "mentors", vec![]).await;
    assert!(
        here.text().contains("• **mentor** — next free: "),
        "{}",
        here.text()
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_override_list_shows_thirty_dates_soonest_first_and_counts_the_rest() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let today = chrono::Utc::now().date_naive();
    let dates: Vec<String> = (1..=31)
        .map(|d| (today + chrono::Duration::days(d)).to_string())
        .collect();
    // Added latest first, so the list's order is the bot's doing.
    for date in dates.iter().rev() {
        w.run(&w.mentor, "override add", vec![Opt::str("date", date)])
            .await;
    }
    let list = w.run(&w.mentor, "override list", vec![]).await;
    let text = list.text();
    let shown: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("**").and_then(|l| l.split("**").next()))
        .collect();
    assert_eq!(shown, dates[..30], "{text}");
    assert_eq!(
        text.lines().last(),
        Some(format!("…and 1 more (`/override list from:{}`).", dates[30]).as_str()),
        "{text}"
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_dm_is_retried_after_its_delay_and_delivered_once() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.fake.rate_limit_next("POST /channels/*/messages", 1, 0.5);
    w.book_first_slot(&w.mentee).await;
    let mentor_dms = w.fake.wait_dms(w.mentor.id, 1, WAIT).await.unwrap();
    let mentee_dms = w.fake.wait_dms(w.mentee.id, 1, WAIT).await.unwrap();
    // Nothing left to retry: the count is final.
    support::wait_jobs_drained(&w.db()).await;
    assert_eq!(
        w.fake.dms(w.mentor.id).len() + w.fake.dms(w.mentee.id).len(),
        2
    );
    assert!(mentor_dms[0].text().contains("booked a session"));
    assert!(mentee_dms[0].text().contains("is booked"));
    w.finish_expecting(
        bot,
        Expected {
            discord_statuses: vec![429],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_once_per_process_even_when_ready_comes_again() {
    let (w, bot) = World::new().await;
    assert_eq!(w.fake.registration_count(), 1);
    assert_eq!(
        w.fake.identified_intents(),
        0,
        "the bot asks for no gateway events: interactions come without any"
    );
    let names: Vec<String> = w
        .fake
        .registered_commands()
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    for name in [
        "timezone",
        "availability",
        "override",
        "book",
        "Book a session",
        "bookings",
        "cancel",
        "reschedule",
        "calendar",
        "mentors",
        "admin",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
    w.fake.invalidate_sessions();
    w.fake
        .wait_ready_count(2, Duration::from_secs(15))
        .await
        .unwrap();
    let reply = w.run(&w.mentee, "timezone show", vec![]).await;
    assert!(
        reply.text().contains("haven't set a timezone"),
        "{}",
        reply.text()
    );
    assert_eq!(
        w.fake.registration_count(),
        1,
        "READY again, but no second registration"
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booking_menu_on_a_user_opens_their_picker() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let picker = w
        .fake
        .user_menu(&w.mentee, Place::Guild, "Book a session", &w.mentor)
        .await
        .settled()
        .await
        .unwrap();
    assert!(picker.ephemeral);
    assert!(
        picker.text().contains("Book a session with mentor"),
        "{}",
        picker.text()
    );
    assert!(!picker.selects().is_empty());
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_confirmed_from_a_dm_follows_the_mentor_role_of_the_server_it_was_booked_in() {
    let (w, bot) = World::new_global().await;
    let admin = w.fake.user("admin");
    w.fake.add_member(&admin, &[], 1 << 5); // MANAGE_GUILD
    let role = w.fake.add_role("Mentors");
    w.fake.add_member(&w.mentor, &[role], 0);
    w.open_mentor().await;
    w.run(&admin, "admin mentor-role", vec![Opt::role("role", role)])
        .await;
    let done = w.book_first_slot(&w.mentee).await;
    assert!(done.text().contains("Booked"), "{}", done.text());
    let id = booking_id(&done.text());

    // The mentor loses the role; the mentee tries to move the session from a DM.
    w.fake.add_member(&w.mentor, &[], 0);
    let picker = w
        .fake
        .slash(
            &w.mentee,
            Place::Dm,
            "reschedule",
            vec![Opt::str("booking", &id)],
        )
        .await
        .settled()
        .await
        .unwrap();
    assert!(
        picker.text().contains(&format!("Move booking {id}")),
        "{}",
        picker.text()
    );
    let (chosen, _) = w.choose(&w.mentee, &picker, 1).await;
    support::wait_jobs_drained(&w.db()).await;
    let before = support::dump(&w.db()).await;
    let refused = w.confirm(&w.mentee, &chosen).await;
    assert!(
        refused
            .text()
            .contains("they don't have the server's mentor role"),
        "{}",
        refused.text()
    );
    assert_eq!(support::dump(&w.db()).await, before);
    // With the role back, the same move goes through.
    w.fake.add_member(&w.mentor, &[role], 0);
    let moved = w.confirm(&w.mentee, &chosen).await;
    assert!(moved.text().contains("Moved"), "{}", moved.text());
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_member_can_neither_book_nor_move_nor_find_the_mentor_and_their_cancel_is_not_dmed()
 {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let booked = w.book_first_slot(&w.mentee).await;
    let id = booking_id(&booked.text());
    // A picker opened before the block, with a slot chosen and Confirm on screen.
    let picker = w.picker(&w.mentee).await;
    let (chosen, _) = w.choose(&w.mentee, &picker, 1).await;
    let shown = format!("**{}**", w.mentor.name);
    let listed = w.run(&w.mentee, "mentors", vec![]).await;
    assert!(listed.text().contains(&shown), "{}", listed.text());

    let blocked = w
        .run(
            &w.mentor,
            "availability block",
            vec![Opt::user("member", &w.mentee)],
        )
        .await;
    assert!(blocked.ephemeral);
    assert!(
        blocked.text().contains("can no longer book you"),
        "{}",
        blocked.text()
    );
    let again = w
        .run(
            &w.mentor,
            "availability block",
            vec![Opt::user("member", &w.mentee)],
        )
        .await;
    assert!(
        again.text().contains("was already blocked"),
        "{}",
        again.text()
    );
    let myself = w
        .run(
            &w.mentor,
            "availability block",
            vec![Opt::user("member", &w.mentor)],
        )
        .await;
    assert!(
        myself.text().contains("can't block yourself"),
        "{}",
        myself.text()
    );

    // Every way to a new session with the mentor is refused, and changes nothing.
    support::wait_jobs_drained(&w.db()).await;
    let before = dump(&w.db()).await;
    let refused = "You can't book sessions with this mentor.";
    let late = w.confirm(&w.mentee, &chosen).await;
    assert!(late.text().contains(refused), "{}", late.text());
    let book = w
        .run(&w.mentee, "book", vec![Opt::user("mentor", &w.mentor)])
        .await;
    assert!(
        book.ephemeral && book.text().contains(refused),
        "{}",
        book.text()
    );
    let moving = w
        .run(&w.mentee, "reschedule", vec![Opt::str("booking", &id)])
        .await;
    assert!(moving.text().contains(refused), "{}", moving.text());
    assert_eq!(dump(&w.db()).await, before);
    let listed = w.run(&w.mentee, "mentors", vec![]).await;
    assert!(!listed.text().contains(&shown), "{}", listed.text());

    // The session booked before the block stays; the member's cancel doesn't reach the
    // mentor's DMs.
    let mentor_dms = w.fake.dms(w.mentor.id).len();
    let cancelled = w
        .run(
            &w.mentee,
            "cancel",
            vec![
                Opt::str("booking", &id),
                Opt::str("reason", "[click](https://evil.example)"),
            ],
        )
        .await;
    assert!(
        cancelled.text().contains("Cancelled"),
        "{}",
        cancelled.text()
    );
    support::wait_jobs_drained(&w.db()).await;
    assert_eq!(w.fake.dms(w.mentor.id).len(), mentor_dms);

    // Unblocked, the member books again and the mentor hears of it.
    let unblocked = w
        .run(
            &w.mentor,
            "availability unblock",
            vec![Opt::user("member", &w.mentee)],
        )
        .await;
    assert!(
        unblocked.text().contains("can book you again"),
        "{}",
        unblocked.text()
    );
    let booked = w.book_first_slot(&w.mentee).await;
    assert!(booked.text().contains("Booked"), "{}", booked.text());
    w.fake
        .wait_dms(w.mentor.id, mentor_dms + 1, WAIT)
        .await
        .unwrap();
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn within_the_change_notice_a_mentee_cannot_cancel_or_move_but_the_mentor_can() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let set = w
        .run(
            &w.mentor,
            "availability settings",
            vec![Opt::int("change_notice_hours", 168)],
        )
        .await;
    assert!(
        set.text()
            .contains("changes by mentees: up to 168 h before"),
        "{}",
        set.text()
    );
    // The first free slot is a few hours ahead: well within a week's notice.
    let first = w.book_first_slot(&w.mentee).await;
    let first = booking_id(&first.text());
    support::wait_jobs_drained(&w.db()).await;
    let before = dump(&w.db()).await;
    for (path, options) in [
        ("cancel", vec![Opt::str("booking", &first)]),
        ("reschedule", vec![Opt::str("booking", &first)]),
    ] {
        let refused = w.run(&w.mentee, path, options).await;
        assert!(refused.ephemeral);
        let text = refused.text();
        assert!(
            text.contains("too late to change this session")
                && text.contains("168 hour(s)")
                && text.contains("message your mentor"),
            "{path}: {text}"
        );
    }
    assert_eq!(
        dump(&w.db()).await,
        before,
        "a refused change changes nothing"
    );
    // The mentor can always cancel.
    let cancelled = w
        .run(&w.mentor, "cancel", vec![Opt::str("booking", &first)])
        .await;
    assert!(
        cancelled.text().contains("Cancelled"),
        "{}",
        cancelled.text()
    );
    // Without a notice window the mentee cancels as before.
    w.run(
        &w.mentor,
        "availability settings",
        vec![Opt::int("change_notice_hours", 0)],
    )
    .await;
    let second = w.book_first_slot(&w.mentee).await;
    let second = booking_id(&second.text());
    let cancelled = w
        .run(&w.mentee, "cancel", vec![Opt::str("booking", &second)])
        .await;
    assert!(
        cancelled.text().contains("Cancelled"),
        "{}",
        cancelled.text()
    );
    w.finish(bot).await;
}

/// The queued reminders of `booking`: (recipient, lead in minutes, due), by recipient and lead.
async fn reminders_of(db: &std::path::Path, booking: &str) -> Vec<(i64, i64, i64)> {
    let mut conn = sqlx_connect(db).await;
    sqlx::query_as(
        "SELECT json_extract(payload, '$.recipient'), json_extract(payload, '$.lead_minutes'),
                run_after
         FROM jobs WHERE booking_id = ? AND kind = 'dm' AND state = 'queued'
           AND json_extract(payload, '$.notice') = 'reminder'
         ORDER BY 1, 2",
    )
    .bind(booking)
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

async fn start_of(db: &std::path::Path, booking: &str) -> i64 {
    let mut conn = sqlx_connect(db).await;
    sqlx::query_scalar("SELECT start_at FROM bookings WHERE id = ?")
        .bind(booking)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// Waits until `booking` has no queued reminder left (each sent or skipped).
async fn wait_reminders_run(db: &std::path::Path, booking: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !reminders_of(db, booking).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "reminders of {booking} still queued"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Makes `booking`'s queued reminders due now (instead of waiting for them).
async fn due_now(db: &std::path::Path, booking: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query(
        "UPDATE jobs SET run_after = unixepoch() - 1 WHERE booking_id = ? AND state = 'queued'
           AND json_extract(payload, '$.notice') = 'reminder'",
    )
    .bind(booking)
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_are_planned_with_a_booking_follow_its_moves_and_cancel_and_reach_both_people() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let (mentor, mentee) = (w.mentor.id as i64, w.mentee.id as i64);
    let booked = w.book_first_slot(&w.mentee).await;
    let id = booking_id(&booked.text());
    let start = start_of(&w.db(), &id).await;
    // The first slot is hours away: the default day-ahead reminder has passed, the
    // quarter-hour one is planned for both.
    assert_eq!(
        reminders_of(&w.db(), &id).await,
        [(mentor, 15, start - 900), (mentee, 15, start - 900)]
    );

    // The mentee's own leads replace theirs, for upcoming sessions too.
    let set = w
        .run(
            &w.mentee,
            "reminders set",
            vec![Opt::str("lead", "30m, 1h")],
        )
        .await;
    assert!(set.text().contains("**1h, 30m**"), "{}", set.text());
    let shown = w.run(&w.mentee, "reminders show", vec![]).await;
    assert!(shown.text().contains("**1h, 30m**"), "{}", shown.text());
    let defaults = w.run(&w.mentor, "reminders show", vec![]).await;
    assert!(
        defaults
            .text()
            .contains("**1d, 15m** before each session (the default)"),
        "{}",
        defaults.text()
    );
    assert_eq!(
        reminders_of(&w.db(), &id).await,
        [
            (mentor, 15, start - 900),
            (mentee, 30, start - 1800),
            (mentee, 60, start - 3600)
        ]
    );

    // A move takes them along.
    let picker = w
        .run(&w.mentee, "reschedule", vec![Opt::str("booking", &id)])
        .await;
    let (chosen, _) = w.choose(&w.mentee, &picker, 3).await;
    let moved = w.confirm(&w.mentee, &chosen).await;
    assert!(moved.text().contains("Moved"), "{}", moved.text());
    let new_start = start_of(&w.db(), &id).await;
    assert_ne!(new_start, start);
    assert_eq!(
        reminders_of(&w.db(), &id).await,
        [
            (mentor, 15, new_start - 900),
            (mentee, 30, new_start - 1800),
            (mentee, 60, new_start - 3600)
        ]
    );

    // Due, they reach both people with the session's current time.
    support::wait_jobs_drained(&w.db()).await;
    due_now(&w.db(), &id).await;
    wait_reminders_run(&w.db(), &id).await;
    let reminders = |user: u64| -> Vec<String> {
        w.fake
            .dms(user)
            .iter()
            .map(Message::text)
            .filter(|t| t.starts_with("⏰"))
            .collect()
    };
    let (to_mentor, to_mentee) = (reminders(w.mentor.id), reminders(w.mentee.id));
    assert_eq!(
        (to_mentor.len(), to_mentee.len()),
        (1, 2),
        "{to_mentor:#?} {to_mentee:#?}"
    );
    for text in to_mentor.iter().chain(&to_mentee) {
        assert!(
            text.starts_with("⏰ Reminder: your session with **")
                && text.contains(&format!("<t:{new_start}:R>"))
                && text.contains(&id),
            "{text}"
        );
    }
    assert!(to_mentor[0].contains("**mentee**"), "{}", to_mentor[0]);
    assert!(to_mentee[0].contains("**mentor**"), "{}", to_mentee[0]);
    assert!(reminders_of(&w.db(), &id).await.is_empty());

    // A cancel drops them.
    let other = w.book_first_slot(&w.mentee).await;
    let other = booking_id(&other.text());
    assert_eq!(reminders_of(&w.db(), &other).await.len(), 3);
    w.run(&w.mentor, "cancel", vec![Opt::str("booking", &other)])
        .await;
    assert!(reminders_of(&w.db(), &other).await.is_empty());

    // Off means none for upcoming sessions either.
    w.run(&w.mentee, "reminders set", vec![Opt::str("lead", "off")])
        .await;
    let third = w.book_first_slot(&w.mentee).await;
    let third = booking_id(&third.text());
    assert_eq!(
        reminders_of(&w.db(), &third)
            .await
            .iter()
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        [mentor]
    );
    let junk = w
        .run(
            &w.mentee,
            "reminders set",
            vec![Opt::str("lead", "2 weeks")],
        )
        .await;
    assert!(
        junk.text()
            .contains("`2 weeks` is not a reminder time I can read"),
        "{}",
        junk.text()
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_due_while_the_bot_was_down_is_sent_if_the_session_has_not_started_and_never_after()
 {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let waiting = booking_id(&w.book_first_slot(&w.mentee).await.text());
    let started = booking_id(&w.book_first_slot(&w.mentee).await.text());
    support::wait_jobs_drained(&w.db()).await;
    bot.stop().await;
    // While the bot is down: one session's reminders fall due; the other session starts.
    due_now(&w.db(), &waiting).await;
    due_now(&w.db(), &started).await;
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", w.db().display()))
            .await
            .unwrap();
        sqlx::query(
            "UPDATE bookings SET start_at = unixepoch() - 60, end_at = unixepoch() + 1740 WHERE id = ?",
        )
        .bind(&started)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let (mentor_dms, mentee_dms) = (w.fake.dms(w.mentor.id).len(), w.fake.dms(w.mentee.id).len());
    let bot = Bot::start(&w.fake, &w.db(), None).await;
    let late = w
        .fake
        .wait_dms(w.mentee.id, mentee_dms + 1, WAIT)
        .await
        .unwrap();
    w.fake
        .wait_dms(w.mentor.id, mentor_dms + 1, WAIT)
        .await
        .unwrap();
    wait_reminders_run(&w.db(), &waiting).await;
    wait_reminders_run(&w.db(), &started).await;
    let reminded: Vec<String> = w
        .fake
        .dms(w.mentee.id)
        .iter()
        .chain(w.fake.dms(w.mentor.id).iter())
        .map(Message::text)
        .filter(|t| t.starts_with("⏰"))
        .collect();
    assert_eq!(reminded.len(), 2, "{reminded:#?}");
    assert!(
        reminded.iter().all(|t| t.contains(&waiting)),
        "{reminded:#?}"
    );
    assert!(late.last().unwrap().text().contains(&waiting));
    // The started session's reminders are done without a DM, not failed.
    let mut conn = sqlx_connect(&w.db()).await;
    let states: Vec<String> = sqlx::query_scalar(
        "SELECT state FROM jobs WHERE booking_id = ? AND json_extract(payload, '$.notice') = 'reminder'",
    )
    .bind(&started)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(states, ["done", "done"]);
    w.finish(bot).await;
}
