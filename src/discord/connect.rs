//! The DM that asks "Connect x@y.com?" after a Google consent, and its two buttons.
//!
//! Ids: `gc:y:<grant>` (Confirm) and `gc:n:<grant>` (Not me), where `<grant>` is the pending
//! grant's random id (22 characters). The service checks that the clicking user is the one
//! the grant waits for, so a copied id is no use to anyone else.

use chrono::Utc;
use poise::serenity_prelude as serenity;

use super::render::said;
use super::{BotError, Data};
use crate::domain::UserId;
use crate::service::{Connected, ServiceError};

/// A decoded Confirm / Not me button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectAnswer {
    /// Connect the pending grant.
    Confirm(String),
    /// Discard and revoke it.
    NotMe(String),
}

impl ConnectAnswer {
    /// The button's `custom_id`.
    pub fn encode(&self) -> String {
        match self {
            ConnectAnswer::Confirm(grant) => format!("gc:y:{grant}"),
            ConnectAnswer::NotMe(grant) => format!("gc:n:{grant}"),
        }
    }

    /// Reads a `custom_id`; `None` when it is not one of these buttons.
    pub fn decode(id: &str) -> Option<ConnectAnswer> {
        let rest = id.strip_prefix("gc:")?;
        let (answer, grant) = rest.split_once(':')?;
        let plausible = grant.len() == 22
            && grant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plausible {
            return None;
        }
        match answer {
            "y" => Some(ConnectAnswer::Confirm(grant.to_owned())),
            "n" => Some(ConnectAnswer::NotMe(grant.to_owned())),
            _ => None,
        }
    }
}

/// The question's text.
pub fn question_text(email: Option<&str>) -> String {
    let account = email.map_or_else(
        || "a Google account (Google didn't say which)".to_owned(),
        |e| format!("the Google account **{}**", said(e, 100)),
    );
    format!(
        "🔐 Your `/calendar connect` link was just used to connect {account} to your Discord account. Was that you?\n**Confirm** connects it: bookings go into that calendar. **Not me** discards it and asks Google to revoke mentorbot's access. Nothing is connected until you answer; after an hour the question lapses."
    )
}

/// The question's buttons.
pub fn question_buttons(grant: &str) -> Vec<serenity::CreateActionRow> {
    vec![serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new(ConnectAnswer::Confirm(grant.to_owned()).encode())
            .label("Confirm")
            .style(serenity::ButtonStyle::Success),
        serenity::CreateButton::new(ConnectAnswer::NotMe(grant.to_owned()).encode())
            .label("Not me")
            .style(serenity::ButtonStyle::Danger),
    ])]
}

/// What the question becomes once connected.
pub fn connected_text(connected: &Connected) -> String {
    let account = connected
        .email
        .as_deref()
        .map(|e| format!(" as **{}**", said(e, 100)))
        .unwrap_or_default();
    let mut text = format!(
        "📅 Google Calendar connected{account}. New bookings get an event with a Google Meet link in your calendar, and your busy times there are kept free of bookings."
    );
    if connected.queued > 0 {
        text.push_str(&format!(
            "\n{} upcoming session{} will be added now.",
            connected.queued,
            if connected.queued == 1 { "" } else { "s" }
        ));
    }
    text.push_str("\n`/calendar status` shows how it's going; `/calendar disconnect` undoes it.");
    text
}

/// What the question becomes after Not me.
pub const REFUSED_TEXT: &str = "Not connected. I discarded that Google account's access and asked Google to revoke it. If you didn't start this, someone else had your connect link; it can't be used again. `/calendar connect` makes a new one when you want it.";

/// Answers a Confirm / Not me click: the question is replaced by the outcome, without
/// buttons (also when it had lapsed, so stale buttons don't linger).
pub async fn answer(
    ctx: &serenity::Context,
    data: &Data,
    click: &serenity::ComponentInteraction,
    answer: ConnectAnswer,
) -> Result<(), BotError> {
    let user = UserId(click.user.id.get());
    data.writes.check(user.0)?;
    let outcome = match &answer {
        ConnectAnswer::Confirm(grant) => data
            .service
            .confirm_connection(user, grant, Utc::now())
            .await
            .map(|connected| connected_text(&connected)),
        ConnectAnswer::NotMe(grant) => data
            .service
            .reject_connection(user, grant)
            .await
            .map(|()| REFUSED_TEXT.to_owned()),
    };
    let text = match outcome {
        Ok(text) => text,
        Err(error @ ServiceError::ConnectionLapsed) => error.to_string(),
        Err(other) => return Err(other.into()),
    };
    if matches!(answer, ConnectAnswer::Confirm(_)) {
        (data.wake_jobs)();
    }
    crate::discord::components::replace_with_text(ctx, click, text).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_through_their_ids_and_junk_is_refused() {
        let grant = "AbCdEfGhIjKlMnOpQrSt_-";
        for answer in [
            ConnectAnswer::Confirm(grant.into()),
            ConnectAnswer::NotMe(grant.into()),
        ] {
            let id = answer.encode();
            assert!(id.len() <= 100);
            assert_eq!(ConnectAnswer::decode(&id), Some(answer));
        }
        for junk in [
            "gc:x:AbCdEfGhIjKlMnOpQrSt_-",
            "gc:y:short",
            "gc:y:AbCdEfGhIjKlMnOpQrSt_-x",
            "gc:y:AbCdEfGhIjKlMnOpQrSt'-",
            "pk:y:AbCdEfGhIjKlMnOpQrSt_-",
            "gc:y",
        ] {
            assert_eq!(ConnectAnswer::decode(junk), None, "{junk}");
        }
    }

    #[test]
    fn the_question_shows_the_email_as_typed() {
        let text = question_text(Some("a_b*c@example.com"));
        assert!(text.contains(r"**a\_b\*c\@example.com**"), "{text}");
    }
}
