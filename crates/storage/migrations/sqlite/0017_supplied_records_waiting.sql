-- The records of a source still waiting in the exceptions queue, in identifier order, for
-- the pages a retry reads: without it each page read every record the source had sent after
-- the last one (26 ms a page at 200,000 children, for a few thousand waiting among them).
CREATE INDEX supplied_records_waiting ON supplied_records (source, source_record_id) WHERE status = 'exception';
