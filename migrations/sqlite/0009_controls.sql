-- The admin API's controls, kept in the database (README, "The admin API, for test
-- suites"): the fault rules and the clock. They are not tenant data: an export leaves
-- them out, an import leaves them as this migration made them, and a reset keeps them.
-- The instance keeps a copy in memory, loaded at start: both survive a restart.
--
-- The twin of migrations/postgres/0009_controls.sql.

-- One row per fault rule, matched in the order of their ids (UUIDv7: creation order).
-- `spec` is the rule as the admin API took it (JSON text); `times_left` counts down
-- the firings a rule with `times` has left (NULL: no limit); `fired` counts every
-- firing.
CREATE TABLE fault_rules (
    id         TEXT PRIMARY KEY NOT NULL,
    spec       TEXT NOT NULL,
    times_left INTEGER,
    fired      INTEGER NOT NULL DEFAULT 0
);

-- The one row of the clock: frozen at `frozen_at`, or running `offset_ms` ahead of the
-- system time. `version` grows with every change (0: never set, the instance keeps the
-- clock it started with).
CREATE TABLE control_clock (
    id        TEXT PRIMARY KEY NOT NULL,
    frozen_at TEXT,
    offset_ms INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    CONSTRAINT control_clock_one_row CHECK (id = 'clock')
);

INSERT INTO control_clock (id, frozen_at, offset_ms, version) VALUES ('clock', NULL, 0, 0);
