//! Helpers shared by the integration tests: a fresh database file per test and fixed
//! instants.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use mentorbot::domain::UserId;
use mentorbot::service::{BookRequest, Service};
use mentorbot::store::{Store, StoreOptions};
use tempfile::TempDir;

pub const MENTOR: UserId = UserId(100_000_000_000_000_001);
pub const MENTEE: UserId = UserId(100_000_000_000_000_002);
pub const OTHER: UserId = UserId(100_000_000_000_000_003);

/// A service over a fresh database file in a temporary directory (kept alive by the
/// returned guard).
pub async fn service() -> (Service, TempDir) {
    service_with(|o| o).await
}

pub async fn service_with(tune: impl FnOnce(StoreOptions) -> StoreOptions) -> (Service, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = tune(StoreOptions::new(dir.path().join("mentorbot.db")));
    let store = Store::open(&options).await.expect("open store");
    (Service::new(store), dir)
}

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .with_timezone(&Utc)
}

pub fn request(mentor: UserId, mentee: UserId, start: &str) -> BookRequest {
    BookRequest {
        mentor,
        mentee,
        mentor_name: format!("mentor-{}", mentor.0 % 1000),
        mentee_name: format!("mentee-{}", mentee.0 % 1000),
        start: utc(start),
        guild: None,
    }
}
