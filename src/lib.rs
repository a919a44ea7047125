//! mentorbot: 1:1 mentoring sessions booked inside Discord.
//!
//! Data flows one way: front ends (Discord, HTTP, the job worker) call [`service`], which
//! loads from [`store`], decides with the pure [`scheduling`] core, and writes back in one
//! transaction, queueing side effects as jobs.
//!
//! - [`scheduling`]: pure core (windows, slots, booking rules, parsing); `now` is a parameter.
//! - [`domain`]: the records the store keeps and the service returns.
//! - [`store`]: SQLite through sqlx; the only module that names it.
//! - [`service`]: the use cases.
//! - [`gcal`]: Google OAuth and Calendar adapters, the busy-time cache and the sync job.
//! - [`http`]: the embedded HTTP server (OAuth pages, `/healthz`).
//! - [`jobs`]: the worker that runs queued side effects (DMs, calendar syncs).
//! - [`config`]: settings from the environment (read only by `main`).
//! - [`app`]: `run(settings)`, what `main` calls.

pub mod app;
pub mod config;
pub mod discord;
pub mod domain;
pub mod gcal;
pub mod http;
pub mod jobs;
pub mod scheduling;
pub mod service;
pub mod store;
