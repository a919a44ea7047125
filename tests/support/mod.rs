#![allow(dead_code)] // Shared by several suites; each uses a part.
//! Starting the real application (`app::run_tuned`, what `main` runs with default timings)
//! against the fakes on 127.0.0.1, for the end-to-end suites.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use mentorbot::app::{AppError, Tuning, run_tuned};
use mentorbot::config::Settings;
use testkit::{FakeDiscord, FakeGoogle, bot_env, free_port};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long tests wait for something the bot does in the background.
pub const WAIT: Duration = Duration::from_secs(10);

/// The bot running in this test's process (fast timings); `stop` shuts it down as SIGTERM
/// would. A crash is [`BotProcess::kill`].
pub struct Bot {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), AppError>>,
    /// Where its HTTP server listens (`http://127.0.0.1:PORT`).
    pub http_base: String,
}

/// Short backoffs and polls so retries happen within a test's patience.
pub fn fast_tuning() -> Tuning {
    let mut tuning = Tuning::default();
    tuning.worker.base_backoff = chrono::Duration::milliseconds(200);
    tuning.worker.max_backoff = chrono::Duration::seconds(2);
    tuning.worker.idle_poll = Duration::from_millis(50);
    tuning.google.meet_poll = Duration::from_millis(50);
    tuning.google.busy_timeout = Duration::from_millis(800);
    tuning
}

impl Bot {
    /// Starts the bot on `db` (Google Calendar on when `google` is given) and waits until
    /// it is connected and has registered its commands.
    pub async fn start(fake: &FakeDiscord, db: &Path, google: Option<&FakeGoogle>) -> Bot {
        Bot::start_with(fake, db, google, fast_tuning(), |_| {}).await
    }

    /// [`Bot::start`] with other timings.
    pub async fn start_tuned(
        fake: &FakeDiscord,
        db: &Path,
        google: Option<&FakeGoogle>,
        tuning: Tuning,
    ) -> Bot {
        Bot::start_with(fake, db, google, tuning, |_| {}).await
    }

    /// [`Bot::start`] with commands registered globally, as in production (no
    /// `DISCORD_GUILD_ID`), so they also exist in DMs.
    pub async fn start_global(fake: &FakeDiscord, db: &Path) -> Bot {
        Bot::start_with(fake, db, None, fast_tuning(), |vars| {
            vars.remove("DISCORD_GUILD_ID");
        })
        .await
    }

    /// [`Bot::start`] with the environment changed by `adjust` first.
    pub async fn start_with_env(
        fake: &FakeDiscord,
        db: &Path,
        adjust: impl FnOnce(&mut HashMap<String, String>),
    ) -> Bot {
        Bot::start_with(fake, db, None, fast_tuning(), adjust).await
    }

    /// [`Bot::start`] with Google and changes to its environment.
    pub async fn start_google_with_env(
        fake: &FakeDiscord,
        db: &Path,
        google: &FakeGoogle,
        adjust: impl FnOnce(&mut HashMap<String, String>),
    ) -> Bot {
        Bot::start_with(fake, db, Some(google), fast_tuning(), adjust).await
    }

    async fn start_with(
        fake: &FakeDiscord,
        db: &Path,
        google: Option<&FakeGoogle>,
        tuning: Tuning,
        adjust: impl FnOnce(&mut HashMap<String, String>),
    ) -> Bot {
        let ready_before = fake.ready_count();
        let port = free_port();
        let http_base = format!("http://127.0.0.1:{port}");
        let mut vars: HashMap<String, String> =
            bot_env(fake, google, db, port).into_iter().collect();
        adjust(&mut vars);
        let settings = Settings::from_vars(&vars).expect("settings");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_tuned(settings, tuning, async move {
            let _ = stopped.await;
        }));
        fake.wait_ready_count(ready_before + 1, WAIT)
            .await
            .expect("bot ready");
        fake.wait_commands(WAIT).await.expect("commands registered");
        Bot {
            stop,
            task,
            http_base,
        }
    }

    /// Stops the bot as SIGTERM would, and checks it ran cleanly.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("bot task").expect("bot ran cleanly");
    }
}

/// The bot as its own OS process (the shipped binary, default timings), for the tests that
/// claim what survives a crash: [`BotProcess::kill`] is a real SIGKILL, so no task gets to
/// finish what it holds and no file is closed cleanly.
pub struct BotProcess {
    child: std::process::Child,
    /// What it printed (stdout and stderr).
    pub log: std::path::PathBuf,
}

