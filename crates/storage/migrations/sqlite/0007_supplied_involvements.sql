-- Involvements suppliers sent, under their own identifiers, with the digest of the values:
-- the same record again changes nothing, a changed one updates the involvement it made.
CREATE TABLE supplied_involvements (
    source TEXT NOT NULL REFERENCES sources (code),
    source_record_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('applied', 'rejected')),
    involvement_id BIGINT REFERENCES involvements (id),
    supplied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_record_id),
    CHECK ((status = 'applied') = (involvement_id IS NOT NULL))
);
CREATE INDEX supplied_involvements_by_involvement ON supplied_involvements (involvement_id);
