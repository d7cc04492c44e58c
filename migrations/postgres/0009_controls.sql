-- The admin API's controls, shared by every instance on the database (README, "The
-- admin API, for test suites"): the fault rules and the clock. They are not tenant
-- data: an export leaves them out, an import leaves them as this migration made them,
-- and a reset keeps them. Each instance keeps a copy in memory, loaded at start and
-- reloaded when another instance announces a change (NOTIFY accessd_control).
--
-- The twin of migrations/sqlite/0009_controls.sql.

-- One row per fault rule, matched in the order of their ids (UUIDv7: creation order).
-- `spec` is the rule as the admin API took it (JSON text); `times_left` counts down
-- the firings a rule with `times` has left (NULL: no limit), decremented atomically
-- by whichever instance fires it; `fired` counts every firing.
CREATE TABLE fault_rules (
    id         TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    spec       TEXT COLLATE "C" NOT NULL,
    times_left BIGINT,
    fired      BIGINT NOT NULL DEFAULT 0
);

-- The one row of the shared clock: frozen at `frozen_at`, or running `offset_ms`
-- ahead of each instance's system time. `version` grows with every change (0: never
-- set, each instance keeps the clock it started with).
CREATE TABLE control_clock (
    id        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    frozen_at TEXT COLLATE "C",
    offset_ms BIGINT NOT NULL,
    version   BIGINT NOT NULL,
    CONSTRAINT control_clock_one_row CHECK (id = 'clock')
);

INSERT INTO control_clock (id, frozen_at, offset_ms, version) VALUES ('clock', NULL, 0, 0);
