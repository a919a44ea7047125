//! Access tokens per mentor (refreshed before expiry, dropped on 401), and a stored grant
//! that can't be used: revoked by Google, or sealed with a key that no longer opens it
//! (the mentor is told once; the token is kept), and the start-up check of the key.

use chrono::{DateTime, Duration, Utc};

use super::{Google, TOKEN_MARGIN, TokenError};
use crate::domain::{AccountNotice, UserId};
use crate::gcal::oauth::OAuthError;
use crate::secret::Secret;
use crate::service::account_job;
use crate::store::{Store, StoreError};

impl Google {
    /// At start-up: whether the configured keys open a stored refresh token (any one). A
    /// changed `TOKEN_ENCRYPTION_KEY` would otherwise show only as mentors' calendars
    /// falling silent; this says so in the log at once. `None` when nothing is stored.
    pub async fn check_stored_tokens(&self, store: &Store) -> Result<Option<bool>, StoreError> {
        let Some(account) = store.any_connected_google_account().await? else {
            return Ok(None);
        };
        let Some(sealed) = &account.sealed_refresh_token else {
            return Ok(None);
        };
        let opens = self.key.open(account.user.0, sealed).is_ok();
        if !opens {
            tracing::error!(
                "TOKEN_ENCRYPTION_KEY does not open the stored Google tokens: was the key changed? Set TOKEN_ENCRYPTION_KEY_PREVIOUS to the old key (README, \"Rotating the token key\"); until then mentors are asked to reconnect when their calendar is next used"
            );
        }
        Ok(Some(opens))
    }

    /// Revokes the grant behind a stored refresh token, best effort: a failure is logged
    /// (the token is deleted all the same; Google drops unused grants, and the user can
    /// remove it in their Google account).
    pub async fn revoke_stored(&self, user: UserId, sealed: &[u8]) {
        match self.key.open(user.0, sealed) {
            Ok(opened) => {
                if let Err(error) = self.oauth.revoke(&opened.secret).await {
                    tracing::warn!(user = user.0, error = %error, "revoking the Google grant failed");
                }
            }
            Err(error) => {
                tracing::warn!(user = user.0, error = %error, "a stored refresh token did not open")
            }
        }
    }

