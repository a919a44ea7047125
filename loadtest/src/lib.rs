//! The load driver behind `tests/load.rs` (short runs) and `examples/load.rs` (full sizes): the
//! fake Discord and the fake Google run in this process on 127.0.0.1, the bot runs as a
//! separate OS process (so its memory can be read from `/proc` and it can be SIGKILLed), M
//! mentors publish hours and connect Google through the bot's own OAuth pages, and N mentees
//! book, cancel, reschedule and list concurrently for a while. Afterwards the job worker is
//! given time to drain, the bot is stopped, and invariants are checked straight from the SQLite
//! file and the fakes.
//!
//! Modes: plain load; crash (`kills`: SIGKILL the bot at random moments and restart it on the
//! same database); fault mix (`faults`: the fake Google fails or slows a share of requests,
//! the fake Discord rate-limits DMs, some users have their DMs closed).
//!
//! The caller says which program is the bot ([`BotCommand`]): the driver cannot name the
//! `mentorbot` binary itself (`CARGO_BIN_EXE_mentorbot` exists only for the root package's
//! tests), so `tests/load.rs` passes that and `examples/load.rs` re-runs itself.
//!
//! | module | what |
//! | --- | --- |
//! | `config` | [`Config`]: sizes, mode, seed, the bot command, the work directory |
//! | `run` | [`run`]: the run, step by step |
//! | `bot` | the bot process: its environment, start, SIGKILL, SIGTERM, its log |
//! | `crash` | the crash controller (kills and restarts) and the outages it causes |
//! | `setup` | the mentors' hours and Google connection, the injected faults |
//! | `world` | what the users share: sending interactions, the ledger of what they were told |
//! | `workload` | the simulated mentees and mentors: book, list, cancel, reschedule |
//! | `measure` | latency per kind of interaction, the bot's peak memory, job lag |
//! | `db` | the bot's database read-only: the job queue during the load and the drain |
//! | `invariants` | the checks against the database and the fake Google |
//! | `dms` | DMs as the fake Discord received them, against the DM jobs |
//! | `report` | [`Report`]: every figure, its text form and its problems |
//! | `rng` | the seeded random numbers |

#![warn(missing_docs)]

mod bot;
mod config;
mod crash;
mod db;
mod dms;
mod invariants;
mod measure;
mod report;
mod rng;
mod run;
mod setup;
mod workload;
mod world;

pub use config::{BotCommand, Config};
pub use measure::{Lag, Latency, Memory};
pub use report::{Crashes, Dms, Drain, Invariants, Report};
pub use run::run;
