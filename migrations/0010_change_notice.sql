-- /availability settings change_notice_hours: within this many hours of a session's start a
-- mentee can no longer cancel or reschedule it with the bot (the mentor always can).
ALTER TABLE mentors ADD COLUMN change_notice_hours INTEGER NOT NULL DEFAULT 0
    CHECK (change_notice_hours BETWEEN 0 AND 168);
