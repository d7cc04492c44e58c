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
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    owner_id    TEXT COLLATE "C" NOT NULL REFERENCES identities(id),
    enabled     BOOLEAN NOT NULL,
    requestable BOOLEAN NOT NULL,
    dimensional BOOLEAN NOT NULL DEFAULT FALSE,
    doc         TEXT COLLATE "C" NOT NULL DEFAULT '{}', -- JSON: membership, request configs, segments, additionalOwners, ...
    created     TEXT COLLATE "C" NOT NULL,
    modified    TEXT COLLATE "C" NOT NULL,
    CONSTRAINT roles_name_key UNIQUE (name)
);
CREATE INDEX roles_owner_idx ON roles(owner_id);
CREATE INDEX roles_created_idx ON roles(created, id);
CREATE INDEX roles_modified_idx ON roles(modified, id);

CREATE TABLE role_access_profiles (
    role_id           TEXT COLLATE "C" NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    access_profile_id TEXT COLLATE "C" NOT NULL REFERENCES access_profiles(id),
    position          BIGINT NOT NULL,
    PRIMARY KEY (role_id, access_profile_id)
);
CREATE INDEX role_access_profiles_ap_idx ON role_access_profiles(access_profile_id);

CREATE TABLE role_entitlements (
    role_id        TEXT COLLATE "C" NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    entitlement_id TEXT COLLATE "C" NOT NULL REFERENCES entitlements(id),
    position       BIGINT NOT NULL,
    PRIMARY KEY (role_id, entitlement_id)
);
CREATE INDEX role_entitlements_ent_idx ON role_entitlements(entitlement_id);

CREATE TABLE identity_profiles (
    id                      TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name                    TEXT COLLATE "C" NOT NULL,
    description             TEXT COLLATE "C",
    owner_id                TEXT COLLATE "C" REFERENCES identities(id),
    authoritative_source_id TEXT COLLATE "C" REFERENCES sources(id),
    priority                BIGINT NOT NULL DEFAULT 10,
    created                 TEXT COLLATE "C" NOT NULL,
    modified                TEXT COLLATE "C" NOT NULL,
    CONSTRAINT identity_profiles_name_key UNIQUE (name)
);

CREATE TABLE lifecycle_states (
    id                  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    identity_profile_id TEXT COLLATE "C" NOT NULL REFERENCES identity_profiles(id) ON DELETE CASCADE,
    name                TEXT COLLATE "C" NOT NULL,
    technical_name      TEXT COLLATE "C" NOT NULL,
    description         TEXT COLLATE "C",
    enabled             BOOLEAN NOT NULL DEFAULT FALSE,
    identity_count      BIGINT NOT NULL DEFAULT 0,
    identity_state      TEXT COLLATE "C",
    priority            BIGINT,
    doc                 TEXT COLLATE "C" NOT NULL DEFAULT '{}', -- JSON: emailNotificationOption, accountActions
    created             TEXT COLLATE "C" NOT NULL,
    modified            TEXT COLLATE "C" NOT NULL,
    CONSTRAINT lifecycle_states_technical_name_key UNIQUE (identity_profile_id, technical_name)
);

CREATE TABLE lifecycle_state_access_profiles (
    lifecycle_state_id TEXT COLLATE "C" NOT NULL REFERENCES lifecycle_states(id) ON DELETE CASCADE,
    access_profile_id  TEXT COLLATE "C" NOT NULL REFERENCES access_profiles(id),
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
    id                TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    kind              TEXT COLLATE "C" NOT NULL,
    unique_name       TEXT COLLATE "C" NOT NULL,
    description       TEXT COLLATE "C" NOT NULL,
    launcher          TEXT COLLATE "C" NOT NULL,
    source_id         TEXT COLLATE "C",
    payload           TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    attributes        TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    messages          TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    returns           TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    state             TEXT COLLATE "C" NOT NULL,
    progress          TEXT COLLATE "C",
    percent_complete  BIGINT NOT NULL DEFAULT 0,
    completion_status TEXT COLLATE "C",
    claimed_by        TEXT COLLATE "C",
    claim_expires     TEXT COLLATE "C",
    attempts          BIGINT NOT NULL DEFAULT 0,
    created           TEXT COLLATE "C" NOT NULL,
    modified          TEXT COLLATE "C" NOT NULL,
    launched          TEXT COLLATE "C",
    completed         TEXT COLLATE "C",
    CONSTRAINT tasks_state_check CHECK (state IN ('PENDING', 'RUNNING', 'FINISHED')),
    CONSTRAINT tasks_completion_check CHECK ((completed IS NULL) = (completion_status IS NULL)),
    CONSTRAINT tasks_finished_check CHECK ((state = 'FINISHED') = (completion_status IS NOT NULL))
);
CREATE INDEX tasks_runnable_idx ON tasks(state, created);
CREATE INDEX tasks_created_idx ON tasks(created, id);
CREATE INDEX tasks_completed_idx ON tasks(completed);
