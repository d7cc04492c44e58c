//! Authentication and authorization without HTTP: ES256 keys, token verification, API
//! clients, and the rights table driven by the spec (CONTRACT §6). The HTTP gateway
//! (`api::gateway`, `api::token`) uses these.

pub mod clients;
pub mod keys;
pub mod rights;
pub mod verify;

pub use rights::{Family, Operation, OperationId};
pub use verify::{Claims, TokenError, Verifier};

/// How client secrets are stored (the rule is pure, so fixtures use it too).
pub use crate::domain::hash_secret;

/// A new random secret: 64 hex characters (256 bits).
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The tenant this accessd serves (one per database).
#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: String,
    pub org: String,
    pub pod: String,
}
