//! mentorbot: 1:1 mentoring sessions booked inside Discord.
//!
//! Data flows one way: front ends (Discord, HTTP, the job worker) call [`service`], which
//! loads from [`store`], decides with the pure [`scheduling`] core, and writes back in one
//! transaction, queueing side effects as jobs. Each room says what it may touch:
//!
//! - [`scheduling`]: the pure core (intervals, wall times and DST policies, windows, slots,
//!   booking rules, parsing what users type); no I/O, `now` is a parameter.
//! - [`domain`]: the records the store keeps and the service returns, the notices (DM
//!   payloads) queued as jobs, and the ids that cross layers (defined in the leaf [`ids`]
//!   module so that `scheduling` can use them without depending on `domain`).
//! - [`store`]: SQLite through sqlx, the only room that names it; the group-commit writer.
//! - [`service`]: the use cases, one file per group; touches the store and, through
//!   `service::Google`, Google; never Discord.
//! - [`jobs`]: the worker that runs queued side effects (DMs through the [`jobs::Messenger`]
//!   trait, calendar syncs); touches the store and Google.
//! - [`gcal`]: Google's HTTP APIs (OAuth, Calendar v3), sealed tokens and event ids; the
//!   only room that names Google's JSON; no database, no Discord.
//! - [`discord`]: the Discord front end (poise/serenity, the only room that names them):
//!   commands, the picker, rendering, and the `Messenger` for DMs.
//! - [`http`]: the embedded HTTP server (OAuth pages, `/healthz`).
//! - [`housekeeping`]: the hourly pass that keeps tables bounded; touches the store only.
//! - [`app`]: `run(settings)`, what `main` calls: wires the rooms and runs them until
//!   shutdown; [`config`]: settings from the environment; [`logging`]: the log filter.
//! - Small shared pieces: [`secret`] (a value that never prints), [`cause`] (an error's
//!   cause chain for logs, tokens redacted), [`random`] (the OS random source).

pub mod app;
pub mod cause;
pub mod config;
pub mod discord;
pub mod domain;
pub mod gcal;
pub mod housekeeping;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod logging;
pub mod random;
pub mod scheduling;
pub mod secret;
pub mod service;
pub mod store;
