-- mentorbot schema. Instants are INTEGER seconds since the Unix epoch (UTC); dates are
-- TEXT 'YYYY-MM-DD' in the mentor's zone; zones are IANA names; wall times are minutes
-- after midnight.

CREATE TABLE users (
    user_id   INTEGER PRIMARY KEY,           -- Discord snowflake
    timezone  TEXT                           -- from /timezone set
) STRICT;

CREATE TABLE mentors (
    user_id           INTEGER PRIMARY KEY,
    timezone          TEXT    NOT NULL,
    session_minutes   INTEGER NOT NULL DEFAULT 30 CHECK (session_minutes BETWEEN 15 AND 240),
    buffer_minutes    INTEGER NOT NULL DEFAULT 0  CHECK (buffer_minutes BETWEEN 0 AND 120),
    min_notice_hours  INTEGER NOT NULL DEFAULT 2  CHECK (min_notice_hours BETWEEN 0 AND 168),
    horizon_days      INTEGER NOT NULL DEFAULT 30 CHECK (horizon_days BETWEEN 1 AND 365),
    max_per_day       INTEGER NOT NULL DEFAULT 0  CHECK (max_per_day BETWEEN 0 AND 50),
    max_per_mentee    INTEGER NOT NULL DEFAULT 0  CHECK (max_per_mentee BETWEEN 0 AND 20),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

-- Weekly ranges: weekday 0 = Monday; end_minute may pass 1440 (runs past midnight).
CREATE TABLE weekly_ranges (
    mentor_id     INTEGER NOT NULL REFERENCES mentors(user_id) ON DELETE CASCADE,
    weekday       INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_minute  INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute    INTEGER NOT NULL CHECK (end_minute > start_minute AND end_minute <= start_minute + 1440),
    PRIMARY KEY (mentor_id, weekday, start_minute)
) STRICT, WITHOUT ROWID;

-- A date override replaces that date's hours; no ranges = off.
CREATE TABLE overrides (
    mentor_id   INTEGER NOT NULL REFERENCES mentors(user_id) ON DELETE CASCADE,
    date        TEXT    NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    note        TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (mentor_id, date)
) STRICT, WITHOUT ROWID;

CREATE TABLE override_ranges (
    mentor_id     INTEGER NOT NULL,
    date          TEXT    NOT NULL,
    start_minute  INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute    INTEGER NOT NULL CHECK (end_minute > start_minute AND end_minute <= 1440),
    PRIMARY KEY (mentor_id, date, start_minute),
    FOREIGN KEY (mentor_id, date) REFERENCES overrides(mentor_id, date) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE bookings (
    id               TEXT    PRIMARY KEY CHECK (length(id) = 6),
    mentor_id        INTEGER NOT NULL,
    mentee_id        INTEGER NOT NULL CHECK (mentee_id <> mentor_id),
    mentor_name      TEXT    NOT NULL,
    mentee_name      TEXT    NOT NULL,
    start_at         INTEGER NOT NULL,
    end_at           INTEGER NOT NULL CHECK (end_at > start_at AND end_at - start_at <= 86400),
    status           TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    cancelled_at     INTEGER,
    cancelled_by     INTEGER,
    cancel_reason    TEXT,
    calendar_status  TEXT    NOT NULL DEFAULT 'not_connected'
                     CHECK (calendar_status IN ('pending', 'synced', 'not_connected', 'failed', 'cancelled')),
    calendar_event_id TEXT,
    meet_link        TEXT,
    calendar_error   TEXT,
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
) STRICT;

CREATE INDEX bookings_mentor_time ON bookings (mentor_id, start_at) WHERE status = 'active';
CREATE INDEX bookings_mentee_time ON bookings (mentee_id, start_at) WHERE status = 'active';
CREATE INDEX bookings_mentor_all ON bookings (mentor_id, start_at);
CREATE INDEX bookings_mentee_all ON bookings (mentee_id, start_at);

-- The last line of defence against double booking: no two active bookings that share a
-- person may overlap in time. The service checks first (with buffers and every rule) inside
-- a BEGIN IMMEDIATE transaction; these triggers make a raw overlap impossible whatever code
-- writes. Sessions last at most a day (CHECK above), which bounds each index range scan.
CREATE TRIGGER bookings_no_overlap_on_insert
BEFORE INSERT ON bookings
WHEN NEW.status = 'active' AND (
    EXISTS (SELECT 1 FROM bookings AS b WHERE b.status = 'active' AND b.mentor_id = NEW.mentor_id
        AND b.start_at < NEW.end_at AND b.start_at > NEW.start_at - 86400 AND b.end_at > NEW.start_at)
    OR EXISTS (SELECT 1 FROM bookings AS b WHERE b.status = 'active' AND b.mentor_id = NEW.mentee_id
        AND b.start_at < NEW.end_at AND b.start_at > NEW.start_at - 86400 AND b.end_at > NEW.start_at)
    OR EXISTS (SELECT 1 FROM bookings AS b WHERE b.status = 'active' AND b.mentee_id = NEW.mentor_id
        AND b.start_at < NEW.end_at AND b.start_at > NEW.start_at - 86400 AND b.end_at > NEW.start_at)
    OR EXISTS (SELECT 1 FROM bookings AS b WHERE b.status = 'active' AND b.mentee_id = NEW.mentee_id
        AND b.start_at < NEW.end_at AND b.start_at > NEW.start_at - 86400 AND b.end_at > NEW.start_at)
)
BEGIN
    SELECT RAISE(ABORT, 'mentorbot_booking_overlap');
END;

CREATE TRIGGER bookings_no_overlap_on_update
BEFORE UPDATE OF start_at, end_at, status, mentor_id, mentee_id ON bookings
WHEN NEW.status = 'active' AND (
    EXISTS (SELECT 1 FROM bookings AS b WHERE b.status = 'active' AND b.mentor_id = NEW.mentor_id AND b.id <> NEW.id
        AND b.start_at < NEW.end_at AND b.start_at > NEW.start_at - 86400 AND b.end_at > NEW.start_at)
    OR EXISTS (SELECT 1 FROM bookings AS b WHERE b.status = 'active' AND b.mentor_id = NEW.mentee_id AND b.id <> NEW.id
        AND b.start_at < NEW.end_at AND b.start_at > NEW.start_at - 86400 AND b.end_at > NEW.start_at)
    OR EXISTS (SELECT 1 FROM bookings AS b WHERE b.status = 'active' AND b.mentee_id = NEW.mentor_id AND b.id <> NEW.id
        AND b.start_at < NEW.end_at AND b.start_at > NEW.start_at - 86400 AND b.end_at > NEW.start_at)
    OR EXISTS (SELECT 1 FROM bookings AS b WHERE b.status = 'active' AND b.mentee_id = NEW.mentee_id AND b.id <> NEW.id
        AND b.start_at < NEW.end_at AND b.start_at > NEW.start_at - 86400 AND b.end_at > NEW.start_at)
)
BEGIN
    SELECT RAISE(ABORT, 'mentorbot_booking_overlap');
END;

-- Earlier times of a rescheduled booking (the booking keeps its id).
CREATE TABLE booking_history (
    booking_id  TEXT    NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    start_at    INTEGER NOT NULL,
    end_at      INTEGER NOT NULL,
    moved_at    INTEGER NOT NULL,
    moved_by    INTEGER NOT NULL,
    PRIMARY KEY (booking_id, seq)
) STRICT, WITHOUT ROWID;

-- Side effects (DMs, calendar sync), written in the same transaction as the change that
-- causes them and run by a worker that claims them with an expiring lease.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    booking_id   TEXT    REFERENCES bookings(id) ON DELETE CASCADE,
    payload      TEXT    NOT NULL CHECK (json_valid(payload)),
    state        TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_after    INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
) STRICT;

CREATE INDEX jobs_due ON jobs (run_after) WHERE state = 'queued';
CREATE INDEX jobs_booking ON jobs (booking_id);
