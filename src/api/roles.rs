//! Roles on every family (`/v3/roles`, `/beta/roles`, `/roles/v1`).

use axum::Router;

use super::Fam;
use crate::app::AppState;

pub fn routes<F: Fam>(_suffix: &str) -> Router<AppState> {
    Router::new()
}
