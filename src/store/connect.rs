//! Connecting a Google account: OAuth requests under way (single use, bound to the browser
//! that continued from the start page) and grants waiting for the Discord user's Confirm.
//! Verifiers and refresh tokens arrive sealed; the browser's cookie nonce arrives hashed.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::{Store, StoreResult, WriteTx, from_secs, to_secs, user_from, user_param};
use crate::domain::UserId;

/// An OAuth request under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// Who asked.
    pub user: UserId,
    /// Their Discord name when they asked, for the start page.
    pub display_name: String,
    /// The sealed PKCE verifier.
    pub sealed_verifier: Vec<u8>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// SHA-256 of the cookie nonce of the browser that continued, once one has.
    pub browser: Option<Vec<u8>>,
}

/// A Google grant waiting for its Discord user to confirm it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingGrant {
    /// The random id the DM's buttons carry.
    pub id: String,
    /// The Discord user it would be connected to.
    pub user: UserId,
    /// The Google account's email, when Google told it.
    pub email: Option<String>,
    /// The refresh token, sealed to the user.
    pub sealed_refresh_token: Vec<u8>,
    /// The granted scopes, space-separated.
    pub scopes: String,
    /// When an unanswered question lapses.
    pub expires_at: DateTime<Utc>,
}

pub(super) async fn put_state(
    conn: &mut SqliteConnection,
    state: &str,
    pending: &OAuthState,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // Expired requests are only clutter: drop them while we are here.
    sqlx::query("DELETE FROM oauth_states WHERE expires_at <= ?")
        .bind(to_secs(now))
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO oauth_states (state, user_id, display_name, verifier, expires_at, browser)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(state)
    .bind(user_param(pending.user))
    .bind(&pending.display_name)
    .bind(&pending.sealed_verifier)
    .bind(to_secs(pending.expires_at))
    .bind(&pending.browser)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct StateRow {
    user_id: i64,
    display_name: String,
    verifier: Vec<u8>,
    expires_at: i64,
    browser: Option<Vec<u8>>,
}

impl StateRow {
    fn into_state(self) -> StoreResult<OAuthState> {
        Ok(OAuthState {
            user: user_from(self.user_id),
            display_name: self.display_name,
            sealed_verifier: self.verifier,
            expires_at: from_secs(self.expires_at)?,
            browser: self.browser,
        })
    }
}

pub(super) async fn state(
    conn: &mut SqliteConnection,
    state: &str,
) -> StoreResult<Option<OAuthState>> {
    let row: Option<StateRow> = sqlx::query_as(
        "SELECT user_id, display_name, verifier, expires_at, browser
         FROM oauth_states WHERE state = ?",
    )
    .bind(state)
    .fetch_optional(conn)
    .await?;
    row.map(StateRow::into_state).transpose()
}

/// Binds an unexpired request no browser has continued yet to `browser`; false otherwise.
pub(super) async fn bind_browser(
    conn: &mut SqliteConnection,
    state: &str,
    browser: &[u8],
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE oauth_states SET browser = ?1
         WHERE state = ?2 AND browser IS NULL AND expires_at > ?3",
    )
    .bind(browser)
    .bind(state)
    .bind(to_secs(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Consumes the request if `browser` is the one bound to it: a state works once, and only
/// for that browser (another browser's attempt leaves it for the right one).
pub(super) async fn take_state(
    conn: &mut SqliteConnection,
    state: &str,
    browser: &[u8],
) -> StoreResult<Option<OAuthState>> {
    let row: Option<StateRow> = sqlx::query_as(
        "DELETE FROM oauth_states WHERE state = ? AND browser = ?
         RETURNING user_id, display_name, verifier, expires_at, browser",
    )
    .bind(state)
    .bind(browser)
    .fetch_optional(conn)
    .await?;
    row.map(StateRow::into_state).transpose()
}

pub(super) async fn put_grant(
    conn: &mut SqliteConnection,
    grant: &PendingGrant,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO pending_grants (id, user_id, email, refresh_token, scopes, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&grant.id)
    .bind(user_param(grant.user))
    .bind(&grant.email)
    .bind(&grant.sealed_refresh_token)
    .bind(&grant.scopes)
    .bind(to_secs(grant.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: String,
    user_id: i64,
    email: Option<String>,
    refresh_token: Vec<u8>,
    scopes: String,
    expires_at: i64,
}

impl GrantRow {
    fn into_grant(self) -> StoreResult<PendingGrant> {
        Ok(PendingGrant {
            id: self.id,
            user: user_from(self.user_id),
            email: self.email,
            sealed_refresh_token: self.refresh_token,
            scopes: self.scopes,
            expires_at: from_secs(self.expires_at)?,
        })
    }
}

/// Removes and returns `user`'s pending grant `id`, expired or not (the caller decides).
pub(super) async fn take_grant(
    conn: &mut SqliteConnection,
    id: &str,
    user: UserId,
) -> StoreResult<Option<PendingGrant>> {
    let row: Option<GrantRow> = sqlx::query_as(
        "DELETE FROM pending_grants WHERE id = ? AND user_id = ?
         RETURNING id, user_id, email, refresh_token, scopes, expires_at",
    )
    .bind(id)
    .bind(user_param(user))
    .fetch_optional(conn)
    .await?;
    row.map(GrantRow::into_grant).transpose()
}

/// Removes and returns up to `limit` grants that lapsed by `now`.
pub(super) async fn take_expired_grants(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    limit: u32,
) -> StoreResult<Vec<PendingGrant>> {
    let rows: Vec<GrantRow> = sqlx::query_as(
        "DELETE FROM pending_grants WHERE id IN (
             SELECT id FROM pending_grants WHERE expires_at <= ?1 LIMIT ?2)
         RETURNING id, user_id, email, refresh_token, scopes, expires_at",
    )
    .bind(to_secs(now))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(GrantRow::into_grant).collect()
}

impl Store {
    /// An OAuth request under way (not consumed).
    pub async fn oauth_state(&self, state: &str) -> StoreResult<Option<OAuthState>> {
        self::state(&mut *self.read.acquire().await?, state).await
    }
}

impl WriteTx {
    /// Stores an OAuth request under `state` (and drops expired ones).
    pub async fn put_oauth_state(
        &mut self,
        state: &str,
        pending: &OAuthState,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        put_state(self.conn().await?, state, pending, now).await
    }

    /// See [`bind_browser`].
    pub async fn bind_oauth_browser(
        &mut self,
        state: &str,
        browser: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        bind_browser(self.conn().await?, state, browser, now).await
    }

    /// See [`take_state`].
    pub async fn take_oauth_state(
        &mut self,
        state: &str,
        browser: &[u8],
    ) -> StoreResult<Option<OAuthState>> {
        take_state(self.conn().await?, state, browser).await
    }

    /// Keeps a grant until its user answers.
    pub async fn put_pending_grant(&mut self, grant: &PendingGrant) -> StoreResult<()> {
        put_grant(self.conn().await?, grant).await
    }

    /// See [`take_grant`].
    pub async fn take_pending_grant(
        &mut self,
        id: &str,
        user: UserId,
    ) -> StoreResult<Option<PendingGrant>> {
        take_grant(self.conn().await?, id, user).await
    }

    /// See [`take_expired_grants`].
    pub async fn take_expired_grants(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<PendingGrant>> {
        take_expired_grants(self.conn().await?, now, limit).await
    }
}
