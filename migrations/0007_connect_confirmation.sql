-- Connecting Google Calendar is bound to the browser that continued from the start page and
-- confirmed by the Discord user in a DM (README, "Google Calendar"; issue 13).

-- The Discord name the start page shows ("connect to …"), and the SHA-256 of the cookie
-- nonce given to the first browser that continued (NULL until then). The callback is
-- accepted only from that browser.
ALTER TABLE oauth_states ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_states ADD COLUMN browser BLOB;

-- A Google grant the Discord user has not confirmed yet. The refresh token is sealed to the
-- user like a connected account's. Confirm moves it to google_accounts; "Not me" deletes it
-- and revokes the grant; unanswered ones are deleted by housekeeping after they expire.
CREATE TABLE pending_grants (
    id             TEXT    PRIMARY KEY,
    user_id        INTEGER NOT NULL,
    email          TEXT,
    refresh_token  BLOB    NOT NULL,
    scopes         TEXT    NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_grants_expiry ON pending_grants (expires_at);
