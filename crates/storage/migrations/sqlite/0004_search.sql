-- Finding a child. A record is archived on a date (18th birthday, or later by consent);
-- archived records are never found by a search or opened by a practitioner.
ALTER TABLE children ADD COLUMN archived_on DATE;

-- The search index: each child under the hashed keys of contactpoint_matching::search
-- (a name code with the date of birth, a given and family name code pair with the year of
-- birth, a name code with a postcode district). Derived from the record; rewritten with it.
CREATE TABLE child_search_keys (
    key BIGINT NOT NULL,
    child_id BIGINT NOT NULL REFERENCES children (id),
    PRIMARY KEY (key, child_id)
) WITHOUT ROWID;
CREATE INDEX child_search_keys_by_child ON child_search_keys (child_id);
