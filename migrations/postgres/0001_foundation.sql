-- Foundation schema: tenant metadata, signing keys, API clients, the supporting
-- model (identities, governance groups, sources, entitlements) and access profiles.
--
-- The PostgreSQL twin of migrations/sqlite/0001_foundation.sql: same tables, columns,
-- constraints and indexes (tests/schema_parity.rs checks). Where SQLite's types are
-- loose this uses PostgreSQL's own: BOOLEAN for the 0/1 flags, BIGINT for integers.
-- JSON columns stay TEXT, as in SQLite, so both stores read and write the same strings.
-- Every TEXT column is COLLATE "C": byte order, as SQLite's BINARY, whatever the
-- database's default collation, so sorters, range filters and lower() answer the same
-- on both backends.
--
-- Timestamps are TEXT in one fixed format (YYYY-MM-DDTHH:MM:SS.mmmZ, UTC) so that
-- string order is time order and filters can compare them in SQL. They are not
-- TIMESTAMPTZ on purpose: the query layer binds and compares them as strings on both
-- backends.

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE signing_keys (
    kid         TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    private_pem TEXT COLLATE "C" NOT NULL,
    public_pem  TEXT COLLATE "C" NOT NULL,
    created     TEXT COLLATE "C" NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE identities (
    id           TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    alias        TEXT COLLATE "C" NOT NULL,
    first_name   TEXT COLLATE "C",
    last_name    TEXT COLLATE "C",
    email        TEXT COLLATE "C",
    cloud_status TEXT COLLATE "C" NOT NULL DEFAULT 'ACTIVE',
    processing_state TEXT COLLATE "C",
    correlated   BOOLEAN NOT NULL DEFAULT TRUE,
    protected    BOOLEAN NOT NULL DEFAULT FALSE,
    is_manager   BOOLEAN NOT NULL DEFAULT FALSE,
    manager_id   TEXT COLLATE "C" REFERENCES identities(id),
    authorities  TEXT COLLATE "C" NOT NULL DEFAULT '[]',  -- JSON array of user levels
    created      TEXT COLLATE "C" NOT NULL,
    modified     TEXT COLLATE "C" NOT NULL,
    CONSTRAINT identities_alias_key UNIQUE (alias)
);
CREATE INDEX identities_name_idx ON identities(name);

CREATE TABLE api_clients (
    client_id   TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    secret_hash TEXT COLLATE "C" NOT NULL,              -- hex SHA-256 of the (high-entropy) secret
    name        TEXT COLLATE "C" NOT NULL,
    identity_id TEXT COLLATE "C" REFERENCES identities(id) ON DELETE CASCADE,
    scopes      TEXT COLLATE "C" NOT NULL,              -- space-separated OAuth scopes
    created     TEXT COLLATE "C" NOT NULL
);

CREATE TABLE governance_groups (
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    owner_id    TEXT COLLATE "C" REFERENCES identities(id),
    created     TEXT COLLATE "C" NOT NULL,
    modified    TEXT COLLATE "C" NOT NULL,
    CONSTRAINT governance_groups_name_key UNIQUE (name)
);

CREATE TABLE governance_group_members (
    group_id    TEXT COLLATE "C" NOT NULL REFERENCES governance_groups(id) ON DELETE CASCADE,
    identity_id TEXT COLLATE "C" NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    created     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (group_id, identity_id)
);
CREATE INDEX governance_group_members_identity_idx ON governance_group_members(identity_id);

CREATE TABLE sources (
    id             TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    num_id         BIGINT NOT NULL,           -- stable numeric id (beta AccessProfileDetails.sourceId)
    name           TEXT COLLATE "C" NOT NULL,
    description    TEXT COLLATE "C",
    owner_id       TEXT COLLATE "C" NOT NULL REFERENCES identities(id),
    management_workgroup_id TEXT COLLATE "C" REFERENCES governance_groups(id),
    type           TEXT COLLATE "C",
    connector      TEXT COLLATE "C" NOT NULL,
    connector_name TEXT COLLATE "C",
    connection_type TEXT COLLATE "C",
    authoritative  BOOLEAN NOT NULL DEFAULT FALSE,
    healthy        BOOLEAN NOT NULL DEFAULT TRUE,
    status         TEXT COLLATE "C" NOT NULL DEFAULT 'SOURCE_STATE_HEALTHY',
    features       TEXT COLLATE "C" NOT NULL DEFAULT '[]', -- JSON array
    doc            TEXT COLLATE "C" NOT NULL DEFAULT '{}', -- JSON: the rest of the Source document
    created        TEXT COLLATE "C" NOT NULL,
    modified       TEXT COLLATE "C" NOT NULL,
    CONSTRAINT sources_name_key UNIQUE (name),
    CONSTRAINT sources_num_id_key UNIQUE (num_id)
);
CREATE INDEX sources_owner_idx ON sources(owner_id);
CREATE INDEX sources_workgroup_idx ON sources(management_workgroup_id);

CREATE TABLE entitlements (
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    source_id   TEXT COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    attribute   TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL DEFAULT 'group',
    description TEXT COLLATE "C",
    privileged  BOOLEAN NOT NULL DEFAULT FALSE,
    requestable BOOLEAN NOT NULL DEFAULT TRUE,
    owner_id    TEXT COLLATE "C" REFERENCES identities(id),
    created     TEXT COLLATE "C" NOT NULL,
    modified    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX entitlements_source_idx ON entitlements(source_id);
CREATE INDEX entitlements_name_idx ON entitlements(name);

CREATE TABLE access_profiles (
    id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    owner_id    TEXT COLLATE "C" NOT NULL REFERENCES identities(id),
    source_id   TEXT COLLATE "C" NOT NULL REFERENCES sources(id),
    enabled     BOOLEAN NOT NULL,
    requestable BOOLEAN NOT NULL,
    doc         TEXT COLLATE "C" NOT NULL DEFAULT '{}', -- JSON: request configs, provisioningCriteria, additionalOwners, segments, accessModelMetadata
    created     TEXT COLLATE "C" NOT NULL,
    modified    TEXT COLLATE "C" NOT NULL,
    CONSTRAINT access_profiles_name_key UNIQUE (name)
);
CREATE INDEX access_profiles_owner_idx ON access_profiles(owner_id);
CREATE INDEX access_profiles_source_idx ON access_profiles(source_id);
CREATE INDEX access_profiles_created_idx ON access_profiles(created, id);
CREATE INDEX access_profiles_modified_idx ON access_profiles(modified, id);

CREATE TABLE access_profile_entitlements (
    access_profile_id TEXT COLLATE "C" NOT NULL REFERENCES access_profiles(id) ON DELETE CASCADE,
    entitlement_id    TEXT COLLATE "C" NOT NULL REFERENCES entitlements(id),
    position          BIGINT NOT NULL,
    PRIMARY KEY (access_profile_id, entitlement_id)
);
CREATE INDEX access_profile_entitlements_ent_idx ON access_profile_entitlements(entitlement_id);
