-- Google Calendar: per-install values, connected accounts, pending OAuth requests, and at
-- most one queued calendar sync job per booking.

-- Values fixed at install time (the salt of calendar event ids).
CREATE TABLE install (
    key    TEXT PRIMARY KEY,
    value  BLOB NOT NULL
) STRICT, WITHOUT ROWID;

-- A mentor's Google account. The refresh token is sealed (XChaCha20-Poly1305, the user id
-- as associated data) and never stored in plain text; it is NULL once Google revoked it.
CREATE TABLE google_accounts (
    user_id        INTEGER PRIMARY KEY,
    email          TEXT,
    refresh_token  BLOB,
    scopes         TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('connected', 'revoked')),
    connected_at   INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_error     TEXT,
    last_error_at  INTEGER,
    CHECK ((status = 'connected') = (refresh_token IS NOT NULL))
) STRICT;

-- An OAuth request under way: single use, expires after ten minutes, bound to the user
-- who asked. The PKCE verifier is sealed like refresh tokens.
CREATE TABLE oauth_states (
    state       TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    verifier    BLOB    NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

-- One queued sync per booking: a change while one is queued (or running) re-arms it.
CREATE UNIQUE INDEX jobs_one_calendar_sync ON jobs (booking_id)
    WHERE kind = 'calendar_sync' AND state = 'queued';
