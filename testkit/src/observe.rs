//! What the bot did, read back: its DMs and channel messages, the log of interactions and
//! how fast each was answered, and every request, refusal and unknown route.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake::FakeDiscord;
use crate::interaction::InteractionKind;
use crate::message::Message;
use crate::state::{Rejection, State, StoredMessage};

/// What happened to one interaction (see [`FakeDiscord::interaction_log`]).
#[derive(Clone, Debug)]
pub struct AnsweredInteraction {
    /// Interaction id.
    pub id: u64,
    /// Its kind.
    pub kind: InteractionKind,
    /// Command path, menu name or custom id.
    pub name: String,
    /// Who acted.
    pub user_id: u64,
    /// When the fake sent INTERACTION_CREATE.
    pub sent_at: Instant,
    /// Callback type of the accepted initial response.
    pub callback_type: Option<u8>,
    /// Time to the accepted initial response.
    pub first_response: Option<Duration>,
    /// Time to the response carrying the result (the callback itself, or the edit/follow-up
    /// after a deferral).
    pub result: Option<Duration>,
    /// An initial response was accepted (within 3 s).
    pub answered: bool,
    /// Requests for this interaction that the fake refused (`"status code message"`).
    pub refusals: Vec<String>,
}

impl FakeDiscord {
    /// The bytes of the file `file_name` attached to `message` (DMs and channel messages).
    pub fn attachment(&self, message: &Message, file_name: &str) -> Option<Vec<u8>> {
        let id = message.id;
        self.inner
            .lock()
            .attachments
            .get(&(id, file_name.to_string()))
            .cloned()
    }

    /// Messages the bot sent to `user_id`'s DM channel (excluding interaction responses), oldest
    /// first.
    pub fn dms(&self, user_id: u64) -> Vec<Message> {
        let s = self.inner.lock();
        let Some(dms) = dms_to(&s, user_id) else {
            return Vec::new();
        };
        dms.map(|m| Message::from_raw(m.raw.clone())).collect()
    }

    /// Waits until the bot has sent at least `count` DMs to `user_id`; returns them all.
    pub async fn wait_dms(
        &self,
        user_id: u64,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Message>, String> {
        self.inner
            .wait_for(timeout, |s| {
                (dms_to(s, user_id)?.count() >= count).then_some(())
            })
            .await
            .ok_or_else(|| {
                format!(
                    "{} DMs to {user_id} after {timeout:?}, expected {count}",
                    self.dms(user_id).len()
                )
            })?;
        Ok(self.dms(user_id))
    }

    /// Non-ephemeral messages the bot posted in a channel, oldest first.
    pub fn channel_messages(&self, channel_id: u64) -> Vec<Message> {
        let s = self.inner.lock();
        let Some(c) = s.channels.get(&channel_id) else {
            return Vec::new();
        };
        c.messages
            .iter()
            .filter_map(|m| s.messages.get(m))
            .filter(|m| !m.deleted && m.raw["flags"].as_u64().unwrap_or(0) & 64 == 0)
            .map(|m| Message::from_raw(m.raw.clone()))
            .collect()
    }

    /// The current version of a message (after edits), if it exists and was not deleted.
    pub fn message(&self, id: u64) -> Option<Message> {
        self.inner.lock().message_value(id).map(Message::from_raw)
    }

    /// Every interaction sent, in order, with its response latencies.
    pub fn interaction_log(&self) -> Vec<AnsweredInteraction> {
        let s = self.inner.lock();
        s.interaction_order
            .iter()
            .filter_map(|id| s.interactions.get(id))
            .map(|i| AnsweredInteraction {
                id: i.id,
                kind: i.kind,
                name: i.name.clone(),
                user_id: i.user_id,
                sent_at: i.sent_at,
                callback_type: i.initial.as_ref().map(|r| r.kind),
                first_response: i.initial.as_ref().map(|r| r.at - i.sent_at),
                result: i.result_at.map(|t| t - i.sent_at),
                answered: i.initial.is_some(),
                refusals: i.refusals.clone(),
            })
            .collect()
    }

    /// Ok if every interaction got an accepted initial response within `limit`, and every
    /// deferred message (type 5, which shows "thinking…") got its edit or follow-up.
    pub fn assert_all_answered_within(&self, limit: Duration) -> Result<(), String> {
        let problems: Vec<String> = self
            .interaction_log()
            .into_iter()
            .filter_map(|i| {
                let what = format!("{:?} {:?} ({})", i.kind, i.name, i.id);
                match (i.first_response, i.result) {
                    (None, _) => Some(format!(
                        "{what}: never answered{}",
                        if i.refusals.is_empty() {
                            String::new()
                        } else {
                            format!(" (refused: {})", i.refusals.join(", "))
                        }
                    )),
                    (Some(first), _) if first > limit => {
                        Some(format!("{what}: first response after {first:?}"))
                    }
                    (Some(_), None) if i.callback_type == Some(5) => Some(format!(
                        "{what}: deferred (type 5, \"thinking…\") but no edit or follow-up followed"
                    )),
                    _ => None,
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} of {} interactions not answered within {limit:?}:\n{}",
                problems.len(),
                self.interaction_log().len(),
                problems.join("\n")
            ))
        }
    }

    /// The `allowed_mentions` the bot sent with message `id` (at creation or its last edit
    /// that set it); `None` when it sent none, which lets Discord parse every mention.
    pub fn allowed_mentions(&self, id: u64) -> Option<Value> {
        self.inner
            .lock()
            .messages
            .get(&id)
            .and_then(|m| m.allowed_mentions.clone())
    }

    /// Every request received, as `(method, path below /api/v10)`, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.inner.lock().requests.clone()
    }

    /// Every request the fake refused (4xx/5xx), in order.
    pub fn rejections(&self) -> Vec<Rejection> {
        self.inner.lock().rejections.clone()
    }

    /// Requests to routes the fake does not implement, as `(method, path)`.
    pub fn unknown_routes(&self) -> Vec<(String, String)> {
        self.inner.lock().unknown_routes.clone()
    }
}

/// The bot's DMs to `user_id` that are not interaction responses, oldest first; `None` while
/// there is no DM channel with them.
fn dms_to(s: &State, user_id: u64) -> Option<impl Iterator<Item = &StoredMessage>> {
    let channel = s.dm_channel_of.get(&user_id)?;
    let dms = s.channels[channel]
        .messages
        .iter()
        .filter_map(|m| s.messages.get(m))
        .filter(|m| !m.deleted && m.raw.get("interaction_metadata").is_none());
    Some(dms)
}
