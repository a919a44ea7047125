//! Housekeeping: keeps the database's tables bounded (README, "Retention"). A pass every
//! hour, off the hot path: finished jobs older than 30 days go, in batches of 500, each its
//! own short write; expired connect requests go, and so do Google grants nobody confirmed
//! within the hour (revoked at Google); mentors who haven't used a mentor command in a
//! server for a year and have no upcoming session are unlisted there.

use std::time::Duration as StdDuration;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::service::Google;
use crate::store::{Store, StoreResult};

/// How long things are kept, and how housekeeping runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Finished jobs (done or failed) are kept this long after they finished.
    pub jobs: Duration,
    /// A mentor stays listed in a server this long after their last mentor command there.
    pub listing: Duration,
    /// Rows deleted per write.
    pub batch: u32,
    /// Time between passes.
    pub every: StdDuration,
}

impl Default for Retention {
    /// 30 days of finished jobs, a year of listing, batches of 500, hourly.
    fn default() -> Self {
        Retention {
            jobs: Duration::days(30),
            listing: Duration::days(365),
            batch: 500,
            every: StdDuration::from_secs(3600),
        }
    }
}

/// What one pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Finished jobs.
    pub jobs: u64,
    /// Expired connect requests.
    pub states: u64,
    /// Google grants whose Confirm never came (revoked at Google when it is configured).
    pub grants: u64,
    /// Idle listings.
    pub listings: u64,
}

/// One pass at `now`.
pub async fn prune(
    store: &Store,
    google: Option<&Google>,
    retention: &Retention,
    now: DateTime<Utc>,
) -> StoreResult<Pruned> {
    let mut pruned = Pruned::default();
    let (before, batch) = (now - retention.jobs, retention.batch.max(1));
    loop {
        let deleted = store
            .transact(move |tx| {
                Box::pin(async move { tx.prune_finished_jobs(before, batch).await })
            })
            .await?;
        pruned.jobs += deleted;
        if deleted < u64::from(batch) {
            break;
        }
        // Let waiting writes in between batches.
        tokio::task::yield_now().await;
    }
    pruned.states = store
        .transact(move |tx| Box::pin(async move { tx.prune_expired_states(now).await }))
        .await?;
    loop {
        let lapsed = store
            .transact(move |tx| Box::pin(async move { tx.take_expired_grants(now, batch).await }))
            .await?;
        pruned.grants += lapsed.len() as u64;
        // Deleted first: a revoke that fails leaves a grant Google drops when unused, never
        // a token here.
        if let Some(google) = google {
            for grant in &lapsed {
                google
                    .revoke_stored(grant.user, &grant.sealed_refresh_token)
                    .await;
            }
        }
        if lapsed.len() < batch as usize {
            break;
        }
    }
    let idle_since = now - retention.listing;
    pruned.listings = store
        .transact(move |tx| Box::pin(async move { tx.unlist_idle_mentors(idle_since, now).await }))
        .await?;
    Ok(pruned)
}

