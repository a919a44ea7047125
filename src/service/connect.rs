//! Connecting Google Calendar: `/calendar connect`, the OAuth pages the browser visits, and
//! the Confirm / Not me question the bot then asks in a DM.
//!
//! 1. `/calendar connect` stores a single-use `state` (128 random bits, 10 minutes, bound to
//!    the asker) with the sealed PKCE verifier and the asker's Discord name; the link points
//!    at the bot's own start page (Google's consent URL is longer than Discord's
//!    512-character link limit).
//! 2. The start page names the Discord account the calendar will be connected to. Its
//!    Continue button binds the state to that browser: the first browser to continue gets a
//!    random cookie nonce, whose SHA-256 is stored with the state, and is sent on to Google.
//!    Another browser can't continue with the same link.
//! 3. The callback is accepted only with that browser's cookie. It consumes the state
//!    first (a replay finds nothing), exchanges the code, and keeps the grant as *pending*.
//! 4. The bot DMs the Discord user "Connect x@y.com?". Confirm makes the grant the
//!    account; Not me deletes it and revokes it at Google. Unanswered ones lapse after
//!    [`CONFIRM_LIFETIME`] and housekeeping revokes them.
//!
//! So a link that leaks can't bind a stranger's Google account to the asker without the
//! asker's Confirm, and an attacker who sends a mentor their own link can't finish from a
//! consent URL opened in another browser, and is named on the start page otherwise.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::google::AcceptedGrant;
use super::{Google, Service, ServiceError, ServiceResult};
use crate::domain::{AccountNotice, UserId};
use crate::store::{OAuthState, PendingGrant, StoreError};

/// How long a connect link works.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);

/// How long the DM's Confirm / Not me question waits for an answer.
pub const CONFIRM_LIFETIME: Duration = Duration::hours(1);

/// The link `/calendar connect` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectLink {
    /// The bot's own start page for this request.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What the start page shows before the browser continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPage {
    /// The Discord account the calendar will be connected to.
    pub user: UserId,
    /// Its name when the link was made.
    pub display_name: String,
}

/// Where the browser goes after Continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continue {
    /// Google's consent URL.
    pub consent_url: String,
    /// The nonce to set as this browser's cookie, when it was bound just now.
    pub new_nonce: Option<String>,
}

/// What the callback page says: the grant now waits for the Discord user's Confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingConfirmation {
    /// The Discord account asked.
    pub user: UserId,
    /// Its name when the link was made.
    pub display_name: String,
    /// The Google account's email, when Google told it.
    pub email: Option<String>,
}

/// A connection the Discord user confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// The Google account's email, when Google told it.
    pub email: Option<String>,
    /// Upcoming bookings queued for syncing.
    pub queued: usize,
}

/// Why the OAuth flow stopped; each has a page for the browser. Nothing is stored.
#[derive(Debug, thiserror::Error)]
pub enum OAuthFailure {
    /// Google is not configured.
    #[error("Google Calendar isn't configured on this bot.")]
    Off,
    /// The link is unknown, already used or expired.
    #[error(
        "This link has expired or was already used. Run /calendar connect in Discord for a new one."
    )]
    BadState,
    /// Another browser already continued with this link.
    #[error(
        "This link was already opened in another browser, and only works there. If that wasn't you, run /calendar connect in Discord for a new link and don't share it."
    )]
    OpenedElsewhere,
    /// The callback came to a browser that did not continue from the start page.
    #[error(
        "Finish connecting in the browser where you opened the link from Discord: this browser didn't start it. Run /calendar connect in Discord for a new link."
    )]
    NotThisBrowser,
    /// The user declined on Google's page.
    #[error(
        "You didn't allow access, so nothing was connected. Run /calendar connect again if you change your mind."
    )]
    Denied,
    /// Calendar events access was not granted (granular consent).
    #[error(
        "mentorbot needs permission to manage your calendar events, and that box was unticked. Run /calendar connect again and allow \"See, edit, share, and permanently delete all the calendars you can access using Google Calendar\" events access."
    )]
    MissingScope,
    /// Google gave no refresh token.
    #[error(
        "Google didn't give mentorbot lasting access. Remove mentorbot at https://myaccount.google.com/permissions, then run /calendar connect again."
    )]
    NoRefreshToken,
    /// The code could not be exchanged.
    #[error("Google couldn't complete the connection ({0}). Run /calendar connect to try again.")]
    Exchange(String),
    /// Anything unexpected.
    #[error("Something went wrong on our side. Run /calendar connect to try again.")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for OAuthFailure {
    fn from(error: StoreError) -> Self {
        OAuthFailure::Internal(error.into())
    }
}

