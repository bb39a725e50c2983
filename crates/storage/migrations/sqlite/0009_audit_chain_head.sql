-- On PostgreSQL the hash of the newest audit entry is kept on the audit allocator's row
-- (0009 there). SQLite has one writer at a time and reads the entry before in the statement
-- that takes the id, so it keeps nothing: this migration only keeps the two listings equal.
SELECT 1;
