//! Who may touch a booking: only its mentor and its mentee. Every command and component that
//! reaches a booking is tried by three outsiders (someone with no bookings, another mentee of
//! the same mentor, another mentor), who must be told the booking does not exist, never see
//! it listed or offered, and change nothing; then the mentor and the mentee do the same
//! things and succeed, so the refusals are not just a broken feature.

use std::path::PathBuf;

use serde_json::Value;
use testkit::{FakeDiscord, FakeUser, Message, Opt, Place};

mod support;
use support::{Bot, Expected, booking_id, dump};

const NOT_FOUND: &str = "No booking with that id among your sessions";
/// `/bookings role:` choices as Discord sends them (poise registers their index).
const ROLE_MENTOR: i64 = 0;
const ROLE_MENTEE: i64 = 1;

struct World {
    fake: FakeDiscord,
    dir: tempfile::TempDir,
    mentor: FakeUser,
    mentee: FakeUser,
    /// No schedule, no bookings.
    stranger: FakeUser,
    /// Holds a booking with the same mentor (`theirs`) and one with `other_mentor`.
    co_mentee: FakeUser,
    /// A mentor too, of `co_mentee`'s second booking (`elsewhere`).
    other_mentor: FakeUser,
    /// The mentee's booking with the mentor: the one outsiders go after.
    target: String,
    /// The co-mentee's booking with the mentor.
    theirs: String,
    /// The co-mentee's booking with the other mentor.
    elsewhere: String,
    /// The mentee's reschedule picker of `target`, a slot chosen (its Confirm is real).
    moving: Option<Message>,
}

/// What an outsider tries.
enum Try {
    Slash(&'static str, Vec<Opt>),
    /// Autocomplete of `path`'s `focused` option.
    Complete(&'static str, Vec<Opt>, &'static str),
    /// A click with this `custom_id` from the outsider's own picker.
    Forge(String),
}

/// What an outsider gets back.
enum Got {
    Reply(Message),
    Choices(Vec<(String, Value)>),
}

impl World {
    fn db(&self) -> PathBuf {
        self.dir.path().join("bot.db")
    }

    fn moving(&self) -> &Message {
        self.moving.as_ref().expect("set up")
    }

    fn outsiders(&self) -> [&FakeUser; 3] {
        [&self.stranger, &self.co_mentee, &self.other_mentor]
    }

    async fn run(&self, who: &FakeUser, path: &str, options: Vec<Opt>) -> Message {
        support::run(&self.fake, who, path, options).await
    }

    async fn complete(
        &self,
        who: &FakeUser,
        path: &str,
        options: Vec<Opt>,
        focused: &str,
    ) -> Vec<(String, Value)> {
        self.fake
            .autocomplete(who, Place::Guild, path, options, focused)
            .await
            .unwrap_or_else(|e| panic!("/{path} {focused}: {e}"))
    }

    /// The mentor's picker as `who` opens it.
    async fn picker(&self, who: &FakeUser, mentor: &FakeUser) -> Message {
        let picker = self
            .run(who, "book", vec![Opt::user("mentor", mentor)])
            .await;
        assert!(picker.button_id("Next day").is_some(), "{}", picker.text());
        picker
    }

    /// Books the `index`-th slot of `mentor`'s picker for `who`; returns the booking id.
    async fn book(&self, who: &FakeUser, mentor: &FakeUser, index: usize) -> String {
        let picker = self.picker(who, mentor).await;
        let (chosen, _) = support::choose(&self.fake, who, &picker, index).await;
        let done = support::confirm(&self.fake, who, &chosen).await;
        assert!(done.text().contains("Booked"), "{}", done.text());
        booking_id(&done.text())
    }

    /// Waits until the job worker has nothing queued, so the database holds still.
    async fn quiet(&self) {
        support::wait_jobs_drained(&self.db()).await;
    }

