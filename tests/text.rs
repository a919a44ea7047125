//! Text one person typed and another reads, and lists at their longest, through the real bot
//! on the fake Discord (which refuses what Discord refuses: content over 2,000 characters,
//! embed parts over their limits). What people typed must reach others as the characters
//! they typed: no masked link, heading, spoiler or mention written in the bot's voice.

use std::time::Duration;

use testkit::markdown::quotes_literally;
use testkit::{FakeDiscord, FakeUser, Message, Opt};

mod support;
use support::{Bot, Expected, booking_id};

const WAIT: Duration = Duration::from_secs(10);

/// A display name (Discord allows 32 characters) that would be a link, a ping and emphasis.
const MENTOR_NAME: &str = "[Pay](https://e.x) @here *boss*";
/// A display name that would be underlined, a mention and a spoiler.
const MENTEE_NAME: &str = "__me__ <@1> ||s|| `c` #h";
/// The reason from the issue that reproduced the phishing link.
const REASON: &str = "[Confirm your new time](https://evil.example/login) @everyone";
const NOTE: &str = "> [Reschedule here](https://evil.example) ~~x~~ <t:0:R> \\o/";

async fn run(fake: &FakeDiscord, who: &FakeUser, path: &str, options: Vec<Opt>) -> Message {
    support::run(fake, who, path, options).await
}

/// Asserts that `message` shows `typed` literally.
fn assert_literal(message: &Message, typed: &str) {
    assert!(
        quotes_literally(&message.text(), typed),
        "{typed:?} is not shown literally in:\n{}",
        message.text()
    );
}

/// A DM the bot sent that quotes people: no pings possible and no link previews.
fn assert_dm_is_inert(fake: &FakeDiscord, dm: &Message) {
    let allowed = fake.allowed_mentions(dm.id).expect("allowed_mentions set");
    assert_eq!(allowed["parse"], serde_json::json!([]), "{allowed}");
    let flags = dm.raw["flags"].as_u64().unwrap_or(0);
    assert_eq!(flags & 4, 4, "embeds not suppressed: flags {flags}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_notes_and_reasons_reach_the_other_person_as_typed_never_as_the_bots_formatting() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = Bot::start(&fake, &db, None).await;
    let mentor = fake.user(MENTOR_NAME);
    let mentee = fake.user(MENTEE_NAME);
    support::open_mentor(&fake, &mentor).await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    run(
        &fake,
        &mentor,
        "override add",
        vec![
            Opt::str("date", &tomorrow.to_string()),
            Opt::str("hours", "10:00-12:00"),
            Opt::str("note", NOTE),
        ],
    )
    .await;

    // What the mentee reads of the mentor: their name and their note.
    let shown = run(
        &fake,
        &mentee,
        "availability show",
        vec![Opt::user("mentor", &mentor)],
    )
    .await;
    assert_literal(&shown, MENTOR_NAME);
    assert_literal(&shown, NOTE);
    let listed = run(&fake, &mentee, "mentors", vec![]).await;
    assert_literal(&listed, MENTOR_NAME);
    let picker = run(&fake, &mentee, "book", vec![Opt::user("mentor", &mentor)]).await;
    assert_literal(&picker, MENTOR_NAME);

    // The mentee books: the mentor reads the mentee's name in a DM and in /bookings.
    let (chosen, _) = support::choose(&fake, &mentee, &picker, 0).await;
    let done = support::confirm(&fake, &mentee, &chosen).await;
    assert_literal(&done, MENTOR_NAME);
    let id = booking_id(&done.text());
    let booked = fake.wait_dms(mentor.id, 1, WAIT).await.unwrap();
    assert_literal(&booked[0], MENTEE_NAME);
    assert_dm_is_inert(&fake, &booked[0]);
    let confirmed = fake.wait_dms(mentee.id, 1, WAIT).await.unwrap();
    assert_literal(&confirmed[0], MENTOR_NAME);
    assert_dm_is_inert(&fake, &confirmed[0]);
    let list = run(&fake, &mentor, "bookings", vec![]).await;
    assert_literal(&list, MENTEE_NAME);

    // The mentee cancels with the phishing reason: the mentor's DM quotes it as typed.
    let cancelled = run(
        &fake,
        &mentee,
        "cancel",
        vec![Opt::str("booking", &id), Opt::str("reason", REASON)],
    )
    .await;
    assert_literal(&cancelled, MENTOR_NAME);
    let dms = fake.wait_dms(mentor.id, 2, WAIT).await.unwrap();
    let dm = &dms[1];
    assert!(dm.text().starts_with("❌ "), "{}", dm.text());
    assert_literal(dm, MENTEE_NAME);
    assert_literal(dm, REASON);
    assert_dm_is_inert(&fake, dm);
    assert!(
        dm.shown().contains(&format!("Reason: {REASON}")),
        "{}",
        dm.shown()
    );
    let past = run(&fake, &mentor, "bookings", vec![Opt::bool("past", true)]).await;
    assert_literal(&past, REASON);

    support::wait_jobs_drained(&db).await;
    support::finish(&fake, None, bot, &Expected::default()).await;
}

/// `n` one-hour-apart half-hour ranges from midnight, as typed (24 of them, as many as one
/// `hours` may hold, fit its 300 characters only without spaces) and as the bot shows them.
fn many_ranges(n: u32) -> (String, String) {
    let ranges: Vec<String> = (0..n).map(|h| format!("{h:02}:00-{h:02}:30")).collect();
    (ranges.join(","), ranges.join(", "))
}

/// The dates of `/override list` lines (`**YYYY-MM-DD** …`).
fn listed_dates(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("**").and_then(|l| l.split("**").next()))
        .filter(|d| d.len() == 10)
        .map(str::to_owned)
        .collect()
}

