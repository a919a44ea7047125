//! `run(settings)`: what `main` calls, and what tests start. It holds the database's
//! advisory lock, runs the Discord bot and the job worker, and shuts both down cleanly on
//! SIGINT/SIGTERM (or when the caller's shutdown future resolves).

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

use crate::config::Settings;
use crate::discord::{self, Data, DiscordMessenger, Followups};
use crate::jobs::{Worker, WorkerConfig};
use crate::service::Service;
use crate::store::Store;

/// Why the application could not run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Another process holds the database.
    #[error(
        "another mentorbot is already running on {database} (it holds {lock}); stop it first, or point DATABASE_URL at another file"
    )]
    AlreadyRunning {
        /// The database file.
        database: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// Anything else, with its cause chain.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> Result<(), AppError> {
    run_until(settings, shutdown_signal()).await
}

/// Runs until `shutdown` resolves.
pub async fn run_until(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), AppError> {
    let _lock = lock_database(&settings.database.path)?;
    let store = Store::open(&settings.database)
        .await
        .with_context(|| format!("opening the database {}", settings.database.path.display()))?;
    tracing::info!(path = %store.path().display(), "database ready");
    let service = Service::new(store.clone());

    let followups = Arc::new(Followups::default());
    let worker_slot: Arc<OnceLock<Worker<DiscordMessenger>>> = Arc::new(OnceLock::new());
    let wake_slot = worker_slot.clone();
    let data = Data {
        service: service.clone(),
        followups: followups.clone(),
        wake_jobs: Arc::new(move || {
            if let Some(worker) = wake_slot.get() {
                worker.wake();
            }
        }),
    };
    let http = discord::http(
        settings.discord_token.expose(),
        settings.discord_api_base.as_deref(),
    );
    if let Some(base) = &settings.discord_api_base {
        // serenity falls back to Discord's real gateway when discovery fails; with a base URL
        // (a proxy or a fake) that must never happen, so discovery failing is fatal here.
        http.get_gateway().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach Discord's API at {base} (DISCORD_API_BASE): {}",
                discord::errors::cause_chain(&e)
            )
        })?;
    }
    let mut client =
        serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::non_privileged())
            .framework(discord::framework(data, settings.guild_id))
            .await
            .context("building the Discord client")?;

    let messenger = DiscordMessenger::new(client.http.clone(), service.clone(), followups);
    let owner = format!(
        "pid{}-{:08x}",
        std::process::id(),
        getrandom::u32().unwrap_or(0)
    );
    let worker = Worker::new(store.clone(), messenger, owner, WorkerConfig::default());
    let _ = worker_slot.set(worker.clone());
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker_task = tokio::spawn(async move {
        worker
            .run(async move {
                let _ = worker_stopped.await;
            })
            .await;
    });

    let shards = client.shard_manager.clone();
    let outcome = tokio::select! {
        result = client.start() => result.context("the Discord connection failed"),
        () = shutdown => {
            tracing::info!("shutting down");
            shards.shutdown_all().await;
            Ok(())
        }
    };
    let _ = stop_worker.send(());
    if let Err(e) = worker_task.await {
        tracing::error!(error = %e, "the job worker stopped abnormally");
    }
    store.close().await;
    Ok(outcome?)
}

/// Takes the advisory lock beside the database so a second bot refuses to start. The
/// database itself stays readable by other tools (backups with `VACUUM INTO`).
fn lock_database(database: &Path) -> Result<File, AppError> {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    let lock = PathBuf::from(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .with_context(|| format!("creating the lock file {}", lock.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(AppError::AlreadyRunning {
            database: database.to_owned(),
            lock,
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(anyhow::Error::new(e)
            .context(format!("locking {}", lock.display()))
            .into()),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = interrupt => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
