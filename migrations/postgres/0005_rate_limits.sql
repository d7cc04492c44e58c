-- Rate limits shared by the instances on one database (`--rate-limit-store database`):
-- one row per (client, bucket) holding the GCRA "theoretical arrival time" in
-- microseconds since the epoch. A row whose tat has passed means the same as no row,
-- so old rows are deleted freely.
-- UNLOGGED: counters are not worth a WAL write per request; after a PostgreSQL crash
-- the table is empty, which only gives every client a fresh budget.
CREATE UNLOGGED TABLE rate_limits (
    client_id TEXT COLLATE "C" NOT NULL,
    bucket    TEXT COLLATE "C" NOT NULL,
    tat       BIGINT NOT NULL,
    PRIMARY KEY (client_id, bucket)
);
