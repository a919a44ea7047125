-- Busy-time reads (every picker click) and the booking check need each active booking's
-- start, end and id: carrying end_at and id in the index answers them from the index alone,
-- instead of one table lookup per booking of a busy mentor.
DROP INDEX bookings_mentor_time;
DROP INDEX bookings_mentee_time;
CREATE INDEX bookings_mentor_time ON bookings (mentor_id, start_at, end_at, id) WHERE status = 'active';
CREATE INDEX bookings_mentee_time ON bookings (mentee_id, start_at, end_at, id) WHERE status = 'active';
