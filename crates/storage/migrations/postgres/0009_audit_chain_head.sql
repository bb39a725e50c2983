-- The hash of the newest audit entry, kept on the audit allocator's row, so that an append
-- takes its id and the entry before it in one statement: an UPDATE that waited for the row's
-- lock re-reads the newest version of the row, so it sees the entry appended meanwhile (a
-- separate SELECT would be needed otherwise). Only a cache: `audit verify` reads the trail.
ALTER TABLE id_allocators ADD COLUMN last_hash TEXT;
UPDATE id_allocators
SET last_hash = (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1)
WHERE name = 'audit_events';
