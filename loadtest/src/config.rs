//! What to run: sizes, mode, seed, the bot command and the work directory.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// How to start the bot process: a program and its arguments. It gets only the variables
/// the driver sets (a clean environment) and runs in the work directory.
#[derive(Clone, Debug)]
pub struct BotCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl BotCommand {
    /// `program` without arguments (the `mentorbot` binary).
    pub fn new(program: impl Into<PathBuf>) -> BotCommand {
        BotCommand {
            program: program.into(),
            args: Vec::new(),
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Concurrent mentees.
    pub mentees: usize,
    /// Mentors (each connects Google).
    pub mentors: usize,
    /// How long mentees keep acting.
    pub duration: Duration,
    /// Mean pause between one mentee's clicks (each pause is 0.5–1.5 × this).
    pub think: Duration,
    /// Share of booking attempts aimed at the first free slots of the first two mentors.
    pub contested: f64,
    /// SIGKILLs (and restarts) of the bot during the load.
    pub kills: usize,
    /// Google fails ~20% of requests (5xx/429) and slows ~5% by 2 s; Discord rate-limits
    /// ~15% of DMs; one user in ten (and the second mentor) has closed DMs. With kills,
    /// Google also answers some requests 300 ms after acting (so kills land in between).
    pub faults: bool,
    /// Seeds every random choice (the driver's and the fakes' faults).
    pub seed: u64,
    /// How long to wait for queued jobs after the load.
    pub drain_timeout: Duration,
    /// How to start the bot.
    pub bot: BotCommand,
    /// Work directory: the database, the bot's logs.
    pub dir: PathBuf,
    /// Extra environment variables for the bot process (e.g. allocator settings).
    pub bot_env: Vec<(String, String)>,
}

impl Config {
    /// Defaults: 20 mentees, 3 mentors, 20 s, 1 s think time, 20% contested, no kills, no
    /// faults, 120 s drain.
    pub fn new(bot: BotCommand, dir: impl Into<PathBuf>) -> Config {
        Config {
            mentees: 20,
            mentors: 3,
            duration: Duration::from_secs(20),
            think: Duration::from_secs(1),
            contested: 0.2,
            kills: 0,
            faults: false,
            seed: 1,
            drain_timeout: Duration::from_secs(120),
            bot,
            dir: dir.into(),
            bot_env: Vec::new(),
        }
    }

    /// `load`, `load + crash (K kills)`, `load + fault mix`.
    pub(crate) fn mode(&self) -> String {
        let mut parts = vec!["load".to_owned()];
        if self.kills > 0 {
            parts.push(format!("crash ({} kills)", self.kills));
        }
        if self.faults {
            parts.push("fault mix".to_owned());
        }
        parts.join(" + ")
    }
}
