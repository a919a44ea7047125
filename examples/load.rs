//! `load`: the real bot under many users, as a separate process against the fake Discord and
//! the fake Google on 127.0.0.1 (see the `loadtest` crate and RELIABILITY.md).
//!
//! ```sh
//! cargo run --release --example load -- --mentees 200 --minutes 2
//! cargo run --release --example load -- --mentees 200 --minutes 2 --kills 5
//! cargo run --release --example load -- --mentees 200 --minutes 2 --faults
//! ```
//!
//! Options: `--mentees N` (200), `--mentors N` (mentees / 10, at least 3), `--minutes F` (2)
//! or `--seconds N`, `--think-ms N` (mean pause between one user's clicks, 1000), `--contested
//! F` (share of booking attempts aimed at the same first slots, 0.2), `--kills K` (SIGKILL and
//! restart the bot K times), `--faults` (Google fails ~20% and slows ~5% of requests, Discord
//! rate-limits ~15% of DMs, one user in ten has closed DMs), `--seed N`, `--drain-seconds N`
//! (300), `--dir PATH` (keep the database and logs there; default a temporary directory),
//! `--bot-bin PATH` (run that `mentorbot` binary instead of this example's `--bot` mode),
//! `--bot-env NAME=VALUE` (an extra variable for the bot process; repeatable), `--json` (print
//! the report as JSON). Exit status 1 if any error or invariant violation.
//!
//! `--bot` (internal): run the bot itself, like `src/main.rs`, from the environment the
//! driver sets, except for the allocator: `src/main.rs` sets mimalloc, while this program,
//! which is mostly the driver, keeps the system's (mimalloc made the driver's own tail
//! slower). `--bot-bin target/release/mentorbot` measures the shipped binary.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use loadtest::{BotCommand, Config};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--bot") {
        return bot();
    }
    match parse(&args) {
        Ok((config, json, keep)) => drive(config, json, keep),
        Err(message) => {
            eprintln!("load: {message}");
            ExitCode::from(2)
        }
    }
}

/// The bot, as `src/main.rs` runs it: settings from the environment, `app::run` until
/// SIGTERM.
fn bot() -> ExitCode {
    let vars: HashMap<String, String> = std::env::vars().collect();
    let settings = match mentorbot::config::Settings::from_vars(&vars) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("mentorbot: {e}");
            return ExitCode::from(2);
        }
    };
    mentorbot::logging::init(&settings.log_filter);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mentorbot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(mentorbot::app::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{:#}", anyhow::Error::from(e));
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<(Config, bool, bool), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut command = BotCommand {
        program: exe,
        args: vec!["--bot".into()],
    };
    let mut mentees = 200usize;
    let mut mentors: Option<usize> = None;
    let mut duration = Duration::from_secs(120);
    let mut think = Duration::from_millis(1000);
    let mut contested = 0.2;
    let mut kills = 0;
    let mut faults = false;
    let mut seed = 1u64;
    let mut drain = Duration::from_secs(300);
    let mut dir: Option<std::path::PathBuf> = None;
    let mut json = false;
    let mut bot_env = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let number = |name: &str, text: String| -> Result<f64, String> {
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{name}: `{text}` is not a number"))
        };
        match arg.as_str() {
            "--mentees" => mentees = number(arg, value(arg)?)? as usize,
            "--mentors" => mentors = Some(number(arg, value(arg)?)? as usize),
            "--minutes" => duration = Duration::from_secs_f64(number(arg, value(arg)?)? * 60.0),
            "--seconds" => duration = Duration::from_secs_f64(number(arg, value(arg)?)?),
            "--think-ms" => think = Duration::from_secs_f64(number(arg, value(arg)?)? / 1000.0),
            "--contested" => contested = number(arg, value(arg)?)?.min(1.0),
            "--kills" => kills = number(arg, value(arg)?)? as usize,
            "--faults" => faults = true,
            "--seed" => seed = number(arg, value(arg)?)? as u64,
            "--drain-seconds" => drain = Duration::from_secs_f64(number(arg, value(arg)?)?),
            "--dir" => dir = Some(value(arg)?.into()),
            "--bot-bin" => {
                let path = value(arg)?;
                let path =
                    std::fs::canonicalize(&path).map_err(|e| format!("--bot-bin: {path}: {e}"))?;
                command = BotCommand::new(path);
            }
            "--bot-env" => {
                let pair = value(arg)?;
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("--bot-env: `{pair}` is not NAME=VALUE"))?;
                bot_env.push((k.to_owned(), v.to_owned()));
            }
            "--json" => json = true,
            "--help" | "-h" => {
                return Err(
                    "usage: load [--mentees N] [--mentors N] [--minutes F | --seconds N] [--think-ms N] [--contested F] [--kills K] [--faults] [--seed N] [--drain-seconds N] [--dir PATH] [--bot-bin PATH] [--bot-env NAME=VALUE] [--json]"
                        .into(),
                );
            }
            other => return Err(format!("unknown option `{other}` (try --help)")),
        }
    }
    if mentees == 0 {
        return Err("--mentees must be at least 1".into());
    }
    let keep = dir.is_some();
    let dir = match dir {
        Some(dir) => {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
            }
            dir
        }
        None => std::env::temp_dir().join(format!("mentorbot-load-{}", std::process::id())),
    };
    let mut config = Config::new(command, dir);
    config.mentees = mentees;
    config.mentors = mentors.unwrap_or((mentees / 10).max(3)).max(1);
    config.duration = duration;
    config.think = think;
    config.contested = contested;
    config.kills = kills;
    config.faults = faults;
    config.seed = seed;
    config.drain_timeout = drain;
    config.bot_env = bot_env;
    Ok((config, json, keep))
}

fn drive(config: Config, json: bool, keep: bool) -> ExitCode {
    let dir = config.dir.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = runtime.block_on(loadtest::run(config));
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
        println!(
            "  machine: {} · {} CPUs · {}",
            cpu_model(),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_total()
        );
    }
    if keep {
        eprintln!("load: database and bot logs kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if report.problems().is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("load: {} problem(s):", report.problems().len());
        for p in report.problems().iter().take(20) {
            eprintln!("  {p}");
        }
        ExitCode::FAILURE
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn memory_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let kib: u64 = s
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{:.1} GiB RAM", kib as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown RAM".into())
}
