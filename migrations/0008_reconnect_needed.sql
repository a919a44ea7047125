-- Why a connected account can't be used until its mentor reconnects, or until the operator
-- fixes the bot's configuration (e.g. the stored token doesn't open with
-- TOKEN_ENCRYPTION_KEY). NULL when it can be used. The sealed token is kept: setting
-- TOKEN_ENCRYPTION_KEY_PREVIOUS to the old key brings it back without a reconnect.
ALTER TABLE google_accounts ADD COLUMN reconnect_reason TEXT;
