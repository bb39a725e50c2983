-- A bulk load of many children (a generated nation) sets their search keys aside here,
-- unsorted and unindexed, and moves them into child_search_keys once, at the end
-- (Store::index_set_aside_keys). Written batch by batch, the keys of a national load
-- landed all over the index and every commit rewrote most of its pages. Store::migrate
-- moves any keys a stopped load left here, so no stored child stays unfindable.
CREATE TABLE child_search_keys_set_aside (
    key BIGINT NOT NULL,
    child_id BIGINT NOT NULL REFERENCES children (id)
);
