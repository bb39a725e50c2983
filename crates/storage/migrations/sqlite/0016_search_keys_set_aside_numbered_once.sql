-- A move of set-aside keys in committed steps deletes, at its end, the rows it began with by
-- their row numbers; a batch that indexed everything set aside in between emptied the table,
-- and SQLite would then have given the keys set aside next those same numbers, to be deleted
-- unmoved. AUTOINCREMENT never gives a number twice.
CREATE TABLE child_search_keys_set_aside_numbered (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key BIGINT NOT NULL,
    child_id BIGINT NOT NULL REFERENCES children (id)
);
INSERT INTO child_search_keys_set_aside_numbered (key, child_id)
    SELECT key, child_id FROM child_search_keys_set_aside ORDER BY rowid;
DROP TABLE child_search_keys_set_aside;
ALTER TABLE child_search_keys_set_aside_numbered RENAME TO child_search_keys_set_aside;
CREATE INDEX child_search_keys_set_aside_by_child ON child_search_keys_set_aside (child_id);
