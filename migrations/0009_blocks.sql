-- Members a mentor has blocked (/availability block): they can't book the mentor or move a
-- session with them, and their cancellations don't DM the mentor. Existing bookings stay.
CREATE TABLE blocks (
    mentor_id   INTEGER NOT NULL,
    member_id   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (mentor_id, member_id)
) STRICT, WITHOUT ROWID;
