-- Deletion: the things that use access profiles (roles, lifecycle states of identity
-- profiles) and the durable task table. The PostgreSQL twin of
-- migrations/sqlite/0002_deletion.sql (types as explained in 0001).
--
-- The link tables reference access_profiles WITHOUT `ON DELETE CASCADE`: deleting a
-- profile that something still uses fails in the database itself, a second guard
-- behind the in-transaction usage check (CONTRACT §2 invariant). Their
-- `access_profile_id` indexes make "who uses these profiles?" one indexed lookup per
-- usage kind.

CREATE TABLE roles (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    owner_id    TEXT NOT NULL REFERENCES identities(id),
    enabled     BOOLEAN NOT NULL,
    requestable BOOLEAN NOT NULL,
    dimensional BOOLEAN NOT NULL DEFAULT FALSE,
    doc         TEXT NOT NULL DEFAULT '{}', -- JSON: membership, request configs, segments, additionalOwners, ...
    created     TEXT NOT NULL,
    modified    TEXT NOT NULL,
    CONSTRAINT roles_name_key UNIQUE (name)
);
CREATE INDEX roles_owner_idx ON roles(owner_id);
CREATE INDEX roles_created_idx ON roles(created, id);
CREATE INDEX roles_modified_idx ON roles(modified, id);

CREATE TABLE role_access_profiles (
    role_id           TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    access_profile_id TEXT NOT NULL REFERENCES access_profiles(id),
    position          BIGINT NOT NULL,
    PRIMARY KEY (role_id, access_profile_id)
);
CREATE INDEX role_access_profiles_ap_idx ON role_access_profiles(access_profile_id);

CREATE TABLE role_entitlements (
    role_id        TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    entitlement_id TEXT NOT NULL REFERENCES entitlements(id),
    position       BIGINT NOT NULL,
    PRIMARY KEY (role_id, entitlement_id)
);
CREATE INDEX role_entitlements_ent_idx ON role_entitlements(entitlement_id);

CREATE TABLE identity_profiles (
    id                      TEXT PRIMARY KEY NOT NULL,
    name                    TEXT NOT NULL,
    description             TEXT,
    owner_id                TEXT REFERENCES identities(id),
    authoritative_source_id TEXT REFERENCES sources(id),
    priority                BIGINT NOT NULL DEFAULT 10,
    created                 TEXT NOT NULL,
    modified                TEXT NOT NULL,
    CONSTRAINT identity_profiles_name_key UNIQUE (name)
);

CREATE TABLE lifecycle_states (
    id                  TEXT PRIMARY KEY NOT NULL,
    identity_profile_id TEXT NOT NULL REFERENCES identity_profiles(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    technical_name      TEXT NOT NULL,
    description         TEXT,
    enabled             BOOLEAN NOT NULL DEFAULT FALSE,
    identity_count      BIGINT NOT NULL DEFAULT 0,
    identity_state      TEXT,
    priority            BIGINT,
    doc                 TEXT NOT NULL DEFAULT '{}', -- JSON: emailNotificationOption, accountActions
    created             TEXT NOT NULL,
    modified            TEXT NOT NULL,
    CONSTRAINT lifecycle_states_technical_name_key UNIQUE (identity_profile_id, technical_name)
);

CREATE TABLE lifecycle_state_access_profiles (
    lifecycle_state_id TEXT NOT NULL REFERENCES lifecycle_states(id) ON DELETE CASCADE,
    access_profile_id  TEXT NOT NULL REFERENCES access_profiles(id),
    position           BIGINT NOT NULL,
    PRIMARY KEY (lifecycle_state_id, access_profile_id)
);
CREATE INDEX lifecycle_state_access_profiles_ap_idx ON lifecycle_state_access_profiles(access_profile_id);

-- Durable tasks (CONTRACT §4). `state` is the runner's view (PENDING, RUNNING,
-- FINISHED); `completion_status` the client's. A RUNNING row whose `claim_expires`
-- has passed belongs to a runner that died and is claimed again. `payload` is the
-- task's input, `attributes` its progress, written in the same transaction as each
-- step's effects.
CREATE TABLE tasks (
    id                TEXT PRIMARY KEY NOT NULL,
    kind              TEXT NOT NULL,
    unique_name       TEXT NOT NULL,
    description       TEXT NOT NULL,
    launcher          TEXT NOT NULL,
    source_id         TEXT,
    payload           TEXT NOT NULL DEFAULT '{}',
    attributes        TEXT NOT NULL DEFAULT '{}',
    messages          TEXT NOT NULL DEFAULT '[]',
    returns           TEXT NOT NULL DEFAULT '[]',
    state             TEXT NOT NULL,
    progress          TEXT,
    percent_complete  BIGINT NOT NULL DEFAULT 0,
    completion_status TEXT,
    claimed_by        TEXT,
    claim_expires     TEXT,
    attempts          BIGINT NOT NULL DEFAULT 0,
    created           TEXT NOT NULL,
    modified          TEXT NOT NULL,
    launched          TEXT,
    completed         TEXT,
    CONSTRAINT tasks_state_check CHECK (state IN ('PENDING', 'RUNNING', 'FINISHED')),
    CONSTRAINT tasks_completion_check CHECK ((completed IS NULL) = (completion_status IS NULL)),
    CONSTRAINT tasks_finished_check CHECK ((state = 'FINISHED') = (completion_status IS NOT NULL))
);
CREATE INDEX tasks_runnable_idx ON tasks(state, created);
CREATE INDEX tasks_created_idx ON tasks(created, id);
CREATE INDEX tasks_completed_idx ON tasks(completed);
