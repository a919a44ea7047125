//! [`Pending`], a handle on one interaction the fake sent, and [`Response`]: waiting for and
//! reading the bot's answer (initial response, the settled message, follow-ups).

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake::FakeDiscord;
use crate::message::Message;
use crate::state;

/// How long [`Pending::settled`] waits for the result after a deferral.
const SETTLE_WAIT: Duration = Duration::from_secs(5);
/// Slack on top of Discord's 3 s before [`Pending::response`] gives up.
const RESPONSE_GRACE: Duration = Duration::from_millis(250);

/// The bot's initial response to an interaction.
#[derive(Clone, Debug)]
pub struct Response {
    /// Callback type: 4 message, 5 deferred message, 6 deferred update, 7 update message,
    /// 8 autocomplete result, 9 modal.
    pub kind: u8,
    /// The message shown, for types 4 and 7 (for 5, the "thinking…" placeholder).
    pub message: Option<Message>,
    /// Autocomplete choices `(name, value)`, for type 8.
    pub choices: Vec<(String, Value)>,
    /// The modal's `data`, for type 9.
    pub modal: Option<Value>,
    /// The callback body as the bot sent it.
    pub raw: Value,
    /// From sending INTERACTION_CREATE to this callback.
    pub latency: Duration,
}

/// A handle on one interaction the fake sent: await the bot's answer.
#[derive(Clone)]
pub struct Pending {
    pub(crate) fake: FakeDiscord,
    pub(crate) id: u64,
    /// Why the fake refused to send it, or why the bot may not have seen it.
    pub(crate) error: Option<String>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("id", &self.id)
            .field("error", &self.error)
            .finish()
    }
}

impl Pending {
    /// An interaction the fake refused to send: waiting on it gives `error`.
    pub(crate) fn failed(fake: &FakeDiscord, error: String) -> Pending {
        Pending {
            fake: fake.clone(),
            id: 0,
            error: Some(error),
        }
    }

    /// The interaction id (0 if the fake refused to send it).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The interaction token.
    pub fn token(&self) -> String {
        self.with(|i| i.token.clone()).unwrap_or_default()
    }

    /// The INTERACTION_CREATE payload sent.
    pub fn payload(&self) -> Value {
        self.with(|i| i.payload.clone()).unwrap_or(Value::Null)
    }

    /// Requests for this interaction the fake refused so far (`"status code message"`).
    pub fn refusals(&self) -> Vec<String> {
        self.with(|i| i.refusals.clone()).unwrap_or_default()
    }

    fn with<T>(&self, f: impl FnOnce(&state::Interaction) -> T) -> Option<T> {
        self.fake.inner.lock().interactions.get(&self.id).map(f)
    }

    /// Waits for the bot's initial response (at most Discord's 3 s, plus a little slack).
    pub async fn response(&self) -> Result<Response, String> {
        self.wait_initial(|s, i, initial| {
            let message = i
                .original
                .and_then(|m| s.message_value(m))
                .map(Message::from_raw);
            Response {
                kind: initial.kind,
                message,
                choices: i
                    .choices
                    .iter()
                    .flatten()
                    .map(|c| {
                        (
                            c["name"].as_str().unwrap_or_default().to_string(),
                            c["value"].clone(),
                        )
                    })
                    .collect(),
                modal: i.modal.clone(),
                raw: initial.body.clone(),
                latency: initial.at - i.sent_at,
            }
        })
        .await
    }

    /// Waits for the initial response and reads what `read` takes of it (only what callers
    /// need: copying whole messages on every wait was most of the fake's own CPU time).
    async fn wait_initial<T>(
        &self,
        read: impl Fn(&state::State, &state::Interaction, &state::Initial) -> T,
    ) -> Result<T, String> {
        if let (Some(e), 0) = (&self.error, self.id) {
            return Err(e.clone());
        }
        let sent_at = self.with(|i| i.sent_at).ok_or("unknown interaction")?;
        let deadline = sent_at + state::INITIAL_RESPONSE_WINDOW + RESPONSE_GRACE;
        let wait = deadline.saturating_duration_since(Instant::now());
        let got = self
            .fake
            .inner
            .wait_for(wait, |s| {
                let i = s.interactions.get(&self.id)?;
                let Some(initial) = i.initial.as_ref() else {
                    // The fake's clock may have been moved past the window.
                    let expired = s.now().saturating_duration_since(i.sent_at)
                        > state::INITIAL_RESPONSE_WINDOW + RESPONSE_GRACE;
                    return expired.then_some(None);
                };
                Some(Some(read(s, i, initial)))
            })
            .await
            .flatten();
        got.ok_or_else(|| {
            let (name, refusals) = self
                .with(|i| (i.name.clone(), i.refusals.clone()))
                .unwrap_or_default();
            let mut msg =
                format!("the bot sent no accepted initial response to {name:?} within 3 s");
            msg.push_str(&refused_note(&refusals));
            if let Some(e) = &self.error {
                msg.push_str(&format!("; {e}"));
            }
            msg
        })
    }

    /// The message the user ends up seeing: the callback's message (types 4 and 7), or after
    /// a deferral (5, 6) the edit of `@original` or the first follow-up (waits up to 5 s).
    pub async fn settled(&self) -> Result<Message, String> {
        let kind = self.wait_initial(|_, _, initial| initial.kind).await?;
        match kind {
            8 => return Err("an autocomplete answer has no message".to_string()),
            9 => return Err("the bot opened a modal (use submit_modal)".to_string()),
            _ => {}
        }
        let found = self
            .fake
            .inner
            .wait_for(SETTLE_WAIT, |s| {
                let i = s.interactions.get(&self.id)?;
                i.result_at?;
                Some(i.result_message.and_then(|m| s.message_value(m)))
            })
            .await;
        match found {
            Some(Some(raw)) => Ok(Message::from_raw(raw)),
            Some(None) => Err("the resulting message was deleted".to_string()),
            None => Err(format!(
                "deferred with type {kind} but no edit or follow-up arrived within {SETTLE_WAIT:?}{}",
                refused_note(&self.refusals())
            )),
        }
    }

    /// The current `@original` message (after edits), if there is one.
    pub fn original(&self) -> Option<Message> {
        let s = self.fake.inner.lock();
        let original = s.interactions.get(&self.id)?.original?;
        s.message_value(original).map(Message::from_raw)
    }

    /// Follow-up messages so far (not counting the one that filled a deferred response).
    pub fn followups(&self) -> Vec<Message> {
        let s = self.fake.inner.lock();
        let Some(i) = s.interactions.get(&self.id) else {
            return Vec::new();
        };
        i.followups
            .iter()
            .filter_map(|m| s.message_value(*m))
            .map(Message::from_raw)
            .collect()
    }

    /// Waits until there are at least `count` follow-ups; returns them all.
    pub async fn wait_followups(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Message>, String> {
        self.fake
            .inner
            .wait_for(timeout, |s| {
                (s.interactions.get(&self.id)?.followups.len() >= count).then_some(())
            })
            .await
            .ok_or_else(|| {
                format!(
                    "{} follow-ups after {timeout:?}, expected {count}",
                    self.followups().len()
                )
            })?;
        Ok(self.followups())
    }
}

/// `"; refused: …"` to end an error message with, or nothing if nothing was refused.
fn refused_note(refusals: &[String]) -> String {
    if refusals.is_empty() {
        String::new()
    } else {
        format!("; refused: {}", refusals.join(", "))
    }
}