    /// A valid access token for `user`, refreshed when it is about to expire.
    pub async fn access_token(
        &self,
        store: &Store,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Secret, TokenError> {
        if let Some((token, expires)) = self.lock_tokens().get(&user)
            && *expires > now + TOKEN_MARGIN
        {
            return Ok(token.clone());
        }
        let account = store
            .google_account(user)
            .await?
            .ok_or(TokenError::NotConnected)?;
        let Some(sealed) = &account.sealed_refresh_token else {
            return Err(TokenError::NotConnected);
        };
        let Ok(opened) = self.key.open(user.0, sealed) else {
            self.reconnect_needed(store, user, now).await?;
            return Err(TokenError::ReconnectNeeded);
        };
        if opened.stale || account.reconnect.is_some() {
            self.renew_stored(
                store,
                user,
                sealed,
                &opened.secret,
                account.reconnect.is_some(),
                now,
            )
            .await?;
        }
        let refresh = opened.secret;
        match self.oauth.refresh(&refresh).await {
            Ok(access) => {
                let lifetime = Duration::from_std(access.expires_in).unwrap_or(Duration::hours(1));
                self.lock_tokens()
                    .insert(user, (access.token.clone(), now + lifetime));
                Ok(access.token)
            }
            Err(OAuthError::InvalidGrant) => {
                self.revoked(store, user, now).await?;
                Err(TokenError::Revoked)
            }
            Err(OAuthError::Transient(e)) => Err(TokenError::Transient(e)),
            Err(error @ OAuthError::InvalidClient) => {
                let error = error.to_string();
                tracing::error!(user = user.0, %error, "Google refused mentorbot's OAuth client; calendar syncs wait until the configuration is fixed");
                let noted = error.clone();
                store
                    .transact(move |tx| {
                        Box::pin(async move { tx.note_calendar_error(user, &noted, now).await })
                    })
                    .await?;
                Err(TokenError::Misconfigured(error))
            }
            Err(OAuthError::Permanent(e)) => Err(TokenError::Permanent(e)),
        }
    }

    /// Forgets `user`'s access token (after a 401, or when they disconnect).
    pub fn forget_token(&self, user: UserId) {
        self.lock_tokens().remove(&user);
    }

    /// The stored token doesn't open: loudly logged, and the first time the mentor is told
    /// to reconnect (the account says why in `/calendar status`). The token is kept.
    async fn reconnect_needed(
        &self,
        store: &Store,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), TokenError> {
        self.forget_token(user);
        self.forget_busy(user);
        let job = account_job(
            &AccountNotice::CalendarUnreadable { recipient: user.0 },
            now,
        )?;
        let told = store
            .transact(move |tx| {
                Box::pin(async move {
                    let reason = "mentorbot's stored access doesn't open with its encryption key";
                    let changed = tx.set_reconnect_reason(user, Some(reason), now).await?;
                    if changed {
                        tx.enqueue(&[job]).await?;
                    }
                    Ok::<bool, StoreError>(changed)
                })
            })
            .await?;
        tracing::error!(
            user = user.0,
            told,
            "a stored Google refresh token doesn't open with TOKEN_ENCRYPTION_KEY (or _PREVIOUS); the mentor must reconnect"
        );
        Ok(())
    }

    /// A token that opened: sealed again with the current key when it was sealed with the
    /// previous one, and, when the account was marked for reconnecting (the operator has
    /// since restored the key), unmarked with every upcoming booking queued again.
    async fn renew_stored(
        &self,
        store: &Store,
        user: UserId,
        sealed: &[u8],
        token: &Secret,
        was_unreadable: bool,
        now: DateTime<Utc>,
    ) -> Result<(), TokenError> {
        let old = sealed.to_vec();
        let new = self.key.seal(user.0, token.expose());
        store
            .transact(move |tx| {
                Box::pin(async move {
                    tx.reseal_refresh_token(user, &old, &new).await?;
                    if was_unreadable && tx.set_reconnect_reason(user, None, now).await? {
                        tx.queue_upcoming_syncs(user, now).await?;
                    }
                    Ok::<(), StoreError>(())
                })
            })
            .await?;
        if was_unreadable {
            tracing::info!(
                user = user.0,
                "a stored Google token opens again; upcoming bookings are synced again"
            );
        }
        Ok(())
    }

    /// Google answered `invalid_grant`: mark the account revoked and, the first time, queue
    /// a DM asking the mentor to connect again.
    async fn revoked(&self, store: &Store, user: UserId, now: DateTime<Utc>) -> anyhow::Result<()> {
        self.forget_token(user);
        self.forget_busy(user);
        let job = account_job(&AccountNotice::CalendarRevoked { recipient: user.0 }, now)?;
        store
            .transact(move |tx| {
                Box::pin(async move {
                    let error = "Google revoked access (invalid_grant): connect again with /calendar connect";
                    if tx.revoke_google_account(user, error, now).await? {
                        tx.enqueue(&[job]).await?;
                    }
                    Ok::<(), StoreError>(())
                })
            })
            .await?;
        tracing::warn!(
            user = user.0,
            "Google revoked a mentor's grant; they were asked to reconnect"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use testkit::google::FakeGoogle;

    use super::*;
    use crate::gcal::crypto::{Keyring, TokenKey};
    use crate::gcal::{GoogleConfig, SCOPE_EVENTS};
    use crate::service::GoogleOptions;
    use crate::store::StoreOptions;

    const EMAIL: &str = "mentor@example.com";
    const MENTOR: UserId = UserId(7);

    #[tokio::test]
    async fn the_start_up_check_says_whether_the_configured_keys_open_a_stored_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreOptions::new(dir.path().join("k.db")))
            .await
            .unwrap();
        let config = GoogleConfig::new(
            FakeGoogle::CLIENT_ID.into(),
            Secret::new(FakeGoogle::CLIENT_SECRET),
            "http://127.0.0.1:9/oauth/google/callback".into(),
        );
        let (old, new) = (TokenKey::generate(), TokenKey::generate());
        let google = |key: Keyring| {
            let (config, store) = (config.clone(), store.clone());
            async move {
                Google::new(
                    &config,
                    key,
                    "http://127.0.0.1:9",
                    GoogleOptions::default(),
                    &store,
                )
                .await
                .unwrap()
            }
        };
        let check = |g: Google| {
            let store = store.clone();
            async move { g.check_stored_tokens(&store).await.unwrap() }
        };
        assert_eq!(
            check(google(new.clone().into()).await).await,
            None,
            "nothing stored"
        );
        let sealed = old.seal(MENTOR.0, "refresh");
        let now = Utc::now();
        store
            .transact(move |tx| {
                Box::pin(async move {
                    tx.save_google_account(MENTOR, Some(EMAIL), &sealed, SCOPE_EVENTS, now)
                        .await
                })
            })
            .await
            .unwrap();
        assert_eq!(check(google(old.clone().into()).await).await, Some(true));
        assert_eq!(check(google(new.clone().into()).await).await, Some(false));
        let rotated = Keyring::new(new, Some(old));
        assert_eq!(check(google(rotated).await).await, Some(true));
    }
}
