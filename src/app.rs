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
use crate::http::{self, HttpState};
use crate::jobs::{Worker, WorkerConfig};
use crate::service::{Google, GoogleOptions, Service};
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

/// Timings that are not user settings: production uses the defaults; tests and load tools
/// shorten them (backoffs, polls) so they run in seconds.
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// The job worker's leases, batches and backoffs.
    pub worker: WorkerConfig,
    /// Google's caches, timeouts and Meet polling.
    pub google: GoogleOptions,
    /// How long finished jobs and idle listings are kept, and how often that is enforced.
    pub retention: crate::housekeeping::Retention,
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
    run_tuned(settings, Tuning::default(), shutdown).await
}

/// Runs until `shutdown` resolves, with `tuning` instead of the default timings.
pub async fn run_tuned(
    settings: Settings,
    tuning: Tuning,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), AppError> {
    let _lock = lock_database(&settings.database.path)?;
    let store = Store::open(&settings.database)
        .await
        .with_context(|| format!("opening the database {}", settings.database.path.display()))?;
    tracing::info!(path = %store.path().display(), "database ready");
    // Any lease in the database belongs to a process that died: a second process on this
    // database cannot start, so its jobs can run again at once.
    let released = store
        .release_leases()
        .await
        .context("releasing job leases")?;
    if released > 0 {
        tracing::info!(
            released,
            "jobs left running by a stopped process are due again"
        );
    }
    let google = match &settings.google {
        Some(google) => Some(Arc::new(
            Google::new(
                &google.config,
                google.key.clone(),
                &settings.public_base_url,
                tuning.google.clone(),
                &store,
            )
            .await
            .context("setting up Google Calendar")?,
        )),
        None => {
            tracing::info!("Google Calendar is off (GOOGLE_CLIENT_ID is not set)");
            None
        }
    };
    if let Some(google) = &google {
        // Logs loudly when the key changed; starting anyway lets everything else work.
        google
            .check_stored_tokens(&store)
            .await
            .context("checking that TOKEN_ENCRYPTION_KEY opens the stored tokens")?;
    }
    let service = match &google {
        Some(google) => Service::with_google(store.clone(), google.clone()),
        None => Service::new(store.clone()),
    }
    .with_max_upcoming(settings.max_upcoming_per_mentee);
    let listener = tokio::net::TcpListener::bind(settings.http_bind)
        .await
        .with_context(|| format!("listening on {} (HTTP_BIND)", settings.http_bind))?;
    tracing::info!(bind = %settings.http_bind, public = %settings.public_base_url, "HTTP server listening");

    let followups = Arc::new(Followups::default());
    let worker_slot: Arc<OnceLock<Vec<Worker<DiscordMessenger>>>> = Arc::new(OnceLock::new());
    let wake_slot = worker_slot.clone();
    let data = Data {
        service: service.clone(),
        followups: followups.clone(),
        writes: Arc::new(crate::discord::throttle::WriteLimit::new(
            settings.writes_per_minute,
        )),
        wake_jobs: Arc::new(move || {
            for worker in wake_slot.get().into_iter().flatten() {
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
                crate::cause::chain(&e)
            )
        })?;
    }
    // No intents: interactions reach a bot whatever it asks for, and it reads nothing else
    // from the gateway. With the usual set, every message, typing and reaction in a busy
    // server would be sent to it, decoded and cached for nothing.
    let mut client =
        serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::empty())
            .framework(discord::framework(data, settings.guild_id))
            .await
            .context("building the Discord client")?;

    let messenger = DiscordMessenger::new(client.http.clone(), service.clone(), followups);
    let owner = format!("pid{}-{:08x}", std::process::id(), crate::random::u32());
    // Two lanes unless the tuning names kinds itself: DMs are fast and calendar calls may be
    // slow (a struggling Google), so each has its own worker and one never waits on the other.
    // Without Google there is no calendar lane: its jobs (from an earlier configuration)
    // wait in the database instead of being claimed and put back, and a booking does not
    // wake a worker that has nothing to do.
    let mut lanes: Vec<(&str, Option<Vec<String>>)> = match &tuning.worker.kinds {
        Some(kinds) => vec![("jobs", Some(kinds.clone()))],
        None => vec![(
            "dm",
            Some(vec![
                crate::domain::Notice::JOB_KIND.to_owned(),
                crate::domain::AccountNotice::JOB_KIND.to_owned(),
            ]),
        )],
    };
    if tuning.worker.kinds.is_none() && google.is_some() {
        lanes.push((
            "calendar",
            Some(vec![crate::store::CALENDAR_SYNC.to_owned()]),
        ));
    }
    let workers: Vec<Worker<DiscordMessenger>> = lanes
        .into_iter()
        .map(|(lane, kinds)| {
            Worker::with_google(
                store.clone(),
                messenger.clone(),
                format!("{owner}-{lane}"),
                WorkerConfig {
                    kinds,
                    ..tuning.worker.clone()
                },
                google.clone(),
            )
        })
        .collect();
    let _ = worker_slot.set(workers.clone());
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let worker_tasks: Vec<_> = workers
        .into_iter()
        .map(|worker| {
            let mut stopped = workers_stopped.clone();
            tokio::spawn(async move {
                worker
                    .run(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await;
            })
        })
        .collect();

    let shards = client.shard_manager.clone();
    let runners = shards.runners.clone();
    let gateway: http::GatewayCheck = Arc::new(move || {
        let runners = runners.clone();
        Box::pin(async move {
            runners
                .lock()
                .await
                .values()
                .any(|r| r.stage == serenity::ConnectionStage::Connected)
        })
    });
    let router = http::router(HttpState {
        service: service.clone(),
        gateway,
        site: http::Site::new(&settings.public_base_url),
    });
    let mut housekeeping_stopped = workers_stopped.clone();
    let housekeeping_task = tokio::spawn(crate::housekeeping::run(
        store.clone(),
        google.clone(),
        tuning.retention.clone(),
        async move {
            let _ = housekeeping_stopped.wait_for(|stop| *stop).await;
        },
    ));
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http_task = tokio::spawn(http::serve(listener, router, async move {
        let _ = http_stopped.await;
    }));

    let outcome = tokio::select! {
        result = client.start() => result.context("the Discord connection failed"),
        () = shutdown => {
            tracing::info!("shutting down");
            shards.shutdown_all().await;
            Ok(())
        }
    };
    let _ = stop_workers.send(true);
    let _ = stop_http.send(());
    for task in worker_tasks {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "a job worker stopped abnormally");
        }
    }
    if let Err(e) = housekeeping_task.await {
        tracing::error!(error = %e, "housekeeping stopped abnormally");
    }
    match http_task.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "the HTTP server failed"),
        Err(e) => tracing::error!(error = %e, "the HTTP server stopped abnormally"),
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
