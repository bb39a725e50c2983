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
);
CREATE INDEX child_search_keys_by_child ON child_search_keys (child_id);

-- A shield override alerts the responsible local team at once: a queue they work through.
INSERT INTO id_allocators (name, next_id) VALUES ('shield_alerts', 1);
CREATE TABLE shield_alerts (
    id BIGINT PRIMARY KEY,
    local_authority TEXT NOT NULL REFERENCES local_authorities (code),
    contactpoint_id TEXT NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL,
    raised_by_user_id BIGINT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    acknowledged_at TIMESTAMPTZ,
    acknowledged_by_user_id BIGINT REFERENCES users (id),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by_user_id IS NULL))
);
CREATE INDEX shield_alerts_by_authority ON shield_alerts (local_authority, acknowledged_at);

-- The audit trail is append-only: besides the triggers, the role that owns and writes it
-- (the one that runs migrations and the server) loses the right to change or remove rows.
-- A superuser bypasses privileges, so a deployment runs the server as an ordinary role.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC;
DO $$
BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM %I', current_user);
END
$$;
