//! Calendar use cases: `/calendar connect | status | disconnect` and the two OAuth pages the
//! browser visits (`/oauth/google/start`, `/oauth/google/callback`).
//!
//! Connect creates a single-use `state` (≥ 128 random bits, 10 minutes, bound to the user)
//! stored with the sealed PKCE verifier; the link in Discord points at the bot's own start
//! page (Google's consent URL is longer than Discord's 512-character link limit), which
//! redirects to Google. The callback consumes the state before anything else, so a replay
//! finds nothing.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::Google;
use super::google::AcceptedGrant;
use super::{Service, ServiceError, ServiceResult, upcoming_as_mentor};
use crate::domain::{AccountNotice, Booking, CalendarStatus, UserId};
use crate::store::{GoogleAccount, NewJob, StoreError};

/// How long a connect link works.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);

/// The link `/calendar connect` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectLink {
    /// The bot's own start page for this request.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What `/calendar status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarView {
    /// The account, connected or revoked; `None` when never connected (or disconnected).
    pub account: Option<GoogleAccount>,
    /// Upcoming bookings whose sync failed, soonest first.
    pub failed: Vec<Booking>,
    /// Upcoming bookings whose sync is under way.
    pub pending: usize,
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

/// A connected account, as the callback page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// Whose Discord account.
    pub user: UserId,
    /// The Google account's email, when Google told it.
    pub email: Option<String>,
    /// Upcoming bookings queued for syncing.
    pub queued: usize,
}

impl Service {
    fn google_or_off(&self) -> ServiceResult<&Arc<Google>> {
        self.google.as_ref().ok_or(ServiceError::CalendarOff)
    }

    /// `/calendar connect`: a fresh single-use link to the bot's start page.
    pub async fn calendar_connect(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<ConnectLink> {
        let google = self.google_or_off()?;
        let expires_at = now + STATE_LIFETIME;
        let (state, pending) = google.new_connect(user, expires_at);
        let url = google.start_url(&state);
        self.store
            .transact(move |tx| {
                Box::pin(async move { tx.put_oauth_state(&state, &pending, now).await })
            })
            .await?;
        Ok(ConnectLink { url, expires_at })
    }

    /// `/calendar status`.
    pub async fn calendar_status(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> ServiceResult<CalendarView> {
        self.google_or_off()?;
        let account = self.store.google_account(user).await?;
        let upcoming = self.store.bookings(&upcoming_as_mentor(user, now)).await?;
        let pending = upcoming
            .iter()
            .filter(|b| b.calendar_status == CalendarStatus::Pending)
            .count();
        let failed = upcoming
            .into_iter()
            .filter(|b| b.calendar_status == CalendarStatus::Failed)
            .collect();
        Ok(CalendarView {
            account,
            failed,
            pending,
        })
    }

    /// `/calendar disconnect`: revokes the grant at Google (best effort) and deletes the
    /// stored token. Existing events stay and are no longer updated. False when nothing
    /// was connected.
    pub async fn calendar_disconnect(&self, user: UserId) -> ServiceResult<bool> {
        let google = self.google_or_off()?;
        let Some(account) = self.store.google_account(user).await? else {
            return Ok(false);
        };
        if let Some(sealed) = &account.sealed_refresh_token {
            google.revoke_stored(user, sealed).await;
        }
        google.forget_token(user);
        google.forget_busy(user);
        let deleted = self
            .store
            .transact(move |tx| Box::pin(async move { tx.delete_google_account(user).await }))
            .await?;
        Ok(deleted)
    }

    /// `GET /oauth/google/start?state=`: Google's consent URL for a valid, unused state.
    pub async fn oauth_start(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<String, OAuthFailure> {
        let google = self.google.as_ref().ok_or(OAuthFailure::Off)?;
        if !Google::plausible_state(state) {
            return Err(OAuthFailure::BadState);
        }
        let pending = self
            .store
            .oauth_state(state)
            .await?
            .filter(|p| p.expires_at > now)
            .ok_or(OAuthFailure::BadState)?;
        Ok(google.consent_url(state, &pending)?)
    }

    /// `GET /oauth/google/callback`: consumes the state, exchanges the code, stores the
    /// account (refresh token sealed), queues a sync of every upcoming booking and a DM.
    pub async fn oauth_callback(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Connected, OAuthFailure> {
        let google = self.google.as_ref().ok_or(OAuthFailure::Off)?;
        // Junk never reaches the single writer that Confirm clicks wait on.
        let state = state
            .filter(|s| Google::plausible_state(s))
            .ok_or(OAuthFailure::BadState)?
            .to_owned();
        // Consumed first: whatever happens next, this state never works again.
        let pending = self
            .store
            .transact(move |tx| Box::pin(async move { tx.take_oauth_state(&state).await }))
            .await?
            .filter(|p| p.expires_at > now)
            .ok_or(OAuthFailure::BadState)?;
        if error.is_some() {
            return Err(OAuthFailure::Denied);
        }
        let code = code.filter(|c| !c.is_empty()).ok_or(OAuthFailure::Denied)?;
        let user = pending.user;
        let grant = google.accept_grant(&pending, code).await?;
        let AcceptedGrant {
            sealed_refresh_token: sealed,
            scopes,
            email,
        } = grant;
        let shown_email = email.clone();
        google.forget_token(user);
        google.forget_busy(user);
        let queued = self
            .store
            .transact(move |tx| {
                Box::pin(async move {
                    tx.save_google_account(user, email.as_deref(), &sealed, &scopes, now)
                        .await?;
                    let queued = tx.queue_upcoming_syncs(user, now).await?;
                    let notice = AccountNotice::CalendarConnected {
                        recipient: user.0,
                        email,
                        queued,
                    };
                    let job = NewJob {
                        kind: AccountNotice::JOB_KIND.to_owned(),
                        booking: None,
                        payload: serde_json::to_value(&notice)
                            .map_err(|e| StoreError::Corrupt(format!("notice: {e}")))?,
                        run_after: now,
                        now,
                    };
                    tx.enqueue(&[job]).await?;
                    Ok::<usize, StoreError>(queued)
                })
            })
            .await?;
        tracing::info!(user = user.0, queued, "Google Calendar connected");
        Ok(Connected {
            user,
            email: shown_email,
            queued,
        })
    }
}
