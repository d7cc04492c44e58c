-- Rate limits shared by the instances on one database (`--rate-limit-store database`):
-- one row per (client, bucket) holding the GCRA "theoretical arrival time" in
-- microseconds since the epoch. A row whose tat has passed means the same as no row,
-- so old rows are deleted freely.
CREATE TABLE rate_limits (
    client_id TEXT NOT NULL,
    bucket    TEXT NOT NULL,
    tat       INTEGER NOT NULL,
    PRIMARY KEY (client_id, bucket)
);
