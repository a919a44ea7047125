//! The bot process: its environment (pointing at the fakes), starting it and waiting until it
//! has registered its commands, SIGKILL, SIGTERM, and what it logged.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use testkit::{FakeDiscord, FakeGoogle, bot_env, free_port};

use crate::config::{BotCommand, Config};
use crate::report::Report;

/// How long a (re)started bot may take to connect and register its commands.
const START_WAIT: Duration = Duration::from_secs(60);

/// Starts the bot processes of a run: the same command, environment and work directory each
/// time, so that a restart finds the same database; process `n` logs to `bot-n.log`.
#[derive(Clone)]
pub(crate) struct Launcher {
    command: BotCommand,
    env: Vec<(String, String)>,
    dir: PathBuf,
}

impl Launcher {
    /// The bot of `config` on the database `db`, talking to `fake` and `google`, serving its
    /// OAuth pages on a free loopback port.
    pub(crate) fn new(
        config: &Config,
        db: &Path,
        fake: &FakeDiscord,
        google: &FakeGoogle,
    ) -> Launcher {
        let port = free_port();
        let env = bot_env(fake, Some(google), db, port)
            .into_iter()
            .chain([("RUST_LOG".to_owned(), "warn".to_owned())])
            .chain(config.bot_env.iter().cloned())
            .collect();
        Launcher {
            command: config.bot.clone(),
            env,
            dir: config.dir.clone(),
        }
    }

    /// The log of bot process `n`.
    pub(crate) fn log(&self, n: usize) -> PathBuf {
        self.dir.join(format!("bot-{n}.log"))
    }

    /// Starts bot process `n` (0 first, then one per restart).
    pub(crate) fn spawn(&self, n: usize) -> BotProcess {
        let log = File::create(self.log(n)).expect("create the bot's log");
        let child = Command::new(&self.command.program)
            .args(&self.command.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the bot's log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.command.program.display()));
        let pid = child.id();
        BotProcess { child, pid }
    }
}

/// One running bot process.
pub(crate) struct BotProcess {
    child: Child,
    pub(crate) pid: u32,
}

impl BotProcess {
    /// SIGKILL, and reap it.
    pub(crate) fn kill(&mut self) -> String {
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => describe_exit(status),
            Err(e) => format!("wait failed: {e}"),
        }
    }

    /// SIGTERM, then SIGKILL if it has not stopped within `grace`.
    pub(crate) async fn terminate(&mut self, grace: Duration) -> String {
        if let Ok(Some(status)) = self.child.try_wait() {
            return format!("had already stopped: {}", describe_exit(status));
        }
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if sent {
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = self.child.try_wait() {
                    return describe_exit(status);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        format!(
            "did not stop on SIGTERM{}; {}",
            if sent { "" } else { " (kill(1) unavailable)" },
            self.kill()
        )
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(9)) => "killed (SIGKILL)".to_owned(),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "unknown".to_owned(),
    }
}

/// Waits until the bot that was just (re)started is connected and has registered its
/// commands; panics with its log if it exits or takes too long.
pub(crate) async fn wait_started(
    fake: &FakeDiscord,
    bot: &mut BotProcess,
    ready_before: usize,
    registrations_before: usize,
    log: &Path,
) {
    let deadline = Instant::now() + START_WAIT;
    loop {
        if fake.ready_count() > ready_before
            && fake.bot_connected()
            && fake.registration_count() > registrations_before
        {
            return;
        }
        if let Some(status) = bot.exited() {
            panic!(
                "the bot exited during start-up ({}); its log:\n{}",
                describe_exit(status),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            panic!(
                "the bot did not connect and register its commands within {START_WAIT:?}; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Counts the ERROR and WARN lines of the bot logs `logs`, keeping the first five ERROR lines.
pub(crate) fn read_logs(logs: impl IntoIterator<Item = PathBuf>, report: &mut Report) {
    for path in logs {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for line in text.lines() {
            if line.contains(" ERROR ") {
                report.bot_log_errors += 1;
                if report.bot_log_samples.len() < 5 {
                    report.bot_log_samples.push(strip_ansi(line));
                }
            } else if line.contains(" WARN ") {
                report.bot_log_warnings += 1;
            }
        }
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
