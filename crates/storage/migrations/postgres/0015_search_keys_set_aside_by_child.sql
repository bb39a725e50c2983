-- A load of supplied records sets aside the search keys of the children it makes or changes
-- until its file ends, and a child changed twice has its keys set aside forgotten by child:
-- without this index each such change read every key set aside so far. Its entries go in
-- child order, as loads make children, so it costs a load little.
CREATE INDEX child_search_keys_set_aside_by_child ON child_search_keys_set_aside (child_id);
