-- Source apps (beta `/source-apps`, v1 `/source-apps/v1`): an app groups access
-- profiles of its account source for the request center, and so uses them
-- (usage type APPLICATION, CONTRACT §2). The PostgreSQL twin of
-- migrations/sqlite/0003_source_apps.sql (types as explained in 0001).
--
-- "An app only holds access profiles of its account source" is enforced by the
-- database too: each link carries the source id and references both
-- `access_profiles(id, source_id)` and `source_apps(id, account_source_id)`. A link
-- to a profile of another source, a profile moving to another source while an app
-- holds it, or an app changing its account source while it holds profiles all fail
-- in the database. Like the other link tables, the profile reference has no
-- `ON DELETE CASCADE`: a held profile cannot be deleted.
--
-- PostgreSQL, like SQLite, accepts a plain unique index (no predicate, no
-- expressions) as the target of a foreign key, so the index below stays an index.

CREATE UNIQUE INDEX access_profiles_id_source_key ON access_profiles(id, source_id);

CREATE TABLE source_apps (
    id                        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    num_id                    BIGINT NOT NULL,   -- stable numeric id: cloudAppId, AccessProfileDetails.appId
    name                      TEXT COLLATE "C" NOT NULL,
    description               TEXT COLLATE "C" NOT NULL,
    owner_id                  TEXT COLLATE "C" NOT NULL REFERENCES identities(id),
    account_source_id         TEXT COLLATE "C" NOT NULL REFERENCES sources(id),
    enabled                   BOOLEAN NOT NULL DEFAULT FALSE,
    provision_request_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    app_center_enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    match_all_accounts        BOOLEAN NOT NULL DEFAULT FALSE,
    created                   TEXT COLLATE "C" NOT NULL,
    modified                  TEXT COLLATE "C" NOT NULL,
    CONSTRAINT source_apps_num_id_key UNIQUE (num_id),
    CONSTRAINT source_apps_id_source_key UNIQUE (id, account_source_id)
);
CREATE INDEX source_apps_account_source_idx ON source_apps(account_source_id);
CREATE INDEX source_apps_owner_idx ON source_apps(owner_id);
CREATE INDEX source_apps_name_idx ON source_apps(name);
CREATE INDEX source_apps_created_idx ON source_apps(created, id);
CREATE INDEX source_apps_modified_idx ON source_apps(modified, id);

CREATE TABLE source_app_access_profiles (
    app_id            TEXT COLLATE "C" NOT NULL,
    source_id         TEXT COLLATE "C" NOT NULL,
    access_profile_id TEXT COLLATE "C" NOT NULL,
    position          BIGINT NOT NULL,
    PRIMARY KEY (app_id, access_profile_id),
    FOREIGN KEY (app_id, source_id) REFERENCES source_apps(id, account_source_id) ON DELETE CASCADE,
    FOREIGN KEY (access_profile_id, source_id) REFERENCES access_profiles(id, source_id)
);
CREATE INDEX source_app_access_profiles_ap_idx ON source_app_access_profiles(access_profile_id, source_id);
