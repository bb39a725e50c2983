-- Security keys (WebAuthn) and their ceremonies. A ceremony's state is used once: it is
-- deleted as it is read.

ALTER TABLE users ADD COLUMN webauthn_handle TEXT;
-- A session opened only so that a privileged user can enrol their first security key.
ALTER TABLE sessions ADD COLUMN purpose TEXT NOT NULL DEFAULT 'full' CHECK (purpose IN ('full', 'enrol_security_key'));

INSERT INTO id_allocators (name, next_id) VALUES ('security_keys', 1);

CREATE TABLE security_keys (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    credential_id TEXT NOT NULL UNIQUE,
    credential TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX security_keys_by_user ON security_keys (user_id);

CREATE TABLE security_key_ceremonies (
    id TEXT PRIMARY KEY,
    user_id BIGINT REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('registration', 'authentication')),
    state TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