impl BotProcess {
    /// Starts the binary on `db` (Google Calendar on when `google` is given) and waits until
    /// it is connected and has registered its commands.
    pub async fn start(fake: &FakeDiscord, db: &Path, google: Option<&FakeGoogle>) -> BotProcess {
        let ready_before = fake.ready_count();
        let log = db.with_extension(format!("{ready_before}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_mentorbot"))
            .env_clear()
            .envs(bot_env(fake, google, db, free_port()))
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start the bot binary");
        let bot = BotProcess { child, log };
        if let Err(e) = fake.wait_ready_count(ready_before + 1, WAIT).await {
            panic!("bot process not ready: {e}\n{}", bot.output());
        }
        fake.wait_commands(WAIT).await.expect("commands registered");
        bot
    }

    /// SIGKILL, then checks that the signal is what ended it.
    pub fn kill(mut self) {
        use std::os::unix::process::ExitStatusExt;
        self.child.kill().expect("SIGKILL the bot");
        let status = self.child.wait().expect("reap the bot");
        assert_eq!(
            status.signal(),
            Some(9),
            "the bot ended by {status}, not SIGKILL"
        );
    }

    /// What the process has printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Refusals a test caused on purpose, which the teardown check lets through.
#[derive(Debug, Default, Clone)]
pub struct Expected {
    /// Discord refusals, by Discord's JSON error `code` (e.g. 50007, a user's closed DMs).
    pub discord_codes: Vec<u64>,
    /// Discord refusals without an error code, by HTTP status (429, an injected rate limit).
    pub discord_statuses: Vec<u16>,
    /// Google refusals the test provoked without injecting them, by route and status (e.g.
    /// 401 after the test expired every access token).
    pub google: Vec<(testkit::Route, u16)>,
}

/// Ends a bot test: every interaction was answered within Discord's 3 s, the bot stops
/// cleanly, and neither fake refused anything the test did not expect or inject, nor saw a
/// route it does not know. A refused DM or edit can't hide as log noise.
pub async fn finish(
    fake: &FakeDiscord,
    google: Option<&FakeGoogle>,
    bot: Bot,
    expected: &Expected,
) {
    fake.assert_all_answered_within(Duration::from_secs(3))
        .unwrap();
    bot.stop().await;
    assert_fakes_clean(fake, google, expected);
}

/// The teardown check of [`finish`], for tests that stop the bot their own way.
pub fn assert_fakes_clean(fake: &FakeDiscord, google: Option<&FakeGoogle>, expected: &Expected) {
    let refused: Vec<String> = fake
        .rejections()
        .into_iter()
        .filter(|r| {
            let code = r.body.get("code").and_then(|c| c.as_u64());
            let expected_code = code.is_some_and(|c| expected.discord_codes.contains(&c));
            !(expected_code || code.is_none() && expected.discord_statuses.contains(&r.status))
        })
        .map(|r| format!("{} {} -> {} {}", r.method, r.path, r.status, r.body))
        .collect();
    assert!(
        refused.is_empty(),
        "the fake Discord refused:\n{}",
        refused.join("\n")
    );
    let unknown = fake.unknown_routes();
    assert!(
        unknown.is_empty(),
        "the fake Discord does not know: {unknown:?}"
    );
    if let Some(google) = google {
        let refused: Vec<String> = google
            .requests()
            .into_iter()
            .filter(|r| r.is_unexplained_refusal())
            .filter(|r| !expected.google.contains(&(r.route, r.status)))
            .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
            .collect();
        assert!(
            refused.is_empty(),
            "the fake Google refused:\n{}",
            refused.join("\n")
        );
    }
}

/// Runs a slash command in the fake's server and waits for its settled reply.
pub async fn run(
    fake: &FakeDiscord,
    who: &testkit::FakeUser,
    path: &str,
    options: Vec<testkit::Opt>,
) -> testkit::Message {
    fake.slash(who, testkit::Place::Guild, path, options)
        .await
        .settled()
        .await
        .unwrap_or_else(|e| panic!("/{path}: {e}"))
}

/// Picks the `index`-th slot of a picker's select; returns the message with Confirm and the
/// option's value. A page with too few slots is walked on with "Next day" (at most twice):
/// late in the UTC day, today's page of a round-the-clock mentor holds only the last few
/// half-hours, and tests must not depend on the hour they run at.
pub async fn choose(
    fake: &FakeDiscord,
    who: &testkit::FakeUser,
    picker: &testkit::Message,
    index: usize,
) -> (testkit::Message, String) {
    let mut page = picker.clone();
    for _ in 0..2 {
        let enough = page
            .selects()
            .first()
            .is_some_and(|select| page.select_options(select).len() > index);
        if enough {
            break;
        }
        let next = page.button_id("Next day").expect("a Next day button");
        page = fake
            .click(who, &page, &next)
            .await
            .settled()
            .await
            .expect("next day answered");
    }
    let picker = &page;
    let select = picker.selects().first().cloned().expect("a slot select");
    let options = picker.select_options(&select);
    let (_, value) = options.get(index).cloned().expect("enough slots");
    let chosen = fake
        .select(who, picker, &select, &[&value])
        .await
        .settled()
        .await
        .expect("select answered");
    (chosen, value)
}

/// Presses Confirm on a picker with a chosen slot.
pub async fn confirm(
    fake: &FakeDiscord,
    who: &testkit::FakeUser,
    chosen: &testkit::Message,
) -> testkit::Message {
    let confirm = chosen.button_id("Confirm").expect("a Confirm button");
    fake.click(who, chosen, &confirm)
        .await
        .settled()
        .await
        .expect("confirm answered")
}

/// The first booking id (six characters in backticks) in `text`.
pub fn booking_id(text: &str) -> String {
    let start = text.find('`').expect("an id in backticks") + 1;
    text[start..start + 6].to_owned()
}

/// A read-only connection to the bot's database.
pub async fn sqlx_connect(db: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap()
}

/// Every row of every table, in a stable order: "the database is unchanged" compares two.
pub async fn dump(db: &Path) -> String {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut out = String::new();
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM \"{table}\" ORDER BY 1"
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        out.push_str(&format!("## {table}: {} rows\n", rows.len()));
        for row in rows {
            let values: Vec<String> = (0..row.len()).map(|i| cell(&row, i)).collect();
            out.push_str(&values.join("|"));
            out.push('\n');
        }
    }
    out
}