/// Runs a pass now and then every `retention.every` until `shutdown` resolves.
pub async fn run(
    store: Store,
    google: Option<Arc<Google>>,
    retention: Retention,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        match prune(&store, google.as_deref(), &retention, Utc::now()).await {
            Ok(pruned) if pruned != Pruned::default() => {
                tracing::info!(?pruned, "housekeeping deleted old rows");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %crate::cause::chain(&error), "housekeeping failed; it runs again later");
            }
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(retention.every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use sqlx::Connection;

    const NOW: i64 = 1_796_000_000;

    async fn exec(conn: &mut sqlx::SqliteConnection, sql: &str) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(conn)
            .await
            .unwrap();
    }

    async fn count(conn: &mut sqlx::SqliteConnection, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(conn)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn old_finished_jobs_expired_states_lapsed_grants_and_idle_listings_go_and_nothing_else_does()
     {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.db");
        let store = Store::open(&StoreOptions::new(path.clone())).await.unwrap();
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let day = 86_400;
        let (old, recent) = (NOW - 31 * day, NOW - 29 * day);
        // 1,201 old finished jobs (three batches of 500 and one more), recent ones, and old
        // queued ones (never deleted).
        exec(&mut conn, &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1201)
             INSERT INTO jobs (kind, payload, state, run_after, created_at, finished_at)
             SELECT 'dm', '{{}}', CASE i % 2 WHEN 0 THEN 'done' ELSE 'failed' END, {old}, {old}, {old} FROM n"
        )).await;
        exec(
            &mut conn,
            &format!(
                "INSERT INTO jobs (kind, payload, state, run_after, created_at, finished_at) VALUES
             ('dm', '{{}}', 'done', {recent}, {recent}, {recent}),
             ('dm', '{{}}', 'queued', {old}, {old}, NULL)"
            ),
        )
        .await;
        // Mentors 1 (idle a year, nothing upcoming), 2 (idle, a session ahead), 3 (recent).
        for id in [1, 2, 3, 4] {
            exec(
                &mut conn,
                &format!("INSERT INTO users (user_id, timezone) VALUES ({id}, 'UTC')"),
            )
            .await;
        }
        for id in [1, 2, 3] {
            exec(
                &mut conn,
                &format!(
                    "INSERT INTO mentors (user_id, timezone, created_at, updated_at)
                     VALUES ({id}, 'UTC', {old}, {old})"
                ),
            )
            .await;
        }
        let year_ago = NOW - 366 * day;
        exec(
            &mut conn,
            &format!(
                "INSERT INTO mentor_guilds (guild_id, mentor_id, listed_at) VALUES
             (9, 1, {year_ago}), (9, 2, {year_ago}), (9, 3, {recent})"
            ),
        )
        .await;
        exec(
            &mut conn,
            &format!(
            "INSERT INTO bookings (id, mentor_id, mentee_id, mentor_name, mentee_name, start_at,
                                   end_at, status, created_at, updated_at)
             VALUES ('ABCDEF', 2, 4, 'm', 'e', {}, {}, 'active', {old}, {old})",
            NOW + day,
            NOW + day + 1800
        ),
        )
        .await;
        exec(
            &mut conn,
            &format!(
                "INSERT INTO oauth_states (state, user_id, verifier, expires_at) VALUES
             ('gone', 3, x'00', {}), ('live', 3, x'00', {})",
                NOW - 1,
                NOW + 600
            ),
        )
        .await;

        exec(
            &mut conn,
            &format!(
                "INSERT INTO pending_grants (id, user_id, refresh_token, scopes, expires_at) VALUES
             ('lapsed', 3, x'00', 's', {}), ('waiting', 3, x'00', 's', {})",
                NOW,
                NOW + 1
            ),
        )
        .await;

        let now = DateTime::from_timestamp(NOW, 0).unwrap();
        let pruned = prune(&store, None, &Retention::default(), now)
            .await
            .unwrap();
        assert_eq!(
            pruned,
            Pruned {
                jobs: 1201,
                states: 1,
                grants: 1,
                listings: 1
            }
        );
        let waiting: Vec<String> = sqlx::query_scalar("SELECT id FROM pending_grants")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(waiting, ["waiting"]);
        assert_eq!(count(&mut conn, "SELECT count(*) FROM jobs").await, 2);
        assert_eq!(
            count(
                &mut conn,
                "SELECT count(*) FROM jobs WHERE state = 'queued'"
            )
            .await,
            1
        );
        let listed: Vec<i64> = sqlx::query_scalar("SELECT mentor_id FROM mentor_guilds ORDER BY 1")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(listed, [2, 3]);
        assert_eq!(
            count(
                &mut conn,
                "SELECT count(*) FROM oauth_states WHERE state = 'live'"
            )
            .await,
            1
        );
        assert_eq!(
            prune(&store, None, &Retention::default(), now)
                .await
                .unwrap(),
            Pruned::default()
        );

        // A mentor command in the server renews the listing: mentor 3, a year later, stays.
        let service = crate::service::Service::new(store.clone());
        let later = now + Duration::days(300);
        let listing = (crate::domain::GuildId(9), crate::domain::UserId(3));
        service.seen(vec![], Some(listing), later).await.unwrap();
        let year_on = now + Duration::days(400);
        let pruned = prune(&store, None, &Retention::default(), year_on)
            .await
            .unwrap();
        assert_eq!(pruned.listings, 1, "mentor 2's session is over: unlisted");
        let listed: Vec<i64> = sqlx::query_scalar("SELECT mentor_id FROM mentor_guilds")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(listed, [3]);
    }
}