/// A browser's cookie nonce: 128 random bits, base64url (22 characters).
fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    crate::random::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `nonce` could be one [`new_nonce`] made; checked before any database work.
fn plausible_nonce(nonce: &str) -> bool {
    Google::plausible_state(nonce)
}

/// What the store keeps of a nonce: its SHA-256, so the database never holds the cookie.
fn browser_hash(nonce: &str) -> Vec<u8> {
    Sha256::digest(nonce.as_bytes()).to_vec()
}

/// The browser `cookie` is the one bound to the request (compared as hashes).
fn same_browser(bound: &[u8], cookie: Option<&str>) -> bool {
    cookie.is_some_and(|c| plausible_nonce(c) && browser_hash(c) == bound)
}

impl Service {
    fn google_for_pages(&self) -> Result<&Google, OAuthFailure> {
        self.google.as_deref().ok_or(OAuthFailure::Off)
    }

    /// The unexpired request `state` names; junk is refused before the database is asked.
    async fn live_state(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<OAuthState, OAuthFailure> {
        if !Google::plausible_state(state) {
            return Err(OAuthFailure::BadState);
        }
        self.store
            .oauth_state(state)
            .await?
            .filter(|p| p.expires_at > now)
            .ok_or(OAuthFailure::BadState)
    }

    /// `/calendar connect`: a fresh single-use link to the bot's start page.
    pub async fn calendar_connect(
        &self,
        user: UserId,
        display_name: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<ConnectLink> {
        let google = self.google.as_ref().ok_or(ServiceError::CalendarOff)?;
        let expires_at = now + STATE_LIFETIME;
        let (state, pending) = google.new_connect(user, display_name, expires_at);
        let url = google.start_url(&state);
        self.store
            .transact(move |tx| {
                Box::pin(async move { tx.put_oauth_state(&state, &pending, now).await })
            })
            .await?;
        Ok(ConnectLink { url, expires_at })
    }

    /// `GET /oauth/google/start?state=`: whom the link connects to, for a valid, unused
    /// state that no other browser has continued with. Changes nothing (link previews and
    /// prefetches may fetch it).
    pub async fn oauth_start_page(
        &self,
        state: &str,
        cookie: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StartPage, OAuthFailure> {
        self.google_for_pages()?;
        let pending = self.live_state(state, now).await?;
        if let Some(bound) = &pending.browser
            && !same_browser(bound, cookie)
        {
            return Err(OAuthFailure::OpenedElsewhere);
        }
        Ok(StartPage {
            user: pending.user,
            display_name: pending.display_name,
        })
    }

    /// `POST /oauth/google/start` (the start page's Continue): binds the request to this
    /// browser if none continued yet, and gives Google's consent URL.
    pub async fn oauth_continue(
        &self,
        state: &str,
        cookie: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Continue, OAuthFailure> {
        let google = self.google_for_pages()?;
        let pending = self.live_state(state, now).await?;
        let new_nonce = match &pending.browser {
            Some(bound) if same_browser(bound, cookie) => None,
            Some(_) => return Err(OAuthFailure::OpenedElsewhere),
            None => {
                let nonce = new_nonce();
                let hash = browser_hash(&nonce);
                let owned = state.to_owned();
                let bound = self
                    .store
                    .transact(move |tx| {
                        Box::pin(async move { tx.bind_oauth_browser(&owned, &hash, now).await })
                    })
                    .await?;
                // Another browser continued between the read and this write.
                if !bound {
                    return Err(OAuthFailure::OpenedElsewhere);
                }
                Some(nonce)
            }
        };
        Ok(Continue {
            consent_url: google.consent_url(state, &pending)?,
            new_nonce,
        })
    }

    /// `GET /oauth/google/callback`: only from the browser bound to the state. Consumes the
    /// state, exchanges the code, keeps the grant pending and queues the DM that asks the
    /// Discord user to confirm it.
    pub async fn oauth_callback(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
        cookie: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AwaitingConfirmation, OAuthFailure> {
        let google = self.google_for_pages()?;
        // Junk never reaches the single writer that Confirm clicks wait on.
        let state = state
            .filter(|s| Google::plausible_state(s))
            .ok_or(OAuthFailure::BadState)?
            .to_owned();
        let cookie = cookie
            .filter(|c| plausible_nonce(c))
            .ok_or(OAuthFailure::NotThisBrowser)?;
        let hash = browser_hash(cookie);
        let taken = {
            let state = state.clone();
            self.store
                .transact(move |tx| {
                    Box::pin(async move { tx.take_oauth_state(&state, &hash).await })
                })
                .await?
        };
        let Some(pending) = taken else {
            // Not consumed: tell a wrong browser from a used or unknown link.
            let live = self
                .store
                .oauth_state(&state)
                .await?
                .is_some_and(|p| p.expires_at > now);
            return Err(if live {
                OAuthFailure::NotThisBrowser
            } else {
                OAuthFailure::BadState
            });
        };
        if pending.expires_at <= now {
            return Err(OAuthFailure::BadState);
        }
        if error.is_some() {
            return Err(OAuthFailure::Denied);
        }
        let code = code.filter(|c| !c.is_empty()).ok_or(OAuthFailure::Denied)?;
        let AcceptedGrant {
            sealed_refresh_token,
            scopes,
            email,
        } = google.accept_grant(&pending, code).await?;
        let user = pending.user;
        let grant = PendingGrant {
            id: new_nonce(),
            user,
            email: email.clone(),
            sealed_refresh_token,
            scopes,
            expires_at: now + CONFIRM_LIFETIME,
        };
        let notice = AccountNotice::ConfirmConnection {
            recipient: user.0,
            grant: grant.id.clone(),
            email: email.clone(),
        };
        let job = super::account_job(&notice, now)?;
        self.store
            .transact(move |tx| {
                Box::pin(async move {
                    tx.put_pending_grant(&grant).await?;
                    tx.enqueue(&[job]).await
                })
            })
            .await?;
        tracing::info!(
            user = user.0,
            "Google grant received; waiting for the user's Confirm"
        );
        Ok(AwaitingConfirmation {
            user,
            display_name: pending.display_name,
            email,
        })
    }

    /// The DM's Confirm: the pending grant becomes `user`'s account and every upcoming
    /// booking is queued for syncing. A different Google account than before replaces the
    /// old one: its event ids are forgotten (the new calendar gets new events) and its grant
    /// is revoked.
    pub async fn confirm_connection(
        &self,
        user: UserId,
        grant: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<Connected> {
        let google = self.google.as_ref().ok_or(ServiceError::CalendarOff)?;
        let id = grant.to_owned();
        let (taken, replaced, queued) = self
            .store
            .transact(move |tx| {
                Box::pin(async move {
                    let Some(grant) = tx.take_pending_grant(&id, user).await? else {
                        return Ok((None, None, 0));
                    };
                    if grant.expires_at <= now {
                        return Ok((Some(grant), None, 0));
                    }
                    let old = tx.google_account(user).await?;
                    let replaced =
                        old.filter(|old| old.email != grant.email || old.email.is_none());
                    if replaced.is_some() {
                        tx.forget_calendar_events(user).await?;
                    }
                    tx.save_google_account(
                        user,
                        grant.email.as_deref(),
                        &grant.sealed_refresh_token,
                        &grant.scopes,
                        now,
                    )
                    .await?;
                    let queued = tx.queue_upcoming_syncs(user, now).await?;
                    Ok::<_, StoreError>((Some(grant), replaced, queued))
                })
            })
            .await?;
        let Some(grant) = taken else {
            return Err(ServiceError::ConnectionLapsed);
        };
        if grant.expires_at <= now {
            google
                .revoke_stored(user, &grant.sealed_refresh_token)
                .await;
            return Err(ServiceError::ConnectionLapsed);
        }
        google.forget_token(user);
        google.forget_busy(user);
        if let Some(sealed) = replaced.and_then(|old| old.sealed_refresh_token) {
            google.revoke_stored(user, &sealed).await;
        }
        tracing::info!(user = user.0, queued, "Google Calendar connected");
        Ok(Connected {
            email: grant.email,
            queued,
        })
    }

    /// The DM's Not me: the pending grant is deleted and revoked at Google.
    pub async fn reject_connection(&self, user: UserId, grant: &str) -> ServiceResult<()> {
        let google = self.google.as_ref().ok_or(ServiceError::CalendarOff)?;
        let id = grant.to_owned();
        let taken = self
            .store
            .transact(move |tx| Box::pin(async move { tx.take_pending_grant(&id, user).await }))
            .await?
            .ok_or(ServiceError::ConnectionLapsed)?;
        google
            .revoke_stored(user, &taken.sealed_refresh_token)
            .await;
        tracing::warn!(
            user = user.0,
            "a Google grant was refused by its Discord user (Not me)"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_fresh_plausible_and_compared_by_hash() {
        let (a, b) = (new_nonce(), new_nonce());
        assert_ne!(a, b);
        assert!(plausible_nonce(&a) && plausible_nonce(&b));
        let bound = browser_hash(&a);
        assert_eq!(bound.len(), 32);
        assert!(same_browser(&bound, Some(&a)));
        assert!(!same_browser(&bound, Some(&b)));
        assert!(!same_browser(&bound, None));
        assert!(!same_browser(&bound, Some("")));
    }
}
