//! A whole tenant as data (`accessd export` / `accessd import`): every table but the
//! migrations', with its columns and rows, in one form both databases write and read.
//!
//! Values are JSON strings, integers or null. A flag is an integer 0/1 (SQLite's own
//! form; PostgreSQL's BOOLEAN columns are written and read as 0/1), so the export of
//! one tenant is the same document whichever database it came from.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `format` field of every export.
pub const FORMAT: &str = "accessd-tenant-export";

/// The tables, in an order where every foreign key points to an earlier table (or to
/// its own table: see [`SELF_REFERENCES`]). An import inserts in this order; an export
/// refuses a database holding a table not named here, so nothing is left out silently.
pub const TABLES: &[&str] = &[
    "meta",
    "signing_keys",
    "identities",
    "api_clients",
    "governance_groups",
    "governance_group_members",
    "sources",
    "entitlements",
    "access_profiles",
    "access_profile_entitlements",
    "roles",
    "role_access_profiles",
    "role_entitlements",
    "identity_profiles",
    "lifecycle_states",
    "lifecycle_state_access_profiles",
    "tasks",
    "source_apps",
    "source_app_access_profiles",
    "segments",
    "access_profile_segments",
    "role_segments",
    "rate_limits",
];

/// Tables of derived data, kept by triggers from the tables above (`row_counts`, the
/// kept number of access profiles; `profile_epoch`, what tells a kept profile from a
/// changed one): an export leaves them out and an import rebuilds them by inserting
/// the rows they are derived from (the epoch only ever grows).
pub const DERIVED_TABLES: &[&str] = &["row_counts", "profile_epoch"];

/// Columns of derived data in the tables above, kept by triggers (`(table, column)`:
/// `access_profiles.version`, which grows with every change): an export leaves them
/// out and an import lets the triggers set them again.
pub const DERIVED_COLUMNS: &[(&str, &str)] = &[("access_profiles", "version")];

/// Tables of the admin API's controls (fault rules, the clock; README "The admin API,
/// for test suites"): how a test server is set up, not tenant data. An export leaves
/// them out, an import leaves them as the migrations made them, and a reset keeps them.
pub const CONTROL_TABLES: &[&str] = &["fault_rules", "control_clock"];

/// `(table, column, key column)`: columns that reference their own table. An import
/// writes them after all the table's rows exist.
pub const SELF_REFERENCES: &[(&str, &str, &str)] = &[("identities", "manager_id", "id")];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantExport {
    pub format: String,
    /// The highest migration of the database it came from; an import needs a database
    /// at the same one.
    pub schema_version: i64,
    pub tables: Vec<TableExport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableExport {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// How a column's values are read and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Int,
    Bool,
}

impl ColumnKind {
    /// From a declared type: SQLite's `pragma_table_info` or PostgreSQL's
    /// `information_schema.columns.data_type`.
    pub fn of(declared: &str) -> Option<Self> {
        match declared.to_ascii_lowercase().as_str() {
            "text" | "character varying" => Some(Self::Text),
            "integer" | "bigint" | "int8" => Some(Self::Int),
            "boolean" => Some(Self::Bool),
            _ => None,
        }
    }
}
