-- The server a booking was made in (NULL: made in a DM, or before this column existed).
-- Its mentor-role rule applies when the booking is moved, wherever the move starts.
ALTER TABLE bookings ADD COLUMN guild_id INTEGER;
