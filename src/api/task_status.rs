//! Task status on beta (`/beta/task-status`) and v1 (`/task-status/v1`).

use axum::Router;

use super::Fam;
use crate::app::AppState;

pub fn routes<F: Fam>(_suffix: &str) -> Router<AppState> {
    Router::new()
}
