//! Google Calendar end to end: the real bot against the fake Discord and the fake Google on
//! 127.0.0.1 — connecting through the bot's own OAuth pages, events with Meet links that
//! follow bookings, faults, restarts, revoked grants and busy times.

use std::time::Duration;

use chrono::{DateTime, Utc};
use testkit::browser::{Browser, Page, answer_in_dm, confirm_in_dm};
use testkit::{
    Consent, FakeDiscord, FakeEvent, FakeGoogle, FakeUser, Fault, Message, Opt, Place, Route,
};

mod support;
use support::{Bot, BotProcess, Expected, WAIT, booking_id, sqlx_connect};

const EMAIL: &str = FakeGoogle::DEFAULT_EMAIL;

struct World {
    fake: FakeDiscord,
    google: FakeGoogle,
    dir: tempfile::TempDir,
    mentor: FakeUser,
    mentee: FakeUser,
    browser: Browser,
}

impl World {
    async fn new() -> (World, Bot) {
        let fake = FakeDiscord::start().await;
        let google = FakeGoogle::start().await;
        let dir = tempfile::tempdir().unwrap();
        let mentor = fake.user("mentor");
        let mentee = fake.user("mentee");
        let bot = Bot::start(&fake, &dir.path().join("bot.db"), Some(&google)).await;
        let browser = Browser::new();
        let world = World {
            fake,
            google,
            dir,
            mentor,
            mentee,
            browser,
        };
        (world, bot)
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("bot.db")
    }

    async fn restart(&self) -> Bot {
        Bot::start(&self.fake, &self.db(), Some(&self.google)).await
    }

    async fn finish(&self, bot: Bot) {
        self.finish_expecting(bot, Expected::default()).await;
    }

    /// [`support::finish`] letting through the refusals this test provokes on purpose.
    async fn finish_expecting(&self, bot: Bot, expected: Expected) {
        support::finish(&self.fake, Some(&self.google), bot, &expected).await;
    }

    async fn run(&self, who: &FakeUser, path: &str, options: Vec<Opt>) -> Message {
        support::run(&self.fake, who, path, options).await
    }

    /// The link `/calendar connect` shows.
    async fn connect_link(&self) -> String {
        let reply = self.run(&self.mentor, "calendar connect", vec![]).await;
        assert!(reply.ephemeral);
        let url = reply
            .button_id("Connect Google Calendar")
            .unwrap_or_else(|| panic!("a link button in {}", reply.text()));
        assert!(url.len() <= 512, "link buttons hold at most 512 characters");
        url
    }

    async fn visit(&self, url: &str) -> Page {
        self.browser.get(url).await.unwrap()
    }

    /// `/calendar connect`, then the browser: the bot's start page -> Continue -> Google's
    /// consent -> the bot's callback. Returns the callback URL and the page it showed.
    async fn connect_flow(&self) -> (String, Page) {
        let link = self.connect_link().await;
        self.browser.connect(&link).await.unwrap()
    }

    /// The whole connect: the browser's part, then Confirm in the bot's DM.
    async fn connect(&self) {
        let (_, page) = self.connect_flow().await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Confirm in Discord"), "{}", page.body);
        let answered = confirm_in_dm(&self.fake, &self.mentor, WAIT).await.unwrap();
        assert!(
            answered.text().contains("Google Calendar connected"),
            "{}",
            answered.text()
        );
    }

    /// Runs a write on the database file under the bot (with one text parameter).
    async fn exec(&self, sql: &str, param: Option<&str>) {
        use sqlx::Connection;
        let mut conn =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", self.db().display()))
                .await
                .unwrap();
        let query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        let query = match param {
            Some(p) => query.bind(p.to_owned()),
            None => query,
        };
        query.execute(&mut conn).await.unwrap();
    }

    /// Moves `booking` `days` days back, as if its session had happened.
    async fn move_into_the_past(&self, booking: &str, days: i64) {
        let sql = format!(
            "UPDATE bookings SET start_at = start_at - {days} * 86400,
                 end_at = end_at - {days} * 86400 WHERE id = ?"
        );
        self.exec(&sql, Some(booking)).await;
    }

    async fn count(&self, sql: &str) -> i64 {
        let mut conn = sqlx_connect(&self.db()).await;
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }

    /// Whether any of `tokens` is in the database files (with the WAL) in plain text.
    fn stored_in_plain_text(&self, tokens: &[String]) -> bool {
        let mut bytes = std::fs::read(self.db()).unwrap();
        let mut wal = self.db().into_os_string();
        wal.push("-wal");
        bytes.extend(std::fs::read(&wal).unwrap_or_default());
        tokens.iter().any(|token| {
            bytes
                .windows(token.len())
                .any(|win| win == token.as_bytes())
        })
    }

    /// A mentor free round the clock in UTC.
    async fn open_mentor(&self) {
        support::open_mentor(&self.fake, &self.mentor).await;
    }

    async fn picker_on(&self, date: Option<&str>) -> Message {
        let mut options = vec![Opt::user("mentor", &self.mentor)];
        if let Some(date) = date {
            options.push(Opt::str("date", date));
        }
        self.run(&self.mentee, "book", options).await
    }

    /// Books the `index`-th slot of the first day with slots; returns the booking id.
    async fn book(&self, index: usize) -> String {
        let picker = self.picker_on(None).await;
        let (chosen, _) = support::choose(&self.fake, &self.mentee, &picker, index).await;
        let done = support::confirm(&self.fake, &self.mentee, &chosen).await;
        assert!(done.text().contains("Booked"), "{}", done.text());
        booking_id(&done.text())
    }

    async fn booking_text(&self, who: &FakeUser) -> String {
        self.run(who, "bookings", vec![]).await.text()
    }

    async fn wait_events(&self, what: &str, f: impl Fn(&[FakeEvent]) -> bool) {
        let ok = self.google.wait_until(WAIT, |g| f(&g.events(EMAIL))).await;
        assert!(ok, "{what}: events now {:#?}", self.google.events(EMAIL));
    }

    async fn calendar_status(&self, booking: &str) -> String {
        let db = self.db();
        let mut conn = sqlx_connect(&db).await;
        sqlx::query_scalar("SELECT calendar_status FROM bookings WHERE id = ?")
            .bind(booking)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }

