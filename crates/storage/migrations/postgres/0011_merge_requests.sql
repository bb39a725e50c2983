-- A merge of two records held by different authorities waits for the other authority's team
-- to agree: one team asks, the other merges or declines. Nothing moves until it agrees.
INSERT INTO id_allocators (name, next_id) VALUES ('merge_requests', 1);
CREATE TABLE merge_requests (
    id BIGINT PRIMARY KEY,
    survivor_child_id BIGINT NOT NULL REFERENCES children (id),
    retired_child_id BIGINT NOT NULL REFERENCES children (id),
    -- Where each record was when the merge was asked for: it goes ahead only if both still are.
    survivor_authority TEXT NOT NULL,
    retired_authority TEXT NOT NULL,
    requested_by_authority TEXT NOT NULL,
    awaiting_authority TEXT NOT NULL,
    requested_by_user_id BIGINT NOT NULL REFERENCES users (id),
    requested_at TIMESTAMPTZ NOT NULL,
    -- 'merged' or 'declined'; NULL while it waits.
    decision TEXT,
    decided_by_user_id BIGINT REFERENCES users (id),
    decided_at TIMESTAMPTZ,
    merge_id BIGINT REFERENCES child_merges (id),
    CHECK (survivor_child_id <> retired_child_id),
    CHECK (requested_by_authority <> awaiting_authority)
);
CREATE INDEX merge_requests_waiting ON merge_requests (awaiting_authority, decision);
CREATE INDEX merge_requests_asked ON merge_requests (requested_by_authority, decision);
