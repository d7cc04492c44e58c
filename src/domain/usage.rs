//! Usages (to be written).
