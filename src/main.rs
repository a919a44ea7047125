//! The `mentorbot` binary: reads the environment (and `.env`), sets up logging and calls
//! [`mentorbot::app::run`]. Nothing else reads the environment.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use mentorbot::config::Settings;
use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::{Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// mimalloc instead of glibc's malloc: the bot allocates and frees many small buffers per
/// interaction (JSON, HTTP, rendering), and glibc spent about a fifth of the bot's CPU on
/// it under load (BENCHMARKS.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let vars = match environment() {
        Ok(vars) => vars,
        Err(line) => {
            eprintln!("mentorbot: {line}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::from_vars(&vars) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("mentorbot: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                // Colour codes only for a terminal, not in files or journald.
                .with_ansi(std::io::stdout().is_terminal())
                .with_filter(log_filter(&settings.log_filter)),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mentorbot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(mentorbot::app::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ mentorbot::app::AppError::AlreadyRunning { .. }) => {
            eprintln!("mentorbot: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!("{:#}", anyhow::Error::from(e));
            ExitCode::FAILURE
        }
    }
}

/// The operator's filter, with the libraries below capped (unless the operator names them).
/// At debug level serenity's HTTP layer and the HTTP clients log request URLs, which hold
/// interaction tokens. And serenity wraps every REST request and every gateway event in an
/// info-level span whose fields (the whole request or event, tokens included) are formatted
/// when it opens: that cost the bot about a third of its CPU per interaction (BENCHMARKS.md,
/// "Logging"), and a warning inside such a span would print them.
fn log_filter(filter: &str) -> impl Filter<Registry> + use<> {
    let caps = [
        ("serenity::http", LevelFilter::WARN),
        ("serenity::gateway", LevelFilter::WARN),
        ("serenity", LevelFilter::INFO),
        ("reqwest", LevelFilter::INFO),
        ("hyper", LevelFilter::INFO),
        ("hyper_util", LevelFilter::INFO),
        ("tungstenite", LevelFilter::INFO),
        ("tokio_tungstenite", LevelFilter::INFO),
    ];
    let caps = caps
        .into_iter()
        .filter(|(target, _)| !filter.contains(target))
        .fold(
            Targets::new().with_default(LevelFilter::TRACE),
            |caps, (target, level)| caps.with_target(target, level),
        );
    EnvFilter::new(filter).and(caps)
}

/// The process environment over `.env` (the environment wins, as with docker and systemd).
fn environment() -> Result<HashMap<String, String>, String> {
    let mut vars = HashMap::new();
    match dotenvy::from_path_iter(".env") {
        Ok(iter) => {
            for item in iter {
                let (key, value) = item.map_err(|e| format!(".env: {e}"))?;
                vars.insert(key, value);
            }
        }
        Err(e) if e.not_found() => {}
        Err(e) => return Err(format!(".env: {e}")),
    }
    vars.extend(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    );
    Ok(vars)
}
