//! Role input rules (to be written).
