//! The `mentorbot` binary: reads the environment (and `.env`), sets up logging and calls
//! [`mentorbot::app::run`]. Nothing else reads the environment.

use std::collections::HashMap;
use std::process::ExitCode;

use mentorbot::config::Settings;

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

/// The process environment over `.env` (the environment wins, as with docker and systemd).
fn environment() -> Result<HashMap<String, String>, String> {
    let mut vars: HashMap<String, String> =
        mentorbot::config::dotenv_vars(std::path::Path::new(".env"))?
            .into_iter()
            .collect();
    vars.extend(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    );
    Ok(vars)
}
