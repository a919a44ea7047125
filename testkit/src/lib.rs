//! A fake Discord for mentorbot's end-to-end tests, benchmarks and load tools.
//!
//! [`FakeDiscord::start`] serves Discord's REST API under `/api/v10` and a WebSocket gateway on
//! `127.0.0.1` (random ports). Point the bot's HTTP client at [`FakeDiscord::api_base`]
//! (serenity: `HttpBuilder::new(token).proxy(api_base).ratelimiter_disabled(true)`); gateway
//! discovery then leads serenity to the fake gateway. Tests act as users ([`FakeDiscord::slash`],
//! [`FakeDiscord::click`], …) and read what the bot answered through a [`Pending`].
//!
//! The fake is as strict as Discord where that matters: 400/50035 for payloads over Discord's
//! limits (with an `errors` tree naming the field), 40060 for a second initial response, 10062
//! after 3 s, follow-ups and edits only within 15 minutes of the interaction, 403/50007 for
//! closed DMs, and injected 429s on demand. It only sends what a Discord client could send:
//! commands and options must be registered, required options present, choices respected, and
//! components must exist and be enabled on the message clicked.
//!
//! ```no_run
//! use std::time::Duration;
//! use testkit::{FakeDiscord, Opt, Place};
//!
//! # async fn example() -> Result<(), String> {
//! let fake = FakeDiscord::start().await;
//! // Start the bot with DISCORD_API_BASE = fake.api_base() and any token, then:
//! fake.wait_ready(Duration::from_secs(5)).await?;
//! let mentor = fake.user("mentor");
//! let mentee = fake.user("mentee");
//! let picker = fake
//!     .slash(&mentee, Place::Guild, "book", vec![Opt::user("mentor", &mentor)])
//!     .await
//!     .settled()
//!     .await?;
//! let day = picker.selects()[0].clone();
//! let first_slot = picker.select_options(&day)[0].1.clone();
//! let chosen = fake.select(&mentee, &picker, &day, &[&first_slot]).await.settled().await?;
//! let confirm = chosen.button_id("Confirm").ok_or("no Confirm button")?;
//! let booked = fake.click(&mentee, &chosen, &confirm).await.settled().await?;
//! assert!(booked.text().contains("<t:"));
//! fake.wait_dms(mentor.id, 1, Duration::from_secs(5)).await?;
//! fake.assert_all_answered_within(Duration::from_secs(3))?;
//! # Ok(())
//! # }
//! ```
//!
//! # Modules
//!
//! The fake Discord's public face, one concern a file (all re-exported here):
//! - `fake`: [`FakeDiscord`] itself: starting the servers, its addresses and ids, and the
//!   bot's gateway connection (READY, RESUME, forced reconnects).
//! - `people`: [`FakeUser`] and the servers' users, members, roles and extra servers.
//! - `commands`: [`Place`], the commands the bot registered, which of them a user is offered
//!   where, and invoking them (slash commands, autocomplete, user context menus).
//! - `options`: [`Opt`], the option values a user fills in, checked and resolved as a Discord
//!   client does.
//! - `components`: acting on the bot's messages: button clicks (also forged ones), selects
//!   and modal submissions.
//! - `interaction`: [`InteractionKind`] and sending one INTERACTION_CREATE, recorded so that
//!   the bot's answer can be checked and awaited.
//! - `pending`: [`Pending`] and [`Response`]: waiting for and reading the bot's answer to one
//!   interaction (initial response, settled message, follow-ups).
//! - `message`: [`Message`], a message as the user sees it (buttons, selects, text).
//! - `observe`: what the bot did overall: DMs, channel messages, the
//!   [`AnsweredInteraction`] log, every request, refusal and unknown route.
//! - `faults`: Discord misbehaving on demand: closed DMs, injected and random 429s, and
//!   moving the fake's clock.
//! - `launch`: [`BOT_TOKEN`], [`TOKEN_KEY`], [`free_port`] and [`bot_env`], for starting the
//!   bot under test.
//!
//! Behind them:
//! - `rest` and `gateway`: the HTTP API under `/api/v10` and the WebSocket gateway.
//! - `state`: the shared state behind one mutex, with change notification.
//! - `payloads` and `limits`: JSON shaped as Discord sends it ([`permissions`] too), and the
//!   payload limits Discord enforces with 400/50035.
//! - `util`: snowflakes, timestamps and multipart bodies.
//! - [`google`]: the fake Google (OAuth and Calendar), [`FakeGoogle`].
//! - [`browser`]: a browser with a cookie jar for the bot's Google connect pages, and
//!   answering the bot's Confirm / Not me DM.

#![recursion_limit = "256"]
#![warn(missing_docs)]

pub mod browser;
mod commands;
mod components;
mod fake;
mod faults;
mod gateway;
pub mod google;
mod interaction;
mod launch;
mod limits;
pub mod markdown;
mod message;
mod observe;
mod options;
mod payloads;
mod pending;
mod people;
mod rest;
mod state;
mod util;

pub use commands::Place;
pub use fake::FakeDiscord;
pub use google::{
    ClientAuth, Consent, FakeEvent, FakeGoogle, Fault, GrantedTokens, LoggedRequest, MeetMode,
    Route, TokenRequest,
};
pub use interaction::InteractionKind;
pub use launch::{BOT_TOKEN, TOKEN_KEY, bot_env, free_port};
pub use message::Message;
pub use observe::AnsweredInteraction;
pub use options::Opt;
pub use payloads::permissions;
pub use pending::{Pending, Response};
pub use people::FakeUser;
pub use state::Rejection;
