-- Data supply: where each postcode district's children belong, what became of every supplied
-- record, the exceptions the local teams resolve, and merges of two records of one child.

-- The local authority responsible for a child living in each postcode district (the part of
-- a postcode before the space). A new child from a supplier is placed by it.
CREATE TABLE postcode_districts (
    district TEXT PRIMARY KEY,
    local_authority TEXT NOT NULL REFERENCES local_authorities (code)
);

-- Schools and GP practices are named in supplied files by their national reference: a
-- school's unique reference number (six digits), a GP practice's code (a letter and five
-- digits).
ALTER TABLE services ADD COLUMN reference TEXT;
CREATE UNIQUE INDEX services_by_reference ON services (reference);

-- Every record a supplier has sent, under the supplier's own identifier, and what it became.
-- The digest (SHA-256 of the record's values) lets a second import of the same record skip
-- it, so an import run twice, or run again after being killed, changes nothing more.
CREATE TABLE supplied_records (
    source TEXT NOT NULL REFERENCES sources (code),
    source_record_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('linked', 'created', 'exception', 'rejected')),
    child_id BIGINT REFERENCES children (id),
    exception_id BIGINT,
    supplied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_record_id),
    CHECK ((status IN ('linked', 'created')) = (child_id IS NOT NULL)),
    CHECK ((status = 'exception') = (exception_id IS NOT NULL))
);
CREATE INDEX supplied_records_by_child ON supplied_records (child_id);

-- Records the matcher could not place with confidence, for the responsible local team (or,
-- with no local authority known, the national administrator). The supplied values are kept
-- as JSON so the team can compare them with the candidates and create a child from them.
INSERT INTO id_allocators (name, next_id) VALUES ('supply_exceptions', 1), ('child_merges', 1);
CREATE TABLE supply_exceptions (
    id BIGINT PRIMARY KEY,
    source TEXT NOT NULL REFERENCES sources (code),
    source_record_id TEXT NOT NULL,
    local_authority TEXT REFERENCES local_authorities (code),
    reason TEXT NOT NULL CHECK (reason IN ('uncertain', 'ambiguous', 'no_match_from_non_authoritative_source', 'possibly_shielded', 'no_local_authority', 'incomplete')),
    -- Held because it may be a shielded child: whatever the team creates from it is shielded.
    shielding_hold BOOLEAN NOT NULL,
    record TEXT NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL,
    resolution TEXT CHECK (resolution IN ('linked', 'created')),
    resolved_child_id BIGINT REFERENCES children (id),
    resolved_at TIMESTAMPTZ,
    resolved_by_user_id BIGINT REFERENCES users (id),
    CHECK ((resolution IS NULL) = (resolved_at IS NULL)),
    CHECK ((resolution IS NULL) = (resolved_child_id IS NULL))
);
CREATE INDEX supply_exceptions_waiting ON supply_exceptions (local_authority, resolved_at);
CREATE INDEX supply_exceptions_by_record ON supply_exceptions (source, source_record_id);

CREATE TABLE supply_exception_candidates (
    exception_id BIGINT NOT NULL REFERENCES supply_exceptions (id),
    child_id BIGINT NOT NULL REFERENCES children (id),
    probability DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (exception_id, child_id)
);

-- Two records of the same child made one. The retired record stays, pointing at the
-- survivor, so its ContactPoint ID still leads somewhere; what moved is listed so an unmerge
-- puts back exactly what was there.
ALTER TABLE children ADD COLUMN merged_into BIGINT REFERENCES children (id);
CREATE TABLE child_merges (
    id BIGINT PRIMARY KEY,
    survivor_child_id BIGINT NOT NULL REFERENCES children (id),
    retired_child_id BIGINT NOT NULL REFERENCES children (id),
    merged_at TIMESTAMPTZ NOT NULL,
    merged_by_user_id BIGINT REFERENCES users (id),
    moved TEXT NOT NULL,
    unmerged_at TIMESTAMPTZ,
    unmerged_by_user_id BIGINT REFERENCES users (id),
    CHECK (survivor_child_id <> retired_child_id)
);
CREATE INDEX child_merges_by_survivor ON child_merges (survivor_child_id);
CREATE INDEX child_merges_by_retired ON child_merges (retired_child_id);