    async fn new() -> (World, Bot) {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let bot = Bot::start(&fake, &dir.path().join("bot.db"), None).await;
        let mut w = World {
            mentor: fake.user("mentor"),
            mentee: fake.user("mentee"),
            stranger: fake.user("stranger"),
            co_mentee: fake.user("co-mentee"),
            other_mentor: fake.user("other-mentor"),
            fake,
            dir,
            target: String::new(),
            theirs: String::new(),
            elsewhere: String::new(),
            moving: None,
        };
        for mentor in [&w.mentor, &w.other_mentor] {
            support::open_mentor(&w.fake, mentor).await;
        }
        w.target = w.book(&w.mentee, &w.mentor, 0).await;
        w.theirs = w.book(&w.co_mentee, &w.mentor, 0).await;
        // Hours later than `theirs`, so the co-mentee is free then.
        w.elsewhere = w.book(&w.co_mentee, &w.other_mentor, 4).await;
        let moving = w
            .run(
                &w.mentee,
                "reschedule",
                vec![Opt::str("booking", &w.target)],
            )
            .await;
        assert!(
            moving
                .text()
                .contains(&format!("Move booking {}", w.target)),
            "{}",
            moving.text()
        );
        let (chosen, _) = support::choose(&w.fake, &w.mentee, &moving, 2).await;
        w.moving = Some(chosen);
        w.quiet().await;
        (w, bot)
    }

    /// `who` tries `attempt`; a forged click goes from a fresh picker of the mentor's that
    /// `who` opens (which writes nothing once their names are known).
    async fn attempt(&self, who: &FakeUser, attempt: &Try) -> Got {
        match attempt {
            Try::Slash(path, options) => Got::Reply(self.run(who, path, options.clone()).await),
            Try::Complete(path, options, focused) => {
                Got::Choices(self.complete(who, path, options.clone(), focused).await)
            }
            Try::Forge(custom_id) => {
                let picker = self.picker(who, &self.mentor).await;
                let reply = self
                    .fake
                    .click_forged(who, &picker, custom_id)
                    .await
                    .settled()
                    .await
                    .unwrap_or_else(|e| panic!("{custom_id}: {e}"));
                Got::Reply(reply)
            }
        }
    }

    /// Every outsider tries every attempt: refusals must say `NOT_FOUND`, listings must not
    /// show the target, and nothing may change.
    async fn outsiders_fail(&self, attempts: &[(String, Try, Expect)]) -> usize {
        // Opening a picker remembers names: once, before the snapshot.
        for who in self.outsiders() {
            self.picker(who, &self.mentor).await;
        }
        support::wait_names_stored(&self.db(), &self.outsiders()).await;
        self.quiet().await;
        let before = dump(&self.db()).await;
        let mut tried = 0;
        for who in self.outsiders() {
            for (name, attempt, expect) in attempts {
                let what = format!("{} {name}", who.name);
                let got = self.attempt(who, attempt).await;
                self.judge(&what, &got, *expect);
                assert_eq!(
                    dump(&self.db()).await,
                    before,
                    "{what}: the database changed"
                );
                tried += 1;
            }
        }
        tried
    }

    fn judge(&self, what: &str, got: &Got, expect: Expect) {
        match got {
            Got::Reply(reply) => {
                let text = reply.text();
                assert!(reply.ephemeral, "{what}: not ephemeral: {text}");
                assert!(!text.contains(&self.target), "{what}: shows it: {text}");
                for leak in ["Something went wrong", "Error", "panicked"] {
                    assert!(!text.contains(leak), "{what}: {text}");
                }
                match expect {
                    Expect::NotFound => {
                        assert!(text.contains(NOT_FOUND), "{what}: {text}");
                    }
                    Expect::Listing => {
                        assert!(text.contains("sessions"), "{what}: {text}");
                    }
                    Expect::Offers => panic!("{what}: a reply, not choices: {text}"),
                }
            }
            Got::Choices(choices) => {
                assert!(matches!(expect, Expect::Offers), "{what}: {choices:?}");
                assert!(
                    choices
                        .iter()
                        .all(|(name, value)| !name.contains(&self.target)
                            && value.as_str() != Some(self.target.as_str())),
                    "{what}: offers it: {choices:?}"
                );
            }
        }
    }

    async fn finish(&self, bot: Bot) {
        self.finish_expecting(bot, Expected::default()).await;
    }

