-- Whether the import that raised an exception (or last sent its record again) could create a
-- child, so that a waiting record tried again later (by `supply retry` or the server's
-- schedule) is judged with the authority it was supplied with. NULL for exceptions raised
-- before this was kept: they are tried again as the caller says.
ALTER TABLE supply_exceptions ADD COLUMN authoritative BOOLEAN;
