-- Search keys, second version. The words of every child's names go into a spelling list,
-- each filed under its fragments (the word, and the word with each letter left out in
-- turn; contactpoint_matching::search::spelling_fragments), so that a search with a name
-- mistyped by one letter also looks under the names the directory holds one slip away.
CREATE TABLE search_spellings (
    fragment BIGINT NOT NULL,
    word TEXT NOT NULL,
    PRIMARY KEY (fragment, word)
);

-- The index is rebuilt with the list: Store::migrate re-indexes every child (keys and
-- spellings) when child_search_keys is empty.
DELETE FROM child_search_keys;