/// The `from:` date a cut `/override list` points to, if it was cut.
fn pointer(text: &str) -> Option<String> {
    let start = text.find("`/override list from:")? + "`/override list from:".len();
    Some(text[start..start + 10].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_schedules_and_override_lists_fit_discords_limits_and_point_to_the_rest() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bot.db");
    let bot = Bot::start(&fake, &db, None).await;
    let mentor = fake.user("mentor");
    let (typed, ranges) = many_ranges(24);

    // Seven days of 24 ranges: too long for a reply, which shows what fits and points on.
    let set = run(
        &fake,
        &mentor,
        "availability set",
        vec![
            Opt::str("days", "everyday"),
            Opt::str("hours", &typed),
            Opt::str("timezone", "UTC"),
        ],
    )
    .await;
    let text = set.text();
    assert!(text.chars().count() <= 2000);
    assert!(text.contains("You're now a mentor"), "{text}");
    assert!(text.contains("more days (`/availability show`)."), "{text}");
    assert!(text.contains("Mentees can now book you"), "{text}");

    // Forty overrides, each with every range and the longest note, all of whose characters
    // need escaping; a list shows its first 79 and `…` (158 characters as sent).
    let note = "*".repeat(200);
    let today = chrono::Utc::now().date_naive();
    let dates: Vec<String> = (1..=40)
        .map(|d| (today + chrono::Duration::days(d)).to_string())
        .collect();
    for date in &dates {
        let added = run(
            &fake,
            &mentor,
            "override add",
            vec![
                Opt::str("date", date),
                Opt::str("hours", &typed),
                Opt::str("note", &note),
            ],
        )
        .await;
        assert!(
            added.text().starts_with("Override set for"),
            "{}",
            added.text()
        );
    }

    // The whole week, and the overrides cut to a field with the count of the rest.
    let shown = run(&fake, &mentor, "availability show", vec![]).await;
    for day in ["Mon", "Sun"] {
        assert!(
            shown.text().contains(&format!("**{day}** {ranges}")),
            "{}",
            shown.text()
        );
    }
    let field = shown.embeds[0]["fields"][0]["value"].as_str().unwrap();
    assert!(field.chars().count() <= 1024);
    let first = listed_dates(field);
    assert!(
        !first.is_empty() && first[..] == dates[..first.len()],
        "{field}"
    );
    assert!(
        field.ends_with(&format!(
            "…and {} more (`/override list from:{}`).\n",
            40 - first.len(),
            dates[first.len()]
        )),
        "{field}"
    );

    // /override list, following its pointers, shows every date once, in order.
    let mut seen = Vec::new();
    let mut from: Option<String> = None;
    for _ in 0..40 {
        let options = from.iter().map(|d| Opt::str("from", d)).collect::<Vec<_>>();
        let list = run(&fake, &mentor, "override list", options).await;
        let text = list.text();
        assert!(text.chars().count() <= 2000);
        let page = listed_dates(&text);
        assert!(!page.is_empty(), "{text}");
        assert!(
            quotes_literally(&text, &format!("{}…", &note[..79])),
            "{text}"
        );
        seen.extend(page);
        from = pointer(&text);
        if from.is_none() {
            break;
        }
        assert_eq!(from.as_deref(), dates.get(seen.len()).map(String::as_str));
    }
    assert_eq!(seen, dates);

    support::finish(&fake, None, bot, &Expected::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_more_mentors_than_fit_lists_what_fits_and_counts_the_rest() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(&fake, &dir.path().join("bot.db"), None).await;
    // 30 mentors whose 32-character names all need escaping: 64 characters each as sent.
    let mentors: Vec<FakeUser> = (0..30)
        .map(|i| fake.user(&format!("{i:02}{}", "_".repeat(30))))
        .collect();
    for mentor in &mentors {
        support::open_mentor(&fake, mentor).await;
    }
    let member = fake.user("member");
    let listed = run(&fake, &member, "mentors", vec![]).await;
    let description = listed.embeds[0]["description"].as_str().unwrap();
    assert!(description.chars().count() <= 4096);
    let shown = description.lines().filter(|l| l.starts_with("• ")).count();
    assert!(shown >= 1, "{description}");
    assert!(
        description.contains(&format!(
            "…and {} more (`/book mentor:@name` books any of them).",
            30 - shown
        )),
        "{description}"
    );
    for line in description.lines().filter(|l| l.starts_with("• ")) {
        assert!(line.contains(&"\\_".repeat(30)), "{line}");
    }
    support::finish(&fake, None, bot, &Expected::default()).await;
}