    /// Fetches `url` until it answers `status` (serenity reconnects with a backoff of its own,
    /// so this waits up to a minute).
    async fn wait_page(&self, url: &str, status: u16) -> Page {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let page = self.visit(url).await;
            if page.status == status {
                return page;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{url} still answers {}: {}",
                page.status,
                page.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The Google event id the bot recorded for `booking`, if any.
    async fn event_id(&self, booking: &str) -> Option<String> {
        let mut conn = sqlx_connect(&self.db()).await;
        sqlx::query_scalar("SELECT calendar_event_id FROM bookings WHERE id = ?")
            .bind(booking)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }

    async fn wait_status(&self, booking: &str, status: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let now = self.calendar_status(booking).await;
            if now == status {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "booking {booking}: calendar status {now}, expected {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn accounts(&self) -> i64 {
        let mut conn = sqlx_connect(&self.db()).await;
        sqlx::query_scalar("SELECT count(*) FROM google_accounts")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

fn live(events: &[FakeEvent]) -> Vec<&FakeEvent> {
    events.iter().filter(|e| !e.deleted).collect()
}

/// Slot starts listed in a picker (`<t:UNIX:t>–` lines).
fn slot_starts(picker: &Message) -> Vec<DateTime<Utc>> {
    let text = picker.text();
    text.lines()
        .filter_map(|line| line.strip_prefix("• <t:"))
        .filter_map(|rest| rest.split(':').next())
        .filter_map(|secs| secs.parse::<i64>().ok())
        .filter_map(|secs| DateTime::from_timestamp(secs, 0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_stores_the_account_with_its_refresh_token_sealed_and_dms_the_mentor() {
    let (w, bot) = World::new().await;
    w.connect().await;
    let dms = w.fake.wait_dms(w.mentor.id, 1, WAIT).await.unwrap();
    assert!(
        dms[0].text().contains("Google Calendar connected"),
        "{}",
        dms[0].text()
    );
    assert!(dms[0].shown().contains(EMAIL));
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(status.shown().contains(EMAIL), "{}", status.text());
    assert_eq!(w.accounts().await, 1);
    // Neither the refresh token nor any access token is in the database files.
    let mut tokens = w.google.refresh_tokens();
    assert!(!tokens.is_empty());
    tokens.extend(w.google.access_tokens());
    assert!(
        !w.stored_in_plain_text(&tokens),
        "a token is stored in plain text"
    );
    // The token request authenticated with HTTP Basic and used PKCE (the fake checks it).
    assert!(
        w.google
            .token_requests()
            .iter()
            .any(|r| r.grant_type == "authorization_code" && r.error.is_none())
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_gets_one_event_with_a_meet_link_that_moves_and_disappears_with_it() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    let id = w.book(0).await;
    w.wait_events("one event with a Meet link", |events| {
        events.len() == 1 && events[0].meet_link.is_some()
    })
    .await;
    let event = w.google.events(EMAIL).remove(0);
    assert_eq!(event.booking_tag.as_deref(), Some(id.as_str()));
    assert_eq!(event.time_zone.as_deref(), Some("UTC"));
    let link = event.meet_link.clone().unwrap();
    w.wait_status(&id, "synced").await;
    let listed = w.booking_text(&w.mentor).await;
    assert!(listed.contains(&link), "{listed}");
    assert!(listed.contains("📅 synced"), "{listed}");
    // The mentee is told the link.
    let dms = w.fake.wait_dms(w.mentee.id, 2, WAIT).await.unwrap();
    assert!(
        dms.iter().any(|m| m.text().contains(&link)),
        "no Meet link DM"
    );

    // Reschedule to the day's second slot: the same event moves.
    let picker = w
        .run(&w.mentee, "reschedule", vec![Opt::str("booking", &id)])
        .await;
    let (chosen, _) = support::choose(&w.fake, &w.mentee, &picker, 1).await;
    let moved = support::confirm(&w.fake, &w.mentee, &chosen).await;
    assert!(moved.text().contains("Moved"), "{}", moved.text());
    let original = event.start_utc().unwrap();
    w.wait_events("the event moved", |events| {
        events.len() == 1 && events[0].start_utc().is_some_and(|s| s != original)
    })
    .await;
    w.wait_status(&id, "synced").await;

    // Cancel: the event is deleted.
    let cancelled = w
        .run(
            &w.mentor,
            "cancel",
            vec![Opt::str("booking", &id), Opt::str("reason", "ill")],
        )
        .await;
    assert!(
        cancelled.text().contains("Cancelled"),
        "{}",
        cancelled.text()
    );
    w.wait_events("the event deleted", |events| live(events).is_empty())
        .await;
    w.wait_status(&id, "cancelled").await;
    assert_eq!(w.google.count(Route::EventsInsert), 1);
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_failures_are_retried_until_one_event_exists_and_permanent_ones_are_reported() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    // Three 503s, then success: exactly one event.
    w.google.fail_next(
        Route::EventsInsert,
        vec![Fault::Status(503), Fault::Status(503), Fault::Status(503)],
    );
    let first = w.book(0).await;
    w.wait_status(&first, "synced").await;
    assert_eq!(live(&w.google.events(EMAIL)).len(), 1);
    assert_eq!(w.google.count(Route::EventsInsert), 4);

    // 429 with Retry-After: 3 s: not asked again sooner.
    w.google.fail_next(
        Route::EventsInsert,
        vec![Fault::RateLimited {
            retry_after_secs: 3,
        }],
    );
    let second = w.book(1).await;
    assert!(
        w.google
            .wait_until(WAIT, |g| g.count(Route::EventsInsert) == 5)
            .await
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        w.google.count(Route::EventsInsert),
        5,
        "retried before Retry-After"
    );
    w.wait_status(&second, "synced").await;

    // 410 on delete: already gone counts as done.
    w.google
        .fail_next(Route::EventsDelete, vec![Fault::Status(410)]);
    w.run(&w.mentee, "cancel", vec![Opt::str("booking", &second)])
        .await;
    w.wait_status(&second, "cancelled").await;

    // 400: permanent, reported by /calendar status.
    w.google
        .fail_next(Route::EventsInsert, vec![Fault::Status(400)]);
    let third = w.book(2).await;
    w.wait_status(&third, "failed").await;
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(status.text().contains(&third), "{}", status.text());
    assert!(
        status.text().contains("couldn't be synced"),
        "{}",
        status.text()
    );
    let listed = w.booking_text(&w.mentee).await;
    assert!(listed.contains("calendar failed"), "{listed}");
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_google_down_bookings_still_answer_at_once_and_events_converge_when_it_returns() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    w.google.set_down(true);
    let kept = w.book(0).await;
    let dropped = w.book(1).await;
    w.run(&w.mentee, "cancel", vec![Opt::str("booking", &dropped)])
        .await;
    // The picker still works, saying the calendar could not be checked.
    let picker = w.picker_on(None).await;
    assert!(!picker.selects().is_empty());
    assert!(
        picker.text().contains("couldn't be checked"),
        "{}",
        picker.text()
    );
    assert_eq!(w.calendar_status(&kept).await, "pending");
    let listed = w.booking_text(&w.mentor).await;
    assert!(listed.contains("⏳ calendar pending"), "{listed}");
    assert!(live(&w.google.events(EMAIL)).is_empty());
    w.google.set_down(false);
    w.wait_status(&kept, "synced").await;
    w.wait_status(&dropped, "cancelled").await;
    let events = w.google.events(EMAIL);
    let live_events = live(&events);
    assert_eq!(live_events.len(), 1, "{events:#?}");
    assert_eq!(live_events[0].booking_tag.as_deref(), Some(kept.as_str()));
    w.finish_expecting(
        bot,
        Expected {
            // The cancelled booking's event was never created: its delete finds nothing.
            google: vec![(Route::EventsDelete, 404)],
            ..Expected::default()
        },
    )
    .await;
}

/// Stops `bot`, runs the bot as its own process, books, and SIGKILLs the process while
/// Google has created the event but not yet answered; checks that the kill landed there
/// (Google has the event, its answer is pending, the bot recorded nothing). The booking id.
async fn kill_mid_create(w: &World, bot: Bot) -> String {
    bot.stop().await;
    let process = BotProcess::start(&w.fake, &w.db(), Some(&w.google)).await;
    w.google.fail_next(
        Route::EventsInsert,
        vec![Fault::DelayAfter(Duration::from_secs(60))],
    );
    let id = w.book(0).await;
    w.wait_events("the event created", |events| events.len() == 1)
        .await;
    let inserts: Vec<u16> = w.google.statuses(Route::EventsInsert);
    assert_eq!(inserts, [0], "one create, still unanswered");
    assert_eq!(w.calendar_status(&id).await, "pending");
    assert_eq!(w.event_id(&id).await, None);
    process.kill();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_killed_while_creating_an_event_leaves_exactly_one_event_after_restart() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    let id = kill_mid_create(&w, bot).await;
    let bot = w.restart().await;
    w.wait_status(&id, "synced").await;
    let events = w.google.events(EMAIL);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert!(events[0].meet_link.is_some());
    assert_eq!(
        w.event_id(&id).await.as_deref(),
        Some(events[0].id.as_str())
    );
    let statuses: Vec<u16> = w.google.statuses(Route::EventsInsert);
    assert_eq!(
        statuses[1..],
        [409],
        "the restarted bot's create found the event: {statuses:?}"
    );
    w.finish_expecting(
        bot,
        Expected {
            google: vec![(Route::EventsInsert, 409)],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_mentor_deleted_before_a_restart_is_read_as_cancelled_and_not_recreated() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    let id = kill_mid_create(&w, bot).await;
    // While the bot is down, the mentor deletes the event in Google Calendar.
    let event = w.google.events(EMAIL)[0].id.clone();
    w.google.delete_event_directly(EMAIL, &event);
    let bot = w.restart().await;
    w.wait_status(&id, "failed").await;
    // The restarted create met the id (409), read the event back (200, cancelled), and
    // left it deleted.
    let answers: Vec<(Route, u16)> = w
        .google
        .requests()
        .iter()
        .filter(|r| matches!(r.route, Route::EventsInsert | Route::EventsGet))
        .map(|r| (r.route, r.status))
        .collect();
    assert_eq!(
        answers[1..],
        [(Route::EventsInsert, 409), (Route::EventsGet, 200)]
    );
    assert!(live(&w.google.events(EMAIL)).is_empty());
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(
        status.text().contains(&format!("Booking `{id}`"))
            && status.text().contains("deleted from Google Calendar"),
        "{}",
        status.text()
    );
    w.finish_expecting(
        bot,
        Expected {
            google: vec![(Route::EventsInsert, 409)],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_booking_whose_event_the_mentor_deleted_counts_the_410_as_done() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    let id = w.book(0).await;
    w.wait_status(&id, "synced").await;
    let event = w.event_id(&id).await.unwrap();
    w.google.delete_event_directly(EMAIL, &event);
    w.run(&w.mentee, "cancel", vec![Opt::str("booking", &id)])
        .await;
    w.wait_status(&id, "cancelled").await;
    let deletes: Vec<u16> = w.google.statuses(Route::EventsDelete);
    assert_eq!(deletes, [410], "one delete, answered 'already deleted'");
    w.finish_expecting(
        bot,
        Expected {
            google: vec![(Route::EventsDelete, 410)],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_expired_and_replayed_states_denied_consent_and_failed_exchanges_store_nothing() {
    let (w, bot) = World::new().await;
    // An unknown state.
    let page = w
        .visit(&format!(
            "{}/oauth/google/callback?state=forged&code=abc",
            bot.http_base
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("expired or was already used"),
        "{}",
        page.body
    );
    let page = w
        .visit(&format!(
            "{}/oauth/google/start?state=forged",
            bot.http_base
        ))
        .await;
    assert_eq!(page.status, 400);

    // Denied consent.
    w.google.set_consent(Consent::Deny);
    let (_, page) = w.connect_flow().await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("didn't allow"), "{}", page.body);

    // Calendar events unticked (granular consent).
    w.google.set_consent(Consent::grant_only(
        EMAIL,
        &[
            "openid",
            "email",
            "https://www.googleapis.com/auth/calendar.freebusy",
        ],
    ));
    let (_, page) = w.connect_flow().await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("calendar events"), "{}", page.body);

    // The token endpoint fails.
    w.google.set_consent(Consent::grant(EMAIL));
    w.google.fail_next(Route::Token, vec![Fault::Status(500)]);
    let (_, page) = w.connect_flow().await;
    assert_eq!(page.status, 502);
    assert!(page.body.contains("couldn't complete"), "{}", page.body);

    // An expired link (older than ten minutes).
    let link = w.connect_link().await;
    w.exec(
        "UPDATE oauth_states SET expires_at = expires_at - 601",
        None,
    )
    .await;
    let page = w.visit(&link).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(w.accounts().await, 0);
    assert_eq!(w.count("SELECT count(*) FROM pending_grants").await, 0);

    // A good flow, then its callback replayed with the browser's cookie as it was: the
    // state is used up.
    let link = w.connect_link().await;
    let (_, next) = w.browser.open_and_continue(&link).await.unwrap();
    let consent = next.location.unwrap();
    let cookie = w.browser.cookie(&link, "mentorbot_connect").unwrap();
    let callback = w.visit(&consent).await.location.unwrap();
    let page = w.visit(&callback).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let dropped = page
        .set_cookies
        .iter()
        .any(|c| c.starts_with("mentorbot_connect=;"));
    assert!(
        dropped,
        "the callback drops the cookie: {:?}",
        page.set_cookies
    );
    w.browser.set_cookie(&link, "mentorbot_connect", &cookie);
    let replay = w.visit(&callback).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    assert_eq!(w.count("SELECT count(*) FROM pending_grants").await, 1);
    assert_eq!(w.accounts().await, 0, "nothing is connected before Confirm");
    confirm_in_dm(&w.fake, &w.mentor, WAIT).await.unwrap();
    assert_eq!(w.accounts().await, 1);
    assert_eq!(w.count("SELECT count(*) FROM pending_grants").await, 0);
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_grant_disconnects_the_mentor_with_a_dm_and_bookings_carry_on() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    w.fake.wait_dms(w.mentor.id, 1, WAIT).await.unwrap();
    w.google.revoke_all(EMAIL);
    w.google.expire_access_tokens();
    let id = w.book(0).await;
    w.wait_status(&id, "not_connected").await;
    let dms = w.fake.wait_dms(w.mentor.id, 3, WAIT).await.unwrap();
    assert!(
        dms.iter().any(|m| m.text().contains("/calendar connect")),
        "no reconnect DM"
    );
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(
        status.shown().contains(&format!(
            "Google revoked mentorbot's access to **{EMAIL}**."
        )),
        "{}",
        status.text()
    );
    // Bookings still work.
    let another = w.book(1).await;
    assert_eq!(w.calendar_status(&another).await, "not_connected");
    let listed = w.booking_text(&w.mentor).await;
    assert!(listed.contains("calendar not connected"), "{listed}");
    // Reconnecting queues a sync of every upcoming booking.
    w.connect().await;
    w.wait_status(&id, "synced").await;
    w.wait_status(&another, "synced").await;
    assert_eq!(live(&w.google.events(EMAIL)).len(), 2);
    w.finish_expecting(
        bot,
        Expected {
            // The revoked refresh token: invalid_grant.
            google: vec![(Route::Token, 400)],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_busy_times_remove_the_overlapping_slots_from_the_picker() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    let day = (Utc::now() + chrono::Duration::days(2)).date_naive();
    let at = |h: u32| day.and_hms_opt(h, 0, 0).unwrap().and_utc();
    w.google.add_busy(EMAIL, at(10), at(12));
    let picker = w.picker_on(Some(&day.to_string())).await;
    let starts = slot_starts(&picker);
    assert!(starts.contains(&at(9)), "{}", picker.text());
    assert!(starts.contains(&at(12)));
    assert!(
        !starts.iter().any(|s| *s >= at(10) && *s < at(12)),
        "busy slots offered: {}",
        picker.text()
    );
    assert!(!picker.text().contains("couldn't be checked"));
    // Within five minutes the next picker uses the cached busy times.
    let asked = w.google.count(Route::FreeBusy);
    w.picker_on(Some(&day.to_string())).await;
    assert_eq!(w.google.count(Route::FreeBusy), asked, "Google asked again");
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_revokes_the_grant_and_deletes_the_stored_token() {
    let (w, bot) = World::new().await;
    w.connect().await;
    let tokens = w.google.refresh_tokens();
    let reply = w.run(&w.mentor, "calendar disconnect", vec![]).await;
    assert!(
        reply
            .text()
            .contains("Google Calendar disconnected and mentorbot's access revoked. Events already in your calendar stay there"),
        "{}",
        reply.text()
    );
    assert_eq!(w.accounts().await, 0);
    assert!(tokens.iter().all(|t| !w.google.refresh_token_valid(t)));
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(
        status.text().contains("No Google Calendar connected"),
        "{}",
        status.text()
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_the_create_is_in_flight_leaves_no_orphan_event() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    // Google creates the event but answers late; the booking is cancelled meanwhile.
    w.google.fail_next(
        Route::EventsInsert,
        vec![Fault::DelayAfter(Duration::from_secs(5))],
    );
    let id = w.book(0).await;
    w.wait_events("the event created", |events| events.len() == 1)
        .await;
    w.run(&w.mentee, "cancel", vec![Opt::str("booking", &id)])
        .await;
    let insert_statuses = || w.google.statuses(Route::EventsInsert);
    // The race happened: the cancel committed while Google still held the create's answer.
    assert_eq!(
        insert_statuses(),
        [0],
        "the create was answered before the cancel"
    );
    w.wait_status(&id, "cancelled").await;
    let events = w.google.events(EMAIL);
    assert!(live(&events).is_empty(), "orphan event left: {events:#?}");
    assert_eq!(insert_statuses(), [200], "one create, answered late");
    assert_eq!(
        w.google.count(Route::EventsDelete),
        1,
        "its event deleted once"
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_meet_link_is_read_again_until_google_has_it() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    w.google.set_meet(testkit::MeetMode::PendingFor(2));
    let id = w.book(0).await;
    w.wait_status(&id, "synced").await;
    let link = w.google.events(EMAIL)[0].meet_link.clone().expect("a link");
    assert!(w.google.count(Route::EventsGet) >= 2);
    assert!(w.booking_text(&w.mentee).await.contains(&link));
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_once_and_usage_limits_are_retried() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    let first = w.book(0).await;
    w.wait_status(&first, "synced").await;
    // The bot's cached access token stops working: one 401, a refresh, then success.
    w.google.expire_access_tokens();
    let refreshes = w
        .google
        .token_requests()
        .iter()
        .filter(|r| r.grant_type == "refresh_token")
        .count();
    w.google
        .fail_next(Route::EventsInsert, vec![Fault::UsageLimit403]);
    let second = w.book(1).await;
    w.wait_status(&second, "synced").await;
    let refreshed = w
        .google
        .token_requests()
        .iter()
        .filter(|r| r.grant_type == "refresh_token")
        .count();
    assert_eq!(refreshed, refreshes + 1, "one refresh after the 401");
    let refused: Vec<u16> = w
        .google
        .statuses(Route::EventsInsert)
        .into_iter()
        .filter(|status| *status >= 400)
        .collect();
    // The injected usage limit takes the first create; its retry meets the expired token.
    assert_eq!(refused, [403, 401], "the usage limit, then one 401");
    assert_eq!(live(&w.google.events(EMAIL)).len(), 2);
    w.finish_expecting(
        bot,
        Expected {
            // The expired access token, once.
            google: vec![(Route::EventsInsert, 401)],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pkce_verifier_and_the_refresh_token_never_reach_the_database_files_in_plain_text() {
    let (w, bot) = World::new().await;
    w.connect().await;
    let exchange = w
        .google
        .requests()
        .into_iter()
        .find(|r| r.route == Route::Token && r.body.contains("grant_type=authorization_code"))
        .expect("the code exchange");
    let verifier = exchange
        .body
        .split('&')
        .find_map(|pair| pair.strip_prefix("code_verifier="))
        .expect("a code_verifier")
        .to_owned();
    assert!(verifier.len() >= 43, "{verifier}");
    let refresh = w.google.refresh_tokens();
    assert_eq!(refresh.len(), 1);
    // The database, its WAL and its shared memory, as they are on disk (a deleted row's
    // bytes can linger in either file, so the consumed OAuth state counts too).
    let mut seen = 0;
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", w.db().display());
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        seen += 1;
        for secret in [verifier.as_str(), refresh[0].as_str()] {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{path} holds a secret in plain text"
            );
        }
    }
    assert!(seen >= 2, "the database and its WAL were read");
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_never_calls_google_even_with_nothing_cached() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    // A fresh bot: nothing cached, so only the picker may ask Google.
    bot.stop().await;
    let bot = w.restart().await;
    let before = w.google.requests().len();
    for _ in 0..3 {
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
        assert!(!days.is_empty(), "days offered from the database alone");
    }
    let after = w.google.requests();
    assert!(
        after[before..].is_empty(),
        "autocomplete called Google: {:?}",
        &after[before..]
    );
    // The picker does ask.
    w.picker_on(None).await;
    assert_eq!(w.google.count(Route::FreeBusy), 1);
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_the_database_and_the_gateway_and_is_503_while_the_gateway_is_down() {
    let (w, bot) = World::new().await;
    let healthz = format!("{}/healthz", bot.http_base);
    let page = w.visit(&healthz).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body, "database: ok\ngateway: connected\n");
    w.fake.set_gateway_down(true);
    let page = w.wait_page(&healthz, 503).await;
    assert_eq!(page.body, "database: ok\ngateway: disconnected\n");
    w.fake.set_gateway_down(false);
    let page = w.wait_page(&healthz, 200).await;
    assert_eq!(page.body, "database: ok\ngateway: connected\n");
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_who_unticks_free_busy_gets_events_and_pickers_without_busy_checks() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.google.set_consent(Consent::grant_only(
        EMAIL,
        &[
            "openid",
            "email",
            "https://www.googleapis.com/auth/calendar.events",
        ],
    ));
    w.connect().await;
    let picker = w.picker_on(None).await;
    assert!(
        !picker.text().contains("couldn't be checked"),
        "{}",
        picker.text()
    );
    assert_eq!(w.google.count(Route::FreeBusy), 0);
    let id = w.book(0).await;
    w.wait_status(&id, "synced").await;
    w.finish(bot).await;
}

/// The attempts of `booking`'s calendar job so far.
async fn sync_attempts(w: &World, booking: &str) -> i64 {
    let mut conn = sqlx_connect(&w.db()).await;
    sqlx::query_scalar("SELECT attempts FROM jobs WHERE kind = 'calendar_sync' AND booking_id = ?")
        .bind(booking)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// Polls until `check` holds; a hang guard of two minutes, not a speed check.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_slower_than_the_job_deadline_for_more_than_ten_attempts_still_gets_the_event_created()
 {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    bot.stop().await;
    // Each sync must end within nine tenths of a one-second lease; Google will take 1.2 s
    // to answer each create, eleven times over.
    let mut tuning = support::fast_tuning();
    tuning.worker.lease = chrono::Duration::seconds(1);
    let bot = Bot::start_tuned(&w.fake, &w.db(), Some(&w.google), tuning).await;
    w.google.fail_next(
        Route::EventsInsert,
        vec![Fault::Delay(Duration::from_millis(1200)); 11],
    );
    let id = w.book(0).await;
    eventually("the booking synced", || async {
        w.calendar_status(&id).await == "synced"
    })
    .await;
    let inserts = w.google.statuses(Route::EventsInsert);
    assert!(inserts.len() >= 12, "{inserts:?}");
    assert!(sync_attempts(&w, &id).await >= 12);
    let all = w.google.events(EMAIL);
    let events = live(&all);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        w.event_id(&id).await.as_deref(),
        Some(events[0].id.as_str())
    );
    w.finish_expecting(
        bot,
        Expected {
            google: vec![(Route::EventsInsert, 409)],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_stalled_connections_do_not_stop_healthz_a_real_connect_or_shutdown() {
    use tokio::io::AsyncWriteExt;
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    let address = bot.http_base.trim_start_matches("http://").to_owned();
    // Each starts a request head and never finishes it.
    let mut stalled = Vec::new();
    for _ in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: mentorbot\r\nX-Slow: ")
            .await
            .unwrap();
        stalled.push(stream);
    }
    let health = w.visit(&format!("{}/healthz", bot.http_base)).await;
    assert_eq!(health.status, 200);
    w.connect().await;
    // Shutdown waits for requests in flight, not for heads that never come.
    tokio::time::timeout(Duration::from_secs(30), w.finish(bot))
        .await
        .expect("the bot stopped");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_oauth_states_and_overlong_queries_are_refused_without_touching_the_database() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    support::wait_jobs_drained(&w.db()).await;
    let before = support::dump(&w.db()).await;
    let plausible_but_unknown = "A".repeat(22);
    for (path, status) in [
        ("/oauth/google/start?state=junk".to_owned(), 400),
        ("/oauth/google/start?state='%20OR%201=1".to_owned(), 400),
        ("/oauth/google/callback?state=junk&code=x".to_owned(), 400),
        (
            format!("/oauth/google/callback?state={}&code=x", "b".repeat(4000)),
            400,
        ),
        // Without the connect cookie: refused before the database is asked.
        (
            format!("/oauth/google/callback?state={plausible_but_unknown}&code=x"),
            403,
        ),
        (
            format!("/oauth/google/start?state={}", "c".repeat(5000)),
            414,
        ),
    ] {
        let page = w.visit(&format!("{}{path}", bot.http_base)).await;
        assert_eq!(page.status, status, "{path}: {}", page.body);
    }
    assert_eq!(support::dump(&w.db()).await, before);
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_page_names_the_discord_account_and_only_the_browser_that_continued_can_finish() {
    let (w, bot) = World::new().await;
    let link = w.connect_link().await;
    let (first, other) = (Browser::new(), Browser::new());

    // Opening the page changes nothing: a link preview can fetch it, and so can anyone.
    let page = other.get(&link).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.set_cookies.is_empty(), "{:?}", page.set_cookies);
    let named = format!(
        "Discord account <strong>{}</strong> (id <code>{}</code>)",
        w.mentor.name, w.mentor.id
    );
    assert!(page.body.contains(&named), "{}", page.body);

    // A form posted from another site (or with no Origin) is refused and binds nothing.
    let state = link.split("state=").nth(1).unwrap();
    let action = format!("{}/oauth/google/start", bot.http_base);
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let refused = other
            .post_form(&action, &[("state", state)], origin)
            .await
            .unwrap();
        assert_eq!(refused.status, 403, "{origin:?}: {}", refused.body);
        assert!(refused.set_cookies.is_empty());
    }

    // The first browser to press Continue gets the cookie and goes to Google.
    let (_, next) = first.open_and_continue(&link).await.unwrap();
    assert_eq!(next.status, 303, "{}", next.body);
    let consent = next.location.clone().unwrap();
    assert!(consent.starts_with(&w.google.auth_url()), "{consent}");
    let cookie = next.set_cookies.join("\n");
    for part in [
        "mentorbot_connect=",
        "Path=/oauth/google",
        "Max-Age=600",
        "HttpOnly",
        "SameSite=Lax",
    ] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http here: {cookie}");

    // Another browser can neither open nor continue with the same link any more.
    let page = other.get(&link).await.unwrap();
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("already opened in another browser"));
    let refused = other
        .post_form(&action, &[("state", state)], Some(bot.http_base.as_str()))
        .await
        .unwrap();
    assert_eq!(refused.status, 403, "{}", refused.body);

    // The consent URL itself, opened in the other browser: Google consents, and the
    // callback refuses that browser without using the link up.
    let callback = other.get(&consent).await.unwrap().location.unwrap();
    let refused = other.get(&callback).await.unwrap();
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("didn't start it"), "{}", refused.body);
    assert_eq!(w.accounts().await, 0);
    assert_eq!(w.count("SELECT count(*) FROM pending_grants").await, 0);
    assert_eq!(w.count("SELECT count(*) FROM oauth_states").await, 1);

    // The browser that continued finishes; the grant waits for Confirm in the DM.
    let callback = first.get(&consent).await.unwrap().location.unwrap();
    let page = first.get(&callback).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!("<strong>{EMAIL}</strong>")),
        "{}",
        page.body
    );
    assert_eq!(w.accounts().await, 0, "nothing is connected before Confirm");
    let answered = confirm_in_dm(&w.fake, &w.mentor, WAIT).await.unwrap();
    assert!(
        answered.buttons().is_empty(),
        "the question's buttons are gone"
    );
    assert_eq!(w.accounts().await, 1);
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_me_or_a_lapsed_question_leaves_nothing_stored_and_the_grant_revoked_at_google() {
    let (w, bot) = World::new().await;
    let question_about = |text: String| {
        assert!(
            text.contains(EMAIL) && text.contains("Was that you?"),
            "{text}"
        );
    };

    // Not me.
    let (_, page) = w.connect_flow().await;
    assert_eq!(page.status, 200, "{}", page.body);
    let dms = w.fake.wait_dms(w.mentor.id, 1, WAIT).await.unwrap();
    question_about(dms[0].shown());
    // Someone else sending the question's Confirm id (from a message of their own, as a
    // modified client can) is refused, and the question still waits for its user.
    w.open_mentor().await;
    let confirm_id = dms[0].button_id("Confirm").unwrap();
    let theirs = w.picker_on(None).await;
    let forged = w
        .fake
        .click_forged(&w.mentee, &theirs, &confirm_id)
        .await
        .settled()
        .await
        .unwrap();
    assert!(
        forged.text().contains("expired or was already answered"),
        "{}",
        forged.text()
    );
    assert_eq!(w.accounts().await, 0);
    assert_eq!(w.count("SELECT count(*) FROM pending_grants").await, 1);
    let answered = answer_in_dm(&w.fake, &w.mentor, "Not me", WAIT)
        .await
        .unwrap();
    assert!(
        answered.text().starts_with("Not connected."),
        "{}",
        answered.text()
    );
    assert!(answered.buttons().is_empty());
    let granted = w.google.refresh_tokens();
    assert_eq!(granted.len(), 1);
    assert!(
        !w.google.refresh_token_valid(&granted[0]),
        "revoked at Google"
    );
    assert_eq!(w.accounts().await, 0);
    assert_eq!(w.count("SELECT count(*) FROM pending_grants").await, 0);
    assert_eq!(w.count("SELECT count(*) FROM oauth_states").await, 0);
    assert!(!w.stored_in_plain_text(&granted));

    // A question answered after its hour: nothing is connected, and the grant is revoked.
    let (_, page) = w.connect_flow().await;
    assert_eq!(page.status, 200, "{}", page.body);
    w.fake.wait_dms(w.mentor.id, 2, WAIT).await.unwrap();
    w.exec(
        "UPDATE pending_grants SET expires_at = expires_at - 3600",
        None,
    )
    .await;
    let answered = confirm_in_dm(&w.fake, &w.mentor, WAIT).await.unwrap();
    assert!(
        answered.text().contains("expired or was already answered"),
        "{}",
        answered.text()
    );
    assert!(answered.buttons().is_empty());
    let granted = w.google.refresh_tokens();
    assert_eq!(granted.len(), 2);
    assert!(granted.iter().all(|t| !w.google.refresh_token_valid(t)));
    assert_eq!(w.accounts().await, 0);
    assert_eq!(w.count("SELECT count(*) FROM pending_grants").await, 0);
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(
        status.text().contains("No Google Calendar connected"),
        "{}",
        status.text()
    );
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_another_google_account_puts_upcoming_sessions_into_the_new_calendar_and_revokes_the_old_grant()
 {
    const OTHER: &str = "other.account@example.com";
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    let id = w.book(0).await;
    w.wait_status(&id, "synced").await;
    let old_tokens = w.google.refresh_tokens();
    assert_eq!(live(&w.google.events(EMAIL)).len(), 1);

    w.google.set_consent(Consent::grant(OTHER));
    w.connect().await;
    let moved = w
        .google
        .wait_until(WAIT, |g| g.live_events(OTHER).len() == 1)
        .await;
    assert!(
        moved,
        "events in the new calendar: {:#?}",
        w.google.events(OTHER)
    );
    w.wait_status(&id, "synced").await;
    assert!(
        old_tokens.iter().all(|t| !w.google.refresh_token_valid(t)),
        "the replaced grant is revoked"
    );
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(status.shown().contains(OTHER), "{}", status.text());
    // The booking's event is in the new calendar and it follows a cancel there.
    w.run(&w.mentee, "cancel", vec![Opt::str("booking", &id)])
        .await;
    let gone = w
        .google
        .wait_until(WAIT, |g| g.live_events(OTHER).is_empty())
        .await;
    assert!(gone, "{:#?}", w.google.events(OTHER));
    w.finish(bot).await;
}

/// The sealed refresh token of the mentor, as stored.
async fn sealed_token(w: &World) -> Vec<u8> {
    let mut conn = sqlx_connect(&w.db()).await;
    sqlx::query_scalar("SELECT refresh_token FROM google_accounts")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_token_key_asks_the_mentor_to_reconnect_once_and_the_previous_key_restores_and_reseals_it()
 {
    let new_key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    let first = w.book(0).await;
    w.wait_status(&first, "synced").await;
    let sealed_before = sealed_token(&w).await;
    bot.stop().await;

    // The operator changes TOKEN_ENCRYPTION_KEY and forgets the old one.
    let with_key = |previous: Option<&'static str>| {
        let new_key = new_key.clone();
        move |vars: &mut std::collections::HashMap<String, String>| {
            vars.insert("TOKEN_ENCRYPTION_KEY".into(), new_key);
            if let Some(previous) = previous {
                vars.insert("TOKEN_ENCRYPTION_KEY_PREVIOUS".into(), previous.into());
            }
        }
    };
    let bot = Bot::start_google_with_env(&w.fake, &w.db(), &w.google, with_key(None)).await;
    let dms_before = w.fake.dms(w.mentor.id).len();
    let second = w.book(1).await;
    let third = w.book(2).await;
    w.wait_status(&second, "not_connected").await;
    w.wait_status(&third, "not_connected").await;
    let told = w
        .fake
        .wait_dms(w.mentor.id, dms_before + 1, WAIT)
        .await
        .unwrap();
    let unreadable: Vec<_> = told
        .iter()
        .filter(|m| m.text().contains("stored access no longer opens"))
        .collect();
    assert_eq!(unreadable.len(), 1, "told once, for two bookings");
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(
        status.text().contains("Reconnect needed"),
        "{}",
        status.text()
    );
    assert_eq!(sealed_token(&w).await, sealed_before, "the token is kept");
    bot.stop().await;

    // With the old key as TOKEN_ENCRYPTION_KEY_PREVIOUS, the token opens again: the
    // bookings that missed the calendar are synced, and the token is sealed with the new key.
    let bot = Bot::start_google_with_env(
        &w.fake,
        &w.db(),
        &w.google,
        with_key(Some(testkit::TOKEN_KEY)),
    )
    .await;
    let fourth = w.book(3).await;
    for id in [&second, &third, &fourth] {
        w.wait_status(id, "synced").await;
    }
    assert_eq!(live(&w.google.events(EMAIL)).len(), 4);
    let resealed = sealed_token(&w).await;
    assert_ne!(resealed, sealed_before);
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(
        status.text().contains("📅 Connected to"),
        "{}",
        status.text()
    );
    bot.stop().await;

    // The new key alone now opens it: the rotation is complete.
    let bot = Bot::start_google_with_env(&w.fake, &w.db(), &w.google, with_key(None)).await;
    let fifth = w.book(4).await;
    w.wait_status(&fifth, "synced").await;
    assert_eq!(sealed_token(&w).await, resealed);
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_keeps_syncs_waiting_and_says_so_until_the_operator_fixes_it() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    bot.stop().await;
    let bot = Bot::start_google_with_env(&w.fake, &w.db(), &w.google, |vars| {
        vars.insert("GOOGLE_CLIENT_SECRET".into(), "not-the-secret".into());
    })
    .await;
    let id = w.book(0).await;
    // The refresh is refused as invalid_client, more than once: the sync keeps waiting.
    let refused = w
        .google
        .wait_until(WAIT, |g| {
            g.token_requests()
                .iter()
                .filter(|r| r.error.as_deref() == Some("invalid_client"))
                .count()
                >= 2
        })
        .await;
    assert!(refused, "{:#?}", w.google.token_requests());
    assert_eq!(w.calendar_status(&id).await, "pending");
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(
        status.text().contains("invalid_client") && status.text().contains("GOOGLE_CLIENT_SECRET"),
        "{}",
        status.text()
    );
    bot.stop().await;
    let bot = w.restart().await;
    w.wait_status(&id, "synced").await;
    assert_eq!(live(&w.google.events(EMAIL)).len(), 1);
    w.finish_expecting(
        bot,
        Expected {
            google: vec![(Route::Token, 401)],
            ..Expected::default()
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_export_dms_everything_stored_and_delete_leaves_the_user_nowhere_in_the_database() {
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    let spammer = w.fake.user("spammer");
    w.run(
        &w.mentor,
        "availability block",
        vec![Opt::user("member", &spammer)],
    )
    .await;
    let later = (Utc::now() + chrono::Duration::days(20))
        .date_naive()
        .to_string();
    w.run(
        &w.mentor,
        "override add",
        vec![
            Opt::str("date", &later),
            Opt::str("note", "away at a conference"),
        ],
    )
    .await;
    let past = w.book(0).await;
    let upcoming = w.book(1).await;
    let dropped = w.book(2).await;
    // Synced first, so the cancel deletes an event that exists.
    w.wait_status(&dropped, "synced").await;
    w.run(
        &w.mentor,
        "cancel",
        vec![
            Opt::str("booking", &dropped),
            Opt::str("reason", "mentor's own words"),
        ],
    )
    .await;
    for id in [&past, &upcoming] {
        w.wait_status(id, "synced").await;
    }
    w.move_into_the_past(&past, 5).await;

    // Export: a DM with the JSON file.
    let dms_before = w.fake.dms(w.mentor.id).len();
    let reply = w.run(&w.mentor, "privacy export", vec![]).await;
    assert!(
        reply.text().contains("mentorbot-data.json"),
        "{}",
        reply.text()
    );
    let dms = w
        .fake
        .wait_dms(w.mentor.id, dms_before + 1, WAIT)
        .await
        .unwrap();
    let file = w
        .fake
        .attachment(dms.last().unwrap(), "mentorbot-data.json")
        .unwrap();
    let data: serde_json::Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(data["discord_user_id"], w.mentor.id.to_string());
    assert_eq!(data["mentor"]["timezone"], "UTC");
    assert_eq!(
        data["mentor"]["overrides"][0]["note"],
        "away at a conference"
    );
    assert_eq!(data["members_blocked"], 1);
    assert_eq!(data["google_calendar"]["google_account"], EMAIL);
    let bookings = data["bookings"].as_array().unwrap();
    assert_eq!(bookings.len(), 3, "{bookings:#?}");
    assert!(
        bookings
            .iter()
            .all(|b| b["role"] == "mentor" && b["with"] == w.mentee.name)
    );
    let reasons: Vec<_> = bookings
        .iter()
        .filter_map(|b| b["cancellation"]["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["mentor's own words"]);
    let text = String::from_utf8(file).unwrap();
    let mut tokens = w.google.refresh_tokens();
    tokens.extend(w.google.access_tokens());
    assert!(
        tokens.iter().all(|t| !text.contains(t.as_str())),
        "no token in the export"
    );
    assert!(
        !text.contains(&w.mentee.id.to_string()),
        "others appear by name only"
    );

    // Delete, after the Confirm.
    let asked = w.run(&w.mentor, "privacy delete", vec![]).await;
    assert!(asked.ephemeral);
    let button = asked.button_id("Delete my data").unwrap();
    let done = w
        .fake
        .click(&w.mentor, &asked, &button)
        .await
        .settled()
        .await
        .unwrap();
    assert!(done.text().starts_with("Done"), "{}", done.text());
    assert!(
        done.text().contains("1 upcoming session was cancelled"),
        "{}",
        done.text()
    );
    let told = w
        .fake
        .wait_dms(w.mentee.id, 1, WAIT)
        .await
        .unwrap()
        .iter()
        .any(|m| m.text().contains(&upcoming) && m.text().to_lowercase().contains("cancel"));
    assert!(
        told,
        "the mentee hears of the cancelled session: {:#?}",
        w.fake
            .dms(w.mentee.id)
            .iter()
            .map(Message::text)
            .collect::<Vec<_>>()
    );
    assert!(
        tokens.iter().all(|t| !w.google.refresh_token_valid(t)),
        "the grant is revoked"
    );
    support::wait_jobs_drained(&w.db()).await;
    let dump = support::dump(&w.db()).await;
    assert!(
        !dump.contains(&w.mentor.id.to_string()),
        "the user's id is still stored:\n{dump}"
    );
    assert!(!dump.contains("mentor's own words"));
    assert!(!dump.contains("away at a conference"));
    assert_eq!(
        w.count("SELECT count(*) FROM bookings WHERE mentor_name = 'deleted user'")
            .await,
        3
    );
    for table in [
        "mentors",
        "weekly_ranges",
        "overrides",
        "mentor_guilds",
        "blocks",
        "google_accounts",
    ] {
        let rows = w.count(&format!("SELECT count(*) FROM {table}")).await;
        assert_eq!(rows, 0, "{table}");
    }
    w.finish(bot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_still_failing_when_its_session_ends_gives_up_visibly_and_calendar_status_lists_it()
{
    let (w, bot) = World::new().await;
    w.open_mentor().await;
    w.connect().await;
    w.google.set_down(true);
    let id = w.book(0).await;
    assert_eq!(w.calendar_status(&id).await, "pending");
    // The session ends while Google is still down (moved into the past under the bot).
    w.move_into_the_past(&id, 3).await;
    w.wait_status(&id, "failed").await;
    let mut conn = sqlx_connect(&w.db()).await;
    let (error, job_state): (String, String) = sqlx::query_as(
        "SELECT b.calendar_error, j.state FROM bookings b JOIN jobs j ON j.booking_id = b.id
         WHERE b.id = ? AND j.kind = 'calendar_sync'",
    )
    .bind(&id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(error.contains("session ended"), "{error}");
    assert_eq!(
        job_state, "failed",
        "the job ended with the booking's status"
    );
    let status = w.run(&w.mentor, "calendar status", vec![]).await;
    assert!(
        status.text().contains(&format!("Booking `{id}`"))
            && status.text().contains("couldn't be synced"),
        "{}",
        status.text()
    );
    w.google.set_down(false);
    assert!(live(&w.google.events(EMAIL)).is_empty());
    w.finish(bot).await;
}
