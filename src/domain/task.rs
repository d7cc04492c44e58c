//! Tasks (to be written).