    /// [`support::finish`] letting through the refusals this test provokes on purpose.
    async fn finish_expecting(&self, bot: Bot, expected: Expected) {
        support::finish(&self.fake, None, bot, &expected).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// "No booking with that id among your sessions."
    NotFound,
    /// A `/bookings` page of one's own sessions.
    Listing,
    /// Autocomplete choices.
    Offers,
}

fn tr(name: &str, attempt: Try, expect: Expect) -> (String, Try, Expect) {
    (name.to_owned(), attempt, expect)
}

/// The ids of the picker components that carry `m<ID>` in `message`.
fn moving_ids(message: &Message, id: &str) -> Vec<String> {
    let mut ids: Vec<String> = message
        .buttons()
        .into_iter()
        .map(|(_, custom_id, _)| custom_id)
        .chain(message.selects())
        .filter(|custom_id| custom_id.contains(&format!(":m{id}")))
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_cannot_cancel_move_list_or_be_offered_a_booking_that_is_not_theirs() {
    let (w, bot) = World::new().await;
    let t = w.target.as_str();
    let m = w.mentor.id;
    let confirm = w.moving().button_id("Confirm").expect("a Confirm");
    assert!(confirm.ends_with(&format!(":m{t}")), "{confirm}");
    let start: i64 = confirm.split(':').nth(3).unwrap().parse().unwrap();
    let respelled = format!("#{}-{}", t[..3].to_lowercase(), &t[3..]);
    let cancel = |id: &str| Try::Slash("cancel", vec![Opt::str("booking", id)]);
    let bookings = |options: Vec<Opt>| Try::Slash("bookings", options);
    let typed = |path, text: &str| Try::Complete(path, vec![Opt::str("booking", text)], "booking");
    let forge = |id: &str| Try::Forge(id.to_owned());
    use Expect::{Listing, NotFound, Offers};
    let attempts = vec![
        tr("cancels it", cancel(t), NotFound),
        tr("cancels it, respelled", cancel(&respelled), NotFound),
        tr(
            "cancels it with a reason",
            Try::Slash(
                "cancel",
                vec![Opt::str("booking", t), Opt::str("reason", "mine now")],
            ),
            NotFound,
        ),
        tr(
            "moves it",
            Try::Slash("reschedule", vec![Opt::str("booking", t)]),
            NotFound,
        ),
        tr("lists their sessions", bookings(vec![]), Listing),
        tr(
            "lists their sessions as mentor",
            bookings(vec![Opt::int("role", ROLE_MENTOR)]),
            Listing,
        ),
        tr(
            "lists their sessions as mentee",
            bookings(vec![Opt::int("role", ROLE_MENTEE)]),
            Listing,
        ),
        tr(
            "lists their past sessions",
            bookings(vec![Opt::bool("past", true)]),
            Listing,
        ),
        tr("is offered cancels", typed("cancel", ""), Offers),
        tr("types its id into cancel", typed("cancel", t), Offers),
        tr(
            "types the mentee's name into cancel",
            typed("cancel", "mentee"),
            Offers,
        ),
        tr("is offered moves", typed("reschedule", ""), Offers),
        tr(
            "types its id into reschedule",
            typed("reschedule", t),
            Offers,
        ),
        tr("pages bookings", forge("bk:b:0:0"), Listing),
        tr("pages bookings as mentor", forge("bk:r:0:0"), Listing),
        tr("pages bookings as mentee", forge("bk:e:0:0"), Listing),
        tr("pages past bookings", forge("bk:b:1:0"), Listing),
        tr("pages far", forge("bk:b:0:99"), Listing),
        tr("presses the mentee's Confirm", forge(&confirm), NotFound),
        tr(
            "confirms another time for it",
            forge(&format!("pk:c:{m}:{}:m{t}", start + 1800)),
            NotFound,
        ),
        tr(
            "confirms it lowercased in the id",
            forge(&format!("pk:c:{m}:{start}:m{}", t.to_lowercase())),
            NotFound,
        ),
        tr(
            "confirms it with another mentor in the id",
            forge(&format!("pk:c:{}:{start}:m{t}", w.other_mentor.id)),
            NotFound,
        ),
    ];
    let tried = w.outsiders_fail(&attempts).await;
    assert_eq!(tried, 3 * attempts.len());

    // Outsiders see their own bookings, so the emptiness above is not a broken listing.
    let listed = w.run(&w.co_mentee, "bookings", vec![]).await;
    for id in [&w.theirs, &w.elsewhere] {
        assert!(listed.text().contains(id.as_str()), "{}", listed.text());
    }
    let offered = w
        .complete(
            &w.other_mentor,
            "cancel",
            vec![Opt::str("booking", "")],
            "booking",
        )
        .await;
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert_eq!(offered[0].1.as_str(), Some(w.elsewhere.as_str()));
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_cannot_open_the_move_picker_of_a_booking_that_is_not_theirs() {
    let (w, bot) = World::new().await;
    let t = w.target.clone();
    // The mentee's own move picker's day buttons, and a page of that day, sent by others.
    let mut attempts: Vec<(String, Try, Expect)> = moving_ids(w.moving(), &t)
        .into_iter()
        .filter(|id| id.starts_with("pk:d:"))
        .map(|id| (format!("opens {id}"), Try::Forge(id), Expect::NotFound))
        .collect();
    assert!(!attempts.is_empty(), "{:?}", w.moving().buttons());
    let select = w.moving().selects()[0].clone();
    let day = select.split(':').nth(3).unwrap().to_owned();
    attempts.push(tr(
        "opens page 0 of its day",
        Try::Forge(format!("pk:p:{}:{day}:m{t}:0", w.mentor.id)),
        Expect::NotFound,
    ));
    w.outsiders_fail(&attempts).await;
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mentor_and_the_mentee_can_list_move_and_cancel_their_booking() {
    let (w, bot) = World::new().await;
    let t = w.target.clone();
    // Both are offered it, in both autocompletes, and see it in /bookings.
    for who in [&w.mentor, &w.mentee] {
        for path in ["cancel", "reschedule"] {
            let offered = w
                .complete(who, path, vec![Opt::str("booking", "")], "booking")
                .await;
            assert!(
                offered.iter().any(|(_, v)| v.as_str() == Some(t.as_str())),
                "{} /{path}: {offered:?}",
                who.name
            );
        }
        let listed = w.run(who, "bookings", vec![]).await;
        assert!(listed.text().contains(&t), "{}", listed.text());
    }
    let as_mentor = w
        .run(&w.mentor, "bookings", vec![Opt::int("role", ROLE_MENTOR)])
        .await;
    assert!(as_mentor.text().contains(&t), "{}", as_mentor.text());
    let as_mentee = w
        .run(&w.mentor, "bookings", vec![Opt::int("role", ROLE_MENTEE)])
        .await;
    assert!(!as_mentee.text().contains(&t), "{}", as_mentee.text());

    // The mentee walks their move picker a day on and back, and confirms.
    let next = w.moving().button_id("Next day").expect("next day");
    assert!(next.ends_with(&format!(":m{t}")), "{next}");
    let tomorrow = w
        .fake
        .click(&w.mentee, w.moving(), &next)
        .await
        .settled()
        .await
        .unwrap();
    assert!(
        tomorrow.text().contains(&format!("Move booking {t}")),
        "{}",
        tomorrow.text()
    );
    let back = tomorrow.button_id("Previous day").expect("previous day");
    let today = w
        .fake
        .click(&w.mentee, &tomorrow, &back)
        .await
        .settled()
        .await
        .unwrap();
    let (chosen, _) = support::choose(&w.fake, &w.mentee, &today, 3).await;
    let moved = support::confirm(&w.fake, &w.mentee, &chosen).await;
    assert!(
        moved.text().contains("Moved") && moved.text().contains(&t),
        "{}",
        moved.text()
    );

    // The mentor moves it too, from their own /reschedule.
    let picker = w
        .run(&w.mentor, "reschedule", vec![Opt::str("booking", &t)])
        .await;
    assert!(
        picker.text().contains(&format!("Move booking {t}")),
        "{}",
        picker.text()
    );
    let (chosen, _) = support::choose(&w.fake, &w.mentor, &picker, 5).await;
    let moved = support::confirm(&w.fake, &w.mentor, &chosen).await;
    assert!(
        moved.text().contains("Moved") && moved.text().contains(&t),
        "{}",
        moved.text()
    );

    // A Confirm copied from the mentee's picker still does nothing for an outsider.
    let stranger_picker = w.picker(&w.stranger, &w.mentor).await;
    let copied = w.moving().button_id("Confirm").unwrap();
    let refused = w
        .fake
        .click_forged(&w.stranger, &stranger_picker, &copied)
        .await
        .settled()
        .await
        .unwrap();
    assert!(refused.text().contains(NOT_FOUND), "{}", refused.text());

    // The mentor cancels it; the co-mentee cancels their own as the mentee.
    let cancelled = w
        .run(
            &w.mentor,
            "cancel",
            vec![Opt::str("booking", &t), Opt::str("reason", "clash")],
        )
        .await;
    assert!(
        cancelled.text().contains("Cancelled"),
        "{}",
        cancelled.text()
    );
    let theirs = w
        .run(&w.co_mentee, "cancel", vec![Opt::str("booking", &w.theirs)])
        .await;
    assert!(theirs.text().contains("Cancelled"), "{}", theirs.text());

    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_book_confirm_copied_from_someone_elses_picker_books_for_whoever_clicks_it() {
    let (w, bot) = World::new().await;
    let picker = w.picker(&w.mentee, &w.mentor).await;
    let (chosen, _) = support::choose(&w.fake, &w.mentee, &picker, 4).await;
    let confirm = chosen.button_id("Confirm").unwrap();
    assert!(confirm.ends_with(":b"), "{confirm}");
    let own = w.picker(&w.stranger, &w.mentor).await;
    let booked = w
        .fake
        .click_forged(&w.stranger, &own, &confirm)
        .await
        .settled()
        .await
        .unwrap();
    assert!(booked.text().contains("Booked"), "{}", booked.text());
    let id = booking_id(&booked.text());
    let strangers = w.run(&w.stranger, "bookings", vec![]).await;
    assert!(strangers.text().contains(&id), "{}", strangers.text());
    let mentees = w.run(&w.mentee, "bookings", vec![]).await;
    assert!(!mentees.text().contains(&id), "{}", mentees.text());
    // The picker's owner now finds the time taken, not booked for them twice.
    let late = support::confirm(&w.fake, &w.mentee, &chosen).await;
    assert!(late.text().contains("just taken"), "{}", late.text());
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_booking_is_in_both_peoples_past_sessions_and_in_no_one_elses() {
    let (w, bot) = World::new().await;
    let t = w.target.clone();
    let cancelled = w
        .run(&w.mentee, "cancel", vec![Opt::str("booking", &t)])
        .await;
    assert!(
        cancelled.text().contains("Cancelled"),
        "{}",
        cancelled.text()
    );
    // Cancelled, it shows in both people's past sessions and in no outsider's.
    for who in [&w.mentor, &w.mentee] {
        let past = w.run(who, "bookings", vec![Opt::bool("past", true)]).await;
        assert!(
            past.text().contains(&t) && past.text().contains("cancelled"),
            "{}",
            past.text()
        );
    }
    for who in w.outsiders() {
        let past = w.run(who, "bookings", vec![Opt::bool("past", true)]).await;
        assert!(!past.text().contains(&t), "{}", past.text());
    }
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_delete_button_copied_from_someone_else_deletes_only_the_clickers_data() {
    let (w, bot) = World::new().await;
    let asked = w.run(&w.mentee, "privacy delete", vec![]).await;
    let delete = asked.button_id("Delete my data").unwrap();
    // The co-mentee sends the mentee's button id from a message of their own.
    let own = w.picker(&w.co_mentee, &w.mentor).await;
    let done = w
        .fake
        .click_forged(&w.co_mentee, &own, &delete)
        .await
        .settled()
        .await
        .unwrap();
    assert!(done.text().starts_with("Done"), "{}", done.text());
    // The mentee's booking is untouched; the co-mentee's own sessions are gone.
    let mentees = w.run(&w.mentee, "bookings", vec![]).await;
    assert!(mentees.text().contains(&w.target), "{}", mentees.text());
    let mentors = w.run(&w.mentor, "bookings", vec![]).await;
    assert!(mentors.text().contains(&w.target), "{}", mentors.text());
    assert!(!mentors.text().contains(&w.theirs), "{}", mentors.text());
    let others = w.run(&w.other_mentor, "bookings", vec![]).await;
    assert!(!others.text().contains(&w.elsewhere), "{}", others.text());
    w.finish(bot).await;
}
