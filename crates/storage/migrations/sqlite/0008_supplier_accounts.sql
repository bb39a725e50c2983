-- Suppliers' system accounts: an accredited supplier's system sends its records through the
-- API with its own client credential, for its one source. Only the SHA-256 of the secret is
-- kept; a revoked account is refused from then on.
INSERT INTO id_allocators (name, next_id) VALUES ('supplier_accounts', 1);
CREATE TABLE supplier_accounts (
    id BIGINT PRIMARY KEY,
    source TEXT NOT NULL REFERENCES sources (code),
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    secret_digest TEXT NOT NULL,
    -- Whether a record matching no child creates one (birth registration, NHS), or waits.
    authoritative BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
