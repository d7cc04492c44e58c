//! The one integration-test binary: every test starts the real server on port 0 with a
//! fresh database and talks to it over HTTP.

// Tests, benchmarks and tools may panic (the `[lints]` table denies it for the server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)]

mod conformance;
mod deviations;
mod helpers;

mod access_profiles;
mod admin;
mod admin_cli;
mod admin_cli_fixture;
mod auth;
mod collections;
mod config_file;
mod connections;
mod crash;
mod deletion;
mod directory_writes;
mod disclosure;
mod errors;
mod families;
mod fixtures;
mod full_disk;
mod hardening;
mod jwt;
mod lifecycle_states;
mod limits;
mod matrix;
mod metrics;
mod multi_instance;
mod plans;
mod process;
mod product;
mod rate_limit;
mod roles;
mod segments;
mod shutdown;
mod source_apps;
mod startup;
mod subadmin;
mod supporting;
mod tasks;
mod tenant_export;
