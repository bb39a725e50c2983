-- Nothing to change here: SQLite's set-aside keys are now numbered once (its migration 0016);
-- PostgreSQL's move takes its rows by locking the table, not by their numbers.
SELECT 1;
