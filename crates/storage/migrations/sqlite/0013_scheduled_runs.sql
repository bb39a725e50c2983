-- When each scheduled task of the servers last started. Every server process keeps the
-- schedule, and a pass is claimed by moving its row on: of several servers sharing one
-- database, one runs each pass and the others skip it.
CREATE TABLE scheduled_runs (
    task TEXT PRIMARY KEY,
    last_started_at TIMESTAMPTZ NOT NULL
);
