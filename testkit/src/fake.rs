//! [`FakeDiscord`] itself: starting the REST server and the gateway, its addresses and ids,
//! and the bot's gateway connection.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::people::FakeUser;
use crate::state::{Inner, State};
use crate::util::snowflake;
use crate::{gateway, rest};

/// The REST and gateway servers, aborted when the last clone of the fake is dropped.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The fake Discord. Cheap to clone; the servers stop when the last clone is dropped.
#[derive(Clone)]
pub struct FakeDiscord {
    pub(crate) inner: Arc<Inner>,
    _tasks: Arc<Tasks>,
}

impl fmt::Debug for FakeDiscord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeDiscord")
            .field("api", &self.inner.api_addr)
            .field("gateway", &self.inner.gateway_addr)
            .finish()
    }
}

impl FakeDiscord {
    /// A token the bot can use (the fake accepts any non-empty `Bot` token).
    pub const TOKEN: &'static str = "testkit.fake.token";

    /// Starts the REST server and the gateway on `127.0.0.1` with random ports, with one
    /// server ("guild") that has a `#general` channel.
    pub async fn start() -> FakeDiscord {
        let api = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("testkit: bind the REST port");
        let gw = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("testkit: bind the gateway port");
        let mut state = State::default();
        let guild_id = state.add_guild("Test Server");
        let inner = Arc::new(Inner {
            api_addr: api.local_addr().expect("testkit: REST address"),
            gateway_addr: gw.local_addr().expect("testkit: gateway address"),
            application_id: snowflake(),
            bot_user_id: snowflake(),
            bot_name: "mentorbot".to_string(),
            owner: FakeUser::new("owner"),
            guild_id,
            state: std::sync::Mutex::new(state),
            changed: Default::default(),
        });
        let router = rest::router(inner.clone());
        let rest_task = tokio::spawn(async move {
            if let Err(e) = axum::serve(api, router).await {
                eprintln!("testkit: REST server stopped: {e}");
            }
        });
        let gateway_task = tokio::spawn(gateway::serve(gw, inner.clone()));
        FakeDiscord {
            inner,
            _tasks: Arc::new(Tasks(vec![rest_task, gateway_task])),
        }
    }

    /// `http://127.0.0.1:PORT`: the bot's `DISCORD_API_BASE` (serenity's HTTP proxy).
    pub fn api_base(&self) -> String {
        format!("http://{}", self.inner.api_addr)
    }

    /// `ws://127.0.0.1:PORT`: what `GET /gateway` answers.
    pub fn gateway_url(&self) -> String {
        self.inner.gateway_url()
    }

    /// The application's id.
    pub fn application_id(&self) -> u64 {
        self.inner.application_id
    }

    /// The bot user's id.
    pub fn bot_user_id(&self) -> u64 {
        self.inner.bot_user_id
    }

    /// The default test server's id.
    pub fn guild_id(&self) -> u64 {
        self.inner.guild_id
    }

    /// The default test server's `#general` channel.
    pub fn channel_id(&self) -> u64 {
        self.inner.lock().guilds[&self.inner.guild_id].channel_id
    }

    // ----- the bot's gateway connection -----

    /// Waits until a bot is connected with a READY session.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        self.inner
            .wait_for(timeout, |s| s.live_session().then_some(()))
            .await
            .ok_or_else(|| format!("no bot connected to the fake gateway within {timeout:?}"))
    }

    /// Waits until READY has been sent `count` times in total (each IDENTIFY gets one; a
    /// RESUME does not).
    pub async fn wait_ready_count(&self, count: usize, timeout: Duration) -> Result<(), String> {
        self.inner
            .wait_for(timeout, |s| {
                (s.ready_count >= count && s.live_session()).then_some(())
            })
            .await
            .ok_or_else(|| {
                format!(
                    "READY sent {} times, expected {count} within {timeout:?}",
                    self.ready_count()
                )
            })
    }

    /// The gateway intents the bot sent in its latest IDENTIFY (0 before any).
    pub fn identified_intents(&self) -> u64 {
        self.inner.lock().intents
    }

    /// How many READYs the fake has sent.
    pub fn ready_count(&self) -> usize {
        self.inner.lock().ready_count
    }

    /// How many RESUMEs the fake has accepted.
    pub fn resume_count(&self) -> usize {
        self.inner.lock().resume_count
    }

    /// Whether a bot is connected now.
    pub fn bot_connected(&self) -> bool {
        self.inner.lock().live_session()
    }

    /// Waits until no bot is connected (after stopping one).
    pub async fn wait_disconnected(&self, timeout: Duration) -> Result<(), String> {
        self.inner
            .wait_for(timeout, |s| (!s.live_session()).then_some(()))
            .await
            .ok_or_else(|| format!("the bot was still connected after {timeout:?}"))
    }

    /// Takes the gateway down (the bot's connection is closed and reconnects are dropped, as
    /// in an outage) or brings it back.
    pub fn set_gateway_down(&self, down: bool) {
        gateway::set_down(&self.inner, down);
    }

    /// Sends op 7 RECONNECT: serenity reconnects and RESUMEs (missed events are replayed).
    pub fn reconnect_gateway(&self) {
        gateway::request_reconnect(&self.inner);
    }

    /// Sends op 9 INVALID SESSION (not resumable): serenity IDENTIFYs again and gets a new
    /// READY. serenity waits up to 5 s between IDENTIFYs of one client.
    pub fn invalidate_sessions(&self) {
        gateway::invalidate_sessions(&self.inner);
    }
}
