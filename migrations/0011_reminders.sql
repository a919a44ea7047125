-- /reminders set: a user's reminder leads in minutes before a session, longest first,
-- comma-separated; '' is "off". No row: the defaults (24 hours and 15 minutes).
CREATE TABLE reminder_settings (
    user_id  INTEGER PRIMARY KEY,
    leads    TEXT    NOT NULL
) STRICT;
