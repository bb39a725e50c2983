-- The supplier's system account that sent a waiting record through the API (NULL for a file
-- imported on the command line). A record tried again later creates a child only while that
-- account still may: once it is revoked, its waiting records can still be linked to a child
-- the directory has, but never make a new one.
ALTER TABLE supply_exceptions ADD COLUMN supplier_account_id BIGINT REFERENCES supplier_accounts (id);
