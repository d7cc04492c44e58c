//! Lifecycle-state input rules (to be written).