/// One value of a dumped row, by its storage class: BLOBs (sealed tokens, verifiers, the
/// install salt) as hex, so a change to one shows; any other class fails the test.
fn cell(row: &sqlx::sqlite::SqliteRow, i: usize) -> String {
    use sqlx::{Row, TypeInfo, ValueRef};
    let raw = row.try_get_raw(i).unwrap();
    if raw.is_null() {
        return "NULL".into();
    }
    match raw.type_info().name() {
        "INTEGER" => row.get::<i64, _>(i).to_string(),
        "TEXT" => format!("{:?}", row.get::<String, _>(i)),
        "BLOB" => {
            let bytes: Vec<u8> = row.get(i);
            format!(
                "x'{}'",
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )
        }
        "REAL" => format!("{:?}", row.get::<f64, _>(i)),
        other => panic!("dump: column {i} has storage class {other}"),
    }
}

/// Makes `who` (not yet a mentor) a mentor available round the clock in UTC (so slots exist whenever a test
/// runs) and checks the reply.
pub async fn open_mentor(fake: &FakeDiscord, who: &testkit::FakeUser) {
    let reply = run(
        fake,
        who,
        "availability set",
        vec![
            testkit::Opt::str("days", "everyday"),
            testkit::Opt::str("hours", "00:00-24:00"),
            testkit::Opt::str("timezone", "UTC"),
        ],
    )
    .await;
    assert!(
        reply.text().contains("You're now a mentor"),
        "{}",
        reply.text()
    );
}

/// Waits until `db` holds a display name for each of `users`. A picker is shown before the
/// names it saw are stored (that write waits for a disk flush), so a test that snapshots the
/// database after opening pickers waits for this first.
pub async fn wait_names_stored(db: &Path, users: &[&testkit::FakeUser]) {
    use sqlx::Connection;
    let url = format!("sqlite://{}", db.display());
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let mut missing = Vec::new();
        for user in users {
            let named: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM users WHERE user_id = ? AND name IS NOT NULL",
            )
            .bind(user.id as i64)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            if named == 0 {
                missing.push(user.name.clone());
            }
        }
        if missing.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no name stored for {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the job worker has nothing queued in `db` but reminders (which wait for their
/// session), so the database holds still.
pub async fn wait_jobs_drained(db: &Path) {
    use sqlx::Connection;
    let url = format!("sqlite://{}", db.display());
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        // Reminders wait for their session: everything else counts (retries in backoff too).
        let queued: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE state = 'queued' AND NOT (kind = 'dm' AND json_extract(payload, '$.notice') = 'reminder')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if queued == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{queued} jobs still queued"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
