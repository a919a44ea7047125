-- Display names seen in interactions (used to label bookings made from a picker click),
-- the servers where each mentor is listed, and per-server settings.

ALTER TABLE users ADD COLUMN name TEXT;

CREATE TABLE mentor_guilds (
    guild_id    INTEGER NOT NULL,
    mentor_id   INTEGER NOT NULL REFERENCES mentors(user_id) ON DELETE CASCADE,
    listed_at   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, mentor_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE guild_settings (
    guild_id        INTEGER PRIMARY KEY,
    mentor_role_id  INTEGER
) STRICT;
