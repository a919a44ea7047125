//! What the simulated users share: the fake Discord, the bot's up/down signal, and the ledger
//! of what each interaction told them, which the invariant checks hold the database to.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use testkit::{FakeDiscord, FakeUser, Message, Opt, Pending, Place};
use tokio::sync::watch;

use crate::crash::{Outages, lost_to_outage};

/// A booking a user was told about.
#[derive(Clone, Debug)]
pub(crate) struct Acked {
    pub(crate) mentor: u64,
    pub(crate) mentee: u64,
    /// Start as last acknowledged (Unix seconds).
    pub(crate) start: i64,
    /// The driver was told it is cancelled.
    pub(crate) cancelled: bool,
    /// A cancel or move was sent but its answer was lost (crash): status and time unknown.
    pub(crate) uncertain: bool,
}

/// What the users were told during the load, and what went wrong on their side.
#[derive(Default)]
pub(crate) struct Ledger {
    pub(crate) bookings: HashMap<String, Acked>,
    pub(crate) outcomes: BTreeMap<String, usize>,
    pub(crate) errors: BTreeMap<String, usize>,
    pub(crate) samples: BTreeMap<String, String>,
    pub(crate) uncertain: usize,
}

impl Ledger {
    pub(crate) fn outcome(&mut self, what: &str) {
        *self.outcomes.entry(what.to_owned()).or_default() += 1;
    }

    pub(crate) fn error(&mut self, kind: &str, sample: impl Into<String>) {
        *self.errors.entry(kind.to_owned()).or_default() += 1;
        self.samples
            .entry(kind.to_owned())
            .or_insert_with(|| sample.into());
    }
}

/// What every simulated user shares during the load.
pub(crate) struct World {
    pub(crate) fake: FakeDiscord,
    pub(crate) mentors: Vec<FakeUser>,
    /// True while the bot is up: actors wait for it before each interaction.
    pub(crate) up: watch::Receiver<bool>,
    pub(crate) deadline: Instant,
    pub(crate) think: Duration,
    pub(crate) contested: f64,
    pub(crate) ledger: Mutex<Ledger>,
    pub(crate) outages: Outages,
}

/// What one interaction came to.
pub(crate) enum Answer {
    /// The message the user ends up seeing.
    Shown(Message),
    /// No usable answer: recorded as an error or as lost to an outage.
    Lost,
}

impl World {
    pub(crate) fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits while the bot is down.
    async fn bot_up(&self) {
        let mut up = self.up.clone();
        let _ = up.wait_for(|up| *up).await;
    }

    /// Settles `pending` (sent at `sent`): internal errors and missing answers are recorded.
    async fn settle(&self, what: &str, sent: Instant, pending: Pending) -> Answer {
        match pending.settled().await {
            Ok(message) => {
                let text = message.text();
                if text.contains("Something went wrong on my side") {
                    self.ledger()
                        .error("internal error (reference code)", format!("{what}: {text}"));
                    return Answer::Lost;
                }
                Answer::Shown(message)
            }
            Err(e) => {
                // A sent interaction's fate is judged from the fake's log afterwards (one
                // count per interaction); here only what could not even be sent.
                if pending.id() == 0 && !lost_to_outage(&self.outages.lock().unwrap(), sent) {
                    self.ledger()
                        .error(&format!("could not send {what}"), format!("{what}: {e}"));
                }
                Answer::Lost
            }
        }
    }

    pub(crate) async fn slash(&self, who: &FakeUser, path: &str, options: Vec<Opt>) -> Answer {
        self.bot_up().await;
        let sent = Instant::now();
        let pending = self.fake.slash(who, Place::Guild, path, options).await;
        self.settle(&format!("/{path}"), sent, pending).await
    }

    pub(crate) async fn select(
        &self,
        who: &FakeUser,
        on: &Message,
        select: &str,
        value: &str,
    ) -> Answer {
        self.bot_up().await;
        let sent = Instant::now();
        let pending = self.fake.select(who, on, select, &[value]).await;
        self.settle("select", sent, pending).await
    }

    pub(crate) async fn click(&self, who: &FakeUser, on: &Message, button: &str) -> Answer {
        self.bot_up().await;
        let sent = Instant::now();
        let pending = self.fake.click(who, on, button).await;
        self.settle("Confirm", sent, pending).await
    }

    pub(crate) fn unexpected(&self, what: &str, text: &str) {
        self.ledger()
            .error(&format!("unexpected reply to {what}"), text.to_owned());
    }
}
