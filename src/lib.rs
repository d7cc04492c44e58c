//! accessd: a self-hosted, API-compatible server for the Access Profiles part of
//! SailPoint Identity Security Cloud.

// No panics on request paths (the `[lints]` table of Cargo.toml); tests
// may unwrap.
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

pub mod admin_cli;
pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod demo;
pub mod domain;
pub mod fixture;
pub mod logs;
pub mod query;
pub mod store;
pub mod tasks;

pub use api::AppState;
pub use app::App;
pub use config::Config;
