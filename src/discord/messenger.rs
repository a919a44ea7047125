//! DMs for the job worker, through Discord's REST API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use poise::serenity_prelude as serenity;

use super::Followups;
use super::render::{account_dm_text, dm_text, ts};
use crate::cause;
use crate::domain::{AccountNotice, Booking, Notice};
use crate::jobs::{DeliveryError, Messenger};
use crate::service::Service;

/// Sends the worker's DMs and tells actors about DMs that bounced.
#[derive(Clone)]
pub struct DiscordMessenger {
    http: Arc<serenity::Http>,
    service: Service,
    followups: Arc<Followups>,
    /// DM channels by recipient: a DM channel's id never changes, so it is asked for once
    /// per recipient and process instead of before every message.
    channels: Arc<Mutex<HashMap<u64, serenity::ChannelId>>>,
}

/// DM channels remembered at most (then forgotten all at once).
const MAX_CHANNELS: usize = 10_000;

impl std::fmt::Debug for DiscordMessenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DiscordMessenger")
    }
}

impl DiscordMessenger {
    /// A messenger over `http`.
    pub fn new(http: Arc<serenity::Http>, service: Service, followups: Arc<Followups>) -> Self {
        DiscordMessenger {
            http,
            service,
            followups,
            channels: Arc::default(),
        }
    }

    async fn actor_name(&self, notice: &Notice) -> Option<String> {
        let actor = match notice {
            Notice::Cancelled { actor, .. } | Notice::Rescheduled { actor, .. } => *actor,
            _ => return None,
        };
        self.service
            .user_name(crate::domain::UserId(actor))
            .await
            .ok()
            .flatten()
    }
}

/// Sorts a serenity error into what the worker should do about it.
fn classify(error: serenity::Error) -> DeliveryError {
    if let serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) = &error {
        let status = response.status_code.as_u16();
        return match (status, response.error.code) {
            (_, 50007) => DeliveryError::Closed,
            // serenity keeps neither the body's `retry_after` nor the headers of a 429 it
            // hands back (with its rate limiter on, it waits and retries itself; with a proxy
            // base it is off), so the worker backs off, more each time.
            (429, _) => DeliveryError::RetryAfter(None),
            (500..=599, _) => DeliveryError::Transient(format!("HTTP {status}")),
            _ => DeliveryError::Permanent(format!("HTTP {status}, code {}", response.error.code)),
        };
    }
    DeliveryError::Transient(cause::chain(&error))
}

impl DiscordMessenger {
    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<u64, serenity::ChannelId>> {
        // Only inserts and removals: a panic elsewhere can't leave the map torn.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn send(
        &self,
        recipient: u64,
        text: String,
        components: Vec<serenity::CreateActionRow>,
    ) -> Result<(), DeliveryError> {
        // The text quotes what people typed (names, reasons): nothing in it may ping anyone,
        // and no link in it may unfold into a preview.
        let message = serenity::CreateMessage::new()
            .content(text)
            .components(components)
            .allowed_mentions(serenity::CreateAllowedMentions::new())
            .flags(serenity::MessageFlags::SUPPRESS_EMBEDS);
        let cached = self.channels().get(&recipient).copied();
        if let Some(channel) = cached {
            match channel.send_message(&self.http, message.clone()).await {
                Ok(_) => return Ok(()),
                // The channel is gone (404): ask for it again below.
                Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r)))
                    if r.status_code.as_u16() == 404 =>
                {
                    self.channels().remove(&recipient);
                }
                Err(e) => return Err(classify(e)),
            }
        }
        let to = serenity::UserId::new(recipient.max(1));
        let channel = to.create_dm_channel(&self.http).await.map_err(classify)?.id;
        {
            let mut channels = self.channels();
            if channels.len() >= MAX_CHANNELS {
                channels.clear();
            }
            channels.insert(recipient, channel);
        }
        channel
            .send_message(&self.http, message)
            .await
            .map_err(classify)?;
        Ok(())
    }
}

impl Messenger for DiscordMessenger {
    async fn deliver(&self, notice: &Notice, booking: &Booking) -> Result<(), DeliveryError> {
        let actor = self.actor_name(notice).await;
        let text = dm_text(notice, booking, actor.as_deref());
        self.send(notice.recipient(), text, vec![]).await
    }

    async fn deliver_account(&self, notice: &AccountNotice) -> Result<(), DeliveryError> {
        let buttons = match notice {
            AccountNotice::ConfirmConnection { grant, .. } => {
                super::connect::question_buttons(grant)
            }
            _ => vec![],
        };
        self.send(notice.recipient(), account_dm_text(notice), buttons)
            .await
    }

    async fn undeliverable(&self, notice: &Notice, booking: &Booking) {
        // Who made the change this DM is about: the booker for booking notices.
        let actor = match notice {
            Notice::Cancelled { actor, .. } | Notice::Rescheduled { actor, .. } => *actor,
            Notice::Booked { .. } | Notice::Confirmed { .. } | Notice::MeetLink { .. } => {
                booking.mentee.0
            }
            // Nobody caused a reminder: there is no one to tell.
            Notice::Reminder { .. } => return,
        };
        // The actor's command remembers its token once it has answered, just after its change
        // committed; the worker can get here first (the job is due at once), so give it a
        // moment.
        let mut token = None;
        for _ in 0..20 {
            token = self.followups.take(booking.id.as_str(), actor);
            if token.is_some() {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        let Some(token) = token else {
            return;
        };
        let who = match notice {
            Notice::Booked { .. } => "the mentor",
            Notice::Confirmed { .. } => "you",
            _ => "the other person",
        };
        let text = format!(
            "Heads-up: I couldn't DM {who} about booking `{}` ({}): their DMs are closed. The booking itself is fine; please tell them another way.",
            booking.id,
            ts(booking.interval.start(), 'F')
        );
        let followup = serenity::CreateInteractionResponseFollowup::new()
            .content(text)
            .allowed_mentions(serenity::CreateAllowedMentions::new())
            .ephemeral(true);
        if let Err(e) = self
            .http
            .create_followup_message(&token, &followup, vec![])
            .await
        {
            tracing::warn!(booking = %booking.id, error = %cause::chain(&e), "could not send the undeliverable-DM follow-up");
        }
    }
}
