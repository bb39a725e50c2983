-- Who may use ContactPoint: accreditation of organisations, users, sessions, API clients,
-- throttling of sign-in by source address, and the audit trail (append-only).

ALTER TABLE organisations ADD COLUMN accreditation TEXT NOT NULL DEFAULT 'not_accredited'
    CHECK (accreditation IN ('not_accredited', 'accredited', 'suspended', 'withdrawn'));
-- Accredited for web access and/or case-management integration; neither means mediated access only.
ALTER TABLE organisations ADD COLUMN web_access BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE organisations ADD COLUMN integration_access BOOLEAN NOT NULL DEFAULT false;

INSERT INTO id_allocators (name, next_id) VALUES ('users', 1), ('api_clients', 1), ('audit_events', 1);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL CHECK (role IN ('practitioner', 'mediator', 'local_team', 'auditor', 'national_administrator')),
    duties TEXT NOT NULL,
    shield_override BOOLEAN NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'locked', 'closed')),
    criminal_records_checked_on DATE,
    training_completed_on DATE,
    agreement_accepted_on DATE,
    password_hash TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    totp_secret TEXT,
    totp_last_step BIGINT,
    failed_sign_ins INTEGER NOT NULL,
    demo BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_by_organisation ON users (organisation_id);

CREATE TABLE api_clients (
    id BIGINT PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    secret_digest TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- Sessions live in the database so that any server process can serve any request.
-- Only the SHA-256 of the token is kept.
CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    route TEXT NOT NULL CHECK (route IN ('web', 'api')),
    api_client_id BIGINT REFERENCES api_clients (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    CHECK ((route = 'api') = (api_client_id IS NOT NULL))
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE sign_in_throttle (
    source_address TEXT PRIMARY KEY,
    window_started_at TIMESTAMPTZ NOT NULL,
    failures INTEGER NOT NULL
);

CREATE TABLE audit_events (
    id BIGINT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    route TEXT NOT NULL,
    actor_user_id BIGINT,
    on_behalf_of_user_id BIGINT,
    api_client_id BIGINT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    subject_kind TEXT,
    subject_id TEXT,
    local_authority TEXT,
    details TEXT NOT NULL,
    -- Each entry commits to the one before it (SHA-256, hex): see storage/src/audit_chain.rs.
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_events_by_actor ON audit_events (actor_user_id);
CREATE INDEX audit_events_by_subject ON audit_events (subject_kind, subject_id);

CREATE TRIGGER audit_events_are_never_updated BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_are_never_deleted BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
